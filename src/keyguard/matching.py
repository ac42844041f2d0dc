"""Matching one blob: archives and chat exports expanded into child blobs, the detector run on each text.

Runs in worker processes. Nothing here raises for a bad input: whatever cannot be read or parsed becomes
a Skipped entry with its reason, and the batch goes on.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, BinaryIO

from keyguard.detect.detector import Chunk, Detector, chat_detector, file_detector
from keyguard.detect.evidence import kind_where_loaded
from keyguard.model import Blob, Match, Provenance, Skipped
from keyguard.sources.archives import Member, iter_archive
from keyguard.sources.chat import MAX_CHAT_FILE_BYTES, chat_platform, iter_messages
from keyguard.sources.images import (
    NotReadable,
    ReadingCache,
    TooSmall,
    decode,
    image_format,
    inventory_fingerprints,
)
from keyguard.sources.reading import ARCHIVE, CHUNK_BYTES, NotText, iter_chunks, kind_of_binary, text_chunks

if TYPE_CHECKING:
    from keyguard.detect.screen import Screen

CHAT_ERRORS = (ValueError, TypeError, AttributeError, KeyError)
NEIGHBOURS_READ = 40  # files beside a blob read for a mention of Binance, at most
NEIGHBOUR_BYTES = 1 << 20  # of each, at most
BINANCE = b"binance"
MAX_IMAGE_BYTES = 64 << 20  # larger images are not read whole (nor as text)


def neighbours_name_binance(directory: str, itself: str = "") -> str | None:
    """The first other file beside it (same folder, then the folder above: `keys/api.key` beside the bot
    that reads it) that names Binance, or None."""
    found = _folder_names_binance(directory, itself)
    if found is None and os.path.dirname(directory) != directory:
        above = _folder_names_binance(os.path.dirname(directory), "")
        return os.path.join("..", above) if above else None
    return found


def _folder_names_binance(directory: str, itself: str) -> str | None:
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return None
    read = 0
    for entry in entries:
        if read >= NEIGHBOURS_READ:
            break
        try:
            if entry.name == itself or not entry.is_file() or entry.stat().st_size > NEIGHBOUR_BYTES:
                continue
            read += 1
            with open(entry.path, "rb") as handle:
                if BINANCE in handle.read(NEIGHBOUR_BYTES).lower():
                    return entry.name
        except OSError:
            continue
    return None


@dataclass(frozen=True)
class Hit:
    """A match and the blob it was found in; `root` is the path of the outermost blob (file, git path)."""

    root: str
    provenance: Provenance
    match: Match


@dataclass
class Tally:
    """What a piece of the scan found, skipped and read."""

    hits: list[Hit] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    bytes_scanned: int = 0
    files_scanned: int = 0
    contents: dict[str, str] = field(default_factory=dict)  # git blob id of a tracked file's content -> path
    images_read: int = 0  # images read with OCR
    images_cached: int = 0  # images whose reading came from the cache

    def add(self, other: Tally) -> None:
        self.hits += other.hits
        self.skipped += other.skipped
        self.bytes_scanned += other.bytes_scanned
        self.files_scanned += other.files_scanned
        self.contents.update(other.contents)
        self.images_read += other.images_read
        self.images_cached += other.images_cached


def git_blob_id(data: bytes) -> str:
    """The id git gives this content: a file read from the work tree is the same blob as in history."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


class Matcher:
    def __init__(self, include_examples: bool, engine: str, images: bool = True) -> None:
        self.images = images  # read text in images (OCR)
        self.files: Detector = file_detector(include_examples, engine)
        self.chat: Detector = chat_detector(include_examples, engine)
        self._directory: str | None = None  # the folder of the file being matched, for its neighbours
        self._name = ""
        self._cache = ReadingCache()
        self._known: frozenset[str] | None = None  # the inventory's fingerprints, read at the first image value

    def match(self, blob: Blob, tally: Tally) -> None:
        """Adds the blob's hits (and those of its members) to `tally`; never raises for bad content."""
        provenance = blob.provenance
        self._directory = os.path.dirname(os.path.abspath(blob.file)) if blob.file else None
        self._name = os.path.basename(blob.file) if blob.file else ""
        try:
            self._match(blob, tally)
        except NotText as reason:
            if provenance.kind in ("file", "stdin", "staged"):  # binary blobs are routine in history
                tally.skipped.append(Skipped(provenance.path, str(reason)))
        except OSError as error:
            tally.skipped.append(Skipped(provenance.path, f"unreadable: {error.strerror or error}"))
        except Exception as error:  # a parser's fault costs this blob only, never the scan
            tally.skipped.append(Skipped(provenance.path, f"could not be scanned: {type(error).__name__}: {error}"))

    def _match(self, blob: Blob, tally: Tally) -> None:
        if blob.stream is not None:
            self._match_stream(blob.stream, blob.provenance, None, tally)
            return
        if blob.data is None:
            assert blob.file is not None
            if blob.size > CHUNK_BYTES and not self._large_image(blob.file, blob.size):  # in pieces, never whole
                with open(blob.file, "rb", buffering=0) as stream:
                    self._match_stream(stream, blob.provenance, blob.size, tally)
                return
            with open(blob.file, "rb") as handle:
                blob = replace(blob, data=handle.read())
        assert blob.data is not None
        if blob.provenance.kind == "file" and not blob.provenance.local_only:
            tally.contents[git_blob_id(blob.data)] = blob.provenance.path
        self._match_data(blob.data, blob.provenance, blob.provenance.path, tally)

    def _large_image(self, path: str, size: int) -> bool:
        if not self.images or size > MAX_IMAGE_BYTES:
            return False
        with open(path, "rb") as handle:
            return image_format(handle.read(32)) is not None

    def _match_stream(self, stream: BinaryIO, provenance: Provenance, size: int | None, tally: Tally) -> None:
        try:
            matches = self._settle(self.files.scan_file(iter_chunks(stream, size_hint=size), provenance.path))
        except NotText as reason:
            if str(reason) != ARCHIVE or not stream.seekable():
                raise
            stream.seek(0)
            self._expand_archive(stream, provenance, provenance.path, tally)
            return
        tally.hits += [Hit(provenance.path, provenance, m) for m in matches]
        tally.bytes_scanned += size if size is not None else 0
        tally.files_scanned += 1

    def _match_data(self, data: bytes, provenance: Provenance, root: str, tally: Tally) -> None:
        if kind_of_binary(data[:512]) == ARCHIVE:
            self._expand_archive(io.BytesIO(data), provenance, root, tally)
            return
        if self._match_image(data, provenance, root, tally) or self._match_chat(data, provenance, root, tally):
            return
        matches = self._settle(self.files.scan_file(text_chunks(data), provenance.path))
        tally.hits += [Hit(root, provenance, m) for m in matches]
        tally.bytes_scanned += len(data)
        tally.files_scanned += 1

    def _settle(self, matches: list[Match]) -> list[Match]:
        """Pending matches kept when a file beside names Binance (only files on disk have neighbours)."""
        if not any(m.pending for m in matches):
            return matches
        neighbour = neighbours_name_binance(self._directory, self._name) if self._directory else None
        if neighbour is None:
            return [m for m in matches if not m.pending]
        reason = f"a file beside it names Binance: {neighbour}"
        kind = self._kind_where_loaded(neighbour) if len(matches) == 1 else None
        return [
            replace(
                m,
                pending=False,
                kind=kind if kind and m.kind != "private_key" else m.kind,
                reasons=(*m.reasons, reason),
            )
            if m.pending
            else m
            for m in matches
        ]

    def _kind_where_loaded(self, neighbour: str) -> str | None:
        """A lone value's kind as the file that reads it names it (only HMAC values are renamed)."""
        assert self._directory is not None
        try:
            with open(os.path.join(self._directory, neighbour), "rb") as handle:
                text = handle.read(NEIGHBOUR_BYTES)
        except OSError:
            return None
        return kind_where_loaded(text, self._name)

    def _expand_archive(self, stream: BinaryIO, provenance: Provenance, root: str, tally: Tally) -> None:
        for item in iter_archive(stream, provenance.path):
            if isinstance(item, Skipped):
                tally.skipped.append(item)
                continue
            member = replace(provenance.member(item.display.rsplit("!", 1)[-1]), path=item.display)
            try:
                self._match_member(item, member, root, tally)
            except NotText:
                continue  # binary members are routine inside archives

    def _match_member(self, item: Member, provenance: Provenance, root: str, tally: Tally) -> None:
        if self._match_image(item.data, provenance, root, tally):
            return
        if self._match_chat(item.data, provenance, root, tally):
            return
        matches = [m for m in self.files.scan_file(text_chunks(item.data), provenance.path) if not m.pending]
        tally.hits += [Hit(root, provenance, m) for m in matches]
        tally.bytes_scanned += len(item.data)
        tally.files_scanned += 1

    def _match_image(self, data: bytes, provenance: Provenance, root: str, tally: Tally) -> bool:
        """An image's text read (OCR) and matched; False when the data is no image or images are not read."""
        if not self.images or image_format(data[:32]) is None:
            return False
        from keyguard.detect.screen import ocr_matches  # deferred: numpy is loaded only when a scan meets an image

        tally.bytes_scanned += len(data)
        tally.files_scanned += 1
        screen = self._screen(data, provenance, tally)
        if screen is None or (not screen.tokens and not screen.pem):
            return True
        if self._known is None and screen.tokens:
            self._known = inventory_fingerprints()
        found = self.chat.scan_file([Chunk(screen.text)], provenance.path)
        matches = self._settle(ocr_matches(found, screen, self._known or frozenset()))
        tally.hits += [Hit(root, provenance, m) for m in matches]
        return True

    def _screen(self, data: bytes, provenance: Provenance, tally: Tally) -> Screen | None:
        """The image's screen as read before (cached), else read with OCR and kept; None when it is not read."""
        # deferred: the OCR engine is loaded only when an image is read
        from keyguard.detect.ocr import OcrUnavailable, dump_lines, load_lines, ocr_version, read_lines
        from keyguard.detect.screen import may_hold_values, screen_of

        try:
            version = ocr_version()
        except OcrUnavailable as reason:
            if provenance.kind == "file":
                tally.skipped.append(Skipped(provenance.path, str(reason)))
            return None
        kept = self._cache.get(data, version)
        if kept is not None:
            try:
                screen = screen_of(load_lines(kept))
            except ValueError:
                pass  # not a reading after all: read again, and replaced
            else:
                tally.images_cached += 1
                return screen
        try:
            lines = read_lines(decode(data), may_hold_values)
        except TooSmall:
            return None
        except NotReadable as reason:
            if provenance.kind == "file":  # in history and archives, broken images are routine
                tally.skipped.append(Skipped(provenance.path, str(reason)))
            return None
        tally.images_read += 1
        screen = screen_of(lines)
        # an image holding no value is kept as an empty reading: none of its text is stored
        self._cache.put(data, version, dump_lines(lines if screen.tokens or screen.pem else []))
        return screen

    def _match_chat(self, data: bytes, provenance: Provenance, root: str, tally: Tally) -> bool:
        """A chat export scanned message by message; False when the data is not one."""
        path = provenance.path.rsplit("!", 1)[-1]
        platform = chat_platform(path, data[:4096]) if len(data) <= MAX_CHAT_FILE_BYTES else None
        if platform is None:
            return False
        try:
            hits = list(self._chat_hits(data, provenance, root, platform))
        except CHAT_ERRORS:
            return False  # not the JSON it looked like: scanned as text
        tally.hits += hits
        tally.bytes_scanned += len(data)
        tally.files_scanned += 1
        return True

    def _chat_hits(self, data: bytes, provenance: Provenance, root: str, platform: str) -> Iterator[Hit]:
        """Each message's matches, placed at the line of the file where the value sits."""
        for message in iter_messages(provenance.path, data, platform):
            text = message.text.encode("utf-8", "replace")
            for match in self.chat.scan_file([Chunk(text)], provenance.path):
                if match.pending:
                    continue
                needle = text[match.offset : match.offset + 24]
                position = data.find(needle)
                if position >= 0:
                    line = data.count(b"\n", 0, position) + 1
                    column = position - data.rfind(b"\n", 0, position)
                    match = replace(match, line=line, end_line=line, column=column)
                match = replace(match, offset=max(position, 0))
                yield Hit(root, provenance.chat_message(message.location()), match)
