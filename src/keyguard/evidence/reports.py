"""The case's reports: report.html (self-contained, charts as inline SVG), support-ticket.md and
police-report.md (these two carry the manifest's SHA-256: seal() writes it into them).

Only the masked key and its fingerprint appear; TxIDs become explorer links where the network is known.
"""

from __future__ import annotations

from pathlib import Path

from keyguard.evidence.facts import CaseFacts, CaseStatus
from keyguard.evidence.report_html import report_html
from keyguard.evidence.tickets import police_report, support_ticket

__all__ = ["CaseFacts", "CaseStatus", "police_report", "report_html", "support_ticket", "write_reports"]


def write_reports(case: Path, facts: CaseFacts) -> None:
    """Write before seal(): report.html goes into the manifest; the two tickets stay outside it and get the
    manifest's SHA-256 when the case is sealed."""
    (case / "report.html").write_text(report_html(facts), encoding="utf-8")
    (case / "support-ticket.md").write_text(support_ticket(facts), encoding="utf-8")
    (case / "police-report.md").write_text(police_report(facts), encoding="utf-8")
