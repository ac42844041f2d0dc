"""`keyguard rotate`: guided rotation of a key to a new one that matches its profile."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from keyguard.cli.common import fail, read_pair

UI_STEPS = (
    "Open binance.com > Account > API Management and press Create API.",
    "Choose 'Self-generated' (Ed25519, Binance's recommendation) or 'System generated'; name it {label}.",
    "Permissions: {permissions} — nothing else (no withdrawals, no universal transfer).",
    "Choose 'Restrict access to trusted IPs only' and add: {ips}.",
    "Confirm with your 2FA, then paste the new API key and its secret (or private key) here.",
)


def rotate_command(
    label: Annotated[str, typer.Argument(help="The inventory and vault label of the key to rotate.")],
    base_url: Annotated[str | None, typer.Option("--base-url", help="Binance API base URL.")] = None,
    wait_dead: Annotated[float, typer.Option("--wait-dead", min=0, help="Seconds to wait for the old key.")] = 900,
) -> None:
    """Guided rotation: create the new key as its profile says, check it, switch `keyguard run` to it, then
    delete the old one and confirm it is dead.

    Example: keyguard rotate quant-trading
    """
    import os

    from keyguard.cli.keys import _profiles
    from keyguard.exchange.client import BinanceClient
    from keyguard.incident.actions import ActionLog
    from keyguard.incident.contain import poll_until_dead
    from keyguard.inventory.store import Inventory
    from keyguard.posture.profiles import PERMISSIONS
    from keyguard.posture.verify import verify
    from keyguard.vault.store import VaultError, new_entry, open_backend

    console = Console()
    url = base_url or os.environ.get("KEYGUARD_BINANCE_URL")
    store = Inventory()
    record = store.get(label)
    try:
        backend = open_backend()
        entries = backend.load()
    except VaultError as error:
        raise fail(str(error)) from None
    if record is None or label not in entries:
        raise fail(f"{label} must be in the inventory (keyguard keys add) and in the vault (keyguard vault add)")
    profile = _profiles()[record.profile]
    names = {field: short for short, field in PERMISSIONS.items()}
    for number, step in enumerate(UI_STEPS, start=1):
        console.print(
            f"  {number}. "
            + step.format(
                label=label,
                permissions=", ".join(sorted(names[p] for p in profile.allow)),
                ips=", ".join(record.expected_ips) or "the address your bot runs from",
            )
        )
    try:
        api_key, secret = read_pair()
    except ValueError as error:
        raise fail(str(error)) from None
    fresh = new_entry(label, api_key, secret)
    result = verify(BinanceClient(fresh.credential, url))
    problems = profile.violations(result) if result.status == "live" else [f"the new key is {result.status}"]
    if problems:
        for problem in problems:
            console.print(f"[red]  - {problem}[/red]")
        raise fail("the new key does not match its profile; fix it in API Management and run rotate again")
    old = entries[label]
    entries[f"{label}.old"] = old
    entries[label] = fresh
    backend.save(entries)
    store.replace_key(label, fresh.credential.fingerprint, fresh.credential.redacted_key, fresh.credential.key_type)
    store.record_verification(label, result.to_dict())
    console.print(
        f"`keyguard run --key {label}` now uses {fresh.credential.redacted_key}. "
        f"Delete the old key {old.credential.redacted_key} in API Management now."
    )
    log = ActionLog()
    if poll_until_dead(BinanceClient(old.credential, url), log, wait_dead):
        entries.pop(f"{label}.old")
        backend.save(entries)
        console.print(f"the old key is dead; rotation of {label} complete")
        raise typer.Exit(0)
    console.print(
        f"[yellow]the old key still answers after {wait_dead:.0f} s; it stays in the vault as {label}.old "
        "until you delete it[/yellow]"
    )
    raise typer.Exit(1)
