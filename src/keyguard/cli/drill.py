"""`keyguard drill`: the whole incident response against a local sandbox — nothing real is touched."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from urllib.request import Request, urlopen

import typer
from rich.console import Console
from rich.markup import escape

from keyguard.sandbox import BUILT_IN_SCENARIOS
from keyguard.sandbox.truth import true_loss_usdt


def drill_command(
    scenario: Annotated[str, typer.Argument(help=f"{', '.join(BUILT_IN_SCENARIOS)} or a scenario file.")] = (
        "wash-trade-theft"
    ),
    out: Annotated[Path | None, typer.Option("--out", help="Case folder (default: drill-<scenario>-<time>).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Override the scenario's seed.")] = None,
    delete_after: Annotated[
        float, typer.Option("--delete-after", min=0, help="Seconds the 'person' takes to delete the key.")
    ] = 5,
    audit_key: Annotated[
        bool, typer.Option("--audit-key", help="The person also gives a read-only key of the account.")
    ] = False,
) -> None:
    """Start a sandbox exchange with SCENARIO and respond as a person does, as Binance advises: the drill
    deletes the leaked key in the sandbox's "website" --delete-after seconds after the steps are shown, and
    gives no second key unless --audit-key. Writes the case folder and scores it against the ground truth.

    Exit 0: every attack item flagged and the audit complete; 1: something missed; 2: nothing audited.

    Example: keyguard drill wash-trade-theft
    """
    from keyguard.cli.sandbox import build_or_exit
    from keyguard.exchange.client import BinanceClient
    from keyguard.exchange.credentials import Credential
    from keyguard.incident.runbook import Person, run_incident
    from keyguard.sandbox.server import SandboxServer

    console = Console()
    built = build_or_exit(scenario, seed, console)
    attack = built.truth.get("attack") or {}
    creds = {c["label"]: c for c in built.credentials}
    leaked = creds.get(attack.get("key") or "") or next(c for c in built.credentials if c["role"] == "victim")
    readers = [c for c in built.credentials if c["role"] == "victim" and c is not leaked]
    reader = min(readers, key=lambda c: len(c["permissions"]), default=None) if audit_key else None
    case = out or Path(f"drill-{built.truth['scenario']}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}")
    if case.exists() and any(case.iterdir()):
        console.print(f"[red]keyguard: {escape(str(case))} is not empty; choose another --out[/red]")
        raise typer.Exit(2)

    def credential(entry: dict) -> Credential:
        return Credential(entry["api_key"], entry.get("secret") or entry["private_key_pem"])

    with SandboxServer(built.exchange).running() as server:
        console.print(
            f"sandbox '{built.truth['scenario']}' on {server.base_url}; leaked key: {leaked['label']}; "
            f"the person deletes it {delete_after:g} s after the steps are shown"
            + (f" and gives the read-only key {reader['label']}" if reader else ", and has no second key")
        )

        def delete_in_sandbox() -> None:
            console.print(f"  (drill) {delete_after:g} s later, the person deletes the key in API Management")
            with urlopen(
                Request(f"{server.base_url}/_sandbox/keys/{leaked['label']}/delete", method="POST"), timeout=10
            ):
                pass

        def guidance(steps: list[str]) -> None:
            timer = threading.Timer(delete_after, delete_in_sandbox)
            timer.daemon = True
            timer.start()

        result = run_incident(
            BinanceClient(credential(leaked), server.base_url),
            case,
            Person(confirm=lambda question: True, on_guidance=guidance),
            since_days=7,
            wait_dead=max(30.0, delete_after + 30),
            audit_client=BinanceClient(credential(reader), server.base_url) if reader else None,
            poll_seconds=1,
        )
    for action in result.log.actions:
        console.print(f"  {action.time}  {action.action}: {action.result}")
    missed = _score(console, built.truth, true_loss_usdt(built.exchange.ledger, built.truth), result, case)
    console.print(f"case folder: {case}\nreport: {case / 'report.html'}\nmanifest SHA-256: {result.manifest_sha256}")
    if result.audit_state == "none":
        console.print("[bold red]NOTHING COULD BE AUDITED: this is not a zero loss.[/bold red]")
        raise typer.Exit(2)
    raise typer.Exit(1 if missed or result.audit_state != "complete" else 0)


def _score(console: Console, truth: dict, true_loss: float, result, case: Path) -> int:
    """Prints what was flagged against the scenario's truth; returns how many attack items were missed."""
    detection = result.detection
    attack_trades = {(t["symbol"], t["id"]) for t in truth.get("trade_ids", [])}
    flagged = detection.flagged_trade_ids()
    withdrawals = set(truth.get("withdrawal_ids", []))
    flagged_withdrawals = detection.flagged_withdrawal_ids()
    transfers = {str(t) for t in truth.get("transfer_ids", [])}
    flagged_transfers = {f.ref["id"] for f in detection.flags if f.kind == "transfer"}
    flags = json.loads((case / "flags.json").read_text("utf-8"))
    console.print(
        f"score: {len(attack_trades & flagged)}/{len(attack_trades)} attack trades flagged, "
        f"{len(flagged - attack_trades)} other trades flagged, "
        f"{len(withdrawals & flagged_withdrawals)}/{len(withdrawals)} attack withdrawals and "
        f"{len(transfers & flagged_transfers)}/{len(transfers)} attack transfers flagged; "
        f"audit {result.audit_state}; total loss "
        + (f"{flags['total_loss_usdt']:,.2f}" if flags.get("total_loss_usdt") is not None else "not known")
        + f" USDT (the scenario's true loss: {true_loss:,.2f} USDT)"
    )
    return len(attack_trades - flagged) + len(withdrawals - flagged_withdrawals) + len(transfers - flagged_transfers)
