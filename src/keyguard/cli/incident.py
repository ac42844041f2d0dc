"""`keyguard incident`: contain a leaked key now — the first step of the response."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console


def incident_command(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Act without asking (cancel open orders at once).")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Case folder (default: case-<UTC time>).")] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="Binance API base URL (default: KEYGUARD_BINANCE_URL).")
    ] = None,
    wait_dead: Annotated[
        float, typer.Option("--wait-dead", min=0, help="Seconds to poll until the deleted key answers invalid.")
    ] = 600,
) -> None:
    """Contain a leaked key: check it, cancel every open order if it can trade, show how to delete it in
    API Management, then poll until Binance rejects it. Every action is logged with its UTC time in the case
    folder. The key comes from BINANCE_API_KEY / BINANCE_API_SECRET (or BINANCE_PRIVATE_KEY_FILE), or a prompt.

    Example: keyguard incident --out case-2026-11-25/ --yes
    """
    from keyguard.exchange.client import BinanceClient
    from keyguard.exchange.credentials import CredentialError, from_environment, from_prompt
    from keyguard.incident.actions import ActionLog
    from keyguard.incident.contain import contain, poll_until_dead

    console = Console()
    try:
        credential = from_environment() or from_prompt()
    except CredentialError as error:
        Console(stderr=True).print(f"[red]keyguard: {error}[/red]")
        raise typer.Exit(2) from None
    case = out or Path(f"case-{datetime.now(UTC).strftime('%Y-%m-%dT%H%M%SZ')}")
    if case.exists() and any(case.iterdir()):
        Console(stderr=True).print(
            f"[red]keyguard: {case} is not empty; nothing is overwritten, choose another --out[/red]"
        )
        raise typer.Exit(2)
    case.mkdir(parents=True, exist_ok=True)
    log = ActionLog()
    client = BinanceClient(credential, base_url or os.environ.get("KEYGUARD_BINANCE_URL"))
    console.print(f"[bold]Containing key {credential.redacted_key}[/bold] — started {log.started:%H:%M:%S} UTC")
    result = contain(client, log, lambda question: yes or typer.confirm(question, default=True))
    for action in log.actions:
        console.print(f"  {action.time}  {action.action}: {action.result}  (+{log.elapsed():.0f} s)")
    if result.guidance:
        console.print("\n[bold]Only Binance's website can delete this key. Do it now:[/bold]")
        for number, step in enumerate(result.guidance, start=1):
            console.print(f"  {number}. {step}")
        if wait_dead:
            console.print(f"\nPolling every 5 s, up to {wait_dead:.0f} s, until Binance rejects the key (Ctrl-C stops)")
            result.confirmed_dead = poll_until_dead(client, log, wait_dead)
            last = log.actions[-1]
            console.print(f"  {last.time}  {last.action}: {last.result}  (+{log.elapsed():.0f} s)")
    log.write(case / "containment-log.jsonl")
    summary = {
        "key": credential.redacted_key,
        "fingerprint": credential.fingerprint,
        "verification": result.verification.to_dict(),
        "cancelled": result.cancelled,
        "confirmed_dead": result.confirmed_dead,
        "guidance": result.guidance,
        "elapsed_seconds": round(log.elapsed(), 1),
    }
    (case / "containment.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    console.print(f"\ncase folder: {case} (containment-log.jsonl, containment.json); {log.elapsed():.0f} s in all")
    raise typer.Exit(0 if result.confirmed_dead else 1)
