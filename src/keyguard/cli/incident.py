"""`keyguard incident`: contain a leaked key now, capture the evidence while it still answers, audit, report."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

AUDIT_KEY_ENV = {  # the read-only audit key, named as keyguard names the leaked one
    "KEYGUARD_AUDIT_API_KEY": "BINANCE_API_KEY",
    "KEYGUARD_AUDIT_API_SECRET": "BINANCE_API_SECRET",
    "KEYGUARD_AUDIT_PRIVATE_KEY_FILE": "BINANCE_PRIVATE_KEY_FILE",
}
MASTER_ENV = ("KEYGUARD_MASTER_API_KEY", "KEYGUARD_MASTER_API_SECRET", "KEYGUARD_SUB_ACCOUNT_EMAIL")


def incident_command(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Act without asking (cancel open orders at once).")] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Case folder (default: case-<UTC time>); an unsealed one resumes.")
    ] = None,
    since: Annotated[int, typer.Option("--since", min=1, max=90, help="Audit window in days.")] = 30,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="Binance API base URL (default: KEYGUARD_BINANCE_URL).")
    ] = None,
    wait_dead: Annotated[
        float, typer.Option("--wait-dead", min=0, help="Seconds to wait for the key's deletion (0: do not wait).")
    ] = 600,
    key: Annotated[str | None, typer.Option("--key", help="Take the key from the vault under this label.")] = None,
    audit_key: Annotated[
        str | None, typer.Option("--audit-key", help="A read-only key from the vault to finish the audit with.")
    ] = None,
    all_keys: Annotated[
        bool, typer.Option("--all-keys", help="Unsure which key leaked: respond for every inventory key.")
    ] = False,
) -> None:
    """Respond to a leaked key, in the order Binance advises: check it, cancel its open orders, show the steps to
    delete it (only Binance's website can) and wait until Binance rejects it — meanwhile capture the audit with
    the still-live key. Then audit the account, flag theft, and write a signed case folder with the raw answers,
    CSVs, timeline, report.html, support-ticket.md and police-report.md.

    The key comes from BINANCE_API_KEY / BINANCE_API_SECRET (or BINANCE_PRIVATE_KEY_FILE), the vault (--key) or a
    prompt. If the key is gone before the audit is complete, a read-only key finishes it: --audit-key LABEL,
    KEYGUARD_AUDIT_API_KEY with KEYGUARD_AUDIT_API_SECRET (or KEYGUARD_AUDIT_PRIVATE_KEY_FILE), or a prompt;
    without one the audit finishes from what was captured and says what is missing. A rerun with the same
    --out resumes an unsealed case.

    Exit 0: the key is rejected by Binance and the audit is complete; 1: the key still answers or the audit is
    incomplete; 2: nothing could be audited, or a usage error.

    Example: keyguard incident --out case-2026-11-25/ --yes
    """
    from keyguard.exchange.client import BinanceClient
    from keyguard.exchange.credentials import CredentialError, from_environment, from_prompt
    from keyguard.incident.case_state import CaseError
    from keyguard.incident.runbook import Person, run_incident
    from keyguard.vault.store import VaultError, credential_from_vault

    console, errors = Console(), Console(stderr=True)
    case = out or Path(f"case-{datetime.now(UTC).strftime('%Y-%m-%dT%H%M%SZ')}")
    if all_keys:
        raise typer.Exit(_all_keys(case, yes, since, base_url, wait_dead, audit_key, console))
    url = base_url or os.environ.get("KEYGUARD_BINANCE_URL")
    try:
        credential = credential_from_vault(key) if key else (from_environment() or from_prompt())
        audit_credential = credential_from_vault(audit_key) if audit_key else None
        if audit_credential is None:
            audit_credential = from_environment(
                {binance: os.environ[ours] for ours, binance in AUDIT_KEY_ENV.items() if os.environ.get(ours)}
            )
        master_credential = None
        if all(os.environ.get(name) for name in MASTER_ENV):
            master_credential = from_environment(
                {"BINANCE_API_KEY": os.environ[MASTER_ENV[0]], "BINANCE_API_SECRET": os.environ[MASTER_ENV[1]]}
            )
    except (CredentialError, VaultError) as error:
        errors.print(f"[red]keyguard: {escape(str(error))}[/red]")
        raise typer.Exit(2) from None
    audit_client = BinanceClient(audit_credential, url) if audit_credential else None
    master = (BinanceClient(master_credential, url), os.environ[MASTER_ENV[2]]) if master_credential else None
    started = datetime.now(UTC)
    console.print(f"[bold]Responding to key {credential.redacted_key}[/bold] — {started:%H:%M:%S} UTC")

    from rich.progress import Progress

    with Progress(console=console, transient=True) as bars:
        task = bars.add_task("checking the key", total=None)

        def guidance(steps: list[str]) -> None:
            console.print("\n[bold]Only Binance's website can delete this key. Do it now:[/bold]")
            for number, step in enumerate(steps, start=1):
                console.print(f"  {number}. {step}")
            if wait_dead:
                console.print(
                    f"keyguard captures the account's records with the key meanwhile, and checks every 5 s (up to "
                    f"{wait_dead:.0f} s) until Binance rejects it.\n"
                )

        def countdown(left: float, answers: int) -> None:
            bars.update(
                task,
                description=f"waiting for the key's deletion: {left:.0f} s left, "
                f"{(datetime.now(UTC) - started).total_seconds():.0f} s since start; {answers} answers captured",
            )

        def progress(stage: str, done: int, total: int) -> None:
            bars.update(task, description=f"auditing {stage}", completed=done, total=total)

        def ask_audit_key(missing: list[str]) -> tuple[BinanceClient, str] | None:
            if yes or not sys.stdin.isatty():
                return None
            bars.stop()
            try:
                console.print(
                    f"\n[yellow]The key is gone before the audit was complete; {len(missing)} reads are missing "
                    f"(first: {missing[0]}).[/yellow]\nA read-only key of the same account finishes the audit."
                )
                if not typer.confirm("Give a read-only key now?", default=True):
                    return None
                reader = from_prompt()
                return BinanceClient(reader, url), f"audit key {reader.redacted_key} (typed)"
            except CredentialError as error:
                errors.print(f"[red]keyguard: {escape(str(error))}; the audit finishes from what was captured[/red]")
                return None
            finally:
                bars.start()

        person = Person(
            confirm=lambda question: yes or _ask(bars, question),
            on_guidance=guidance,
            on_tick=countdown,
            progress=progress,
            ask_audit_key=ask_audit_key,
        )
        try:
            result = run_incident(
                BinanceClient(credential, url),
                case,
                person,
                since_days=since,
                wait_dead=wait_dead,
                audit_client=audit_client,
                master=master,
            )
        except CaseError as error:
            errors.print(f"[red]keyguard: {escape(str(error))}[/red]")
            raise typer.Exit(2) from None
    for action in result.log.actions:
        style = "" if action.ok else "yellow"
        console.print(f"  {action.time}  {action.action}: {action.result}", style=style)
    if result.audit_state == "none":
        console.print(
            "\n[bold red]NOTHING COULD BE AUDITED: this is not a zero loss.[/bold red] "
            "Give a read-only key of the account (--audit-key or KEYGUARD_AUDIT_API_KEY/SECRET) in a new "
            "case folder, or check balances, trades and withdrawals on binance.com."
        )
    elif result.audit_state == "partial":
        console.print(
            f"\n[yellow]The audit is incomplete: {len(result.missing)} reads missing (listed in "
            f"report.html and flags.json).[/yellow]"
        )
    console.print(f"\ncase folder: {case}  report: {case / 'report.html'}  ({result.log.elapsed():.0f} s)")
    console.print(
        f"sealed: manifest SHA-256 [bold]{result.manifest_sha256}[/bold] — it is in support-ticket.md; "
        f"check the folder later with: keyguard evidence verify {case} --expect {result.manifest_sha256}"
    )
    if result.audit_state == "none":
        raise typer.Exit(2)
    raise typer.Exit(0 if result.containment.confirmed_dead and result.audit_state == "complete" else 1)


def _all_keys(
    case: Path, yes: bool, since: int, base_url: str | None, wait_dead: float, audit_key: str | None, console: Console
) -> int:
    """Every active inventory key, one case folder each; the worst exit code."""
    from keyguard.inventory.store import Inventory
    from keyguard.vault.store import VaultError, credential_from_vault

    codes = []
    records = [record for record in Inventory().all() if not record.retired]
    if not records:
        Console(stderr=True).print(
            "[red]keyguard: the inventory holds no active key (keyguard keys add); give the leaked key itself: "
            "BINANCE_API_KEY / BINANCE_API_SECRET, --key LABEL, or the prompt[/red]"
        )
        return 2
    for record in records:
        try:
            credential_from_vault(record.label)
        except VaultError:
            named = f"{escape(record.label)} ({escape(str(record.tool))})"
            console.print(f"[yellow]{named} is not in the vault: contain it by hand[/yellow]")
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
                audit_key=audit_key,
                all_keys=False,
            )
        except typer.Exit as done:
            codes.append(done.exit_code)
    return max(codes, default=0)


def _ask(bars, question: str) -> bool:
    """A question while progress bars are live: pause them so the prompt is readable."""
    bars.stop()
    try:
        return typer.confirm(question, default=True)
    finally:
        bars.start()
