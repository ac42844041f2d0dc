"""Redaction: mask Binance keys, secrets, private keys and request signatures in text and in logs.

A value found anywhere in the input (by the scanner's detector, by the chat rules in a chat export, or in an
X-MBX-APIKEY header) is masked everywhere it occurs: in clear, JSON-escaped, as PEM body lines, and inside
any base64 value whose decoding holds it (a Kubernetes Secret's data).

`keyguard.vault.redact.install()` adds a logging filter that does the same to every record of a bot's own
logs (ccxt and python-binance DEBUG logs print request headers with X-MBX-APIKEY).
"""

from __future__ import annotations

import binascii
import codecs
import json
import logging
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

from keyguard.detect.decoders import BASE64
from keyguard.detect.detector import Chunk, chat_detector, file_detector
from keyguard.matching import CHAT_ERRORS
from keyguard.model import redact as masked
from keyguard.sources.chat import MAX_CHAT_FILE_BYTES, chat_platform, iter_messages
from keyguard.sources.reading import CHUNK_BYTES, OVERLAP_BYTES

_SIGNATURE = re.compile(rb"(signature=)[0-9A-Za-z%+/=]{16,}")
# in logs the header may carry any key-shaped value, with or without the rules' context
_HEADER = re.compile(rb"(X-MBX-APIKEY['\"]?\s{0,4}[:=,]\s{0,4}['\"]?)([A-Za-z0-9]{16,})", re.IGNORECASE)
_PEM_ARMOUR = re.compile(rb"-----[A-Z ]+-----")
_PEM_BREAKS = re.compile(rb"\\[nr]|\s+")
MIN_PEM_LINE = 16  # shorter body lines (the tail of the last one) are not distinctive enough to mask alone
_UTF16 = ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def label(value: bytes) -> bytes:
    return f"[REDACTED {masked(value)}]".encode()


def _escaped(value: bytes) -> set[bytes]:
    """The value as a JSON string holds it (`\\n` for line breaks), also with `\\/` as some encoders write."""
    text = json.dumps(value.decode("utf-8", "surrogateescape"), ensure_ascii=False)[1:-1]
    inner = text.encode("utf-8", "surrogateescape")
    return {inner, inner.replace(b"/", b"\\/")}


def secret_forms(value: bytes) -> set[bytes]:
    """Every form the value may take in text: itself, JSON-escaped, and for a PEM its key material whole,
    with real or escaped line breaks, and each body line alone (a log may print it line by line)."""
    forms = {value, *_escaped(value)}
    if not value.startswith(b"-----"):
        return forms
    lines = [line for line in _PEM_BREAKS.split(_PEM_ARMOUR.sub(b"\n", value)) if line]
    unescaped = value.replace(b"\\r", b"").replace(b"\\n", b"\n")
    forms |= {unescaped, *_escaped(unescaped), b"".join(lines)}
    for line in lines:
        if len(line) >= MIN_PEM_LINE:
            forms |= {line, line.replace(b"/", b"\\/")}
    return forms


class Masker:
    """Replaces every form of the given values with a redacted label naming the value (first and last 4)."""

    def __init__(self, values: Iterable[bytes]) -> None:
        self.labels: dict[bytes, bytes] = {}
        for value in sorted(set(values)):
            for form in secret_forms(value):
                self.labels.setdefault(form, label(value))
        longest_first = sorted(self.labels, key=lambda form: (-len(form), form))
        self.pattern = re.compile(b"|".join(map(re.escape, longest_first))) if longest_first else None

    def replace(self, data: bytes) -> bytes:
        """Every occurrence of every form masked."""
        if self.pattern is None:
            return data
        return self.pattern.sub(lambda m: self.labels[m.group(0)], data)

    def replace_encoded(self, data: bytes) -> bytes:
        """Each base64 value whose decoding holds a form masked whole, named by the first value in it."""
        pattern = self.pattern
        if pattern is None:
            return data

        def mask(match: re.Match[bytes]) -> bytes:
            inside = pattern.search(_decoded(match.group(0)))
            if inside is None:
                return match.group(0)
            return b"[REDACTED base64 " + self.labels[inside.group(0)].removeprefix(b"[REDACTED ")

        return BASE64.compiled().sub(mask, data)

    def mask(self, data: bytes) -> bytes:
        return self.replace(self.replace_encoded(data))


def _decoded(encoded: bytes) -> bytes:
    try:
        return binascii.a2b_base64(encoded + b"=" * (-len(encoded) % 4))
    except binascii.Error:
        return b""


class StreamMasker:
    """Masks a stream read in pieces as it would be masked whole: a value split across two reads is still
    masked. Only the end of what was read that could begin a value is held back until the next read (or
    `finish`)."""

    def __init__(self, masker: Masker) -> None:
        self.masker = masker
        self.pending = b""

    def feed(self, data: bytes) -> bytes:
        buffer = self.pending + data
        hold = len(buffer) - self._partial_length(buffer)
        self.pending = buffer[hold:]
        return self.masker.replace(buffer[:hold])

    def finish(self) -> bytes:
        rest, self.pending = self.pending, b""
        return self.masker.replace(rest)

    def _partial_length(self, buffer: bytes) -> int:
        """The length of the longest end of `buffer` that is the beginning of a form, or a whole one (which a
        longer form may extend); 0 when there is none."""
        longest = 0
        for form in self.masker.labels:
            window = buffer[-len(form) :]
            at = window.find(form[:1])
            while at >= 0 and len(window) - at > longest:
                if form.startswith(window[at:]):
                    longest = len(window) - at
                    break
                at = window.find(form[:1], at + 1)
        return longest


def _chunks(data: bytes) -> Iterator[Chunk]:
    """Data in overlapping pieces, whatever bytes it holds (a log with a stray NUL byte is still a log)."""
    step = CHUNK_BYTES - OVERLAP_BYTES
    for start in range(0, max(len(data) - OVERLAP_BYTES, 1), step):
        yield Chunk(data[start : start + CHUNK_BYTES])


def _chat_values(data: bytes, path: str) -> set[bytes]:
    """Values the chat rules find in the messages of a chat export (bare keys pasted into a message)."""
    name = "stdin.json" if path == "-" else path
    if len(data) > MAX_CHAT_FILE_BYTES or chat_platform(name, data[:4096]) is None:
        return set()
    platform = chat_platform(name, data[:4096])
    assert platform is not None
    try:
        texts = [message.text.encode("utf-8", "replace") for message in iter_messages(name, data, platform)]
    except CHAT_ERRORS:
        return set()
    detector = chat_detector(True, "auto")
    return {m.value for text in texts for m in detector.scan_file([Chunk(text)], name) if m.value}


def found_values(data: bytes, path: str = "-") -> set[bytes]:
    """Every key, secret and private key found in the data, decoded base64 ones included."""
    detector = file_detector(True, "auto")
    values = {m.value for m in detector.scan_file(_chunks(data), path) if m.value}
    values |= {m.group(2) for m in _HEADER.finditer(data)}
    return values | _chat_values(data, path)


def redact_bytes(data: bytes, path: str = "-", known: frozenset[bytes] = frozenset()) -> bytes:
    """The data with every occurrence of every value found in it (and of the `known` values) masked, and
    request signatures masked. `path` (a file's name, "-" for stdin) tells a chat export; UTF-16 text is
    redacted in UTF-16."""
    for bom, codec in _UTF16:
        if data.startswith(bom):
            try:
                text = data[len(bom) :].decode(codec)
            except UnicodeDecodeError:
                break
            redacted = redact_bytes(text.encode("utf-8", "surrogatepass"), path, known)
            return bom + redacted.decode("utf-8", "surrogatepass").encode(codec, "surrogatepass")
    return _mask_all(data, known | found_values(data, path))


def _mask_all(data: bytes, values: frozenset[bytes]) -> bytes:
    return _SIGNATURE.sub(rb"\1[REDACTED]", _masker(values).mask(data))


@lru_cache(maxsize=8)
def _masker(values: frozenset[bytes]) -> Masker:
    return Masker(values)


def redact_text(text: str, known: frozenset[bytes] = frozenset()) -> str:
    return redact_bytes(text.encode("utf-8", "surrogateescape"), known=known).decode("utf-8", "surrogateescape")


class RedactingFilter(logging.Filter):
    """Masks each record, and in every later record the values found in earlier ones (a key logged once in
    a header and later alone in a message)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: frozenset[bytes] = frozenset()

    def filter(self, record: logging.LogRecord) -> bool:
        data = record.getMessage().encode("utf-8", "surrogateescape")
        self.seen |= found_values(data)
        record.msg, record.args = _mask_all(data, self.seen).decode("utf-8", "surrogateescape"), ()
        return True


def install(logger: logging.Logger | None = None) -> RedactingFilter:
    """Redact every record that reaches the handlers of `logger` (the root logger by default)."""
    target = logger or logging.getLogger()
    redacting = RedactingFilter()
    for handler in target.handlers or [logging.lastResort]:
        if handler is not None:
            handler.addFilter(redacting)
    target.addFilter(redacting)
    return redacting


__all__ = ["Masker", "StreamMasker", "found_values", "install", "redact_bytes", "redact_text", "secret_forms"]
