"""Redaction: mask Binance keys, secrets, private keys and request signatures in text and in logs.

`keyguard.vault.redact.install()` adds a logging filter that does the same to every record of a bot's own
logs (ccxt and python-binance DEBUG logs print request headers with X-MBX-APIKEY).
"""

from __future__ import annotations

import logging
import re

from keyguard.detect.detector import file_detector
from keyguard.model import redact as masked
from keyguard.sources.reading import text_chunks

_SIGNATURE = re.compile(rb"(signature=)[0-9A-Za-z%+/=]{16,}")
# in logs the header may carry any key-shaped value, with or without the rules' context
_HEADER = re.compile(rb"(X-MBX-APIKEY['\"]?\s{0,4}[:=,]\s{0,4}['\"]?)([A-Za-z0-9]{16,})", re.IGNORECASE)


def redact_bytes(data: bytes) -> bytes:
    detector = file_detector(True, "auto")
    spans = []
    for chunk in text_chunks(data):
        for match in detector.scan_file([chunk], "-"):
            if match.value is not None and match.encoding is None:
                spans.append((match.offset, match.offset + len(match.value), match.value))
    out = bytearray(data)
    for start, end, value in sorted(spans, reverse=True):
        out[start:end] = f"[REDACTED {masked(value)}]".encode()
    text = _SIGNATURE.sub(rb"\1[REDACTED]", bytes(out))
    return _HEADER.sub(lambda m: m.group(1) + f"[REDACTED {masked(m.group(2))}]".encode(), text)


def redact_text(text: str) -> str:
    return redact_bytes(text.encode("utf-8", "surrogateescape")).decode("utf-8", "surrogateescape")


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact_text(record.getMessage()), ()
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


__all__ = ["install", "redact_bytes", "redact_text"]
