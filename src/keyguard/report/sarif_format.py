"""SARIF 2.1.0 for GitHub code scanning: one result per place a secret was seen; hashes and redactions, never a value.

Every rule (file and chat) is in `tool.driver.rules` with its real impact as `security-severity` and a help text
saying what to do. Paths are relative to `%SRCROOT%` (the working directory) where they can be. SARIF cannot
address inside an archive, a chat message or a commit: those results point at the archive, the export file or the
path, and the message says the rest (member, message, commit). `partialFingerprints` follow the secret and its
path, not its line, so GitHub keeps one alert when lines move.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from pathlib import Path, PurePath
from typing import Any, TextIO
from urllib.parse import quote

from keyguard import __version__
from keyguard.model import Finding, Location, ScanResult
from keyguard.report import Reporter
from keyguard.rules import GROUP_KINDS, Rule, load_all_rules

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub reads above 9.0 as critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}
KIND_NAMES = {"api_key": "Binance API key", "secret": "Binance API secret", "private_key": "private key"}
OTHER_PLACES_NAMED = 3

_KEY_IN_CLEAR = (
    "Its API key is no protection: the key travels in clear in every request's X-MBX-APIKEY header, "
    "shows up in logs and is usually stored beside it."
)
IMPACTS = {
    "pair": "A Binance API key with its secret: whoever has both signs requests as the account — reads balances "
    "and history, trades, and withdraws if the key is allowed to.",
    "private_key": "A private key (Ed25519 or RSA) registered for a Binance API key signs requests as the account. "
    + _KEY_IN_CLEAR,
    "encrypted": "An encrypted private key: whoever also gets its passphrase (often kept near it, or guessable if "
    "weak) signs requests as the account with it.",
    "secret": "A Binance API secret (HMAC) signs requests as the account once paired with its API key. "
    + _KEY_IN_CLEAR,
    "api_key": "A Binance API key alone cannot sign orders, withdrawals or account queries; Binance accepts it "
    "unsigned only to manage user-data-stream listen keys (which stream the account's order and balance updates). "
    "Its secret or private key is often stored near it: look for it.",
}
REQUIREMENTS = {
    "binance_nearby": "Reported only where 'binance' appears within 2 KiB of the value or in the file's path.",
    "binance_file": "Reported only in a file that names Binance (or holds a Binance key), or whose path does.",
    "evidence": "Reported when the evidence adds up: its name in any naming scheme, Binance named in the statement, "
    "section, file, path or a file beside it, a second value close by, a key file; never when another exchange's "
    "or service's name is bound to it. Each result lists its reasons.",
}
STEPS = (
    "Delete the key in Binance API Management (in your Binance account): only that stops it; removing it from "
    "the file does not.",
    "`keyguard incident` takes you through it as Binance advises — it cancels the key's open orders, shows the "
    "steps to delete it and waits until Binance rejects it — then audits the account for theft (trades, "
    "withdrawals) and writes a case folder for Binance support. Deleted the key first? It finishes the audit with "
    "a read-only key (`--audit-key`).",
    "Keep the new key out of files: `keyguard migrate FOLDER --apply` moves plaintext key+secret pairs into the "
    "keyguard vault and rewrites the files (`keyguard vault add` for others), and `keyguard run` gives the key to "
    "the bot through its environment.",
    "A value that was committed stays in the git history and in every clone, and a pushed one is public: rewriting "
    "history does not make the key safe again, deleting it does.",
)


def _kinds(rule: Rule) -> set[str]:
    return {GROUP_KINDS[group] for group in rule.compiled().groupindex}


def rule_impact(rule: Rule) -> tuple[str, str]:
    """The rule's severity and what a value it finds lets its holder do."""
    kinds = _kinds(rule)
    if "private_key" in kinds:
        encrypted = b"ENCRYPTED" in rule.pattern
        return rule.severity or "critical", IMPACTS["encrypted" if encrypted else "private_key"]
    if {"api_key", "secret"} <= kinds:
        return rule.severity or "critical", IMPACTS["pair"]
    if "secret" in kinds or "token" in kinds:  # a token may be either half: judged as the signing one
        return rule.severity or "high", IMPACTS["secret"]
    return rule.severity or "medium", IMPACTS["api_key"]


def _finds(rule: Rule) -> str:
    if rule.scope == "chat":
        where = "Applied only to the text of chat-export messages (Telegram, Slack, Discord)"
        if rule.requires_words:
            where += " that mention " + " or ".join(f"'{word}'" for word in rule.requires_words)
        return where + "."
    return REQUIREMENTS.get(rule.requires or "", "")


def _help(rule: Rule, impact: str) -> dict[str, str]:
    examples = "Public documentation example keys are not reported (unless --include-examples)."
    finds = " ".join(part for part in (f"Finds: {rule.name}.", _finds(rule), examples) if part)
    text = "\n".join(
        [finds, "", f"Impact: {impact}", "", "What to do:", *(f"{n}. {s}" for n, s in enumerate(STEPS, 1))]
    )
    markdown = "\n".join(
        [
            f"**{rule.name}.** {' '.join(part for part in (_finds(rule), examples) if part)}",
            "",
            f"**Impact.** {impact}",
            "",
            "**What to do**",
            "",
            *(f"{n}. {s}" for n, s in enumerate(STEPS, 1)),
        ]
    )
    return {"text": text, "markdown": markdown}


def rule_descriptor(rule: Rule) -> dict[str, Any]:
    severity, impact = rule_impact(rule)
    cwe = "external/cwe/cwe-312" if rule.scope == "chat" else "external/cwe/cwe-798"
    return {
        "id": rule.id,
        "name": rule.id.replace(".", "/"),
        "shortDescription": {"text": rule.name},
        "fullDescription": {"text": f"{rule.name}. {impact}"},
        "help": _help(rule, impact),
        "defaultConfiguration": {"level": LEVELS[severity]},
        "properties": {
            "tags": ["security", "secret", "binance", cwe],
            "precision": "high" if rule.specific else "medium",
            "severity": severity,
            "security-severity": SECURITY_SEVERITY[severity],
            "kinds": sorted(_kinds(rule)),
            "scope": rule.scope,
        },
    }


def split_member(path: str, root: str) -> tuple[str, str | None]:
    """`a.zip!inner/.env` -> ("a.zip", "inner/.env"); a real file whose name holds '!' stays whole."""
    if "!" not in path or os.path.lexists(os.path.join(root, path)):
        return path, None
    for index, char in enumerate(path):
        if char == "!" and os.path.isfile(os.path.join(root, path[:index])):
            return path[:index], path[index + 1 :]
    outer, _, member = path.partition("!")
    return outer, member


def artifact_location(path: str, root: str) -> dict[str, str]:
    """Relative to %SRCROOT% when under it, else an absolute file URI."""
    absolute = os.path.normpath(os.path.join(root, path))
    relative = os.path.relpath(absolute, root)
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return {"uri": Path(absolute).as_uri()}
    return {"uri": quote(PurePath(relative).as_posix(), safe="/"), "uriBaseId": SRCROOT}


def _is_stdin(location: Location) -> bool:
    return location.source == "stdin" or location.path == "-"


def _place(location: Location) -> str:
    """A location in a few words, for the list of other places."""
    if _is_stdin(location):
        return "standard input"
    if location.source == "git" and location.commit:
        return f"{location.path} (commit {location.commit[:12]})"
    return f"{location.path}:{location.line}"


def _where(location: Location, member: str | None) -> list[str]:
    said = []
    if member is not None:
        said.append(f"Inside the archive, in member {member} at line {location.line}.")
    if location.message:
        said.append(f"In the chat export: {location.message}.")
    if _is_stdin(location):
        said.append("Read from standard input.")
    if location.source == "staged":
        said.append("Staged for commit.")
    if location.source == "git":
        commit = f"commit {location.commit[:12]}" if location.commit else "a commit"
        when = ", ".join(part for part in (location.commit_date and location.commit_date[:10], location.author) if part)
        said.append(f"In the git history: {commit}" + (f" ({when})" if when else "") + ".")
        if location.in_head is False:
            said.append("No longer in the work tree, but still in the history and in every clone.")
    if location.encoding:
        said.append(f"Found {location.encoding}-encoded.")
    if location.exposure == "pushed":
        said.append("Pushed to a remote: treat it as public.")
    return said


def _pairing(finding: Finding, partners: dict[str, Finding]) -> str:
    partner = partners.get(finding.paired_with or "")
    if partner is not None:
        return (
            f"Paired with {KIND_NAMES[partner.kind]} {partner.redacted} found beside it: together a usable credential."
        )
    if finding.paired_with:
        return "Paired with its partner found beside it: together a usable credential."
    wanted = "API key" if finding.kind != "api_key" else "secret or private key"
    return f"Not paired: no {wanted} was found beside it."


def _others(finding: Finding, location: Location) -> str:
    others = [loc for loc in finding.locations if loc != location]
    if not others:
        return "Seen in no other place."
    named = ", ".join(_place(loc) for loc in others[:OTHER_PLACES_NAMED])
    more = f" and {len(others) - OTHER_PLACES_NAMED} more" if len(others) > OTHER_PLACES_NAMED else ""
    places = "place" if len(others) == 1 else "places"
    return f"The same value is in {len(others)} other {places}: {named}{more}."


def _verdict(finding: Finding) -> str:
    if finding.example:
        return "A public documentation example, not a leak."
    if finding.verified == "live":
        permissions = f" (permissions: {', '.join(finding.permissions)})" if finding.permissions else ""
        return f"Verified live on Binance{permissions}: delete it now."
    if finding.verified == "dead":
        return "Binance rejects it (deleted or expired)."
    return f"Severity {finding.severity}."


def result_message(finding: Finding, location: Location, member: str | None, partners: dict[str, Finding]) -> str:
    parts = [
        f"{KIND_NAMES[finding.kind]} {finding.redacted} ({finding.description}).",
        *_where(location, member),
        _pairing(finding, partners),
        _others(finding, location),
        _verdict(finding),
    ]
    return " ".join(parts)


def fingerprints(finding: Finding, location: Location, occurrence: int) -> dict[str, str]:
    """The secret, and the secret at this path (its n-th line there): stable when lines move."""
    at_path = hashlib.sha256((finding.secret_sha256 + location.path).encode("utf-8", "surrogateescape")).hexdigest()
    return {"secretSha256/v1": finding.secret_sha256, "secretPath/v1": f"{at_path}:{occurrence}"}


def _occurrences(finding: Finding) -> dict[tuple[str, int], int]:
    """1 for the first line at which the value is in a path, 2 for the next; a file and its history share one."""
    lines: dict[str, set[int]] = defaultdict(set)
    for location in finding.locations:
        lines[location.path].add(location.line)
    return {(path, line): n for path, seen in lines.items() for n, line in enumerate(sorted(seen), 1)}


def _physical(location: Location, member: str | None, artifact: str, root: str) -> dict[str, Any]:
    if _is_stdin(location):
        return {"artifactLocation": {"uri": "stdin"}}
    physical: dict[str, Any] = {"artifactLocation": artifact_location(artifact, root)}
    if member is None:  # a line inside an archive member is no line of the archive
        physical["region"] = {
            "startLine": max(location.line, 1),
            "startColumn": max(location.column, 1),
            "endLine": max(location.end_line, location.line, 1),
        }
    return physical


def _properties(finding: Finding, location: Location, member: str | None) -> dict[str, Any]:
    properties = {
        "severity": finding.severity,
        "security-severity": SECURITY_SEVERITY[finding.severity],
        "kind": finding.kind,
        "confidence": finding.confidence,
        "secret_sha256": finding.secret_sha256,
        "redacted": finding.redacted,
        "paired_with": finding.paired_with,
        "places": len(finding.locations),
        "path": location.path,
        "source": location.source,
        "exposure": location.exposure,
        "local_only": location.local_only,
        "archive_member": member,
        "chat_message": location.message,
        "commit": location.commit,
        "commit_date": location.commit_date,
        "author": location.author,
        "in_head": location.in_head,
        "encoding": location.encoding,
        "example": finding.example,
        "verified": finding.verified,
    }
    return {name: value for name, value in properties.items() if value is not None}


def sarif_results(result: ScanResult, rule_index: dict[str, int], root: str) -> list[dict[str, Any]]:
    partners = {finding.secret_sha256: finding for finding in result.findings}
    results = []
    for finding in result.findings:
        occurrences = _occurrences(finding)
        for location in finding.locations:
            artifact, member = split_member(location.path, root)
            rule_id = location.rule_id or finding.rule_id  # one value may be caught by different rules in places
            results.append(
                {
                    "ruleId": rule_id,
                    "ruleIndex": rule_index[rule_id],
                    "level": LEVELS[finding.severity],
                    "message": {"text": result_message(finding, location, member, partners)},
                    "locations": [{"physicalLocation": _physical(location, member, artifact, root)}],
                    "partialFingerprints": fingerprints(finding, location, occurrences[location.path, location.line]),
                    "properties": _properties(finding, location, member),
                }
            )
    return results


def sarif_document(result: ScanResult, root: str | None = None) -> dict[str, Any]:
    """`root`: the directory relative paths are relative to (default: the working directory)."""
    root = os.path.abspath(root or os.getcwd())
    rules = load_all_rules()  # file and chat rules: a chat-export finding names a chat rule
    notifications = [
        {"level": "warning", "message": {"text": f"Not scanned: {s.path}: {s.reason}"}} for s in result.skipped
    ]
    run = {
        "tool": {"driver": {"name": "keyguard", "version": __version__, "rules": [rule_descriptor(r) for r in rules]}},
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
        "originalUriBaseIds": {SRCROOT: {"uri": Path(root).as_uri().rstrip("/") + "/"}},
        "columnKind": "unicodeCodePoints",
        "results": sarif_results(result, {rule.id: i for i, rule in enumerate(rules)}, root),
        "properties": {"stats": result.stats},
    }
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


def render_sarif(result: ScanResult, root: str | None = None) -> str:
    return json.dumps(sarif_document(result, root), indent=2, ensure_ascii=False) + "\n"


class SarifReporter(Reporter):
    name = "sarif"

    def write(self, result: ScanResult, out: TextIO, *, terminal: bool = False, width: int = 80) -> None:
        out.write(render_sarif(result))
