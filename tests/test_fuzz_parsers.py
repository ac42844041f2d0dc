"""Fuzzing the parsers of untrusted input: no input aborts a scan.

Archives, chat exports, base64 tokens and `git cat-file --batch` output, random or real-but-mutated: the
parsers never raise (a chat export raises NotAChatExport only, at the call), archives yield only Member
and Skipped within their limits, and a well-formed part among odd ones is still found.
"""

from __future__ import annotations

import base64
import bz2
import gzip
import io
import json
import lzma
import os
import tarfile
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keyguard.detect.decoders import PRINTABLE, decode_base64
from keyguard.model import Skipped
from keyguard.sources.archives import ArchiveLimits, Member, archive_kind, iter_archive
from keyguard.sources.chat import Message, NotAChatExport, chat_platform, iter_messages
from keyguard.sources.history import _PieceReader

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LOG = b"".join(b"2026-11-20 request %d X-MBX-APIKEY: <redacted>\n" % i for i in range(200))


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        archive.writestr("config/", b"")
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _tar(members: dict[str, bytes], mode: str = "w") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


MEMBERS = {
    "config/.env": b"BINANCE_API_KEY=placeholder\n",
    "bot.log": LOG,
    "logo.png": b"\x89PNG\r\n\x1a\n" + bytes(64),
}
ARCHIVES = {
    "a.zip": _zip(MEMBERS),
    "stored.zip": _zip(MEMBERS, zipfile.ZIP_STORED),
    "bzip2.zip": _zip(MEMBERS, zipfile.ZIP_BZIP2),
    "lzma.zip": _zip(MEMBERS, zipfile.ZIP_LZMA),
    "a.tar": _tar(MEMBERS),
    "a.tar.gz": _tar(MEMBERS, "w:gz"),
    "a.tar.bz2": _tar(MEMBERS, "w:bz2"),
    "a.tar.xz": _tar(MEMBERS, "w:xz"),
    "bot.log.gz": gzip.compress(LOG),
    "bot.log.bz2": bz2.compress(LOG),
    "bot.log.xz": lzma.compress(LOG),
    "nested.zip": _zip({"backup.tar.gz": _tar({"inner.zip": _zip(MEMBERS), "notes.txt": b"hi"}, "w:gz")}),
}
SIGNATURES = (b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06", b"ustar", b"\x1f\x8b", b"BZh", b"\xfd7zXZ")
MAGIC = [b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b", b"\x1f\x8b\x08\x00", b"BZh9", b"\xfd7zXZ\x00"]
INTERESTING = [b"\x00", b"\xff", b"\x09\x00", b"\x00\x08", b"\xff\xff", b"\xff\xff\xff\xff", b"\x00\x00\x00\x80"]


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    """A real archive with a few bytes changed, cut, inserted or deleted, often in a header."""
    name = draw(st.sampled_from(sorted(ARCHIVES)))
    data = bytearray(ARCHIVES[name])
    headers = [i for signature in SIGNATURES for i in range(len(data)) if data.startswith(signature, i)] or [0]
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        operation = draw(st.sampled_from(["header", "header", "byte", "cut", "insert", "delete"]))
        position = draw(st.integers(0, len(data) - 1))
        if operation == "header":
            position = min(draw(st.sampled_from(headers)) + draw(st.integers(0, 45)), len(data) - 1)
            value = draw(st.sampled_from(INTERESTING) | st.binary(min_size=1, max_size=4))
            data[position : position + len(value)] = value
        elif operation == "byte":
            data[position] = draw(st.integers(0, 255))
        elif operation == "cut":
            del data[position:]
        elif operation == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=16))
        else:
            del data[position : position + draw(st.integers(1, 64))]
    return name, bytes(data)


limits = st.one_of(
    st.just(ArchiveLimits()),
    st.builds(
        ArchiveLimits,
        max_depth=st.integers(1, 4),
        max_members=st.integers(1, 8),
        max_total_bytes=st.integers(1, 20_000),
        max_member_bytes=st.integers(0, 10_000),
        max_ratio=st.integers(1, 300),
    ),
)


def _check_archive(data: bytes, display: str, limits: ArchiveLimits) -> list[Member | Skipped]:
    items = list(iter_archive(io.BytesIO(data), display, limits))
    members = [item for item in items if isinstance(item, Member)]
    assert all(isinstance(item, Member | Skipped) for item in items)
    for member in members:
        assert member.display.startswith(f"{display}!") and member.display.isprintable()
        assert isinstance(member.data, bytes) and len(member.data) <= limits.max_member_bytes
    for skipped in items:
        if isinstance(skipped, Skipped):
            assert skipped.path.startswith(display) and skipped.path.isprintable()
            assert skipped.reason and skipped.reason.isprintable()
    assert len(members) <= limits.max_members
    assert sum(len(member.data) for member in members) <= limits.max_total_bytes
    return items


def test_the_unmutated_archives_are_read_whole():
    for name, data in ARCHIVES.items():
        items = _check_archive(data, name, ArchiveLimits())
        assert not any(isinstance(item, Skipped) for item in items), name
        assert any(item.data in (LOG, MEMBERS["config/.env"]) for item in items), name


@FUZZ
@given(mutated(), limits)
def test_mutated_archives_never_raise(archive: tuple[str, bytes], limits: ArchiveLimits):
    name, data = archive
    _check_archive(data, name, limits)


@FUZZ
@given(st.sampled_from(MAGIC), st.binary(max_size=2048), limits)
def test_random_bytes_behind_an_archive_signature_never_raise(magic: bytes, tail: bytes, limits: ArchiveLimits):
    _check_archive(magic + tail, "random.bin", limits)


@FUZZ
@given(st.binary(max_size=1024))
def test_random_bytes_are_not_an_archive(data: bytes):
    items = _check_archive(data, "random.bin", ArchiveLimits())
    assert items == [Skipped("random.bin", "not a supported archive")] or archive_kind(data[:512]) is not None


member_names = st.text(min_size=1, max_size=12).filter(lambda name: "\x00" not in name and not name.endswith("/"))


@FUZZ
@given(st.lists(member_names, min_size=1, max_size=4), st.booleans())
def test_member_names_of_any_text(names: list[str], as_tar: bool):
    members = {f"{i}/{name}": b"x%d" % i for i, name in enumerate(names)}
    items = _check_archive(_tar(members) if as_tar else _zip(members), "names", ArchiveLimits())
    assert sorted(item.data for item in items) == sorted(members.values())


# Chat exports

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def _record(keys: list[str]) -> st.SearchStrategy:
    """Objects with some of the platform's keys, each of any JSON value, or anything else."""
    return st.fixed_dictionaries({}, optional={key: json_values for key in keys}) | json_values


TELEGRAM_MESSAGE = _record(["id", "type", "date", "from", "from_id", "text"])
DISCORD_MESSAGE = _record(["id", "timestamp", "content", "author", "embeds"])
SLACK_MESSAGE = _record(["type", "user", "text", "ts", "client_msg_id", "user_profile"])
GOOD = {
    "telegram": {"id": 1, "type": "message", "date": "d", "from": "Ann", "text": "the canary message"},
    "discord": {"id": "1", "timestamp": "d", "content": "the canary message", "author": {"name": "Ann"}},
    "slack": {"user": "Ann", "text": "the canary message", "ts": "d"},
}


def _among(messages: st.SearchStrategy, platform: str) -> st.SearchStrategy:
    """Random messages with the well-formed one somewhere among them."""
    return st.tuples(st.lists(messages, max_size=6), st.integers(0, 6)).map(
        lambda drawn: [*drawn[0][: drawn[1]], GOOD[platform], *drawn[0][drawn[1] :]]
    )


def _documents() -> st.SearchStrategy:
    telegram_chat = st.fixed_dictionaries(
        {"messages": _among(TELEGRAM_MESSAGE, "telegram")}, optional={"name": json_values, "id": json_values}
    )
    return st.one_of(
        telegram_chat.map(lambda chat: ("telegram", chat)),
        st.lists(telegram_chat, min_size=1, max_size=3).map(
            lambda chats: ("telegram", {"about": 1, "chats": {"list": chats}})
        ),
        st.fixed_dictionaries(
            {"messages": _among(DISCORD_MESSAGE, "discord")}, optional={"guild": json_values, "channel": json_values}
        ).map(lambda document: ("discord", document)),
        _among(SLACK_MESSAGE, "slack").map(lambda messages: ("slack", messages)),
    )


def _read_messages(path: str, data: bytes, platform: str) -> list[Message] | None:
    """The messages, or None when the module said NotAChatExport (the only exception it may raise)."""
    try:
        messages = iter_messages(path, data, platform)
    except NotAChatExport:
        return None
    found = list(messages)
    for message in found:
        assert isinstance(message, Message)
        assert all(isinstance(getattr(message, name), str) for name in ("chat", "author", "date", "message_id", "text"))
        assert message.text and message.platform == platform
        message.location()
    return found


@FUZZ
@given(_documents())
def test_chat_exports_with_messages_of_any_shape(document: tuple[str, object]):
    platform, content = document
    data = json.dumps(content).encode()
    found = _read_messages("/nowhere/chan/2026-01-01.json", data, platform)
    assert found is not None
    assert "the canary message" in [message.text for message in found]


@FUZZ
@given(
    st.sampled_from(["telegram", "discord", "slack"]), json_values | _record(["messages", "chats", "guild", "channel"])
)
def test_any_json_document_for_each_platform(platform: str, document: object):
    _read_messages("/nowhere/chan/2026-01-01.json", json.dumps(document).encode(), platform)


@FUZZ
@given(_documents(), st.lists(st.tuples(st.integers(0, 10_000), st.binary(max_size=3)), min_size=1, max_size=4))
def test_mutated_chat_exports(document: tuple[str, object], edits: list[tuple[int, bytes]]):
    platform, content = document
    data = bytearray(json.dumps(content).encode())
    for position, value in edits:
        at = position % (len(data) + 1)
        data[at : at + len(value)] = value
    assert chat_platform("result.json", bytes(data[:4096])) in (None, "telegram", "discord", "slack")
    _read_messages("/nowhere/chan/2026-01-01.json", bytes(data), platform)


MARKERS = [b'"messages"', b'"chats"', b'"guild"', b'"channel"', b'"exportedAt"', b'"ts"', b"[", b"{", b" ", b":"]
heads = st.lists(st.sampled_from(MARKERS) | st.binary(max_size=6), max_size=12).map(b"".join)
paths = (
    st.sampled_from(["result.json", "2026-01-01.json", "a/b/2026-11-12.json", "x.json", "x.txt", ".json"]) | st.text()
)


@FUZZ
@given(paths, heads)
def test_chat_platform_then_messages_of_any_bytes(path: str, data: bytes):
    platform = chat_platform(path, data[:4096])
    assert platform in (None, "telegram", "discord", "slack")
    if platform is not None:
        _read_messages(path, data, platform)


@pytest.fixture(scope="module")
def slack_day(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("slack")
    (root / "trading").mkdir()
    return str(root / "trading" / "2026-11-12.json")


@FUZZ
@given(json_values.map(lambda value: json.dumps(value).encode()) | st.binary(max_size=64))
def test_slack_users_file_of_any_content(slack_day: str, users: bytes):
    with open(os.path.join(os.path.dirname(os.path.dirname(slack_day)), "users.json"), "wb") as handle:
        handle.write(users)
    found = _read_messages(slack_day, json.dumps([GOOD["slack"]]).encode(), "slack")
    assert found is not None and [message.text for message in found] == ["the canary message"]


# base64 decoding


@FUZZ
@given(
    st.binary(max_size=512)
    | st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", max_size=400).map(str.encode)
)
def test_decode_base64_of_any_bytes(token: bytes):
    decoded = decode_base64(token)
    assert decoded is None or (decoded and PRINTABLE.fullmatch(decoded))


@FUZZ
@given(
    st.text(st.characters(min_codepoint=32, max_codepoint=126) | st.sampled_from("\t\r\n"), min_size=1, max_size=200)
)
def test_decode_base64_reads_back_printable_text(text: str):
    encoded = base64.b64encode(text.encode())
    assert decode_base64(encoded) == text.encode() == decode_base64(encoded.rstrip(b"="))


# `git cat-file --batch` output, read through a real pipe


class _SmallPieces(_PieceReader):
    PIECE = 7  # many reads, and the consumed part dropped often


class _Model:
    """What the reader must return: lines up to a newline, exact-size takes, None (and nothing consumed) at EOF."""

    def __init__(self, data: bytes) -> None:
        self.data, self.position = data, 0

    def line(self) -> bytes | None:
        end = self.data.find(b"\n", self.position)
        if end == -1:
            return None
        line, self.position = self.data[self.position : end], end + 1
        return line

    def take(self, size: int) -> bytes | None:
        if len(self.data) - self.position < size:
            return None
        data = self.data[self.position : self.position + size]
        self.position += size
        return data


operations = st.lists(st.one_of(st.just(("line", 0)), st.tuples(st.just("take"), st.integers(0, 9000))), max_size=30)


@FUZZ
@given(
    st.binary(max_size=8192) | st.lists(st.sampled_from([b"\n", b"blob 12", b" ", b"x" * 13])).map(b"".join),
    operations,
    st.booleans(),
)
def test_piece_reader_on_any_bytes(data: bytes, steps: list[tuple[str, int]], small: bool):
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, data)  # under the pipe's buffer: no writer thread needed
        os.close(write_end)
        reader = (_SmallPieces if small else _PieceReader)(read_end)
        model = _Model(data)
        for operation, size in steps:
            got = reader.line() if operation == "line" else reader.take(size)
            assert got == (model.line() if operation == "line" else model.take(size))
    finally:
        os.close(read_end)


def test_piece_reader_take_of_a_size_past_the_data_returns_none():
    """A size no memory holds (past the user address space) is read in pieces until the data ends."""
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, b"0123456789abcdef0123456789abcdef01234567 blob 1125899906842624\n")
        os.close(write_end)
        reader = _PieceReader(read_end)
        assert reader.line() is not None
        assert reader.take(1 << 50) is None  # a size no memory holds: past the user address space
    finally:
        os.close(read_end)
