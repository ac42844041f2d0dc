"""Pairing keys with their secrets: nearest first, same example flag, within MAX_PAIR_LINES, near-linear."""

from __future__ import annotations

import hashlib
import io
import json
import random
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from conftest import random_token
from keyguard.detect.detector import Detector
from keyguard.detect.engine import build_engine
from keyguard.detect.pairing import MAX_PAIR_LINES, pair_indices
from keyguard.rules import load_rules
from keyguard.sources.reading import iter_chunks


@dataclass(frozen=True)
class Item:
    kind: str
    line: int
    offset: int
    example: bool = False


def key(line: int, offset: int, example: bool = False) -> Item:
    return Item("api_key", line, offset, example)


def secret(line: int, offset: int, example: bool = False) -> Item:
    return Item("secret", line, offset, example)


def greedy_over_all_options(items: list[Item]) -> dict[int, int]:
    """The rule stated plainly: every (key, partner) option, globally nearest first."""
    options = sorted(
        ((abs(k.line - p.line), abs(k.offset - p.offset)), ki, pi)
        for ki, k in enumerate(items)
        for pi, p in enumerate(items)
        if k.kind == "api_key" != p.kind and k.example == p.example and abs(k.line - p.line) <= MAX_PAIR_LINES
    )
    pairs: dict[int, int] = {}
    for _, ki, pi in options:
        if ki not in pairs and pi not in pairs:
            pairs[ki], pairs[pi] = pi, ki
    return pairs


def test_nearest_partner_wins():
    assert pair_indices([secret(3, 30), key(5, 50), secret(6, 60)]) == {1: 2, 2: 1}
    # same line distance: the nearer byte offset
    assert pair_indices([secret(4, 10), key(5, 50), secret(6, 95)]) == {1: 0, 0: 1}
    # a private key is a partner too; another key is not
    assert pair_indices([key(1, 0), key(1, 70), Item("private_key", 2, 200)]) == {1: 2, 2: 1}


def test_example_keys_pair_only_with_example_partners():
    items = [key(1, 0, example=True), secret(1, 70), key(9, 900), secret(10, 1000, example=True)]
    assert pair_indices(items) == {0: 3, 3: 0, 2: 1, 1: 2}
    assert pair_indices([key(1, 0, example=True), secret(1, 70)]) == {}


def test_no_pair_beyond_max_pair_lines():
    assert pair_indices([key(1, 0), secret(1 + MAX_PAIR_LINES + 1, 5000)]) == {}
    assert pair_indices([key(1, 0), secret(1 + MAX_PAIR_LINES, 5000)]) == {0: 1, 1: 0}
    assert pair_indices([secret(1, 0), key(1 + MAX_PAIR_LINES + 1, 5000)]) == {}


def test_key_between_two_secrets():
    # one key, the nearer of the two secrets; the other stays unpaired
    assert pair_indices([secret(1, 0), key(2, 100), secret(4, 300)]) == {1: 0, 0: 1}
    assert pair_indices([secret(2, 0), key(2, 100), secret(2, 150)]) == {1: 2, 2: 1}
    # two keys around a secret: the nearer key takes it, the other takes what is left
    items = [key(1, 0), secret(1, 80), key(1, 100), secret(1, 250)]
    assert pair_indices(items) == {2: 1, 1: 2, 0: 3, 3: 0}


def test_many_pairs_on_one_line_pair_with_their_neighbours_in_order():
    items = []
    for n in range(500):
        items += [key(1, 170 * n + 35), secret(1, 170 * n + 110)]
    assert pair_indices(items) == {i: i ^ 1 for i in range(1000)}
    # secrets first: each secret's key is after it, nearer than the next pair's secret
    flipped = []
    for n in range(500):
        flipped += [secret(1, 170 * n), key(1, 170 * n + 70)]
    assert pair_indices(flipped) == {i: i ^ 1 for i in range(1000)}


@st.composite
def file_items(draw) -> list[Item]:
    """Items as a file holds them: offsets strictly increasing, lines never decreasing; any list order."""
    count = draw(st.integers(0, 18))  # too few for any key to lose its partner MAX_OUTBIDS times
    steps = draw(st.lists(st.tuples(st.integers(0, 6), st.integers(1, 400)), min_size=count, max_size=count))
    kinds = draw(st.lists(st.sampled_from(["api_key", "secret", "private_key"]), min_size=count, max_size=count))
    examples = draw(st.lists(st.booleans(), min_size=count, max_size=count))
    items, line, offset = [], 1, 0
    for (new_lines, gap), kind, example in zip(steps, kinds, examples, strict=True):
        line, offset = line + new_lines, offset + gap
        items.append(Item(kind, line, offset, example))
    return draw(st.permutations(items))


@given(file_items())
def test_same_pairs_as_greedy_over_all_options(items):
    assert pair_indices(items) == greedy_over_all_options(items)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_minified_json_line_of_many_pairs_pairs_each_key_with_its_secret():
    rng = random.Random(12)
    entries = [{"exchange": "binance", "apiKey": random_token(rng), "secret": random_token(rng)} for _ in range(4000)]
    data = json.dumps(entries, separators=(",", ":")).encode()
    assert data.count(b"\n") == 0 and len(data) > 650_000
    rules = load_rules()
    found = Detector(rules, build_engine(rules)).scan_file(iter_chunks(io.BytesIO(data)), "keys.json")
    assert len(found) == 8000
    paired = {f.secret_sha256: f.paired_with for f in found}
    for entry in entries:
        assert paired[sha256(entry["apiKey"])] == sha256(entry["secret"])
        assert paired[sha256(entry["secret"])] == sha256(entry["apiKey"])
