"""Hyperscan and the pure-`re` fallback give identical findings on the same input."""

from __future__ import annotations

import base64
import io
import random
from pathlib import Path

import pytest

import keyguard
from conftest import random_token
from keyguard.detect.detector import Detector
from keyguard.detect.engine import HyperscanEngine, RegexEngine, build_engine, hyperscan_available
from keyguard.rules import load_rules
from keyguard.sources.reading import iter_chunks

RULES = load_rules()
FRAGMENTS = [
    "api_key = '{T}'\n",
    "secret: {T}\n",
    'Client("{T}", "{T}")\n',
    "X-MBX-APIKEY: {T}\n",
    '"key": "{T}",\n',
    "name: binance\n",
    "apiKey={T}&timestamp=1\n",
    "{T}\n",
    "{T}{T}\n",
    "api_key = '{T}+x'\n",
    "secret = {H}\n",
    "export BINANCE_API_SECRET={T} # keyguard:allow\n",
    "random prose about keys\n",
    "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIP3uvFJrR9WQpxfm0fX3bRcSgLTEO1sQdQyCRTcAzFZL\n"
    "-----END PRIVATE KEY-----\n",
    "\x01\xff\xfe latin-1 \xe9\n",
    "data:\n  BINANCE_API_SECRET: {B}\n",
    "blob {B}{B}\n",
    "api_key:str='{T}'\n",
    "key = {T}\n",
    "ENV BINANCE_API_KEY {T}\n",
]


def _detectors():
    return (
        Detector(RULES, HyperscanEngine(RULES), include_examples=True),
        Detector(RULES, RegexEngine(RULES), include_examples=True),
    )


def _scan(detector: Detector, data: bytes) -> list[dict]:
    return [f.to_dict() | {"offset": f.offset} for f in detector.scan_file(iter_chunks(io.BytesIO(data)), "x")]


def _document(rng: random.Random) -> bytes:
    parts = []
    for _ in range(rng.randint(1, 40)):
        fragment = rng.choice(FRAGMENTS)
        while "{T}" in fragment:
            fragment = fragment.replace("{T}", random_token(rng), 1)
        while "{B}" in fragment:
            fragment = fragment.replace("{B}", base64.b64encode(f"secret={random_token(rng)}\n".encode()).decode(), 1)
        fragment = fragment.replace("{H}", "".join(rng.choice("0123456789abcdef") for _ in range(64)))
        if rng.random() < 0.3:  # glue fragments together without separators to create near-misses
            fragment = fragment.rstrip("\n")
        parts.append(fragment)
    return "".join(parts).encode("latin-1")


pytestmark = pytest.mark.skipif(not hyperscan_available(), reason="hyperscan is not importable here")


def test_identical_findings_on_generated_documents():
    hyperscan_detector, re_detector = _detectors()
    rng = random.Random(2024)
    total = 0
    for _ in range(400):
        data = _document(rng)
        found = _scan(hyperscan_detector, data)
        assert found == _scan(re_detector, data)
        total += len(found)
    assert total > 300  # the documents really exercise the rules


def test_identical_findings_on_real_source_files():
    hyperscan_detector, re_detector = _detectors()
    files = sorted(Path(keyguard.__file__).parent.rglob("*.py"))[:60]
    files += sorted(Path(random.__file__).parent.glob("*.py"))[:60]
    for path in files:
        data = path.read_bytes()
        assert _scan(hyperscan_detector, data) == _scan(re_detector, data), path


def test_auto_engine_prefers_hyperscan():
    assert build_engine(RULES, "auto").name == "hyperscan"
    assert build_engine(RULES, "re").name == "re"
    with pytest.raises(ValueError):
        build_engine(RULES, "grep")


def test_cached_database_scans_like_a_fresh_one(tmp_path, monkeypatch, canaries):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    text = f"BINANCE_API_SECRET={canaries.secret}\n".encode()
    fresh = Detector(RULES, HyperscanEngine(RULES))  # compiles and writes the cache
    assert list((tmp_path / "keyguard").glob("hyperscan-*.db"))
    cached = Detector(RULES, HyperscanEngine(RULES))  # loads it
    assert _scan(fresh, text) == _scan(cached, text) != []
