"""JSON: {"findings": [...], "skipped": [...], "stats": {...}} — never a secret value.

A finding is one secret value: its first location's fields at the top level (as before), every place it
was seen under `locations`.
"""

from __future__ import annotations

import json
from typing import TextIO

from keyguard.model import ScanResult
from keyguard.report import Reporter


def render_json(result: ScanResult) -> str:
    document = {
        "findings": [f.to_dict() for f in result.findings],
        "skipped": [s.to_dict() for s in result.skipped],
        "stats": result.stats,
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


class JsonReporter(Reporter):
    name = "json"

    def write(self, result: ScanResult, out: TextIO, *, terminal: bool = False, width: int = 80) -> None:
        out.write(render_json(result))
