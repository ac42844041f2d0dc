"""Documentation example keys: exact values, copies altered by a few characters, and the shipped data."""

from __future__ import annotations

import hashlib
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_filters import DOC_API_KEY, DOC_SECRET

from conftest import ALNUM, commit_files, random_token
from keyguard.detect.examples import DocumentationExamples, example_digest, window_digests
from keyguard.rules import RULES_DIR, load_example_keys

HARVEST = Path(__file__).resolve().parents[1] / "bench" / "harvest_examples.py"
HEX64 = re.compile(r"[0-9a-f]{64}")


def _altered(value: str, positions: list[int], rng: random.Random) -> str:
    chars = list(value)
    for i in positions:
        chars[i] = rng.choice(ALNUM.replace(chars[i], ""))
    return "".join(chars)


@pytest.fixture
def synthetic() -> tuple[str, DocumentationExamples]:
    value = random_token(random.Random(13))
    return value, DocumentationExamples.from_values({value.encode(): "api_key"})


def test_the_exact_value_is_an_example(synthetic):
    value, examples = synthetic
    assert examples.is_example(value.encode())
    assert hashlib.sha256(value.encode()).hexdigest() in examples
    assert examples.match(value.encode()).kind == "api_key"


@pytest.mark.parametrize("changes", [1, 2, 3])
def test_a_copy_with_up_to_three_changed_characters_is_an_example(synthetic, changes):
    value, examples = synthetic
    rng = random.Random(changes)
    for _ in range(300):
        copy = _altered(value, rng.sample(range(64), changes), rng)
        assert copy != value
        assert examples.is_example(copy.encode()), copy
        assert hashlib.sha256(copy.encode()).hexdigest() not in examples  # a copy, not the exact value


def test_many_changes_in_few_windows_still_make_a_copy(synthetic):
    value, examples = synthetic
    rng = random.Random(5)
    copy = _altered(value, list(range(16, 64)), rng)  # three windows rewritten, [0:16] kept
    assert examples.is_example(copy.encode())


def test_a_change_in_every_window_is_not_a_copy(synthetic):
    value, examples = synthetic
    rng = random.Random(6)
    for _ in range(300):
        copy = _altered(value, [w * 16 + rng.randrange(16) for w in range(4)], rng)
        assert not examples.is_example(copy.encode())


def test_unrelated_and_misaligned_values_are_not_examples(synthetic):
    value, examples = synthetic
    rng = random.Random(8)
    assert not any(examples.is_example(random_token(rng).encode()) for _ in range(2000))
    assert not examples.is_example((value[1:] + "x").encode())  # shifted: no window at its place
    assert not examples.is_example(value[:63].encode())
    assert not examples.is_example(b"")


def test_a_private_key_is_known_in_any_layout(canaries):
    pem = canaries.ed25519_pem
    examples = DocumentationExamples.from_values({pem.encode(): "private_key"})
    layouts = [
        pem,
        pem.replace("\n", "\r\n"),
        pem.replace("\n", "\\n"),
        "\n".join("    " + ln for ln in pem.split("\n")),
    ]
    assert all(examples.is_example(layout.encode()) for layout in layouts)
    assert examples.by_sha256[example_digest(pem.encode())].windows == ()
    assert not examples.is_example(canaries.rsa_pem.encode())


def test_the_shipped_examples_hold_digests_windows_and_provenance():
    raw = yaml.safe_load((RULES_DIR / "example_keys.yaml").read_text("utf-8"))["examples"]
    loaded = load_example_keys()
    assert len(loaded) == len(raw) >= 40  # unique sha256
    kinds = {e.kind for e in loaded.values()}
    assert kinds == {"api_key", "secret", "private_key"}
    for example in loaded.values():
        assert HEX64.fullmatch(example.sha256)
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", example.repository), example
        assert example.path and re.fullmatch(r"[0-9a-f]{40}", example.commit), example
        assert "starts " in example.source
        if example.kind == "private_key":
            assert example.windows == ()  # a PEM's first characters are the same in every key
        else:
            assert len(example.windows) == 4 and all(HEX64.fullmatch(w) for w in example.windows), example
            assert len(set(example.windows)) == 4


def test_the_shipped_examples_hold_nothing_key_shaped():
    text = (RULES_DIR / "example_keys.yaml").read_text("utf-8")
    tokens = re.findall(r"(?<![A-Za-z0-9])[A-Za-z0-9]{64}(?![A-Za-z0-9])", text)
    assert tokens and all(HEX64.fullmatch(t) for t in tokens)  # digests only
    assert "PRIVATE KEY" not in text


def test_the_shipped_examples_know_binance_docs_values_and_their_altered_copies():
    examples = DocumentationExamples.load()
    rng = random.Random(21)
    for value in (DOC_API_KEY, DOC_SECRET):
        assert examples.is_example(value.encode())
        assert window_digests(value.encode()) == examples.match(value.encode()).windows
        for changes in (1, 2, 3):
            assert examples.is_example(_altered(value, rng.sample(range(64), changes), rng).encode())
    assert not examples.is_example(random_token(rng).encode())


def test_harvest_prints_provenance_and_never_the_value(repo):
    value = random_token(random.Random(34))
    commit = commit_files(repo, "docs", **{"docs/signing.md": f"Key | Value\napiKey | `{value}`\n"})
    done = subprocess.run([sys.executable, str(HARVEST), str(repo)], capture_output=True, text=True, check=True)
    assert value not in done.stdout + done.stderr
    (line,) = done.stdout.splitlines()
    assert line.split()[:3] == ["review", "api_key", f"{value[:4]}…{value[-4:]}"]
    assert hashlib.sha256(value.encode()).hexdigest() in line
    assert f"docs/signing.md @ {commit[:12]}" in line
