"""Checks every inventory key against its profile, what its tool needs (the tool registry), its last verification
and the one-key-per-tool rule — each violation with its severity and the API Management steps that fix it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from keyguard.inventory.store import KeyRecord
from keyguard.posture.profiles import PERMISSIONS, Profile
from keyguard.posture.tools import PROFILE_PREFIX, ProfileBook, Registry, Tool, load_registry
from keyguard.posture.verify import MOVING_FIELDS, TRADING_FIELDS, Verification

WITHDRAWALS = PERMISSIONS["withdrawals"]


@dataclass(frozen=True)
class Violation:
    severity: str  # critical | high | medium
    text: str
    fix: tuple[str, ...] = ()  # the steps, in order, that resolve it

    def __str__(self) -> str:
        return self.text


def _as_verification(result: dict) -> Verification:
    known = {k: v for k, v in result.items() if k in Verification.__dataclass_fields__}
    verification = Verification(**known)
    if verification.created:  # age as of today, not as of the last verification
        created = datetime.fromisoformat(verification.created)
        verification.age_days = (datetime.now(UTC) - created).days
    return verification


def check_keys(
    records: list[KeyRecord], profiles: Mapping[str, Profile], registry: Registry | None = None
) -> dict[str, list[Violation]]:
    """Violations per label (an empty list: the key is as it should be)."""
    registry = registry or load_registry()
    if not isinstance(profiles, ProfileBook):  # tool profiles (`tool:3commas`) resolve too
        profiles = ProfileBook(profiles, registry)
    by_key: dict[str, list[KeyRecord]] = defaultdict(list)
    for record in records:
        by_key[record.fingerprint].append(record)
    return {record.label: _check_record(record, profiles, registry, by_key[record.fingerprint]) for record in records}


def _tool_id(name: str, registry: Registry) -> str:
    tool = registry.find(name)
    return tool.id if tool else name


def _check_record(
    record: KeyRecord, profiles: Mapping[str, Profile], registry: Registry, same_key: list[KeyRecord]
) -> list[Violation]:
    tool = registry.find(record.tool)
    found = _shared(record, same_key, profiles, registry)
    if record.retired:
        if record.last_status != "dead":
            text = "retired: delete it in Binance API Management; not yet confirmed dead"
            found.append(_delete(record, registry, text))
        return found
    if tool is not None and not tool.takes_key:
        found.append(_delete(record, registry, f"{tool.name} takes no Binance API key ({tool.kind}): nothing needs it"))
        return found
    profile = profiles.get(record.profile)
    if profile is None:
        return [*found, Violation("medium", f"unknown profile {record.profile!r}")]
    if record.last_result is None:
        return [*found, Violation("medium", f"never verified: run `keyguard verify --label {record.label}`")]
    if record.last_status == "dead":
        return [*found, Violation("medium", "dead at the last verification: replace it, or retire it")]
    if record.last_status != "live":
        return found
    verification = _as_verification(record.last_result)
    found += _permissions(record, verification, profile, tool, registry)
    found += _whitelist(record, verification, profile, tool, registry)
    if verification.age_days is not None and verification.age_days > profile.rotation_days:
        found.append(
            Violation(
                "high",
                f"{verification.age_days} days old (profile {profile.name} rotates every {profile.rotation_days})",
                (f"`keyguard rotate {record.label}` guides you through a new key and deletes this one.",),
            )
        )
    return found


def _permissions(
    record: KeyRecord, verification: Verification, profile: Profile, tool: Tool | None, registry: Registry
) -> list[Violation]:
    """Beyond what the tool needs (its own profile, or all it can use), beyond the profile; withdrawals on are
    always critical."""
    on = {field for field, enabled in verification.permissions.items() if enabled}
    found = []
    reported: set[str] = set()
    if tool is not None and tool.needs is not None:
        usable = profile.allow if profile.name.startswith(PROFILE_PREFIX) else tool.usable_fields()
        beyond_tool = sorted(on - usable)
        if beyond_tool:
            found.append(_untick(record, registry, beyond_tool, f"more than {tool.name} needs"))
            reported.update(beyond_tool)
    beyond_profile = sorted(on - profile.allow - reported)
    if beyond_profile:
        found.append(_untick(record, registry, beyond_profile, f"more than profile {profile.name} allows"))
        reported.update(beyond_profile)
    if WITHDRAWALS in on and WITHDRAWALS not in reported:
        found.append(_untick(record, registry, [WITHDRAWALS], "withdrawals are on — no tool needs them"))
    return found


def _untick(record: KeyRecord, registry: Registry, fields: list[str], why: str) -> Violation:
    severity = "critical" if set(fields) & set(MOVING_FIELDS) else "high"
    ui = registry.binance
    fix = ui.how_to("edit_permissions", key=record.redacted, label=record.label, options=ui.labels_of_fields(fields))
    return Violation(severity, f"{why}: {', '.join(fields)}", fix)


def _whitelist(
    record: KeyRecord, verification: Verification, profile: Profile, tool: Tool | None, registry: Registry
) -> list[Violation]:
    if verification.ip_restricted is not False:
        return []
    trades = any(verification.permissions.get(field) for field in TRADING_FIELDS)
    severity = "critical" if trades else "medium"
    if tool is not None and tool.wants_whitelist:
        if tool.publishes_ips == "own":
            text = f"no IP whitelist: {tool.name} runs on your own machine — pin the key to that machine's public IP"
            ips = "the public IP of the machine that runs " + tool.name
        else:
            text = f"no IP whitelist, though {tool.name} publishes the IPs it calls from"
            ips = f"the IPs {tool.name} publishes ({tool.ips_where.rstrip('.')})"
    elif profile.ip_whitelist:
        text, ips = f"no IP whitelist (profile {profile.name} requires one)", "the IP your bot runs from"
    else:
        return []
    ips = ", ".join(record.expected_ips) or ips
    fix = registry.binance.how_to("restrict_ips", key=record.redacted, label=record.label, ips=ips)
    return [Violation(severity, text, fix)]


def _delete(record: KeyRecord, registry: Registry, text: str) -> Violation:
    return Violation("high", text, registry.binance.how_to("delete", key=record.redacted, label=record.label))


def _shared(
    record: KeyRecord, same_key: list[KeyRecord], profiles: Mapping[str, Profile], registry: Registry
) -> list[Violation]:
    """One key serves several tools: every other tool gets a key of its own and leaves this one."""
    tools = sorted({_tool_id(other.tool, registry) for other in same_key})
    if len(tools) < 2:
        return []
    ui = registry.binance
    own = _tool_id(record.tool, registry)
    fix = [ui.opening()]
    for other in same_key:
        tool_id = _tool_id(other.tool, registry)
        if tool_id == own:
            continue
        tool = registry.find(other.tool)
        name = tool.name if tool else other.tool
        profile = profiles.get(other.profile)
        options = ui.labels_of_fields(profile.allow) if profile else f"what {name} needs"
        register = _register_args(tool_id, other.profile)
        fix += ui.steps_for("split_key", tool=name, register=register, label=other.label, options=options)
    return [Violation("high", f"one key per tool: the same key serves {', '.join(tools)}", tuple(fix))]


def _register_args(tool_id: str, profile: str) -> str:
    """`keys add` options that give a new key the same profile: `--tool 3commas --allow futures`."""
    if not profile.startswith(PROFILE_PREFIX):
        return f"--tool {tool_id} --profile {profile}"
    return " ".join([f"--tool {tool_id}", *(f"--allow {extra}" for extra in profile.split("+")[1:])])
