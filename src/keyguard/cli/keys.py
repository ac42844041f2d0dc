"""`keyguard keys`: the inventory of keys — which tool, which profile, how old, and whether each is as it should be."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="The inventory of your Binance keys (fingerprints only, never secrets).", no_args_is_help=True)
InventoryOption = Annotated[
    Path | None, typer.Option("--inventory", help="Inventory file (default: KEYGUARD_INVENTORY or the user data dir).")
]


def _inventory(path: Path | None):
    from keyguard.inventory.store import Inventory

    return Inventory(path)


def _profiles():
    from keyguard.config import load_settings
    from keyguard.posture.profiles import load_profiles

    values = load_settings(".").values
    return load_profiles(values.get("profiles"), values.get("rotation_days"))


@app.command("add")
def add(
    label: Annotated[str, typer.Option("--label", help="A name for this key, e.g. quant-trading.")],
    tool: Annotated[str, typer.Option("--tool", help="The tool that uses it, e.g. freqtrade.")],
    profile: Annotated[str, typer.Option("--profile", help="read-only, spot-trading, or one from settings.")],
    ips: Annotated[str, typer.Option("--ips", help="Comma-separated IPs the key should be restricted to.")] = "",
    inventory: InventoryOption = None,
) -> None:
    """Register the key in BINANCE_API_KEY (or asked without echo) for a tool and a profile.

    Example: keyguard keys add --label quant-trading --tool freqtrade --profile spot-trading --ips 203.0.113.7
    """
    from keyguard.exchange.credentials import CredentialError, from_environment, from_prompt
    from keyguard.inventory.store import KeyRecord

    console = Console()
    if profile not in _profiles():
        console.print(f"[red]unknown profile {profile!r}; known: {', '.join(sorted(_profiles()))}[/red]")
        raise typer.Exit(2)
    try:
        credential = from_environment() or from_prompt()
    except CredentialError as error:
        console.print(f"[red]keyguard: {error}[/red]")
        raise typer.Exit(2) from None
    store = _inventory(inventory)
    if store.get(label):
        console.print(f"[red]a key labelled {label!r} is already registered[/red]")
        raise typer.Exit(2)
    others = store.by_fingerprint(credential.fingerprint)
    store.add(
        KeyRecord(
            label,
            tool,
            profile,
            credential.fingerprint,
            credential.redacted_key,
            credential.key_type,
            datetime.now(UTC).isoformat(timespec="seconds"),
            [ip.strip() for ip in ips.split(",") if ip.strip()],
        )
    )
    console.print(
        f"registered {label}: {credential.redacted_key} for {tool} ({profile}); "
        f"verify it with `keyguard verify --label {label}`"
    )
    for other in others:
        console.print(
            f"[yellow]the same key is already registered as {other.label} for {other.tool}: "
            "give each tool its own key[/yellow]"
        )


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
    """Compare each key with its profile (permissions, IP whitelist, age) and the one-key-per-tool rule.
    Exit 1 on any violation.

    Example: keyguard keys check
    """
    from keyguard.posture.check import check_keys

    console = Console()
    report = check_keys(_inventory(inventory).all(), _profiles())
    for label, violations in report.items():
        if violations:
            console.print(f"[red]{label}[/red]")
            for violation in violations:
                console.print(f"  - {violation}")
        else:
            console.print(f"[green]{label}[/green]: as its profile says")
    raise typer.Exit(1 if any(report.values()) else 0)


@app.command("retire")
def retire(label: Annotated[str, typer.Argument(help="The key's label.")], inventory: InventoryOption = None) -> None:
    """Mark a tool as no longer used: its key shows as "delete me" until verify finds it dead.

    Example: keyguard keys retire old-grid-bot
    """
    console = Console()
    if not _inventory(inventory).retire(label):
        console.print(f"[red]no key labelled {label!r}[/red]")
        raise typer.Exit(2)
    console.print(
        f"{label} retired: delete it in Binance API Management, then `keyguard verify --label {label}` "
        "confirms it is dead"
    )
