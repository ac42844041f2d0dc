"""JSON: {"findings": [...], "skipped": [...], "stats": {...}} — never a secret value."""

from __future__ import annotations

import json

from keyguard.scanner import ScanResult


def render_json(result: ScanResult) -> str:
    document = {
        "findings": [f.to_dict() for f in result.findings],
        "skipped": [s.to_dict() for s in result.skipped],
        "stats": result.stats,
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
