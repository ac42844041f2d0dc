"""The whole response in order: contain, audit, detect, preserve evidence, write the reports, seal."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from keyguard.evidence.manifest import AlreadySealed, seal
from keyguard.evidence.reports import CaseFacts, CaseStatus, write_reports
from keyguard.exchange.client import BinanceClient, ExchangeError
from keyguard.incident.actions import ActionLog
from keyguard.incident.audit import AuditData, Checkpoint, Progress
from keyguard.incident.baseline import account_baseline
from keyguard.incident.capture import AuditOutcome, Capture, complete_audit, finish_capture
from keyguard.incident.case import write_findings, write_raw, write_tables
from keyguard.incident.case_state import CaseError, CaseState, open_case, release, window_text
from keyguard.incident.contain import Containment, contain, lock_sub_account_key, poll_until_dead
from keyguard.incident.detect import Detection, detect
from keyguard.incident.valuation import assess
from keyguard.inventory.store import Inventory, default_path

LOG_FILE = "containment-log.jsonl"
BASELINE_DAYS = 7
DAY_MS = 86_400_000


def permission_changes(fingerprint: str, now: dict) -> list[str]:
    """What changed in the key's permissions since the inventory last verified it (Binance keeps no history)."""
    if now.get("status") != "live" or not default_path().exists():
        return []
    store = Inventory()
    try:
        records = [r for r in store.by_fingerprint(fingerprint) if r.last_result and r.last_status == "live"]
    finally:
        store.close()
    changes = []
    for record in records:
        before = record.last_result or {}
        gained = sorted(
            k for k, v in now.get("permissions", {}).items() if v and not before.get("permissions", {}).get(k)
        )
        if gained:
            changes.append(f"since {record.last_verified} ({record.label}): now also {', '.join(gained)}")
        if before.get("ip_restricted") and not now.get("ip_restricted"):
            changes.append(f"since {record.last_verified} ({record.label}): the IP whitelist was removed")
    return changes


@dataclass
class IncidentResult:
    case: Path
    containment: Containment
    detection: Detection | None
    log: ActionLog
    audit_state: str = "none"  # complete | partial | none
    missing: list[str] = field(default_factory=list)
    manifest_sha256: str = ""


@dataclass
class Person:
    """How the flow talks to the person: questions, the deletion steps, a countdown, progress, and — when the
    leaked key is gone before the audit is complete — a way to ask for a read-only key (None: skip)."""

    confirm: Callable[[str], bool]
    on_guidance: Callable[[list[str]], None] = lambda steps: None
    on_tick: Callable[[float, int], None] = lambda seconds_left, answers_captured: None
    progress: Progress = lambda stage, done, total: None
    ask_audit_key: Callable[[list[str]], tuple[BinanceClient, str] | None] = lambda missing: None


def run_incident(
    client: BinanceClient,
    case: Path,
    person: Person,
    since_days: int = 30,
    wait_dead: float = 0,
    audit_client: BinanceClient | None = None,
    master: tuple[BinanceClient, str] | None = None,
    now_ms: int | None = None,
    poll_seconds: float = 5,
) -> IncidentResult:
    """Contain at once (check, cancel open orders, lock a sub-account key through `master` — the master's
    client and the sub-account's email — and show the deletion steps); while the person deletes the key,
    capture the audit with it; then finish with `audit_client` or a key the person gives, or from what was
    captured; detect; write and seal the case. A rerun on the same unsealed `case` resumes it.

    Raises CaseError when `case` cannot hold this case (sealed, another key's, not a keyguard folder)."""
    key = client.credential
    state = open_case(case, key.fingerprint, key.redacted_key, since_days, now_ms or int(time.time() * 1000))
    try:
        return _respond(client, case, person, state, wait_dead, audit_client, master, poll_seconds)
    except AlreadySealed as error:  # another process sealed it first
        raise CaseError(str(error)) from None
    finally:
        release(case)


def _respond(
    client: BinanceClient,
    case: Path,
    person: Person,
    state: CaseState,
    wait_dead: float,
    audit_client: BinanceClient | None,
    master: tuple[BinanceClient, str] | None,
    poll_seconds: float,
) -> IncidentResult:
    key = client.credential
    log = ActionLog.continued(case / LOG_FILE)
    log.record(
        "open case" if not state.resumed else "resume case",
        f"audit window {window_text(state)} (fixed when the case opened), run {state.runs}",
    )
    containment = contain(client, log, person.confirm)
    for change in permission_changes(key.fingerprint, containment.verification.to_dict()):
        log.record("permission change", change, ok=False)
    if master:  # also when Binance rejects the key from here: it may be whitelisted to the thief's server
        lock_sub_account_key(master[0], master[1], key.api_key, log)
    person.on_guidance(containment.guidance)
    log.write(case / LOG_FILE)

    checkpoint = Checkpoint(case / "audit.sqlite")
    captured, readers = _capture_while_deleting(
        client, checkpoint, state, containment, log, person, wait_dead, poll_seconds
    )
    log.write(case / LOG_FILE)

    def reader(offline: AuditData) -> tuple[BinanceClient, str] | None:
        if not containment.confirmed_dead and containment.verification.status == "live":
            return client, "the leaked key (still live), a second pass"
        given = (audit_client, f"audit key {audit_client.credential.redacted_key}") if audit_client else None
        given = given or person.ask_audit_key(offline.missing)
        return given if given and _same_account(given[0], checkpoint, log) else None

    public = BinanceClient.public_data(client.base_url)
    outcome = complete_audit(
        checkpoint,
        state.start_ms,
        state.end_ms,
        log,
        person.progress,
        captured,
        readers,
        reader,
        public,
        _baseline_start(state),
    )
    detection, manifest_sha256 = _write_case(case, client, checkpoint, state, containment, outcome, log)
    missing = list(outcome.data.missing)
    return IncidentResult(case, containment, detection, log, outcome.state, missing, manifest_sha256)


def _write_case(
    case: Path,
    client: BinanceClient,
    checkpoint: Checkpoint,
    state: CaseState,
    containment: Containment,
    outcome: AuditOutcome,
    log: ActionLog,
) -> tuple[Detection, str]:
    """Detection, the case folder's files and reports, and the seal (complete or INCOMPLETE)."""
    key = client.credential
    data = outcome.data
    baseline = account_baseline(data, _baseline_start(state), state.start_ms - 1)
    detection = detect(data, state.start_ms, baseline)
    loss = assess(data, detection)
    log.record(
        "detect",
        f"{len(detection.flags)} flags"
        + ("" if outcome.state == "none" else f", loss {loss.total_usdt:,.2f} USDT{' at least' * bool(loss.unpriced)}"),
    )
    write_raw(case, checkpoint)
    write_tables(case, data, detection)
    log.write(case / LOG_FILE)
    timeline = write_findings(case, data, detection, log, audit_state=outcome.state)
    (case / "baseline.json").write_text(json.dumps(baseline.to_dict(), indent=2) + "\n", encoding="utf-8")
    status = CaseStatus(
        key_status="rejected" if containment.confirmed_dead else containment.verification.status,
        rejected_since=containment.rejected_since,
        cancelled=containment.cancelled,
        audit_state=outcome.state,
        missing=list(data.missing),
        audited_with=", then ".join(outcome.readers) or "nothing: no key could read the account",
    )
    write_reports(
        case,
        CaseFacts(
            key.redacted_key,
            key.fingerprint,
            _account_uid(checkpoint),
            data,
            detection,
            timeline,
            [f"{a.time} {a.action}: {a.result}" for a in log.actions],
            status,
            baseline.describe().removeprefix("normally: ") if baseline.trades else "no trades",
        ),
    )
    summary = {
        "key": key.redacted_key,
        "fingerprint": key.fingerprint,
        "verification": containment.verification.to_dict(),
        "cancelled": containment.cancelled,
        "confirmed_dead": containment.confirmed_dead,
        "rejected_since": containment.rejected_since,
        "guidance": containment.guidance,
        "audit": {"state": outcome.state, "missing": data.missing, "read_with": outcome.readers},
        "flags": len(detection.flags),
        "elapsed_seconds": round(log.elapsed(), 1),
    }
    (case / "containment.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    log.record("seal", "complete" if outcome.state == "complete" else f"sealed as INCOMPLETE ({outcome.state})")
    log.write(case / LOG_FILE)
    return detection, seal(case, complete=outcome.state == "complete", missing=list(data.missing))


def _capture_while_deleting(
    client: BinanceClient,
    checkpoint: Checkpoint,
    state: CaseState,
    containment: Containment,
    log: ActionLog,
    person: Person,
    wait_dead: float,
    poll_seconds: float,
) -> tuple[AuditData | None, list[str]]:
    """The audit read in the background with the leaked key while the main thread polls until Binance rejects
    it; returns the capture when it finished, and which keys answers came from."""
    if containment.verification.status == "dead":
        return None, ["the leaked key, in an earlier run of this case"] if checkpoint.count() else []
    key = client.credential
    capture = Capture(client, checkpoint, state.start_ms, state.end_ms, person.progress, _baseline_start(state))
    capture.start()
    if wait_dead and not containment.confirmed_dead:
        poller = BinanceClient(key, client.base_url)  # its own connection: ccxt clients are not thread-safe
        containment.confirmed_dead = poll_until_dead(
            poller, log, wait_dead, poll_seconds, on_tick=lambda left: person.on_tick(left, checkpoint.count())
        )
        if containment.confirmed_dead:
            containment.rejected_since = log.actions[-1].time
    capture.join()
    captured = finish_capture(capture, log, "the leaked key while it was live")
    if capture.rejected is not None and not containment.confirmed_dead:
        containment.confirmed_dead, containment.rejected_since = True, log.actions[-1].time
    return captured, ["the leaked key while it was live"] if captured is not None or checkpoint.count() else []


def _same_account(reader: BinanceClient, checkpoint: Checkpoint, log: ActionLog) -> bool:
    """An audit key must read the leaked key's account: its answers join the same checkpoint."""
    expected = _account_uid(checkpoint)
    try:
        uid = reader.spot_account().get("uid")
    except ExchangeError as error:
        log.record("audit key", f"{reader.credential.redacted_key} cannot read the account: {error}", ok=False)
        return False
    if expected is not None and uid != expected:
        log.record(
            "audit key",
            f"refused: {reader.credential.redacted_key} belongs to account {uid}, the leaked key to {expected}",
            ok=False,
        )
        return False
    return True


def _baseline_start(state: CaseState) -> int:
    """Trades are read from BASELINE_DAYS before the window too: what is normal for this account."""
    return state.start_ms - BASELINE_DAYS * DAY_MS


def _account_uid(checkpoint: Checkpoint) -> int | None:
    return next(
        (a.get("uid") for m, _, a in checkpoint.all() if m == "private_get_account" and isinstance(a, dict)), None
    )
