"""Archives are scanned recursively, members named archive!member, and bombs stopped by limits."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import struct
import tarfile
import zipfile

import pytest

from conftest import decode, places, run_keyguard
from keyguard.model import Skipped
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
    paths = sorted({f["path"] for f in places(report)})
    assert paths == ["backup.tar.gz!backup.tar!backup/inner.zip!config/.env", "bot.log.gz!bot.log"]
    env_findings = [f for f in places(report) if f["path"].endswith(".env")]
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


def _with_method(data: bytes, name: str, method: int) -> bytes:
    """The zip with `name`'s compression method field set to `method`, in its local header and central directory."""
    patched = bytearray(data)
    encoded = name.encode()
    for signature, header_size, method_at in ((b"PK\x03\x04", 30, 8), (b"PK\x01\x02", 46, 10)):
        position = patched.find(signature)
        while position != -1:
            if patched[position + header_size : position + header_size + len(encoded)] == encoded:
                struct.pack_into("<H", patched, position + method_at, method)
            position = patched.find(signature, position + 4)
    return bytes(patched)


def _summary(items) -> list[tuple[str, str, str]]:
    return [
        ("member", i.display, i.data.decode()) if isinstance(i, Member) else ("skipped", i.path, i.reason)
        for i in items
    ]


def test_a_deflate64_member_is_skipped_and_the_others_are_read():
    plain = _zip({"a.txt": b"first " * 50, "notes.txt": b"deflate64 " * 50, "c.txt": b"third"})
    archive = _with_method(plain, "notes.txt", 9)
    with pytest.raises(NotImplementedError):  # what the standard library does with it
        zipfile.ZipFile(io.BytesIO(archive)).read("notes.txt")
    assert _summary(iter_archive(io.BytesIO(archive), "x.zip")) == [
        ("member", "x.zip!a.txt", "first " * 50),
        ("skipped", "x.zip!notes.txt", "zip member compressed with Deflate64 (method 9): not supported"),
        ("member", "x.zip!c.txt", "third"),
    ]
    [unknown] = iter_archive(io.BytesIO(_with_method(_zip({"n.txt": b"x"}), "n.txt", 77)), "y.zip")
    assert unknown == Skipped("y.zip!n.txt", "zip member compressed with an unknown method (method 77): not supported")


def test_a_bad_crc_skips_that_member_only():
    archive = bytearray(_zip({"a.txt": b"one", "b.txt": b"two" * 100, "c.txt": b"three"}))
    entry = [i for i in range(len(archive)) if archive.startswith(b"PK\x01\x02", i)][1]  # b.txt's directory entry
    struct.pack_into("<L", archive, entry + 16, 0xDEADBEEF)
    assert _summary(iter_archive(io.BytesIO(bytes(archive)), "crc.zip")) == [
        ("member", "crc.zip!a.txt", "one"),
        ("skipped", "crc.zip!b.txt", "unreadable archive member: Bad CRC-32 for file 'b.txt'"),
        ("member", "crc.zip!c.txt", "three"),
    ]


def test_a_corrupt_zip_is_one_skipped_item():
    archive = _zip({"a.txt": b"one", "b.txt": b"two"})
    directory = archive.find(b"PK\x01\x02")
    garbage = archive[:directory] + bytes(range(200, 256)) * 2 + archive[-22:]
    for broken in (archive[: len(archive) // 2], archive[:-5], garbage, b"PK\x05\x06" + b"\xff" * 18):
        [item] = iter_archive(io.BytesIO(broken), "bad.zip")
        assert item.path == "bad.zip" and item.reason.startswith("corrupt archive: "), item


def test_a_truncated_tar_gz_keeps_the_members_before_the_cut():
    members = {f"m{i}.txt": (f"member {i} ".encode() + os.urandom(20_000).hex().encode()) for i in range(3)}
    whole = _tar_gz(members)
    items = list(iter_archive(io.BytesIO(whole[: len(whole) * 3 // 4]), "b.tar.gz"))
    read = [i for i in items if isinstance(i, Member)]
    assert [(i.display, i.data) for i in read] == [(f"b.tar.gz!b.tar!{n}", members[n]) for n in ("m0.txt", "m1.txt")]
    reasons = {i.path: i.reason for i in items if isinstance(i, Skipped)}
    assert reasons["b.tar.gz!b.tar!m2.txt"] == "unreadable archive member: unexpected end of data"
    assert reasons["b.tar.gz"].startswith("corrupt archive: Compressed file ended before the end-of-stream marker")


@pytest.mark.parametrize(("suffix", "compress"), [("gz", gzip.compress), ("xz", lzma.compress), ("bz2", bz2.compress)])
def test_a_truncated_compressed_stream_is_read_up_to_the_fault(suffix, compress):
    text = f"X-MBX-APIKEY: {'k' * 64}\n".encode() + b"".join(b"line %d of the bot log\n" % i for i in range(30_000))
    data = compress(text)
    items = list(iter_archive(io.BytesIO(data[: len(data) // 2]), f"bot.log.{suffix}"))
    *read, fault = items
    assert fault.path == f"bot.log.{suffix}"
    assert fault.reason.startswith("corrupt archive: Compressed file ended before the end-of-stream marker")
    if suffix == "bz2":  # decompressed in 900 kB blocks: nothing comes out of a half block
        assert read == []
    else:
        [partial] = read
        assert partial.display == f"bot.log.{suffix}!bot.log" and text.startswith(partial.data)
        assert len(partial.data) > 1000 and f"the {len(partial.data)} bytes before it were read" in fault.reason
    [garbage] = iter_archive(io.BytesIO(data[:6] + b"\x00" * 40), f"x.{suffix}")
    assert garbage.path == f"x.{suffix}" and garbage.reason.startswith("corrupt archive: ")


def test_members_past_the_total_size_limit_are_skipped_not_read_as_empty():
    members = {f"f{i}.txt": bytes([65 + i]) * 400_000 for i in range(4)} | {"empty.txt": b"", "last.txt": b"z"}
    limits = ArchiveLimits(max_total_bytes=1 << 20)
    items = list(iter_archive(io.BytesIO(_zip(members, zipfile.ZIP_STORED)), "big.zip", limits))
    assert [i.display for i in items if isinstance(i, Member)] == ["big.zip!f0.txt", "big.zip!f1.txt"]
    over = "archive total uncompressed size over the limit of 1 MiB; not read"
    assert [(i.path, i.reason) for i in items if isinstance(i, Skipped)] == [
        (f"big.zip!{name}", over) for name in ("f2.txt", "f3.txt", "empty.txt", "last.txt")
    ]
    small = list(iter_archive(io.BytesIO(_tar_gz(members)), "s.tar.gz", ArchiveLimits(max_total_bytes=5000)))
    assert not any(isinstance(i, Member) for i in small)
    assert small[0] == Skipped(
        "s.tar.gz!s.tar", "archive total uncompressed size over the limit of 5000 bytes; not read"
    )


def test_member_names_that_are_not_utf8_or_hold_control_characters():
    archive = bytearray(_zip({"é.env": b"one", "ok.txt": b"two"}))  # flagged UTF-8, then made invalid
    archive[:] = archive.replace("é".encode(), b"\xff\xfe")
    assert _summary(iter_archive(io.BytesIO(bytes(archive)), "u.zip")) == [
        ("member", "u.zip!\\xa0■.env", "one"),  # read as cp437, as a zip without the UTF-8 flag
        ("member", "u.zip!ok.txt", "two"),
    ]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in ((b"bad\xff\xfe/\x1b[31mred\n.env", b"three"), (b"a\x00b", b"four")):
            info = tarfile.TarInfo(name.decode("utf-8", "surrogateescape"))
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    assert _summary(iter_archive(io.BytesIO(buffer.getvalue()), "n.tar")) == [
        ("member", "n.tar!bad\\xff\\xfe/\\x1b[31mred\\x0a.env", "three"),
        ("member", "n.tar!a", "four"),  # tar ends a name at its first NUL
    ]


def test_bad_archives_are_listed_as_skipped_and_the_scan_goes_on(tmp_path, canaries):
    plain = _zip({"notes.txt": b"nothing here " * 20, "readme.txt": b"hello"})
    (tmp_path / "deflate64.zip").write_bytes(_with_method(plain, "notes.txt", 9))
    (tmp_path / "corrupt.zip").write_bytes(_zip({"a.txt": b"a" * 500, "b.txt": b"b"})[:-30])
    log = gzip.compress(b"".join(b"request %d ok\n" % i for i in range(50_000)))
    (tmp_path / "cut.log.gz").write_bytes(log[: len(log) // 2])
    (tmp_path / ".env").write_text(f"BINANCE_API_KEY={canaries.key}\nBINANCE_API_SECRET={canaries.secret}\n")
    done = run_keyguard("scan", "-f", "json", "--no-history", cwd=tmp_path)
    out, err = decode(done)
    assert done.returncode == 1, err
    assert canaries.key not in out + err and canaries.secret not in out + err
    report = json.loads(out)
    assert sorted((f["path"], f["kind"]) for f in report["findings"]) == [(".env", "api_key"), (".env", "secret")]
    reasons = {s["path"]: s["reason"] for s in report["skipped"]}
    assert reasons["deflate64.zip!notes.txt"] == "zip member compressed with Deflate64 (method 9): not supported"
    assert reasons["corrupt.zip"].startswith("corrupt archive: ")
    assert reasons["cut.log.gz"].startswith("corrupt archive: Compressed file ended before the end-of-stream marker")
