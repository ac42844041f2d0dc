"""Precision filters: placeholders and hashes are dropped, real-looking keys never are."""

from __future__ import annotations

import hashlib
import io
import random

from conftest import random_token
from keyguard.detect.detector import Detector
from keyguard.detect.engine import build_engine
from keyguard.detect.filters import placeholder_reason
from keyguard.rules import load_example_keys, load_rules
from keyguard.sources.reading import iter_chunks

# Public example values from Binance's API documentation (binance-api.md §1.1 and §1.2).
DOC_API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"


def test_random_keys_are_never_filtered():
    rng = random.Random(99)
    rejected = [t for t in (random_token(rng) for _ in range(20000)) if placeholder_reason(t.encode())]
    assert rejected == []


def test_placeholders_and_hashes_are_filtered():
    assert placeholder_reason(hashlib.sha256(b"x").hexdigest().encode()) is not None
    assert placeholder_reason(b"x" * 64) is not None
    assert placeholder_reason(b"YOURAPIKEYHERE" * 4 + b"12345678") is not None
    assert placeholder_reason(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ab") is not None


def test_documentation_example_keys_are_known():
    known = load_example_keys()
    for value in (DOC_API_KEY, DOC_SECRET):
        assert hashlib.sha256(value.encode()).hexdigest() in known


def _scan(text: str, include_examples: bool):
    rules = load_rules()
    detector = Detector(rules, build_engine(rules), include_examples=include_examples)
    return detector.scan_file(iter_chunks(io.BytesIO(text.encode())), "docs.md")


def test_documentation_example_keys_are_info_only_and_opt_in():
    text = f"BINANCE_API_KEY={DOC_API_KEY}\nBINANCE_API_SECRET={DOC_SECRET}\n"
    assert _scan(text, include_examples=False) == []
    found = _scan(text, include_examples=True)
    assert [(f.kind, f.severity, f.example) for f in found] == [
        ("api_key", "info", True),
        ("secret", "info", True),
    ]


def test_example_key_beside_a_real_secret_does_not_make_a_pair(canaries):
    found = _scan(f"api_key={DOC_API_KEY}\nsecret={canaries.secret}\n", include_examples=True)
    assert {f.kind: (f.severity, f.paired_with) for f in found} == {
        "api_key": ("info", None),
        "secret": ("high", None),
    }
