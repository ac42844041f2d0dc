"""`keyguard verify`: is a key live, what can it do, is it IP-restricted, how old — and a verdict."""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

VERDICT_STYLES = {
    "critical": "bold red",
    "high": "red",
    "medium": "yellow",
    "ok": "green",
    "info": "dim",
    "unknown": "magenta",
}


class VerifyFormat(StrEnum):
    text = "text"
    json = "json"


def verify_command(
    output_format: Annotated[VerifyFormat, typer.Option("--format", "-f", help="text or json.")] = VerifyFormat.text,
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="Binance API base URL (default: KEYGUARD_BINANCE_URL, else api.binance.com)."),
    ] = None,
    rotation_days: Annotated[int, typer.Option("--rotation-days", min=1, help="Rotation period.")] = 90,
    label: Annotated[
        str | None, typer.Option("--label", help="Record the result for this inventory key (keyguard keys add).")
    ] = None,
    inventory: Annotated[Path | None, typer.Option("--inventory", help="Inventory file.")] = None,
    key: Annotated[str | None, typer.Option("--key", help="Take the key from the vault under this label.")] = None,
) -> None:
    """Verify the key in BINANCE_API_KEY with BINANCE_API_SECRET (or BINANCE_PRIVATE_KEY_FILE), the vault
    (--key LABEL), or asked for without echo. Secrets are never taken from the command line.

    Exit 0: live and ok or medium; 1: live with a high or critical verdict, or dead; 2: unknown or error.

    Example: keyguard verify --format json
    """
    from keyguard.exchange.client import BinanceClient
    from keyguard.exchange.credentials import CredentialError, from_environment, from_prompt
    from keyguard.posture.verify import verify

    console = Console()
    from keyguard.vault.store import VaultError, credential_from_vault

    try:
        credential = credential_from_vault(key) if key else (from_environment() or from_prompt())
    except (CredentialError, VaultError) as error:
        Console(stderr=True).print(f"[red]keyguard: {escape(str(error))}[/red]")
        raise typer.Exit(2) from None
    store = None
    if label:
        from keyguard.inventory.store import Inventory

        store = Inventory(inventory)
        record = store.get(label)
        if record is None or record.fingerprint != credential.fingerprint:
            problem = "is not registered" if record is None else "is registered with another key"
            Console(stderr=True).print(f"[red]keyguard: {escape(label)} {escape(problem)} (keyguard keys add)[/red]")
            raise typer.Exit(2)
    client = BinanceClient(credential, base_url or os.environ.get("KEYGUARD_BINANCE_URL"))
    result = verify(client, rotation_days)
    if store is not None and label and result.status != "unknown":
        store.record_verification(label, result.to_dict())
    if output_format is VerifyFormat.json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        style = VERDICT_STYLES.get(result.severity, "")
        console.print(
            f"key {result.key} ({result.key_type}, fingerprint {result.fingerprint[:16]}…): "
            f"[bold]{result.status}[/bold], verdict [{style}]{result.severity}[/{style}]"
        )
        if result.status == "live":
            enabled = [name for name, on in result.permissions.items() if on]
            console.print(f"  permissions: {', '.join(enabled) or 'none'}")
            console.print(
                f"  IP whitelist: {'yes' if result.ip_restricted else 'NO'}; age: {result.age_days} days; "
                f"account: {result.account_status}; trading locked: {result.trading_locked}"
            )
        for reason in result.reasons:
            console.print(f"  - {reason}")
    if result.status == "unknown":
        raise typer.Exit(2)
    raise typer.Exit(1 if result.status == "dead" or result.severity in ("critical", "high") else 0)
