"""Archives: zip, tar (plain, gz, bz2, xz), gz, bz2 and xz streams, recursively, within limits.

Limits on depth, member count, total and per-member uncompressed size and zip compression ratio keep a
zip bomb from exhausting memory or time: whatever exceeds them is reported as skipped, never read.
Members are named `outer.zip!inner.tar.gz!dir/.env`.

Nothing in an archive stops a scan: a member that cannot be read (unsupported compression, bad CRC,
truncated data) is Skipped with the reason and the others are still read; a corrupt archive is Skipped
after the members read before the fault. Of a truncated gz, bz2 or xz stream, the part before the fault
is scanned.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import struct
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from keyguard.model import Skipped

READ_PIECE = 1 << 20
MIB = 1 << 20
MAX_REASON = 300

ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
ZIP_METHOD_NAMES = {
    1: "Shrink",
    6: "Implode",
    9: "Deflate64",
    10: "PKWARE Implode",
    18: "IBM TERSE",
    19: "IBM LZ77",
    93: "Zstandard",
    95: "XZ",
    96: "JPEG",
    97: "WavPack",
    98: "PPMd",
}
_ZIP_UTF8_NAME = 0x800
_ZIP_END = struct.Struct("<4s4H2LH")
_ZIP_ENTRY = struct.Struct("<4s6H3L5H2L")


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


@dataclass(frozen=True)
class _Content:
    """What reading one member gave: its bytes, or the limit it crossed, or the fault met part way."""

    data: bytes
    over_limit: str | None = None
    fault: Exception | None = None


class _Budget:
    def __init__(self, limits: ArchiveLimits) -> None:
        self.limits = limits
        self.members = 0
        self.bytes = 0

    @property
    def full(self) -> bool:
        """Past the member count: nothing more is read, in this archive or the ones holding it."""
        return self.members > self.limits.max_members

    def admit(self, name: str) -> Skipped | None:
        """Counts one more member; a Skipped when the limits leave it no room."""
        self.members += 1
        limits = self.limits
        if self.members > limits.max_members:
            return Skipped(name, f"more than {limits.max_members} archive members; the rest are not read")
        if self.bytes >= limits.max_total_bytes:
            return Skipped(name, _total_reason(limits))
        return None


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
    """The text-or-binary members of an archive (recursively); every problem comes out as Skipped, none raises."""
    budget = _Budget(limits or ArchiveLimits())
    try:
        head = stream.read(512)
        stream.seek(0)
    except Exception as error:
        yield Skipped(display, f"unreadable: {_describe(error)}")
        return
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
            yield from _compressed(stream, display, kind, budget, depth)
    except Exception as error:  # whatever the stdlib readers raise on bad input: zlib.error, struct.error, ...
        yield Skipped(display, f"corrupt archive: {_describe(error)}")


def _compressed(stream: BinaryIO, display: str, kind: str, budget: _Budget, depth: int) -> Iterator[Member | Skipped]:
    """A gz, bz2 or xz stream: one member, named after the archive without its suffix."""
    openers: dict[str, Callable[[BinaryIO], BinaryIO]] = {
        "gzip": lambda f: gzip.GzipFile(fileobj=f),
        "bzip2": bz2.BZ2File,
        "xz": lzma.LZMAFile,
    }
    name = display.rsplit("!", 1)[-1].rsplit("/", 1)[-1]
    inner = name.rsplit(".", 1)[0] if "." in name else ""
    name = f"{display}!{inner or name + '.out'}"
    over = budget.admit(name)
    if over is not None:
        yield over
        return
    with openers[kind](stream) as decompressed:
        content = _read(decompressed, budget)
    if content.over_limit:
        yield Skipped(name, content.over_limit)
        return
    if content.data:
        yield from _expand(content.data, name, budget, depth)
    if content.fault is not None:
        read = f"; the {len(content.data)} bytes before it were read" if content.data else ""
        yield Skipped(display, f"corrupt archive: {_describe(content.fault)}{read}")


def _zip(stream: BinaryIO, display: str, budget: _Budget, depth: int) -> Iterator[Member | Skipped]:
    limits = budget.limits
    with _open_zip(stream, limits) as archive:
        for info in archive.infolist():
            if budget.full:
                return
            if info.is_dir():
                continue
            name = f"{display}!{_shown(info.filename)}"
            problem = _zip_member_problem(info, limits)
            if problem is not None:
                yield Skipped(name, problem)
                continue
            over = budget.admit(name)
            if over is not None:
                yield over
                continue
            yield from _read_member(lambda info=info: archive.open(info), name, budget, depth)


def _zip_member_problem(info: zipfile.ZipInfo, limits: ArchiveLimits) -> str | None:
    if info.compress_size and info.file_size / info.compress_size > limits.max_ratio:
        ratio = info.file_size // info.compress_size
        return f"compression ratio {ratio}:1 over the limit of {limits.max_ratio}:1 (zip bomb?)"
    if info.flag_bits & 0x1:
        return "encrypted archive member"
    if info.compress_type not in ZIP_METHODS:
        method = ZIP_METHOD_NAMES.get(info.compress_type, "an unknown method")
        return f"zip member compressed with {method} (method {info.compress_type}): not supported"
    return None


def _open_zip(stream: BinaryIO, limits: ArchiveLimits) -> zipfile.ZipFile:
    """The zip; one whose names are marked UTF-8 but are not is read with those names as cp437 (as unmarked)."""
    try:
        return zipfile.ZipFile(stream)
    except UnicodeDecodeError:
        stream.seek(0, io.SEEK_END)
        if stream.tell() > limits.max_member_bytes:
            raise ValueError("member names marked UTF-8 are not (archive too large to read them otherwise)") from None
        stream.seek(0)
        return zipfile.ZipFile(io.BytesIO(_unmark_bad_utf8_names(bytearray(stream.read()))))


def _unmark_bad_utf8_names(data: bytearray) -> bytes:
    """The zip with the UTF-8 flag cleared where a name does not decode (central directory and local header)."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - _ZIP_END.size - 0xFFFF))
    if end < 0 or end + _ZIP_END.size > len(data):
        raise zipfile.BadZipFile("no end of central directory record")
    directory_size, directory_offset = _ZIP_END.unpack_from(data, end)[5:7]
    position = end - directory_size
    shift = position - directory_offset  # bytes before the zip (a self-extracting stub)
    while position >= 0 and position + _ZIP_ENTRY.size <= end and data[position : position + 4] == b"PK\x01\x02":
        entry = _ZIP_ENTRY.unpack_from(data, position)
        name_length, extra_length, comment_length, local = entry[10], entry[11], entry[12], entry[16] + shift
        start = position + _ZIP_ENTRY.size
        try:
            data[start : start + name_length].decode("utf-8")
        except UnicodeDecodeError:
            _clear_utf8_flag(data, position + 8)
            if data[local : local + 4] == b"PK\x03\x04":
                _clear_utf8_flag(data, local + 6)
        position = start + name_length + extra_length + comment_length
    return bytes(data)


def _clear_utf8_flag(data: bytearray, offset: int) -> None:
    (flags,) = struct.unpack_from("<H", data, offset)
    struct.pack_into("<H", data, offset, flags & ~_ZIP_UTF8_NAME)


def _tar(stream: BinaryIO, display: str, budget: _Budget, depth: int) -> Iterator[Member | Skipped]:
    with tarfile.open(fileobj=stream, mode="r:*") as archive:
        for info in archive:
            if budget.full:
                return
            if not info.isreg():
                continue
            name = f"{display}!{_shown(info.name)}"
            over = budget.admit(name)
            if over is not None:
                yield over
                continue
            yield from _read_member(lambda info=info: archive.extractfile(info), name, budget, depth)


def _read_member(
    open_member: Callable[[], BinaryIO | None], name: str, budget: _Budget, depth: int
) -> Iterator[Member | Skipped]:
    """One member of a zip or tar; a member that cannot be read is Skipped whole."""
    try:
        member = open_member()
        if member is None:
            return
        with member:
            content = _read(member, budget)
    except Exception as error:  # opening it (unsupported method, bad header) failed
        yield Skipped(name, f"unreadable archive member: {_describe(error)}")
        return
    if content.over_limit:
        yield Skipped(name, content.over_limit)
    elif content.fault is not None:
        yield Skipped(name, f"unreadable archive member: {_describe(content.fault)}")
    else:
        yield from _expand(content.data, name, budget, depth)


def _read(member: BinaryIO, budget: _Budget) -> _Content:
    """A member's bytes up to the limits; a fault part way keeps what was read before it."""
    limits = budget.limits
    room = limits.max_total_bytes - budget.bytes
    allowed = min(limits.max_member_bytes, room)
    read = getattr(member, "read1", member.read)  # one buffer at a time: a fault loses no more than one
    pieces: list[bytes] = []
    size = 0
    fault = None
    try:
        while size <= allowed:
            piece = read(min(READ_PIECE, allowed + 1 - size))
            if not piece:
                break
            pieces.append(piece)
            size += len(piece)
    except Exception as error:  # corrupt compressed data: zlib.error, EOFError, LZMAError, bad CRC, ...
        fault = error
    budget.bytes += size
    if size > allowed:
        if limits.max_member_bytes <= room:
            return _Content(b"", over_limit=f"uncompressed member size over the limit of {_size(allowed)}; not read")
        return _Content(b"", over_limit=_total_reason(limits))
    return _Content(b"".join(pieces), fault=fault)


def _expand(data: bytes, name: str, budget: _Budget, depth: int) -> Iterator[Member | Skipped]:
    kind = archive_kind(data[:512])
    if kind is None:
        yield Member(name, data)
    elif depth >= budget.limits.max_depth:
        yield Skipped(name, f"archive nested deeper than {budget.limits.max_depth} levels")
    else:
        yield from _members(io.BytesIO(data), name, kind, budget, depth + 1)


def _total_reason(limits: ArchiveLimits) -> str:
    return f"archive total uncompressed size over the limit of {_size(limits.max_total_bytes)}; not read"


def _size(count: int) -> str:
    return f"{count // MIB} MiB" if count % MIB == 0 else f"{count} bytes"


def _describe(error: Exception) -> str:
    text = _shown(str(error) or type(error).__name__)
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


def _shown(name: str) -> str:
    """A name from inside an archive, printable: control characters and undecodable bytes as escapes."""
    if name.isprintable():
        return name
    return "".join(char if char.isprintable() else _escape(char) for char in name)


def _escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
