"""`keyguard incident`: contain a leaked key now — the first step of the response."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console


def incident_command(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Act without asking (cancel open orders at once).")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Case folder (default: case-<UTC time>).")] = None,
    since: Annotated[int, typer.Option("--since", min=1, max=90, help="Audit window in days.")] = 30,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="Binance API base URL (default: KEYGUARD_BINANCE_URL).")
    ] = None,
    wait_dead: Annotated[
        float, typer.Option("--wait-dead", min=0, help="Seconds to poll until the deleted key answers invalid.")
    ] = 600,
    key: Annotated[str | None, typer.Option("--key", help="Take the key from the vault under this label.")] = None,
    all_keys: Annotated[
        bool, typer.Option("--all-keys", help="Unsure which key leaked: respond for every inventory key.")
    ] = False,
) -> None:
    """Respond to a leaked key: contain it (check it, cancel every open order if it can trade, the steps to delete
    it, poll until Binance rejects it), audit the account, flag theft, and write a signed case folder with the
    raw answers, CSVs, timeline, report.html, support-ticket.md and police-report.md.

    The key comes from BINANCE_API_KEY / BINANCE_API_SECRET (or BINANCE_PRIVATE_KEY_FILE), or a prompt. When
    it is already dead, KEYGUARD_AUDIT_API_KEY / KEYGUARD_AUDIT_API_SECRET name a (read-only) key to audit with.

    Example: keyguard incident --out case-2026-11-25/ --yes
    """
    from keyguard.exchange.client import BinanceClient
    from keyguard.exchange.credentials import Credential, CredentialError, from_environment, from_prompt
    from keyguard.incident.runbook import run_incident
    from keyguard.vault.store import VaultError, credential_from_vault

    console = Console()
    case = out or Path(f"case-{datetime.now(UTC).strftime('%Y-%m-%dT%H%M%SZ')}")
    if all_keys:
        from keyguard.inventory.store import Inventory

        codes = []
        for record in Inventory().all():
            if record.retired:
                continue
            try:
                credential_from_vault(record.label)
            except VaultError:
                console.print(
                    f"[yellow]{record.label} ({record.tool}) is not in the vault: contain it by hand[/yellow]"
                )
                codes.append(1)
                continue
            console.print(f"\n[bold]== {record.label} ({record.tool}) ==[/bold]")
            try:
                incident_command(
                    yes=yes,
                    out=case / record.label,
                    since=since,
                    base_url=base_url,
                    wait_dead=wait_dead,
                    key=record.label,
                    all_keys=False,
                )
            except typer.Exit as done:
                codes.append(done.exit_code)
        raise typer.Exit(max(codes, default=0))
    try:
        credential = credential_from_vault(key) if key else (from_environment() or from_prompt())
    except (CredentialError, VaultError) as error:
        Console(stderr=True).print(f"[red]keyguard: {error}[/red]")
        raise typer.Exit(2) from None
    if case.exists() and any(case.iterdir()):
        Console(stderr=True).print(
            f"[red]keyguard: {case} is not empty; nothing is overwritten, choose another --out[/red]"
        )
        raise typer.Exit(2)
    case.mkdir(parents=True, exist_ok=True)
    url = base_url or os.environ.get("KEYGUARD_BINANCE_URL")
    audit_client = None
    if os.environ.get("KEYGUARD_AUDIT_API_KEY") and os.environ.get("KEYGUARD_AUDIT_API_SECRET"):
        audit_client = BinanceClient(
            Credential(os.environ["KEYGUARD_AUDIT_API_KEY"], os.environ["KEYGUARD_AUDIT_API_SECRET"]), url
        )
    master = None
    if all(
        os.environ.get(n)
        for n in ("KEYGUARD_MASTER_API_KEY", "KEYGUARD_MASTER_API_SECRET", "KEYGUARD_SUB_ACCOUNT_EMAIL")
    ):
        master_credential = Credential(os.environ["KEYGUARD_MASTER_API_KEY"], os.environ["KEYGUARD_MASTER_API_SECRET"])
        master = (BinanceClient(master_credential, url), os.environ["KEYGUARD_SUB_ACCOUNT_EMAIL"])
    started = datetime.now(UTC)
    console.print(f"[bold]Responding to key {credential.redacted_key}[/bold] — {datetime.now(UTC):%H:%M:%S} UTC")

    def guidance(steps: list[str]) -> None:
        console.print("\n[bold]Only Binance's website can delete this key. Do it now:[/bold]")
        for number, step in enumerate(steps, start=1):
            console.print(f"  {number}. {step}")
        if wait_dead:
            console.print(f"Polling every 5 s, up to {wait_dead:.0f} s, until Binance rejects the key")

    from rich.progress import Progress

    with Progress(console=console, transient=True) as bars:
        task = bars.add_task("auditing trades", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bars.update(task, description=f"auditing {stage}", completed=done, total=total)

        def countdown(left: float) -> None:
            bars.update(
                task,
                description=f"waiting for the key to be deleted: {left:.0f} s left, "
                f"{(datetime.now(UTC) - started).total_seconds():.0f} s since start",
            )

        result = run_incident(
            BinanceClient(credential, url),
            case,
            lambda question: yes or _ask(bars, question),
            since_days=since,
            wait_dead=wait_dead,
            on_guidance=guidance,
            audit_client=audit_client,
            progress=progress,
            master=master,
            on_tick=countdown,
        )
    for action in result.log.actions:
        console.print(f"  {action.time}  {action.action}: {action.result}")
    console.print(f"\ncase folder: {case}  report: {case / 'report.html'}  ({result.log.elapsed():.0f} s)")
    raise typer.Exit(0 if result.containment.confirmed_dead else 1)


def _ask(bars, question: str) -> bool:
    """A question while progress bars are live: pause them so the prompt is readable."""
    bars.stop()
    try:
        return typer.confirm(question, default=True)
    finally:
        bars.start()
