"""What the reports are written from: the audit, the flags, the timeline and the case's status."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from keyguard.incident.audit import AuditData
from keyguard.incident.detect import Detection
from keyguard.incident.valuation import LossAssessment, assess

_LOSS_FIGURE = re.compile(r"(estimated )?loss (of )?[0-9][0-9,]*(\.[0-9]+)? USDT", re.IGNORECASE)


@dataclass
class CaseStatus:
    key_status: str = "unknown"  # "rejected" | "live" | "unknown"
    rejected_since: str | None = None  # ISO UTC time the key was first seen rejected by Binance
    cancelled: dict[str, int] = field(default_factory=dict)  # symbol -> open orders cancelled during containment
    audit_state: str = "complete"  # "complete" | "partial" | "none"
    missing: list[str] = field(default_factory=list)  # what the audit could not read (human-readable)
    audited_with: str = ""  # e.g. "the leaked key while it was still live, then audit key ab12…cd34"


@dataclass
class CaseFacts:
    """When nothing could be audited, pass an empty AuditData(start, end), Detection() and
    status.audit_state == "none": the reports then say so instead of showing a zero loss."""

    key: str  # masked
    fingerprint: str
    account_uid: int | None
    data: AuditData
    detection: Detection
    timeline: list[dict[str, Any]]
    containment: list[str]
    status: CaseStatus = field(default_factory=CaseStatus)
    baseline: str = ""  # the account's normal before the window, in one line ("normally: …")

    @cached_property
    def losses(self) -> LossAssessment:
        return assess(self.data, self.detection)

    @property
    def audited(self) -> bool:
        return self.status.audit_state != "none"

    @property
    def complete(self) -> bool:
        return self.status.audit_state == "complete" and not self.missing

    @property
    def missing(self) -> list[str]:
        """What the audit could not read: the status's list, else the audit's own (AuditData.missing)."""
        return list(self.status.missing or getattr(self.data, "missing", None) or [])

    @property
    def events(self) -> list[dict[str, Any]]:
        """The timeline as shown: with nothing audited, no line may read as a zero loss."""
        if self.audited:
            return self.timeline
        return [
            {**e, "detail": _LOSS_FIGURE.sub("loss unknown (nothing could be audited)", str(e.get("detail", "")))}
            for e in self.timeline
        ]

    @property
    def attack_window(self) -> tuple[int, int] | None:
        times = [f.time for f in self.detection.flags]
        return (min(times), max(times)) if times else None


def when(ms_or_iso: int | str) -> str:
    """A time a person reads: 25 Nov 2026 14:02 UTC."""
    moment = (
        datetime.fromisoformat(ms_or_iso)
        if isinstance(ms_or_iso, str)
        else datetime.fromtimestamp(ms_or_iso / 1000, UTC)
    )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%d %b %Y %H:%M UTC").lstrip("0")


def duration(ms: int) -> str:
    minutes = round(ms / 60_000)
    if minutes < 1:
        return f"{max(1, round(ms / 1000))} seconds"
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = minutes / 60
    return f"{hours:.0f} hours" if hours < 48 else f"{hours / 24:.0f} days"


def usdt(amount: float) -> str:
    return f"{amount:,.2f} USDT"
