"""SARIF 2.1.0 for GitHub code scanning. Results carry the secret's hash, never the secret."""

from __future__ import annotations

import json
from pathlib import PurePath

from keyguard import __version__
from keyguard.rules import load_all_rules
from keyguard.scanner import ScanResult

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}
HELP = (
    "A Binance API credential is stored in clear. Delete the key in Binance API Management now, audit "
    "balances, trades and withdrawals, then create a new key with least privilege and an IP whitelist "
    "and keep it out of files (keyguard vault / keyguard run)."
)


def _uri(path: str) -> str:
    return "stdin" if path == "-" else PurePath(path).as_posix()


def _rule_descriptor(rule_id: str, name: str) -> dict:
    return {
        "id": rule_id,
        "name": rule_id.replace(".", "/"),
        "shortDescription": {"text": name},
        "fullDescription": {"text": name},
        "help": {"text": HELP},
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["security", "secret", "binance"], "security-severity": "8.0"},
    }


def render_sarif(result: ScanResult) -> str:
    rules = load_all_rules()  # file and chat rules: a chat-export finding names a chat rule
    index = {rule.id: i for i, rule in enumerate(rules)}
    results = []
    for finding in result.findings:
        message = f"{finding.description}: {finding.kind} {finding.redacted}"
        if finding.paired_with:
            message += " (paired key and secret: a usable credential)"
        results.append(
            {
                "ruleId": finding.rule_id,
                "ruleIndex": index[finding.rule_id],
                "level": LEVELS[finding.severity],
                "message": {"text": message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": _uri(finding.path)},
                            "region": {
                                "startLine": finding.line,
                                "startColumn": finding.column,
                                "endLine": max(finding.end_line, finding.line),
                            },
                        }
                    }
                ],
                "partialFingerprints": {"secretSha256/v1": finding.secret_sha256},
                "properties": {
                    "severity": finding.severity,
                    "security-severity": SECURITY_SEVERITY[finding.severity],
                    "kind": finding.kind,
                    "secret_sha256": finding.secret_sha256,
                    "redacted": finding.redacted,
                    "paired_with": finding.paired_with,
                    "local_only": finding.local_only,
                },
            }
        )
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "keyguard",
                        "version": __version__,
                        "informationUri": "https://pypi.org/project/keyguard/",
                        "rules": [_rule_descriptor(rule.id, rule.name) for rule in rules],
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
