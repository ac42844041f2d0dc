"""Every rule's examples are found and its negative examples are not, by both engines."""

from __future__ import annotations

import io

import pytest

from conftest import ENGINES
from keyguard.detect.detector import Detector
from keyguard.detect.engine import build_engine
from keyguard.rules import load_all_rules, load_chat_rules, load_rules
from keyguard.sources.reading import iter_chunks

RULES = load_all_rules()


def _findings(text: str, engine: str, path: str = "example.txt", scope: str = "file"):
    rules = load_chat_rules() if scope == "chat" else load_rules()
    detector = Detector(rules, build_engine(rules, engine))
    # pending: short of evidence in the text alone (the scan then asks the files beside it)
    return [m for m in detector.scan_file(iter_chunks(io.BytesIO(text.encode())), path) if not m.pending]


def _cases(attribute: str):
    return [
        pytest.param(rule, i, engine, id=f"{rule.id}-{i}-{engine}")
        for rule in RULES
        for i in range(len(getattr(rule, attribute)))
        for engine in ENGINES
    ]


def test_every_rule_has_examples_and_negative_examples():
    for rule in RULES:
        assert rule.examples, rule.id
        assert rule.negative_examples, rule.id


@pytest.mark.parametrize(("rule", "index", "engine"), _cases("examples"))
def test_example_is_found_by_its_rule(rule, index, engine, canaries):
    text = canaries.fill(rule.examples[index])
    findings = _findings(text, engine, scope=rule.scope)
    assert rule.id in {f.rule_id for f in findings}, text


@pytest.mark.parametrize(("rule", "index", "engine"), _cases("negative_examples"))
def test_negative_example_is_not_found(rule, index, engine, canaries):
    text = canaries.fill(rule.negative_examples[index])
    assert _findings(text, engine, scope=rule.scope) == [], text


def test_examples_capture_the_whole_value(canaries):
    """The hash in a finding is the hash of the exact key or secret, not of a window of it."""
    import hashlib

    wanted = {hashlib.sha256(v.encode()).hexdigest(): v for v in (canaries.key, canaries.secret)}
    for rule in RULES:
        for example in rule.examples:
            for finding in _findings(canaries.fill(example), "hyperscan"):
                if finding.kind != "private_key":
                    assert finding.secret_sha256 in wanted, (rule.id, example)
