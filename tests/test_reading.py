"""Large inputs are read in overlapping chunks; each finding is reported once, at the right line."""

from __future__ import annotations

import io
import random

from conftest import random_token
from keyguard.detect.detector import Detector
from keyguard.detect.engine import build_engine
from keyguard.rules import load_rules
from keyguard.sources.reading import NotText, iter_chunks

RULES = load_rules()


def _scan(data: bytes, **chunking):
    detector = Detector(RULES, build_engine(RULES))
    return [
        (f.line, f.column, f.secret_sha256) for f in detector.scan_file(iter_chunks(io.BytesIO(data), **chunking), "f")
    ]


def _big_document(rng: random.Random, lines: int) -> tuple[bytes, int]:
    out = []
    planted = 0
    for number in range(lines):
        if rng.random() < 0.002:
            out.append(f"BINANCE_API_SECRET={random_token(rng)}\n")
            planted += 1
        else:
            out.append(f"log line {number} " + "x" * rng.randint(0, 120) + "\n")
    return "".join(out).encode(), planted


def test_chunked_reading_finds_each_value_once_with_true_lines():
    rng = random.Random(5)
    data, planted = _big_document(rng, 30000)
    whole = _scan(data, chunk_bytes=len(data) + 1)
    assert len(whole) == planted > 20
    for chunk_bytes in (140_000, 200_003, 333_333):
        assert _scan(data, chunk_bytes=chunk_bytes, overlap=65536) == whole


def test_value_straddling_a_chunk_boundary_is_found(canaries):
    line = f"BINANCE_API_SECRET={canaries.secret}\n".encode()
    for shift in range(-90, 10, 7):
        filler = b"a" * (200_000 + shift - 1) + b"\n"
        found = _scan(filler + line, chunk_bytes=200_000, overlap=65536)
        assert [(ln, col) for ln, col, _ in found] == [(2, 20)]


def test_binary_and_archives_are_not_text():
    for data, reason in ((b"\x7fELF\x00\x00binary", "binary"), (b"PK\x03\x04zip...", "archive")):
        try:
            list(iter_chunks(io.BytesIO(data)))
        except NotText as error:
            assert reason in str(error)
        else:
            raise AssertionError("not rejected")


def test_utf16_text_is_scanned(canaries):
    data = f"BINANCE_API_SECRET={canaries.secret}\r\n".encode("utf-16")
    assert len(_scan(data)) == 1
