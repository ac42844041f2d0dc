"""Recall and precision on the real-world corpus (tests/corpus/dev): shapes from public code, fresh values."""

from __future__ import annotations

import json

from conftest import decode, run_keyguard
from corpus_cases import Expected, cases, write_case

# What the development corpus must keep reaching (raise them as detection improves, never lower them).
MIN_RECALL = 0.99
MIN_PRECISION = 0.99


def score(split: str, tmp_path) -> tuple[float, float, list[str]]:
    """(recall, precision, what went wrong) of one scan over every case of the split."""
    expected: dict[str, tuple[str, Expected]] = {}
    for case in cases(split):
        for item in write_case(case, tmp_path / case.name):
            expected[item.sha256] = (case.name, item)
    done = run_keyguard("scan", "--no-history", "-f", "json", ".", cwd=tmp_path)
    out, err = decode(done)
    assert done.returncode in (0, 1), err
    findings = json.loads(out)["findings"]
    wanted = {sha for sha, (_, item) in expected.items() if item.kind is not None}
    found = {f["secret_sha256"]: f for f in findings}
    true = [sha for sha in found if sha in wanted]
    problems = [f"missed {expected[sha][0]} {expected[sha][1].marker}" for sha in sorted(wanted - set(found))]
    problems += [
        f"raised {expected[sha][0]} {expected[sha][1].marker}" if sha in expected else f"raised {f['path']}"
        for sha, f in found.items()
        if sha not in wanted
    ]
    problems += [
        f"kind {expected[sha][0]} {expected[sha][1].marker}: {found[sha]['kind']}"
        for sha in true
        if found[sha]["kind"] != expected[sha][1].kind
    ]
    recall = len(true) / len(wanted) if wanted else 1.0
    precision = len(true) / len(found) if found else 1.0
    return recall, precision, problems


def test_development_corpus(tmp_path):
    recall, precision, problems = score("dev", tmp_path)
    assert recall >= MIN_RECALL and precision >= MIN_PRECISION, (recall, precision, problems)
    assert not [p for p in problems if p.startswith("kind ")], problems
