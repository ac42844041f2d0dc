"""After matching: hits placed as locations, history attributed to commits, one finding per secret value."""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import replace

from keyguard.detect.confusables import exact_match, resolve_value
from keyguard.matching import Hit
from keyguard.model import Finding, Location, Match, Provenance, most_severe, raised, secret_sha256
from keyguard.sources import history

Placed = tuple[Match, Location]
WORK_TREE_SOURCES = ("file", "stdin", "staged")


def place(hit: Hit) -> Placed:
    where, match = hit.provenance, hit.match
    location = Location(
        path=where.path,
        line=match.line,
        column=match.column,
        end_line=match.end_line,
        rule_id=match.rule_id,
        source=where.origin,
        exposure=where.exposure,
        local_only=where.local_only,
        severity=match.severity,
        blob=where.blob,
        encoding=match.encoding,
        message=where.message,
        offset=match.offset,
        ocr=match.ocr,
        ocr_reading=match.ocr_reading,
        ocr_confidence=match.ocr_confidence,
    )
    return match, location


def rehome(hit: Hit, blob: history.Blob) -> Hit:
    """A hit in a work-tree file placed at the history blob of the same content."""
    suffix = hit.provenance.path[len(hit.root) :]
    kind = hit.provenance.kind if hit.provenance.kind != "file" else "git"
    provenance = Provenance(
        kind, blob.path + suffix, "git", exposure="committed", blob=blob.oid, message=hit.provenance.message
    )
    return Hit(blob.path, provenance, hit.match)


def attribute(repo: str, hits: list[Hit], shown_root: str) -> list[Placed]:
    """Commit, author, date, presence at HEAD and exposure of history hits, asked of git for these blobs only."""
    if not hits:
        return []
    head = history.head_blobs(repo)
    secrets_at_head = {hit.match.secret_sha256 for hit in hits if hit.provenance.blob in head}
    blobs = {hit.provenance.blob for hit in hits if hit.provenance.blob}
    pushed = history.pushed_blobs(repo, blobs)  # type: ignore[arg-type]
    remote = history.has_remote(repo)
    firsts = history.introductions(repo, {hit.provenance.blob: hit.root for hit in hits if hit.provenance.blob})
    placed = []
    for hit in hits:
        match, location = place(hit)
        first = firsts.get(location.blob or "")
        path = location.path
        if first:
            location = replace(location, commit=first.commit, author=first.author, commit_date=first.date)
            if first.path and hit.provenance.kind == "git":  # archive members and messages keep their path
                path = first.path
        in_head = match.secret_sha256 in secrets_at_head
        location = replace(
            location, in_head=in_head, path=path if shown_root == "." else os.path.join(shown_root, path)
        )
        if location.blob in pushed or (in_head and remote):
            exposure = "pushed" if location.blob in pushed else "committed"
            location = replace(location, exposure=exposure, severity=raised(location.severity))
        placed.append((match, location))
    return placed


def annotate_work_tree(placed: list[Placed], attributed: list[Placed]) -> list[Placed]:
    """A file also found in history takes the earliest commit that brought the value to that path."""
    earliest: dict[tuple[str, str], Location] = {}
    for match, location in sorted(attributed, key=lambda item: item[1].commit_date or ""):
        earliest.setdefault((location.path, match.secret_sha256), location)
    annotated = []
    for match, location in placed:
        twin = earliest.get((location.path, match.secret_sha256)) if location.source == "file" else None
        if twin is not None:
            location = replace(
                location,
                commit=twin.commit,
                commit_date=twin.commit_date,
                author=twin.author,
                in_head=twin.in_head,
                blob=twin.blob,
                exposure=twin.exposure,
                severity=most_severe([twin.severity, location.severity]),
            )
        annotated.append((match, location))
    return annotated


def _order(location: Location) -> tuple:
    return (location.source not in WORK_TREE_SOURCES, location.commit_date or "", location.path, location.offset)


def resolve_images(placed: list[Placed]) -> list[Placed]:
    """Values read in images made exact where the same credential was found as text in this scan: a text
    value that OCR's alternatives allow (look-alikes, a doubled or dropped letter) is taken, and partners
    pointing at the old reading follow."""
    known = {match.value for match, _ in placed if not match.ocr and match.value}
    renamed: dict[str, bytes] = {}
    for match, _ in placed:
        if match.ocr and match.ocr_glyphs and match.value not in known and match.secret_sha256 not in renamed:
            exact = resolve_value(match.ocr_glyphs, known)
            if exact is not None:
                renamed[match.secret_sha256] = exact
    if not renamed:
        return placed
    why = "the same value was found as text in this scan"
    exact_placed = []
    for match, location in placed:
        if match.paired_with in renamed:
            match = replace(match, paired_with=secret_sha256(renamed[match.paired_with]))
        if match.secret_sha256 in renamed:
            match = exact_match(match, renamed[match.secret_sha256], why)
        exact_placed.append((match, location))
    return exact_placed


def group(placed: list[Placed], keep_values: bool) -> list[Finding]:
    """One finding per secret value, its locations in order: the work tree first, then history by date."""
    placed = resolve_images(placed)
    by_secret: dict[str, list[Placed]] = defaultdict(list)
    for match, location in placed:
        by_secret[match.secret_sha256].append((match, location))
    findings = []
    for items in by_secret.values():
        items.sort(key=lambda item: _order(item[1]))
        locations = tuple(dict.fromkeys(location for _, location in items))
        match = items[0][0]
        partners = [m.paired_with for m, _ in items if m.paired_with]
        findings.append(
            Finding(
                rule_id=match.rule_id,
                kind=match.kind,
                secret_sha256=match.secret_sha256,
                redacted=match.redacted,
                severity=most_severe(location.severity for location in locations),
                confidence="high" if any(m.confidence == "high" for m, _ in items) else "medium",
                description=match.description,
                locations=locations,
                paired_with=max(set(partners), key=partners.count) if partners else None,
                example=match.example,
                reasons=tuple(dict.fromkeys(reason for m, _ in items for reason in m.reasons)),
                value=match.value if keep_values else None,
            )
        )
    findings.sort(key=Finding.sort_key)
    return findings
