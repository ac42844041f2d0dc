"""Accepted findings: a baseline file matched by secret hash and path, so it survives line moves."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path

from keyguard.model import Finding

VERSION = 1


class BaselineError(ValueError):
    """The baseline file cannot be read."""


def load_baseline(path: str | Path) -> set[tuple[str, str]]:
    try:
        document = json.loads(Path(path).read_text("utf-8"))
        entries = document["findings"]
        return {(entry["secret_sha256"], entry["path"]) for entry in entries}
    except FileNotFoundError:
        raise BaselineError(f"baseline {path} does not exist") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BaselineError(f"baseline {path} is not a keyguard baseline: {error}") from None


def apply_baseline(findings: list[Finding], accepted: set[tuple[str, str]]) -> tuple[list[Finding], int]:
    """Findings with their accepted places removed (a finding with none left goes), and how many places went."""
    kept: list[Finding] = []
    removed = 0
    for finding in findings:
        places = tuple(loc for loc in finding.locations if (finding.secret_sha256, loc.path) not in accepted)
        removed += len(finding.locations) - len(places)
        if places:
            kept.append(finding if len(places) == len(finding.locations) else replace(finding, locations=places))
    return kept, removed


def write_baseline(path: str | Path, findings: list[Finding]) -> None:
    """Writes atomically: a crash never leaves a half-written baseline."""
    entries = sorted(
        {
            (f.secret_sha256, loc.path): {
                "secret_sha256": f.secret_sha256,
                "path": loc.path,
                "rule_id": f.rule_id,
                "kind": f.kind,
                "redacted": f.redacted,
            }
            for f in findings
            for loc in f.locations
        }.values(),
        key=lambda e: (e["path"], e["secret_sha256"]),
    )
    text = json.dumps({"version": VERSION, "tool": "keyguard", "findings": entries}, indent=2) + "\n"
    target = Path(path)
    handle, temporary = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise
