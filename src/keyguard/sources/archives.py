"""Archives: zip, tar (plain, gz, bz2, xz), gz, bz2 and xz streams, recursively, within limits.

Limits on depth, member count, total and per-member uncompressed size and zip compression ratio keep a
zip bomb from exhausting memory or time: whatever exceeds them is reported as skipped, never read.
Members are named `outer.zip!inner.tar.gz!dir/.env`.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from keyguard.sources.base import Skipped

READ_PIECE = 1 << 20


@dataclass(frozen=True)
class ArchiveLimits:
    max_depth: int = 4
    max_members: int = 10_000
    max_total_bytes: int = 1 << 30
    max_member_bytes: int = 128 << 20
    max_ratio: int = 200


@dataclass(frozen=True)
class Member:
    display: str
    data: bytes


class _Budget:
    def __init__(self, limits: ArchiveLimits) -> None:
        self.limits = limits
        self.members = 0
        self.bytes = 0


def archive_kind(head: bytes) -> str | None:
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:3] == b"BZh":
        return "bzip2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if head[257:262] == b"ustar":
        return "tar"
    return None


def iter_archive(stream: BinaryIO, display: str, limits: ArchiveLimits | None = None) -> Iterator[Member | Skipped]:
    """The text-or-binary members of an archive (recursively); problems come out as Skipped."""
    budget = _Budget(limits or ArchiveLimits())
    head = stream.read(512)
    stream.seek(0)
    kind = archive_kind(head)
    if kind is None:
        yield Skipped(display, "not a supported archive")
        return
    yield from _members(stream, display, kind, budget, depth=1)


def _members(stream: BinaryIO, display: str, kind: str, budget: _Budget, depth: int) -> Iterator[Member | Skipped]:
    try:
        if kind == "zip":
            yield from _zip(stream, display, budget, depth)
        elif kind == "tar":
            yield from _tar(stream, display, budget, depth)
        else:
            opener = {
                "gzip": lambda f: gzip.GzipFile(fileobj=f),
                "bzip2": bz2.BZ2File,
                "xz": lzma.LZMAFile,
            }[kind]
            name = display.rsplit("!", 1)[-1].rsplit("/", 1)[-1]
            inner = name.rsplit(".", 1)[0] if "." in name else f"{name}.out"
            with opener(stream) as decompressed:
                yield from _member(decompressed, f"{display}!{inner}", budget, depth)
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError, lzma.LZMAError, ValueError) as error:
        yield Skipped(display, f"corrupt archive: {error}")


def _zip(stream: BinaryIO, display: str, budget: _Budget, depth: int) -> Iterator[Member | Skipped]:
    limits = budget.limits
    with zipfile.ZipFile(stream) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            name = f"{display}!{info.filename}"
            if info.compress_size and info.file_size / info.compress_size > limits.max_ratio:
                yield Skipped(
                    name,
                    f"compression ratio {info.file_size // info.compress_size}:1 over the limit "
                    f"of {limits.max_ratio}:1 (zip bomb?)",
                )
                continue
            if info.flag_bits & 0x1:
                yield Skipped(name, "encrypted archive member")
                continue
            with archive.open(info) as member:
                yield from _member(member, name, budget, depth)


def _tar(stream: BinaryIO, display: str, budget: _Budget, depth: int) -> Iterator[Member | Skipped]:
    with tarfile.open(fileobj=stream, mode="r:*") as archive:
        for info in archive:
            if not info.isreg():
                continue
            member = archive.extractfile(info)
            if member is not None:
                yield from _member(member, f"{display}!{info.name}", budget, depth)


def _member(member: BinaryIO, name: str, budget: _Budget, depth: int) -> Iterator[Member | Skipped]:
    limits = budget.limits
    budget.members += 1
    if budget.members > limits.max_members:
        if budget.members == limits.max_members + 1:
            yield Skipped(name, f"more than {limits.max_members} archive members; the rest are not read")
        return
    allowed = min(limits.max_member_bytes, limits.max_total_bytes - budget.bytes)
    pieces, size = [], 0
    while True:
        piece = member.read(min(READ_PIECE, allowed + 1 - size))
        if not piece:
            break
        pieces.append(piece)
        size += len(piece)
        if size > allowed:
            budget.bytes += size
            which = "member" if allowed == limits.max_member_bytes else "total"
            yield Skipped(name, f"uncompressed {which} size over the limit; not read further")
            return
    budget.bytes += size
    data = b"".join(pieces)
    kind = archive_kind(data[:512])
    if kind is None:
        yield Member(name, data)
    elif depth >= limits.max_depth:
        yield Skipped(name, f"archive nested deeper than {limits.max_depth} levels")
    else:
        yield from _members(io.BytesIO(data), name, kind, budget, depth + 1)
