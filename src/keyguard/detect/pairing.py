"""Pairs an API key with the secret (or private key) found next to it: one credential, two findings.

GitHub's secret scanning reports paired tokens the same way. The nearest unpaired partner within
MAX_PAIR_LINES wins; a key and secret captured by one match (a client's positional arguments) are
always nearest.
"""

from __future__ import annotations

from keyguard.detect.findings import Finding

MAX_PAIR_LINES = 12


def _distance(key: Finding, secret: Finding) -> tuple[int, int]:
    return abs(key.line - secret.line), abs(key.offset - secret.offset)


def pair_findings(findings: list[Finding]) -> None:
    """Sets `paired_with` (the partner's secret_sha256) on paired findings of one file, in place."""
    keys = [f for f in findings if f.kind == "api_key"]
    partners = [f for f in findings if f.kind != "api_key"]
    options = sorted(
        (_distance(key, partner), ki, pi)
        for ki, key in enumerate(keys)
        for pi, partner in enumerate(partners)
        if key.example == partner.example and abs(key.line - partner.line) <= MAX_PAIR_LINES
    )
    used_keys: set[int] = set()
    used_partners: set[int] = set()
    for _, ki, pi in options:
        if ki in used_keys or pi in used_partners:
            continue
        used_keys.add(ki)
        used_partners.add(pi)
        keys[ki].paired_with = partners[pi].secret_sha256
        partners[pi].paired_with = keys[ki].secret_sha256
