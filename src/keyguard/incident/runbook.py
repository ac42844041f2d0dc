"""The whole response in order: contain, audit, detect, preserve evidence, write the reports, seal."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from keyguard.evidence.manifest import seal
from keyguard.evidence.reports import CaseFacts, write_reports
from keyguard.exchange.client import BinanceClient
from keyguard.incident.actions import ActionLog
from keyguard.incident.audit import DAY_MS, Auditor, Checkpoint, Progress
from keyguard.incident.case import write_findings, write_raw, write_tables
from keyguard.incident.contain import Containment, contain, lock_sub_account_key, poll_until_dead
from keyguard.incident.detect import Detection, detect


def permission_changes(fingerprint: str, now: dict) -> list[str]:
    """What changed in the key's permissions since the inventory last verified it (Binance keeps no history)."""
    from keyguard.inventory.store import Inventory, default_path

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


def run_incident(
    client: BinanceClient,
    case: Path,
    confirm: Callable[[str], bool],
    since_days: int = 30,
    wait_dead: float = 0,
    on_guidance: Callable[[list[str]], None] | None = None,
    audit_client: BinanceClient | None = None,
    progress: Progress | None = None,
    now_ms: int | None = None,
    master: tuple[BinanceClient, str] | None = None,
    on_tick: Callable[[float], None] | None = None,
) -> IncidentResult:
    """`master`: the master account's client and the leaked key's sub-account email, to lock the key at once."""
    log = ActionLog()
    containment = contain(client, log, confirm)
    changes = permission_changes(client.credential.fingerprint, containment.verification.to_dict())
    for change in changes:
        log.record("permission change", change, ok=False)
    if master and containment.verification.status == "live":
        lock_sub_account_key(master[0], master[1], client.credential.api_key, log)
    if containment.guidance and on_guidance:
        on_guidance(containment.guidance)
    if containment.guidance and wait_dead:
        containment.confirmed_dead = poll_until_dead(client, log, wait_dead, on_tick=on_tick)
    log.write(case / "containment-log.jsonl")
    reader = audit_client or (client if containment.verification.status == "live" else None)
    detection = None
    if reader is None:
        log.record("audit", "skipped: the key is dead; give a read-only key to audit with", ok=False)
    else:
        import time

        end = now_ms or int(time.time() * 1000)
        start = end - since_days * DAY_MS
        checkpoint = Checkpoint(case / "audit.sqlite")
        data = Auditor(reader, checkpoint, progress).collect(start, end)
        log.record(
            "audit",
            f"{data.calls} calls, {sum(len(t) for t in data.trades.values())} trades on "
            f"{len(data.trades)} symbols, {len(data.withdrawals)} withdrawals, "
            f"{len(data.errors)} errors",
        )
        detection = detect(data, start)
        log.record(
            "detect", f"{len(detection.flags)} flags, estimated loss {sum(detection.loss_by_symbol.values()):,.2f} USDT"
        )
        write_raw(case, checkpoint)
        write_tables(case, data, detection)
        timeline = write_findings(case, data, detection, log)
        uid = next(
            (
                json.loads(json.dumps(a)).get("uid")
                for m, _, a in checkpoint.all()
                if m == "private_get_account" and isinstance(a, dict)
            ),
            None,
        )
        write_reports(
            case,
            CaseFacts(
                client.credential.redacted_key,
                client.credential.fingerprint,
                uid,
                data,
                detection,
                timeline,
                [f"{a.time} {a.action}: {a.result}" for a in log.actions],
            ),
        )
    log.write(case / "containment-log.jsonl")
    summary = {
        "key": client.credential.redacted_key,
        "fingerprint": client.credential.fingerprint,
        "verification": containment.verification.to_dict(),
        "cancelled": containment.cancelled,
        "confirmed_dead": containment.confirmed_dead,
        "guidance": containment.guidance,
        "flags": len(detection.flags) if detection else None,
        "elapsed_seconds": round(log.elapsed(), 1),
    }
    (case / "containment.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    seal(case)
    return IncidentResult(case, containment, detection, log)
