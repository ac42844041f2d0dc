"""Encoded text: base64 values (Kubernetes Secrets, CI variables) decoded so the rules can read them.

A decoder is matched by the same engine pass as the rules. A decoded value that is printable text is
scanned with the text that precedes it on its line (`BINANCE_API_KEY: <base64>` keeps its name).
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass
from functools import cache

from keyguard.rules import _max_width

PRINTABLE = re.compile(rb"[\t\n\r\x20-\x7e]*")


@dataclass(frozen=True)
class DecoderPattern:
    id: str
    pattern: bytes
    prefilter: bytes
    anchor: int = 0  # the prefilter matches this many bytes at a run's start: `re` checks only there

    @property
    def max_width(self) -> int:
        return _max_width(self.pattern)

    def compiled(self) -> re.Pattern[bytes]:
        return _compile(self.pattern)


@cache
def _compile(pattern: bytes) -> re.Pattern[bytes]:
    return re.compile(pattern)


# 64 bytes and more, the shortest being one key with a trailing newline (88 characters with padding)
BASE64 = DecoderPattern(
    "decode.base64",
    rb"(?<![A-Za-z0-9+/_\-])(?P<encoded>[A-Za-z0-9+/]{86,8192}={0,2})(?![A-Za-z0-9+/=_\-])",
    rb"(?:^|[^A-Za-z0-9+/_\-])[A-Za-z0-9+/]{86}",
    anchor=86,
)
DECODERS = (BASE64,)


def decode_base64(token: bytes | bytearray | memoryview) -> bytes | None:
    """The decoded bytes when they are printable text, else None (never raises: bad padding is not text)."""
    raw = bytes(token)
    try:
        decoded = binascii.a2b_base64(raw + b"=" * (-len(raw) % 4))
    except binascii.Error:
        return None
    if not decoded or PRINTABLE.fullmatch(decoded) is None:
        return None
    return decoded
