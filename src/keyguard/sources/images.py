"""Images as text: which bytes are an image, decoding them (a GIF's first frame), skipping icons, and the
cache of what OCR read in each image.

The cache keeps one file per image read, named by the SHA-256 of its bytes (and the OCR version), so a
rescan of the same screenshots runs no OCR at all. What an image shows may be a secret, so each entry is
encrypted with convergent encryption: AES-256-GCM under a key derived from the image's bytes by another
hash (HMAC-SHA256 under a fixed label). The cache reveals nothing to whoever lacks the image, and whoever
has the image already has what it shows. An entry that does not decrypt is read again and replaced.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from PIL import Image, ImageSequence, UnidentifiedImageError

from keyguard.inventory.store import default_path as inventory_path

MIN_WIDTH = 200  # narrower images (icons, avatars, emoji) cannot show a 64-character value legibly
MIN_HEIGHT = 14
MAX_PIXELS = 50_000_000  # larger images are skipped (a decompression bomb, or no screenshot)
CACHE_VERSION = "2"  # bump when what an entry holds changes
KEY_LABEL = b"keyguard-ocr-cache-key"  # the HMAC key that turns an image's bytes into its entry's key
NONCE = 12

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


class ReadingCache:
    """What OCR read in each image, by content hash, encrypted under a key only the image gives; never fails a
    scan (an entry that cannot be read or written only costs the OCR)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or default_cache_dir()

    def path(self, data: bytes, version: str) -> Path:
        digest = content_digest(data)
        return self.directory / digest[:2] / f"{digest}-{version}-{CACHE_VERSION}"

    def get(self, data: bytes, version: str) -> bytes | None:
        """The reading kept for these image bytes, or None (none kept, damaged, or of another version)."""
        try:
            sealed = self.path(data, version).read_bytes()
            return _cipher(data).decrypt(sealed[:NONCE], sealed[NONCE:], _tag(version))
        except (OSError, InvalidTag, ValueError):
            return None

    def put(self, data: bytes, version: str, reading: bytes) -> None:
        """Keeps the reading, sealed, written whole or not at all (a temporary file renamed), owner-only."""
        path = self.path(data, version)
        nonce = os.urandom(NONCE)
        sealed = nonce + _cipher(data).encrypt(nonce, reading, _tag(version))
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".new-")  # mode 0600
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(sealed)
                os.replace(temporary, path)
            except OSError:
                os.unlink(temporary)
                raise
        except OSError:
            pass  # a read-only cache only costs the OCR next time


def _cipher(data: bytes) -> AESGCM:
    return AESGCM(hmac.new(KEY_LABEL, data, hashlib.sha256).digest())


def _tag(version: str) -> bytes:
    return f"keyguard-ocr/{version}/{CACHE_VERSION}".encode()


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
