"""Keys in screenshots: found by a plain scan (OCR), read exactly when the credential is known, boxed out by
`keyguard redact IMAGE -o OUT`. Images are drawn by test_images_screens.py from random values, never real
keys; every test reads as few images as it can (OCR costs about a second an image)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import random
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from PIL import Image, ImageDraw
from test_images_screens import binance, binance_app, font, terminal, token

from conftest import commit_files, git, isolated_env
from keyguard.detect.confusables import LOOKALIKES
from keyguard.detect.ocr import load_lines, ocr_version
from keyguard.inventory.store import Inventory, KeyRecord
from keyguard.model import redact as masked
from keyguard.sources.images import ReadingCache

DEAD_PROXY = "http://127.0.0.1:9"


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def alike(shown: str, read: str) -> bool:
    """Two redacted forms the same but for characters OCR confuses."""
    pairs = zip(shown, read, strict=True) if len(shown) == len(read) else ()
    return bool(pairs) and all(a == b or b in LOOKALIKES.get(a, "") for a, b in pairs)


def keyguard(*args: str, cwd: Path, offline: bool = False, **env_extra: str) -> subprocess.CompletedProcess[str]:
    """The real CLI with its own vault, inventory and OCR cache; `offline`: no network at all (a new network
    namespace where this machine allows one, and proxies pointing at a closed port in any case)."""
    env = isolated_env(cwd, KEYGUARD_OCR_CACHE=str(cwd / "ocr-cache"), NO_COLOR="1", **env_extra)
    command = [sys.executable, "-m", "keyguard", *args]
    if offline:
        env |= {"HTTP_PROXY": DEAD_PROXY, "HTTPS_PROXY": DEAD_PROXY, "http_proxy": DEAD_PROXY}
        if shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"], check=False).returncode == 0:
            command = ["unshare", "-n", *command]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, check=False)


def scan_json(*paths: str, cwd: Path, offline: bool = False) -> dict:
    done = keyguard("scan", *paths, "--format", "json", cwd=cwd, offline=offline)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def env_lines(key: str, secret: str) -> Image.Image:
    """A small light terminal: two export lines (cheap to read)."""
    image = Image.new("RGB", (980, 96), "#fdf6e3")
    draw = ImageDraw.Draw(image)
    mono = font(15, mono=True)
    draw.text((12, 16), f"export BINANCE_API_KEY={key}", font=mono, fill="#073642")
    draw.text((12, 52), f"export BINANCE_API_SECRET={secret}", font=mono, fill="#073642")
    return image


def saved(image: Image.Image, path: Path, form: str, **options) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, form, **options)
    return path


def test_a_screenshot_is_scanned_offline_with_its_kinds_and_never_shows_the_values(tmp_path):
    shot = binance(3)
    (key, _), (secret, _) = shot.values
    saved(shot.image, tmp_path / "Pictures" / "Screenshot 2024-05-01.png", "PNG")
    done = keyguard("scan", "Pictures", "--format", "json", cwd=tmp_path, offline=True)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    findings = {f["kind"]: f for f in report["findings"]}
    assert sorted(findings) == ["api_key", "secret"], report
    for finding in findings.values():
        assert finding["ocr"] is True and 0.5 < finding["ocr_confidence"] <= 1
        assert finding["locations"][0]["ocr"] is True and finding["severity"] == "critical"
        assert "read in an image (OCR)" in finding["reasons"]
        assert len(finding["ocr_reading"]) == 9 and "…" in finding["ocr_reading"]
    assert findings["api_key"]["paired_with"] == findings["secret"]["secret_sha256"]
    assert alike(masked(key.encode()), findings["api_key"]["ocr_reading"])
    text = keyguard("scan", "Pictures", cwd=tmp_path)
    assert "in an image: read as" in text.stdout and "keyguard redact" in text.stdout
    for out in (done.stdout, text.stdout, text.stderr):
        assert key not in out and secret not in out
    assert keyguard("scan", "Pictures", "--no-images", cwd=tmp_path).returncode == 0


def test_the_same_credential_found_as_text_makes_the_image_reading_exact(tmp_path):
    """Binance's page in a sans-serif font: I and l, O and 0 cannot be told apart alone."""
    shot = binance(5)
    (key, _), (secret, _) = shot.values
    saved(shot.image, tmp_path / "shots" / "api.png", "PNG")
    alone = {f["secret_sha256"] for f in scan_json("shots", cwd=tmp_path)["findings"]}
    assert alone != {sha(key), sha(secret)}  # not both exact from the image alone
    (tmp_path / "bot").mkdir()
    (tmp_path / "bot" / ".env").write_text(f"BINANCE_API_KEY={key}\nBINANCE_API_SECRET={secret}\n")
    findings = scan_json("shots", "bot", cwd=tmp_path)["findings"]
    assert {f["secret_sha256"] for f in findings} == {sha(key), sha(secret)}
    for finding in findings:
        assert sorted(loc["path"] for loc in finding["locations"]) == ["bot/.env", "shots/api.png"]
        made_exact = any(r.startswith("read exactly: the same value was found as text") for r in finding["reasons"])
        assert made_exact == (finding["secret_sha256"] not in alone)
    by_kind = {f["kind"]: f for f in findings}
    assert by_kind["api_key"]["paired_with"] == sha(secret)


def test_a_key_in_the_inventory_is_read_exactly_by_its_fingerprint(tmp_path):
    shot = binance(5)
    (key, _), _ = shot.values
    saved(shot.image, tmp_path / "shots" / "api.png", "PNG")
    inventory = Inventory(tmp_path / "inventory.sqlite")  # where isolated_env points keyguard
    inventory.add(KeyRecord("grid-bot", "manual", "trading", sha(key), masked(key.encode()), "HMAC", "2024-05-01"))
    inventory.close()
    findings = scan_json("shots", cwd=tmp_path)["findings"]
    found = next(f for f in findings if f["kind"] == "api_key")
    assert found["secret_sha256"] == sha(key) and found["redacted"] == masked(key.encode())
    assert "read exactly: its fingerprint is in the inventory" in found["reasons"]


def test_every_image_format_is_read_and_a_gif_by_its_first_frame(tmp_path):
    key, secret = token(random.Random(11)), token(random.Random(12))
    image = env_lines(key, secret)
    folder = tmp_path / "formats"
    saved(image, folder / "shot.png", "PNG")
    saved(image, folder / "shot.jpg", "JPEG", quality=90)
    saved(image, folder / "shot.webp", "WEBP", lossless=True)
    saved(image, folder / "shot.bmp", "BMP")
    saved(image, folder / "shot.tiff", "TIFF")
    blank = Image.new("RGB", image.size, "#fdf6e3")
    image.save(folder / "shot.gif", "GIF", save_all=True, append_images=[blank], duration=500)
    (folder / "no-extension").write_bytes((folder / "shot.png").read_bytes())  # told by its bytes
    report = scan_json("formats", cwd=tmp_path)
    places = {(loc["path"], f["kind"]) for f in report["findings"] for loc in f["locations"]}
    names = {path.name for path in folder.iterdir()}
    assert places == {(f"formats/{name}", kind) for name in names for kind in ("api_key", "secret")}, report
    assert all(loc["ocr"] for f in report["findings"] for loc in f["locations"])


def test_images_inside_archives_and_in_git_history_are_read(tmp_path, repo):
    key, secret = token(random.Random(21)), token(random.Random(22))
    png = saved(env_lines(key, secret), tmp_path / "shot.png", "PNG").read_bytes()
    with zipfile.ZipFile(tmp_path / "export.zip", "w") as archive:
        archive.writestr("chat/photos/photo_1.png", png)
        archive.writestr("chat/result.json", '{"messages": []}')
    (repo / "docs").mkdir()
    (repo / "docs" / "setup.png").write_bytes(png)
    git("add", "docs/setup.png", cwd=repo)
    git("commit", "-qm", "setup screenshot", cwd=repo)
    git("rm", "-q", "docs/setup.png", cwd=repo)
    commit_files(repo, "remove the screenshot", **{"README.md": "bot\n"})
    (tmp_path / "shot.png").unlink()
    report = scan_json("export.zip", "bot", cwd=tmp_path)
    places = {(loc["path"], loc["source"]) for f in report["findings"] for loc in f["locations"]}
    assert places == {("export.zip!chat/photos/photo_1.png", "file"), ("bot/docs/setup.png", "git")}, report
    history = next(loc for f in report["findings"] for loc in f["locations"] if loc["source"] == "git")
    assert history["in_head"] is False and history["commit"] and history["ocr"] is True


def scan_seeing_imports(folder: str, cwd: Path) -> tuple[dict, bool]:
    """The JSON report, and whether the OCR engine was loaded (Python's import log, in every process)."""
    done = keyguard("scan", folder, "--format", "json", cwd=cwd, PYTHONPROFILEIMPORTTIME="1")
    assert done.returncode in (0, 1), done.stderr[-2000:]
    return json.loads(done.stdout), "rapidocr_onnxruntime\n" in done.stderr


def two_screenshots(tmp_path: Path) -> tuple[Path, Path, str, str]:
    """A terminal showing a key and a secret, and a screen showing no value (cheap to read)."""
    key, secret = token(random.Random(21)), token(random.Random(22))
    clean = Image.new("RGB", (900, 120), "white")
    ImageDraw.Draw(clean).text(
        (12, 40), "user@vps:~/bot$ python bot.py --dry-run", font=font(16, mono=True), fill="black"
    )
    shot = saved(env_lines(key, secret), tmp_path / "Pictures" / "env.png", "PNG")
    return shot, saved(clean, tmp_path / "Pictures" / "clean.png", "PNG"), key, secret


def cache_entry(tmp_path: Path, image: Path) -> Path:
    return ReadingCache(tmp_path / "ocr-cache").path(image.read_bytes(), ocr_version())


def findings_of(report: dict) -> list[tuple]:
    return sorted((f["kind"], f["secret_sha256"], f["ocr_reading"]) for f in report["findings"])


def test_a_rescan_runs_no_ocr_and_the_cache_holds_nothing_readable_without_the_image(tmp_path):
    shot, clean, key, secret = two_screenshots(tmp_path)
    first, loaded = scan_seeing_imports("Pictures", tmp_path)
    assert loaded and len(first["findings"]) == 2
    assert (first["stats"]["images_read"], first["stats"]["images_cached"]) == (2, 0)
    entries = sorted(p for p in (tmp_path / "ocr-cache").rglob("*") if p.is_file())
    assert entries == sorted([cache_entry(tmp_path, shot), cache_entry(tmp_path, clean)])
    assert {p.name.split("-")[0] for p in entries} == {
        hashlib.sha256(i.read_bytes()).hexdigest() for i in [shot, clean]
    }
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in entries)
    sealed = cache_entry(tmp_path, shot).read_bytes()
    for value in (key, secret):
        forms = [value, value.encode().hex(), base64.b64encode(value.encode()).decode()]
        forms += [value[i : i + 12] for i in range(len(value) - 11)]
        assert not any(form.encode() in sealed for form in forms)
    # whoever has the image has the reading: the entry opens with the image's bytes, and holds what OCR saw
    reading = load_lines(ReadingCache(tmp_path / "ocr-cache").get(shot.read_bytes(), ocr_version()))
    assert any(masked(key.encode())[:4] in line.text for line in reading)
    assert load_lines(ReadingCache(tmp_path / "ocr-cache").get(clean.read_bytes(), ocr_version())) == []

    second, loaded = scan_seeing_imports("Pictures", tmp_path)
    assert not loaded  # no image was read: the OCR engine was not even loaded
    assert (second["stats"]["images_read"], second["stats"]["images_cached"]) == (0, 2)
    assert findings_of(second) == findings_of(first)


def test_a_damaged_cache_entry_is_read_again_and_replaced(tmp_path):
    shot, clean, _, _ = two_screenshots(tmp_path)
    first, _ = scan_seeing_imports("Pictures", tmp_path)
    tampered = bytearray(cache_entry(tmp_path, shot).read_bytes())
    tampered[len(tampered) // 2] ^= 1
    cache_entry(tmp_path, shot).write_bytes(tampered)
    cache_entry(tmp_path, clean).write_bytes(b"")  # as the previous version's "clean" marker was
    again, loaded = scan_seeing_imports("Pictures", tmp_path)
    assert loaded and findings_of(again) == findings_of(first)
    assert cache_entry(tmp_path, shot).read_bytes() != bytes(tampered)
    cache = ReadingCache(tmp_path / "ocr-cache")
    assert cache.get(shot.read_bytes(), ocr_version()) and cache.get(clean.read_bytes(), ocr_version()) is not None
    assert not scan_seeing_imports("Pictures", tmp_path)[1]


def test_icons_are_skipped_quietly_and_broken_images_are_said(tmp_path):
    folder = tmp_path / "assets"
    saved(Image.new("RGB", (32, 32), "red"), folder / "icon.png", "PNG")
    good = saved(Image.new("RGB", (640, 480), "white"), folder / "broken.png", "PNG").read_bytes()
    (folder / "broken.png").write_bytes(good[:60])
    report = scan_json("assets", cwd=tmp_path)
    assert report["findings"] == []
    reasons = {s["path"]: s["reason"] for s in report["skipped"]}
    assert list(reasons) == ["assets/broken.png"] and reasons["assets/broken.png"].startswith("image unreadable")


def test_redact_boxes_every_value_and_a_rescan_finds_nothing(tmp_path):
    shot = terminal(4)
    original = saved(shot.image, tmp_path / "screen.png", "PNG")
    before = original.read_bytes()
    assert len(scan_json("screen.png", cwd=tmp_path)["findings"]) == 2
    done = keyguard("redact", "screen.png", "-o", "safe.png", cwd=tmp_path)
    assert done.returncode == 0 and "boxes drawn" in done.stderr, done.stderr
    assert original.read_bytes() == before
    refused = keyguard("redact", "screen.png", "-o", "./screen.png", cwd=tmp_path)
    assert refused.returncode == 2 and "never writes over the original" in refused.stderr
    assert original.read_bytes() == before
    assert keyguard("redact", "screen.png", cwd=tmp_path).returncode == 2  # an image needs -o
    (tmp_path / "out").mkdir()
    shutil.move(tmp_path / "safe.png", tmp_path / "out" / "safe.png")
    assert scan_json("out", cwd=tmp_path)["findings"] == []
    redacted = Image.open(tmp_path / "out" / "safe.png").convert("RGB")
    assert redacted.size == shot.image.size and redacted.getpixel((5, 5)) == shot.image.getpixel((5, 5))


def test_redact_boxes_a_private_key_block(tmp_path, canaries):
    pem = canaries.ed25519_pem.splitlines()
    image = Image.new("RGB", (900, 40 + 30 * (len(pem) + 1)), "#1e1e1e")
    draw = ImageDraw.Draw(image)
    mono = font(16, mono=True)
    for i, text in enumerate(["$ cat binance-ed25519.pem", *pem]):
        draw.text((12, 16 + 30 * i), text, font=mono, fill="#d4d4d4")
    saved(image, tmp_path / "pem.png", "PNG")
    done = keyguard("redact", "pem.png", "-o", "pem-safe.jpg", cwd=tmp_path)
    assert done.returncode == 0 and f"{len(pem)} private-key lines" in done.stderr, done.stderr
    safe = Image.open(tmp_path / "pem-safe.jpg").convert("L")
    for i in range(1, len(pem) + 1):  # every line of the block is dark across the text
        row = [safe.getpixel((x, 16 + 30 * i + 8)) for x in range(20, 400)]
        assert max(row) < 80, i  # black, but for JPEG ringing at the edges
    assert max(safe.getpixel((x, 24)) for x in range(12, 200)) > 150  # the command line is still readable


def test_redact_writes_text_to_a_file_with_o(tmp_path, canaries):
    name = "notes.txt"
    (tmp_path / name).write_text(f"BINANCE_API_KEY={canaries.key}\n")
    done = keyguard("redact", name, "-o", "safe.txt", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout == ""
    safe = (tmp_path / "safe.txt").read_text()
    assert canaries.key not in safe and f"[REDACTED {masked(canaries.key.encode())}]" in safe
    assert keyguard("redact", name, "-o", name, cwd=tmp_path).returncode == 2


def test_a_phone_screenshot_is_read(tmp_path):
    shot = binance(9)
    small = shot.image.resize((int(shot.image.width * 0.8), int(shot.image.height * 0.8)), Image.LANCZOS)
    out = io.BytesIO()
    small.save(out, "JPEG", quality=75)
    (tmp_path / "IMG_2041.jpg").write_bytes(out.getvalue())
    report = scan_json("IMG_2041.jpg", cwd=tmp_path)
    assert sorted(f["kind"] for f in report["findings"]) == ["api_key", "secret"], report


def test_values_wrapped_onto_two_lines_in_the_app_are_found_and_boxed_whole(tmp_path):
    shot = binance_app(2)
    saved(shot.image, tmp_path / "Screenshot_20240501_Binance.png", "PNG")
    report = scan_json("Screenshot_20240501_Binance.png", cwd=tmp_path)
    findings = {f["kind"]: f for f in report["findings"]}
    assert sorted(findings) == ["api_key", "secret"] and findings["api_key"]["severity"] == "critical", report
    for value, kind in shot.values:
        assert alike(masked(value.encode()), findings[kind]["ocr_reading"])
    done = keyguard("redact", "Screenshot_20240501_Binance.png", "-o", "out/safe.png", cwd=tmp_path)
    assert done.returncode == 2  # no such folder: said, nothing written
    (tmp_path / "out").mkdir()
    done = keyguard("redact", "Screenshot_20240501_Binance.png", "-o", "out/safe.png", cwd=tmp_path)
    assert done.returncode == 0 and "4 boxes drawn" in done.stderr, done.stderr
    assert scan_json("out", cwd=tmp_path)["findings"] == []
