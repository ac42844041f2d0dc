"""Reads a byte stream as overlapping chunks, so large files are never loaded whole."""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from typing import BinaryIO

from keyguard.detect.detector import Chunk

CHUNK_BYTES = 8 * 1024 * 1024
# Larger than the widest rule match plus the context a finding looks at around itself.
OVERLAP_BYTES = 64 * 1024
BINARY_SNIFF_BYTES = 8000
ARCHIVE = "archive"

_ARCHIVE_PREFIXES = (b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"7z\xbc\xaf\x27\x1c")


class NotText(Exception):
    """The stream is binary (or an archive) and is not scanned as text."""


def kind_of_binary(head: bytes) -> str | None:
    """ARCHIVE, "binary" (a NUL byte early on, as git decides), or None for text."""
    if head.startswith(_ARCHIVE_PREFIXES) or head[257:262] == b"ustar":
        return ARCHIVE
    if head.find(b"\x00", 0, BINARY_SNIFF_BYTES) != -1:
        return "binary"
    return None


def _utf16_to_utf8(data: bytes) -> bytes | None:
    for bom, codec in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(codec).encode("utf-8")
            except UnicodeDecodeError:
                return None
    return None


def _read_full(stream: BinaryIO, size: int) -> bytes:
    parts = []
    while size > 0:
        part = stream.read(size)
        if not part:
            break
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def text_chunks(data: bytes) -> list[Chunk]:
    """In-memory bytes (a blob, an archive member) as chunks; raises NotText for binary data."""
    if len(data) > CHUNK_BYTES:
        return list(iter_chunks(io.BytesIO(data), size_hint=len(data)))
    reason = kind_of_binary(data)
    if reason:
        converted = _utf16_to_utf8(data) if reason == "binary" else None
        if converted is None:
            raise NotText(reason)
        data = converted
    return [Chunk(data)]


def iter_chunks(
    stream: BinaryIO,
    chunk_bytes: int = CHUNK_BYTES,
    overlap: int = OVERLAP_BYTES,
    size_hint: int | None = None,
) -> Iterator[Chunk]:
    """Chunks of the stream, each overlapping the previous one; each finding belongs to one chunk.

    `size_hint` (the file's size) spares small files a chunk-sized read buffer.
    Raises NotText before yielding anything when the stream is binary.
    """
    if chunk_bytes <= 2 * overlap:
        raise ValueError("chunk_bytes must exceed twice the overlap")
    first = chunk_bytes if size_hint is None else min(chunk_bytes, size_hint + 1)
    data = _read_full(stream, first)
    if len(data) == first < chunk_bytes:  # the file grew since its size was taken
        data += _read_full(stream, chunk_bytes - first)
    reason = kind_of_binary(data)
    if reason:
        converted = _utf16_to_utf8(data) if reason == "binary" and len(data) < chunk_bytes else None
        if converted is None:
            raise NotText(reason)
        yield Chunk(converted)
        return
    offset, line, keep_from = 0, 1, 0
    while True:
        more = _read_full(stream, chunk_bytes - overlap) if len(data) >= chunk_bytes else b""
        if not more:
            yield Chunk(data, offset, line, keep_from)
            return
        keep_until = len(data) - overlap // 2
        yield Chunk(data, offset, line, keep_from, keep_until)
        carried = data[-overlap:]
        consumed = len(data) - overlap
        line += data.count(b"\n", 0, consumed)
        offset += consumed
        data = carried + more
        keep_from = overlap - overlap // 2
