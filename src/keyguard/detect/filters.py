"""Precision filters for 64-character HMAC tokens: what looks key-shaped but is not a key.

A real Binance key or secret is 64 characters drawn at random from [A-Za-z0-9]: its Shannon entropy is
about 5.3 bits per character and it uses about 40 distinct characters. Placeholders, hashes and
hand-typed fillers fall far below that; the thresholds sit many standard deviations under a real key.
"""

from __future__ import annotations

import math
import re
from collections import Counter

_HEX = re.compile(rb"[0-9a-fA-F]+")
MIN_ENTROPY_BITS = 4.5
MIN_DISTINCT_CHARS = 20
MAX_ASCENDING_STEPS = 8


def is_hex_only(token: bytes) -> bool:
    """Hashes, transaction ids and signatures: hex digits only."""
    return _HEX.fullmatch(token) is not None


def shannon_entropy(token: bytes) -> float:
    counts = Counter(token)
    total = len(token)
    return -sum(c / total * math.log2(c / total) for c in counts.values())


def _ascending_steps(token: bytes) -> int:
    return sum(1 for a, b in zip(token, token[1:], strict=False) if b == a + 1)


def placeholder_reason(token: bytes) -> str | None:
    """Why an HMAC-shaped token is not a real key, or None when it may be one."""
    if is_hex_only(token):
        return "hex-only (hash, transaction id or signature)"
    if len(set(token)) < MIN_DISTINCT_CHARS:
        return "too few distinct characters (placeholder)"
    if shannon_entropy(token) < MIN_ENTROPY_BITS:
        return "low entropy (placeholder)"
    if _ascending_steps(token) > MAX_ASCENDING_STEPS:
        return "alphabet run (placeholder)"
    return None
