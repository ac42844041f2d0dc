"""Archives are scanned recursively, members named archive!member, and bombs stopped by limits."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zipfile

from conftest import decode, run_keyguard
from keyguard.sources.archives import ArchiveLimits, Member, iter_archive


def _zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _report(tmp_path) -> dict:
    done = run_keyguard("scan", "-f", "json", cwd=tmp_path)
    assert done.returncode in (0, 1), decode(done)[1]
    return json.loads(decode(done)[0])


def test_members_of_nested_archives_are_scanned(tmp_path, canaries):
    env = f"BINANCE_API_KEY={canaries.key}\nBINANCE_API_SECRET={canaries.secret}\n".encode()
    inner = _zip({"config/.env": env, "logo.png": b"\x89PNG\x00\x00"})
    (tmp_path / "backup.tar.gz").write_bytes(_tar_gz({"backup/inner.zip": inner, "backup/readme.txt": b"hi"}))
    (tmp_path / "bot.log.gz").write_bytes(gzip.compress(f"headers X-MBX-APIKEY: {canaries.key}\n".encode()))
    report = _report(tmp_path)
    paths = sorted({f["path"] for f in report["findings"]})
    assert paths == ["backup.tar.gz!backup.tar!backup/inner.zip!config/.env", "bot.log.gz!bot.log"]
    env_findings = [f for f in report["findings"] if f["path"].endswith(".env")]
    assert [f["line"] for f in env_findings] == [1, 2] and all(f["paired_with"] for f in env_findings)


def test_zip_bomb_ratio_is_refused(tmp_path, canaries):
    bomb = _zip({"zeros.txt": b"0" * 20_000_000, "ok.env": f"secret={canaries.secret}\n".encode()})
    (tmp_path / "bomb.zip").write_bytes(bomb)
    report = _report(tmp_path)
    assert [f["path"] for f in report["findings"]] == ["bomb.zip!ok.env"]
    [refused] = [s for s in report["skipped"] if s["path"] == "bomb.zip!zeros.txt"]
    assert "compression ratio" in refused["reason"]


def test_limits_on_members_size_and_depth(canaries):
    many = _zip({f"f{i}.txt": b"x" for i in range(30)}, zipfile.ZIP_STORED)
    items = list(iter_archive(io.BytesIO(many), "many.zip", ArchiveLimits(max_members=10)))
    assert sum(isinstance(i, Member) for i in items) == 10
    assert any("more than 10" in getattr(i, "reason", "") for i in items)
    big = _zip({"big.txt": b"y" * 5000}, zipfile.ZIP_STORED)
    [too_big] = list(iter_archive(io.BytesIO(big), "big.zip", ArchiveLimits(max_member_bytes=1000)))
    assert "over the limit" in too_big.reason
    nested = b"secret"
    for level in range(6):
        nested = _zip({f"level{level}.zip" if level else "deep.txt": nested}, zipfile.ZIP_STORED)
    [deep] = list(iter_archive(io.BytesIO(nested), "deep.zip", ArchiveLimits(max_depth=3)))
    assert "nested deeper than 3" in deep.reason


def test_corrupt_archive_is_reported_and_the_scan_goes_on(tmp_path, canaries):
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    (tmp_path / "broken.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    (tmp_path / ".env").write_text(f"BINANCE_API_SECRET={canaries.secret}\n")
    report = _report(tmp_path)
    reasons = {s["path"]: s["reason"] for s in report["skipped"]}
    assert reasons["broken.zip"].startswith("corrupt archive")
    assert "corrupt archive" in reasons["broken.gz"] or "corrupt archive" in reasons.get("broken.gz!broken", "")
    assert [f["path"] for f in report["findings"]] == [".env"]
