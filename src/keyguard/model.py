"""The bottom layer of a scan: blobs and where they came from, matches, findings, the result.

A `Blob` is bytes with their `Provenance`; the detector turns a blob into frozen `Match`es; the pipeline
places each match (`Location`) and groups them into one `Finding` per secret value. Secret values are
shown only as `secret_sha256` and `redact`. This module imports nothing of keyguard's.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any, BinaryIO

SEVERITIES = ("critical", "high", "medium", "low", "info")
PROVENANCE_KINDS = ("file", "stdin", "staged", "git", "archive", "chat", "image")

_PEM_ARMOUR = re.compile(rb"-----[A-Z ]+-----|\\[nr]|\s")


def raised(severity: str) -> str:
    """One level more severe (info stays info: a public example is never a leak)."""
    if severity == "info":
        return severity
    return SEVERITIES[max(0, SEVERITIES.index(severity) - 1)]


def most_severe(severities: Any) -> str:
    return min(severities, key=SEVERITIES.index)


def secret_sha256(value: bytes) -> str:
    return hashlib.sha256(value).hexdigest()


def redact(value: bytes) -> str:
    """First 4 and last 4 characters of the key material (PEM armour and line breaks removed)."""
    material = _PEM_ARMOUR.sub(b"", value) if value.startswith(b"-----") else value
    text = material.decode("ascii", "replace")
    if len(text) <= 12:
        return "…"
    return f"{text[:4]}…{text[-4:]}"


@dataclass(frozen=True)
class Skipped:
    """An input (or part of one) that was not scanned, and why."""

    path: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Provenance:
    """Where a blob came from. `origin` is where its outermost bytes were read (the JSON `source`)."""

    kind: str  # one of PROVENANCE_KINDS
    path: str  # as shown; archive members are `outer.zip!inner/file`
    origin: str = "file"  # file | stdin | staged | git
    local_only: bool = False  # never tracked by git
    exposure: str = "local"  # local | committed | pushed
    blob: str | None = None  # git blob id (of the blob itself, or of the one holding it)
    message: str | None = None  # chat exports: platform, chat, message id, author, date

    def __post_init__(self) -> None:
        if self.kind not in PROVENANCE_KINDS:
            raise ValueError(f"unknown provenance kind {self.kind!r}")

    def member(self, name: str) -> Provenance:
        """An archive member of this blob."""
        return replace(self, kind="archive", path=f"{self.path}!{name}")

    def chat_message(self, where: str) -> Provenance:
        return replace(self, kind="chat", message=where)


@dataclass(frozen=True)
class Blob:
    """Bytes to scan with their provenance: in memory (`data`), in a file (`file`) or a stream, read in pieces."""

    provenance: Provenance
    data: bytes | None = None
    file: str | None = None
    size: int = 0
    stream: BinaryIO | None = field(default=None, repr=False, compare=False)

    @property
    def length(self) -> int:
        return len(self.data) if self.data is not None else self.size


@dataclass(frozen=True)
class Match:
    """One value a rule found in one blob, placed within that blob."""

    rule_id: str
    kind: str  # api_key | secret | private_key
    description: str
    confidence: str  # high | medium
    severity: str  # from the value alone (pairing, examples, rule); exposure raises it later
    secret_sha256: str
    redacted: str
    line: int
    column: int
    end_line: int
    offset: int  # byte offset in the blob: ordering and pairing, never rendered
    example: bool = False
    encoding: str | None = None  # base64 when found inside an encoded value
    paired_with: str | None = None  # the partner's secret_sha256
    reasons: tuple[str, ...] = ()  # the evidence that it is a Binance credential
    pending: bool = False  # short of evidence unless something beside its blob names Binance
    value: bytes | None = field(default=None, repr=False, compare=False)  # in memory only
    ocr: bool = False  # read in an image
    ocr_reading: str | None = None  # what OCR read, redacted (first and last 4)
    ocr_confidence: float | None = None  # the recogniser's mean confidence over the value's characters
    # in memory only: each character's alternatives [(char, probability), ...] and its width, for exact reading
    ocr_glyphs: tuple[Any, ...] | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["value"], data["offset"], data["pending"], data["ocr_glyphs"]
        if not self.ocr:
            del data["ocr"], data["ocr_reading"], data["ocr_confidence"]
        return data


@dataclass(frozen=True)
class Location:
    """Where a secret value was seen: a place in a file, a commit's blob, an archive member, a message."""

    path: str
    line: int
    column: int
    end_line: int
    rule_id: str = ""  # the rule that found it here (one value may be caught by several)
    source: str = "file"  # file | stdin | staged | git
    exposure: str = "local"  # local (never committed) | committed | pushed (reachable from a remote ref)
    local_only: bool = False
    severity: str = "medium"
    commit: str | None = None  # the commit that first introduced the value's blob
    commit_date: str | None = None
    author: str | None = None
    in_head: bool | None = None  # git history: whether the value is still present at HEAD
    blob: str | None = None
    encoding: str | None = None
    message: str | None = None
    offset: int = field(default=0, repr=False)  # byte offset in its blob: not rendered
    ocr: bool = False  # read in an image; the three OCR fields are written only then
    ocr_reading: str | None = None  # what OCR read, redacted (first and last 4)
    ocr_confidence: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["offset"]
        if not self.ocr:
            del data["ocr"], data["ocr_reading"], data["ocr_confidence"]
        return data


# The JSON fields of a finding, in the order they have always been written.
FINDING_FIELDS = (
    "rule_id",
    "kind",
    "path",
    "line",
    "column",
    "secret_sha256",
    "redacted",
    "severity",
    "confidence",
    "description",
    "end_line",
    "paired_with",
    "local_only",
    "example",
    "source",
    "exposure",
    "commit",
    "commit_date",
    "author",
    "in_head",
    "blob",
    "encoding",
    "message",
    "verified",
    "permissions",
    "reasons",
)

# Written after them for a finding first seen in an image.
OCR_FIELDS = ("ocr", "ocr_reading", "ocr_confidence")


@dataclass(frozen=True)
class Finding:
    """One secret value and every place it was seen; the first location is the one shown first."""

    rule_id: str
    kind: str
    secret_sha256: str
    redacted: str
    severity: str  # the most severe of its locations (or what --verify made it)
    confidence: str
    description: str
    locations: tuple[Location, ...]
    paired_with: str | None = None
    example: bool = False
    verified: str | None = None  # scan --verify: live | dead | unknown
    permissions: tuple[str, ...] | None = None  # scan --verify: what a live key may do
    reasons: tuple[str, ...] = ()  # the evidence that it is a Binance credential
    value: bytes | None = field(default=None, repr=False, compare=False)  # in memory only (migrate, verify)

    @property
    def first(self) -> Location:
        return self.locations[0]

    @property
    def path(self) -> str:
        return self.first.path

    @property
    def line(self) -> int:
        return self.first.line

    @property
    def exposure(self) -> str:
        exposures = {loc.exposure for loc in self.locations}
        return next(e for e in ("pushed", "committed", "local") if e in exposures or e == "local")

    def to_dict(self) -> dict[str, Any]:
        first = self.first.to_dict()
        own = {
            "rule_id": self.rule_id,
            "kind": self.kind,
            "secret_sha256": self.secret_sha256,
            "redacted": self.redacted,
            "severity": self.severity,
            "confidence": self.confidence,
            "description": self.description,
            "paired_with": self.paired_with,
            "example": self.example,
            "verified": self.verified,
            "permissions": list(self.permissions) if self.permissions is not None else None,
            "reasons": list(self.reasons),
        }
        own["rule_id"] = first["rule_id"] or self.rule_id
        data = {name: own[name] if name in own else first[name] for name in FINDING_FIELDS}
        data.update({name: first[name] for name in OCR_FIELDS if name in first})
        data["locations"] = [loc.to_dict() for loc in self.locations]
        return data

    def sort_key(self) -> tuple:
        return (self.path, self.first.offset, self.rule_id)


@dataclass
class ScanResult:
    findings: list[Finding]
    skipped: list[Skipped]
    stats: dict[str, Any]
