"""Evidence first: while the person deletes the leaked key (30–120 s), a background thread reads everything the
audit needs with the still-live key into the checkpoint. When the key goes dead the audit goes on with a
read-only key if the person gives one, else it finishes from what was captured and says what is missing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from keyguard.exchange.client import BinanceClient
from keyguard.incident.actions import ActionLog
from keyguard.incident.audit import AuditData, Auditor, Checkpoint, KeyRejected, Progress


class Capture(threading.Thread):
    """One audit pass in the background with one key; stops at the first sign that the key is dead."""

    def __init__(
        self,
        client: BinanceClient,
        checkpoint: Checkpoint,
        start: int,
        end: int,
        progress: Progress,
        baseline_start: int | None = None,
    ) -> None:
        super().__init__(name="keyguard-capture", daemon=True)
        self.client, self.checkpoint, self.start_ms, self.end_ms = client, checkpoint, start, end
        self.baseline_start = baseline_start
        self.progress = progress
        self.data: AuditData | None = None
        self.rejected: KeyRejected | None = None
        self.failure: Exception | None = None

    def run(self) -> None:
        try:
            auditor = Auditor(self.client, self.checkpoint, self.progress)
            self.data = auditor.collect(self.start_ms, self.end_ms, self.baseline_start)
        except KeyRejected as rejected:
            self.rejected = rejected
        except Exception as error:  # noqa: BLE001 — a bug must not lose what was captured; it is logged
            self.failure = error


@dataclass
class AuditOutcome:
    data: AuditData
    state: str  # complete | partial | none
    readers: list[str] = field(default_factory=list)  # which keys the answers came from, in order


def run_pass(
    client: BinanceClient,
    checkpoint: Checkpoint,
    start: int,
    end: int,
    progress: Progress,
    log: ActionLog,
    who: str,
    baseline_start: int | None = None,
) -> AuditData | None:
    """One audit pass in the foreground; None when the key turned out dead (what it read stays captured)."""
    capture = Capture(client, checkpoint, start, end, progress, baseline_start)
    capture.run()
    return finish_capture(capture, log, who)


def finish_capture(capture: Capture, log: ActionLog, who: str) -> AuditData | None:
    if capture.rejected is not None:
        log.record(
            "audit",
            f"{who}: Binance rejected it ({capture.rejected.code}) after {capture.checkpoint.count()} answers captured",
            ok=False,
        )
        return None
    if capture.failure is not None:
        log.record(
            "audit",
            f"{who}: stopped by an unexpected error ({type(capture.failure).__name__}: {capture.failure})",
            ok=False,
        )
        return None
    return capture.data


def complete_audit(
    checkpoint: Checkpoint,
    start: int,
    end: int,
    log: ActionLog,
    progress: Progress,
    captured: AuditData | None,
    readers: list[str],
    ask_reader: Callable[[AuditData], tuple[BinanceClient, str] | None],
    public: BinanceClient | None = None,
    baseline_start: int | None = None,
) -> AuditOutcome:
    """Finish the audit: as captured if complete, else with a reader key if one is given, else from the
    checkpoint alone (offline, `public` still reading market data), listing what could not be read."""
    data = captured
    if data is None or not data.complete:
        offline = Auditor(None, checkpoint, progress, public).collect(start, end, baseline_start)
        reader = ask_reader(offline) if offline.missing else None
        if reader is not None:
            client, who = reader
            data = run_pass(client, checkpoint, start, end, progress, log, who, baseline_start)
            if data is not None:
                readers.append(who)
        if data is None or not data.complete:
            data = Auditor(None, checkpoint, progress, public).collect(start, end, baseline_start)
    read_account = any(not method.startswith("public_") for method, _, _ in checkpoint.all())
    state = "complete" if data.complete else ("partial" if read_account else "none")  # prices alone: nothing
    log.record(
        "audit",
        f"{state}: {checkpoint.count()} answers, {sum(len(t) for t in data.trades.values())} trades on "
        f"{len(data.trades)} symbols, {len(data.withdrawals)} withdrawals"
        + (f"; missing: {'; '.join(data.missing[:5])}{' …' if len(data.missing) > 5 else ''}" if data.missing else "")
        + (f"; {len(data.errors)} errors" if data.errors else "")
        + f"; read with {', then '.join(readers) or 'no key'}",
        ok=state == "complete",
    )
    return AuditOutcome(data, state, readers)
