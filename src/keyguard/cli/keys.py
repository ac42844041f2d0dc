"""`keyguard keys`: the inventory of keys — which tool, which profile, how old, and whether each is as it should be."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from keyguard.cli.common import fail

if TYPE_CHECKING:  # imported when run: the posture modules load ccxt, which `keyguard --help` need not
    from keyguard.posture.profiles import Profile
    from keyguard.posture.tools import Registry, Tool

app = typer.Typer(help="The inventory of your Binance keys (fingerprints only, never secrets).", no_args_is_help=True)
InventoryOption = Annotated[
    Path | None, typer.Option("--inventory", help="Inventory file (default: KEYGUARD_INVENTORY or the user data dir).")
]


def _inventory(path: Path | None):
    from keyguard.inventory.store import Inventory

    return Inventory(path)


def _profiles():
    """Built-in and custom profiles, and each registry tool's (`tool:3commas`, `tool:3commas+futures`)."""
    from keyguard.config import load_settings
    from keyguard.posture.profiles import load_profiles
    from keyguard.posture.tools import ProfileBook, load_registry

    values = load_settings(".").values
    rotation_days = values.get("rotation_days")
    return ProfileBook(load_profiles(values.get("profiles"), rotation_days), load_registry(), rotation_days)


@app.command("add")
def add(
    label: Annotated[str | None, typer.Argument(help="A name for this key, e.g. grid-bot.")] = None,
    tool: Annotated[str, typer.Option("--tool", help="The tool that uses it: `keyguard tools list`.")] = "",
    profile: Annotated[
        str | None, typer.Option("--profile", help="read-only, spot-trading, one from settings (default: the tool's).")
    ] = None,
    allow: Annotated[
        list[str] | None, typer.Option("--allow", help="An optional permission of the tool you use (futures).")
    ] = None,
    ips: Annotated[str, typer.Option("--ips", help="Comma-separated IPs the key should be restricted to.")] = "",
    label_flag: Annotated[str | None, typer.Option("--label", help="The label, as an option.")] = None,
    inventory: InventoryOption = None,
) -> None:
    """Register the key in BINANCE_API_KEY (or asked without echo) for a tool, with the tool's profile.

    Example: keyguard keys add grid-bot --tool 3commas --allow futures

    Example: keyguard keys add quant-trading --tool freqtrade --profile spot-trading --ips 203.0.113.7
    """
    from keyguard.exchange.credentials import CredentialError, from_environment, from_prompt
    from keyguard.inventory.store import KeyRecord
    from keyguard.posture.tools import load_registry

    console = Console()
    label = _one_label(label, label_flag)
    if not tool:
        raise fail("name the tool that uses the key: --tool NAME (`keyguard tools list`)")
    registry = load_registry()
    known = registry.find(tool)
    profile = _chosen_profile(known, tool, profile, allow or [])
    profiles = _profiles()
    if profile not in profiles:
        raise fail(f"unknown profile {profile!r}; known: {', '.join(sorted(profiles))}, or a tool's")
    try:
        credential = from_environment() or from_prompt()
    except CredentialError as error:
        raise fail(str(error)) from None
    store = _inventory(inventory)
    if store.get(label):
        raise fail(f"a key labelled {label!r} is already registered")
    others = store.by_fingerprint(credential.fingerprint)
    tool_id = known.id if known else tool
    store.add(
        KeyRecord(
            label,
            tool_id,
            profile,
            credential.fingerprint,
            credential.redacted_key,
            credential.key_type,
            datetime.now(UTC).isoformat(timespec="seconds"),
            [ip.strip() for ip in ips.split(",") if ip.strip()],
        )
    )
    name = known.name if known else tool
    console.print(
        f"registered {label}: {credential.redacted_key} for {name} ({profile}); "
        f"verify it with `keyguard verify --label {label}`"
    )
    _advise(console, profiles[profile], known, ips, registry)
    for other in others:
        console.print(
            f"[yellow]the same key is already registered as {other.label} for {other.tool}: "
            "give each tool its own key[/yellow]"
        )


def _one_label(argument: str | None, option: str | None) -> str:
    if bool(argument) == bool(option):
        raise fail("give the key's label once: `keyguard keys add LABEL --tool NAME` (or --label LABEL)")
    return argument or option or ""


def _chosen_profile(tool: Tool | None, typed: str, profile: str | None, allow: list[str]) -> str:
    """The profile asked for, or the tool's own; a tool not in the registry needs --profile."""
    if profile is not None:
        if allow:
            raise fail("--allow adds to a tool's own profile: drop --profile, or put the permission in that profile")
        return profile
    if tool is None:
        raise fail(f"{typed!r} is not in the tool registry (`keyguard tools list`): give --profile")
    if not tool.takes_key:
        raise fail(f"{tool.name} takes no Binance API key ({tool.kind}): there is nothing to register")
    if tool.needs is None:
        raise fail(f"no source says which permissions {tool.name} needs: give --profile")
    unusable = [name for name in allow if name not in tool.optional]
    if unusable:
        optional = ", ".join(tool.optional) or "none"
        raise fail(f"{tool.name} does not use {', '.join(unusable)} (its optional permissions: {optional})")
    return tool.profile_name(allow)


def _advise(console: Console, profile: Profile, tool: Tool | None, ips: str, registry: Registry) -> None:
    """What to set in API Management for this key: its options, and the IPs to pin it to."""
    console.print(f"  In API Management give it only: {registry.binance.labels_of_fields(profile.allow)}.")
    if tool is None or ips or not tool.wants_whitelist:
        return
    if tool.publishes_ips == "own":
        console.print(f"  {tool.name} runs on your machine: restrict the key to that machine's public IP (--ips).")
    else:
        console.print(f"  {tool.name} publishes its IPs: {escape(tool.ips_where)} Restrict the key to them.")


@app.command("list")
def list_keys(inventory: InventoryOption = None) -> None:
    """Every key: tool, profile, age, permissions, IP restriction, last verdict.

    Example: keyguard keys list
    """
    table = Table(title="Binance keys", title_justify="left")
    for column in ("Label", "Tool", "Profile", "Key", "Age", "Permissions", "IP whitelist", "Status", "Verdict"):
        table.add_column(column, overflow="fold")
    for record in _inventory(inventory).all():
        result = record.last_result or {}
        enabled = [
            n.removeprefix("enable").removeprefix("permits") for n, on in result.get("permissions", {}).items() if on
        ]
        status = "delete me" if record.retired and record.last_status != "dead" else (record.last_status or "-")
        table.add_row(
            record.label,
            record.tool,
            record.profile,
            record.redacted,
            f"{result['age_days']} d" if result.get("age_days") is not None else "-",
            ", ".join(enabled) or "-",
            {True: "yes", False: "no"}.get(result.get("ip_restricted"), "-"),
            status,
            record.last_severity or "-",
        )
    Console().print(table)


@app.command("check")
def check(inventory: InventoryOption = None) -> None:
    """Compare each key with its profile and what its tool needs (permissions, IP whitelist, age), the
    one-key-per-tool rule and retired tools; each violation with the API Management steps that fix it.
    Exit 1 on any violation.

    Example: keyguard keys check
    """
    from keyguard.posture.check import check_keys

    console = Console(soft_wrap=True)  # a step is one line, however long
    records = _inventory(inventory).all()
    report = check_keys(records, _profiles())
    for record in records:
        violations = report[record.label]
        heading = f"{escape(record.label)} ({escape(record.tool)}, key {escape(record.redacted)})"
        if not violations:
            console.print(f"[green]{heading}[/green]: as its profile says")
            continue
        console.print(f"[red]{heading}[/red]")
        for violation in violations:
            console.print(f"  - {violation.severity}: {escape(violation.text)}")
            for number, step in enumerate(violation.fix, start=1):
                console.print(f"      {number}. {escape(step)}")
    raise typer.Exit(1 if any(report.values()) else 0)


@app.command("retire")
def retire(
    label: Annotated[str | None, typer.Argument(help="The key's label.")] = None,
    tool: Annotated[str | None, typer.Option("--tool", help="Retire every key of this tool.")] = None,
    inventory: InventoryOption = None,
) -> None:
    """Mark a tool as no longer used: its keys show as "delete me" until verify finds them dead.

    Example: keyguard keys retire old-grid-bot

    Example: keyguard keys retire --tool 3commas
    """
    from keyguard.posture.tools import load_registry

    store = _inventory(inventory)
    if bool(label) == bool(tool):
        raise fail("give a label, or --tool NAME, to retire")
    if label:
        labels = [label] if store.retire(label) else []
    else:
        registry = load_registry()
        wanted = registry.find(tool or "")
        same = [r for r in store.all() if r.tool == tool or (wanted and registry.find(r.tool) == wanted)]
        labels = [record.label for record in same if store.retire(record.label)]
    if not labels:
        raise fail(f"no key labelled {label!r}" if label else f"no key registered for {tool!r}")
    for retired in labels:
        Console().print(
            f"{retired} retired: delete it in Binance API Management, then `keyguard verify --label {retired}` "
            "confirms it is dead"
        )
