"""Human output: one block per credential (a key with its secret, or a lone value), compact at 80 columns.

Each block says how exposed the credential is, where it is (the first places, then a count), and the
next command to run. Values appear only redacted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

from rich.console import Console
from rich.markup import escape

from keyguard.model import SEVERITIES, Finding, Location, ScanResult, most_severe
from keyguard.report import Reporter

STYLES = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}
PLACES_SHOWN = 3


@dataclass(frozen=True)
class Credential:
    """What a person revokes at once: a key and its secret (or private key), or a value found alone."""

    members: tuple[Finding, ...]

    @property
    def severity(self) -> str:
        return most_severe(f.severity for f in self.members)

    @property
    def locations(self) -> list[Location]:
        return [loc for f in self.members for loc in f.locations]

    @property
    def name(self) -> str:
        if len(self.members) == 2:
            partner = self.members[1].kind.replace("_", " ")
            return "credential pair" if partner == "secret" else f"key and {partner}"
        kind = self.members[0].kind
        return {"api_key": "lone API key", "secret": "lone secret", "private_key": "private key"}[kind]


def credentials(findings: list[Finding]) -> list[Credential]:
    """Findings joined by pairing: a key and its partner are one credential."""
    by_secret = {f.secret_sha256: f for f in findings}
    used: set[str] = set()
    joined = []
    for finding in findings:
        if finding.secret_sha256 in used:
            continue
        partner = by_secret.get(finding.paired_with or "")
        if partner is not None and partner.secret_sha256 not in used and partner is not finding:
            key, other = (finding, partner) if finding.kind == "api_key" else (partner, finding)
            joined.append(Credential((key, other)))
            used |= {finding.secret_sha256, partner.secret_sha256}
        else:
            joined.append(Credential((finding,)))
            used.add(finding.secret_sha256)
    return sorted(joined, key=lambda c: SEVERITIES.index(c.severity))


def _exposure(credential: Credential) -> str:
    locations = credential.locations
    exposures = {loc.exposure for loc in locations}
    files = {loc.path for loc in locations}
    commits = {loc.commit for loc in locations if loc.commit}
    dates = sorted(loc.commit_date[:10] for loc in locations if loc.commit_date)
    words = []
    if credential.members[0].example:
        words.append("Binance's public documentation example")
    elif "pushed" in exposures:
        words.append("pushed")
    elif "committed" in exposures:
        words.append("committed")
    elif all(loc.local_only for loc in locations):
        words.append("local only")
    where = f"in {len(files)} file{'s' if len(files) != 1 else ''}"
    if commits:
        where += f" and {len(commits)} commit{'s' if len(commits) != 1 else ''} since {dates[0]}"
    words.append(where)
    if any(loc.source == "git" for loc in locations) and not any(loc.in_head for loc in locations):
        words.append("history only")
    return ", ".join(words)


def _place(path: str, locations: list[Location]) -> str:
    """One path: its lines, and for a place only in history, the commit that brought the value there."""
    lines = sorted({loc.line for loc in locations})
    where = f"{path}:{','.join(map(str, lines[:4]))}" + ("…" if len(lines) > 4 else "")
    first = locations[0]
    if first.message:
        where += f" ({first.message})"
    if all(loc.source == "git" for loc in locations) and first.commit:
        where += f" (commit {first.commit[:10]} {(first.commit_date or '')[:10]}"
        where += ", history only)" if not any(loc.in_head for loc in locations) else ")"
    if first.encoding:
        where += f" ({first.encoding})"
    if first.ocr:
        where += f" (in an image: read as {first.ocr_reading}, OCR confidence {first.ocr_confidence or 0:.2f})"
    return where


def _places(credential: Credential) -> Iterator[str]:
    by_path: dict[str, list[Location]] = {}
    for location in sorted(credential.locations, key=lambda loc: (loc.source == "git", loc.commit_date or "")):
        by_path.setdefault(location.path, []).append(location)
    for path, locations in list(by_path.items())[:PLACES_SHOWN]:
        yield _place(path, locations)
    if len(by_path) > PLACES_SHOWN:
        yield f"… and {len(by_path) - PLACES_SHOWN} more files (--format json lists every place)"


def _next_step(credential: Credential) -> str:
    if credential.members[0].example:
        return "nothing to revoke: a published example, not a key of yours"
    first = credential.members[0]
    leaked = any(loc.exposure != "local" for loc in credential.locations) or first.verified == "live"
    if leaked:
        return "next: delete it in Binance API Management, then `keyguard incident`"
    files = sorted({loc.path.split("!")[0] for loc in credential.locations if loc.source == "file"})
    target = files[0] if len(files) == 1 else "."
    if all(loc.ocr for loc in credential.locations):
        image = target if len(files) == 1 else "IMAGE"
        return f"next: `keyguard redact {image} -o SAFE` before sharing it, then rotate the key (it was on screen)"
    return f"next: `keyguard migrate {target}` (into the vault, out of the file)"


def _values(credential: Credential) -> str:
    parts = [f"{f.kind.replace('_', ' ')} {f.redacted}" for f in credential.members]
    verified = credential.members[0].verified
    if verified:
        permissions = credential.members[0].permissions
        parts.append(f"verified {verified}" + (f" ({', '.join(permissions)})" if permissions else ""))
    return "; ".join(parts)


def render_text(result: ScanResult, console: Console, baselined: int = 0) -> None:
    for credential in credentials(result.findings):
        severity = credential.severity
        console.print(
            f"[{STYLES[severity]}]{severity.upper()}[/] [bold]{escape(credential.name)}[/bold], "
            f"{escape(_exposure(credential))}",
            soft_wrap=False,
        )
        console.print(f"  {escape(_values(credential))}")
        for place in _places(credential):
            console.print(f"  {escape(place)}")
        console.print(f"  [dim]{escape(_next_step(credential))}[/dim]")
    console.print(summary_line(result, baselined))
    for history in result.stats.get("history", []):
        detail = f"{history['blobs_scanned']} blobs" if "blobs_scanned" in history else history["status"]
        console.print(f"[dim]git history of {escape(history['path'])}: {detail}[/dim]")
    for line in _work_lines(result.stats):
        console.print(f"[dim]{escape(line)}[/dim]")
    reasons = Counter(s.reason for s in result.skipped)
    if reasons:
        listed = ", ".join(f"{reason}: {count}" for reason, count in reasons.most_common(5))
        more = f", {len(reasons) - 5} other reasons" if len(reasons) > 5 else ""
        console.print(f"[dim]skipped {len(result.skipped)} ({escape(listed)}{more}); --format json lists them[/dim]")


def _work_lines(stats: dict) -> list[str]:
    """The repositories of --repos and where they were scanned; the images read with OCR or from the cache."""
    lines = []
    if repositories := stats.get("repositories"):
        by_status = Counter(repository["status"] for repository in repositories)
        cluster = stats.get("cluster") or {}
        where = (
            f"on {cluster['scheduler']} ({cluster['workers']} workers, {cluster['tasks']} tasks)"
            if cluster.get("scheduler")
            else f"on this machine ({cluster.get('tasks', 0)} tasks)"
        )
        lines.append(f"repositories: {', '.join(f'{n} {status}' for status, n in by_status.items())} {where}")
    read, cached = stats.get("images_read", 0), stats.get("images_cached", 0)
    if read or cached:
        lines.append(f"images: {read} read with OCR, {cached} from the cache")
    return lines


def summary_line(result: ScanResult, baselined: int = 0) -> str:
    stats = result.stats
    counts = Counter(f.severity for f in result.findings)
    by_severity = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if counts[s])
    found = f"{len(result.findings)} finding{'s' if len(result.findings) != 1 else ''}"
    if by_severity:
        found += f" ({by_severity})"
    names = Counter(c.name for c in credentials(result.findings))
    if names:
        found += ": " + ", ".join(f"{n} {name}{'s' if n != 1 else ''}" for name, n in names.items())
    if baselined:
        found += f"; {baselined} accepted by the baseline"
    size_mb = stats["bytes_scanned"] / 1_000_000
    scanned = (
        f"scanned {stats['files_scanned']} files, {size_mb:.1f} MB in {stats['duration_seconds']:.2f} s "
        f"({stats['engine']}, {stats['jobs']} process{'es' if stats['jobs'] != 1 else ''})"
    )
    return f"{found}\n{scanned}"


class TextReporter(Reporter):
    name = "text"

    def __init__(self, baselined: int = 0) -> None:
        self.baselined = baselined

    def write(self, result: ScanResult, out: TextIO, *, terminal: bool = False, width: int = 80) -> None:
        console = Console(file=out, width=width, no_color=not terminal, highlight=False, force_terminal=terminal)
        render_text(result, console, self.baselined)
