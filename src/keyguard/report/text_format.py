"""Human output: a Rich table of findings (values redacted) and a summary line."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.table import Table
from rich.text import Text

from keyguard.detect.findings import SEVERITIES, Finding
from keyguard.scanner import ScanResult

STYLES = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


def _location(finding: Finding) -> str:
    where = f"{finding.path}:{finding.line}:{finding.column}"
    if finding.message:
        where += f" ({finding.message})"
    if finding.commit:
        where += f" (commit {finding.commit[:10]}, {finding.author}, {finding.commit_date})"
    return where


def render_text(result: ScanResult, console: Console, baselined: int = 0) -> None:
    if result.findings:
        table = Table(title="Binance credentials found", title_justify="left", expand=False)
        for column in ("Severity", "Location", "Kind", "Value", "Paired", "Rule"):
            table.add_column(column, overflow="fold")
        for f in result.findings:
            notes = []
            if f.local_only:
                notes.append("local only")
            if f.example:
                notes.append("public doc example")
            if f.encoding:
                notes.append(f"{f.encoding}-encoded")
            if f.source == "git":
                notes.append("in HEAD" if f.in_head else "history only")
            if f.exposure == "pushed":
                notes.append("pushed")
            kind = f.kind + (f" ({', '.join(notes)})" if notes else "")
            table.add_row(
                Text(f.severity, style=STYLES.get(f.severity, "")),
                _location(f),
                kind,
                f.redacted,
                "yes" if f.paired_with else "",
                f.rule_id,
            )
        console.print(table)
    console.print(summary_line(result, baselined))
    for history in result.stats.get("history", []):
        detail = f"{history['blobs_scanned']} blobs" if "blobs_scanned" in history else history["status"]
        console.print(f"[dim]git history of {history['path']}: {detail}[/dim]")
    reasons = Counter(s.reason for s in result.skipped)
    if reasons:
        listed = ", ".join(f"{reason}: {count}" for reason, count in reasons.most_common())
        console.print(f"[dim]skipped {len(result.skipped)} (" + listed + "); --format json lists them[/dim]")


def summary_line(result: ScanResult, baselined: int = 0) -> str:
    stats = result.stats
    counts = Counter(f.severity for f in result.findings)
    by_severity = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if counts[s])
    found = f"{len(result.findings)} finding{'s' if len(result.findings) != 1 else ''}"
    if by_severity:
        found += f" ({by_severity})"
    size_mb = stats["bytes_scanned"] / 1_000_000
    line = (
        f"{found} in {stats['files_scanned']} files, {size_mb:.1f} MB scanned in "
        f"{stats['duration_seconds']:.2f} s ({stats['engine']}, {stats['jobs']} "
        f"process{'es' if stats['jobs'] != 1 else ''})"
    )
    if baselined:
        line += f"; {baselined} accepted by the baseline"
    return line
