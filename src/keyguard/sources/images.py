"""Images as text: which bytes are an image, decoding them (a GIF's first frame), skipping icons, and the
cache of images known to hold nothing credential-shaped.

The cache keeps one empty file per clean image, named by the SHA-256 of its bytes (and the OCR version):
a rescan of the same screenshots skips OCR for every image that held no value. Images that held one are
read again each time (they are few, a second each): nothing read in an image is ever written to disk, not
even encrypted, so the cache can never become a copy of a secret.
"""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3
from contextlib import closing
from pathlib import Path

from PIL import Image, ImageSequence, UnidentifiedImageError

from keyguard.inventory.store import default_path as inventory_path

MIN_WIDTH = 200  # narrower images (icons, avatars, emoji) cannot show a 64-character value legibly
MIN_HEIGHT = 14
MAX_PIXELS = 50_000_000  # larger images are skipped (a decompression bomb, or no screenshot)
CACHE_VERSION = "1"  # bump when what makes an image clean changes

BMP_HEADERS = (12, 40, 56, 108, 124)  # the sizes a BMP's info header may have
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)


class NotReadable(Exception):
    """An image that is not read: too large, or broken. The message says which."""


class TooSmall(NotReadable):
    """An icon, an avatar, an emoji: routine, never listed as skipped."""


def image_format(head: bytes) -> str | None:
    """png, jpeg, gif, webp, bmp or tiff when the bytes begin as one, else None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    for magic, name in _MAGIC:
        if head.startswith(magic):
            if (
                name == "bmp"
                and len(head) >= 18
                and int.from_bytes(head[14:18], "little") not in (12, 40, 56, 108, 124)
            ):
                return None  # "BM" alone begins plenty of text
            return name
    return None


def decode(data: bytes) -> Image.Image:
    """The image (a GIF's or WebP's first frame) in RGB, transparency on white. Raises NotReadable."""
    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise NotReadable(f"image too large to read ({width}x{height})")
        if width < MIN_WIDTH or height < MIN_HEIGHT:
            raise TooSmall(f"image too small to hold a readable key ({width}x{height})")
        frame = next(ImageSequence.Iterator(image))
        frame.load()
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise NotReadable(f"image unreadable: {error}") from None
    if frame.mode in ("RGBA", "LA", "PA") or (frame.mode == "P" and "transparency" in frame.info):
        rgba = frame.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return frame.convert("RGB")


def content_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class CleanCache:
    """Images known to hold nothing credential-shaped, by content hash; never fails a scan."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or default_cache_dir()

    def _path(self, digest: str, version: str) -> Path:
        return self.directory / digest[:2] / f"{digest}-{version}-{CACHE_VERSION}"

    def is_clean(self, digest: str, version: str) -> bool:
        return self._path(digest, version).exists()

    def mark_clean(self, digest: str, version: str) -> None:
        path = self._path(digest, version)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
        except OSError:
            pass  # a read-only cache only costs the OCR next time


def default_cache_dir() -> Path:
    if os.environ.get("KEYGUARD_OCR_CACHE"):
        return Path(os.environ["KEYGUARD_OCR_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "keyguard" / "ocr"


def inventory_fingerprints(path: Path | None = None) -> frozenset[str]:
    """The SHA-256 fingerprints of the API keys in the inventory (read only; none when there is none)."""
    path = path or inventory_path()
    if not path.is_file():
        return frozenset()
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            return frozenset(row[0] for row in db.execute("SELECT fingerprint FROM keys"))
    except sqlite3.Error:
        return frozenset()
