"""The finding record and the only ways a secret value may be shown: a hash and a redacted form."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from typing import Any

SEVERITIES = ("critical", "high", "medium", "low", "info")


def raised(severity: str) -> str:
    """One level more severe (info stays info: a public example is never a leak)."""
    if severity == "info":
        return severity
    return SEVERITIES[max(0, SEVERITIES.index(severity) - 1)]


_PEM_ARMOUR = re.compile(rb"-----[A-Z ]+-----|\\[nr]|\s")


def secret_sha256(value: bytes) -> str:
    return hashlib.sha256(value).hexdigest()


def redact(value: bytes) -> str:
    """First 4 and last 4 characters of the key material (PEM armour and line breaks removed)."""
    material = _PEM_ARMOUR.sub(b"", value) if value.startswith(b"-----") else value
    text = material.decode("ascii", "replace")
    if len(text) <= 12:
        return "…"
    return f"{text[:4]}…{text[-4:]}"


@dataclass
class Finding:
    rule_id: str
    kind: str
    path: str
    line: int
    column: int
    secret_sha256: str
    redacted: str
    severity: str
    confidence: str
    description: str
    end_line: int = 0
    paired_with: str | None = None
    local_only: bool = False
    example: bool = False
    source: str = "file"  # file | stdin | staged | git
    exposure: str = "local"  # local (never committed) | committed | pushed (reachable from a remote ref)
    commit: str | None = None  # git history: the commit that first introduced the value's blob
    commit_date: str | None = None
    author: str | None = None
    in_head: bool | None = None  # git history: whether the value is still present at HEAD
    blob: str | None = None
    encoding: str | None = None  # base64 when the value was found inside an encoded value
    message: str | None = None  # chat exports: which message (platform, chat, id, author, date)
    verified: str | None = None  # scan --verify: live | dead | unknown
    permissions: list[str] | None = None  # scan --verify: what a live key may do
    # where the value starts in its file (bytes); used for ordering and pairing, not rendered
    offset: int = field(default=0, repr=False)
    # the value itself, in memory only, for scan --verify; never rendered, cleared when the scan ends
    value: bytes | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["offset"], data["value"]
        return data

    def sort_key(self) -> tuple:
        return (self.path, self.offset, self.rule_id)
