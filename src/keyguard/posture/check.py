"""Checks every inventory key against its profile, its last verification and the one-key-per-tool rule."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from keyguard.inventory.store import KeyRecord
from keyguard.posture.profiles import Profile
from keyguard.posture.verify import Verification


def _as_verification(result: dict) -> Verification:
    known = {k: v for k, v in result.items() if k in Verification.__dataclass_fields__}
    verification = Verification(**known)
    if verification.created:  # age as of today, not as of the last verification
        created = datetime.fromisoformat(verification.created)
        verification.age_days = (datetime.now(UTC) - created).days
    return verification


def check_keys(records: list[KeyRecord], profiles: dict[str, Profile]) -> dict[str, list[str]]:
    """Violations per label (an empty list: the key is as it should be)."""
    tools_by_key: dict[str, set[str]] = defaultdict(set)
    for record in records:
        tools_by_key[record.fingerprint].add(record.tool)
    report: dict[str, list[str]] = {}
    for record in records:
        found: list[str] = []
        tools = tools_by_key[record.fingerprint]
        if len(tools) > 1:
            found.append(f"one key per tool: the same key serves {', '.join(sorted(tools))}")
        if record.retired:
            if record.last_status != "dead":
                found.append("retired: delete it in Binance API Management; not yet confirmed dead")
            report[record.label] = found
            continue
        profile = profiles.get(record.profile)
        if profile is None:
            found.append(f"unknown profile {record.profile!r}")
        elif record.last_result is None:
            found.append(f"never verified: run `keyguard verify --label {record.label}`")
        elif record.last_status == "dead":
            found.append("dead at the last verification: replace it, or retire it")
        elif record.last_status == "live":
            found += profile.violations(_as_verification(record.last_result))
        report[record.label] = found
    return report
