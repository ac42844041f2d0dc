"""`keyguard drill`: the whole incident response against a local sandbox — nothing real is touched."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from urllib.request import Request, urlopen

import typer
from rich.console import Console

from keyguard.sandbox import BUILT_IN_SCENARIOS


def drill_command(
    scenario: Annotated[str, typer.Argument(help=f"{', '.join(BUILT_IN_SCENARIOS)} or a scenario file.")] = (
        "wash-trade-theft"
    ),
    out: Annotated[Path | None, typer.Option("--out", help="Case folder (default: drill-<scenario>-<time>).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Override the scenario's seed.")] = None,
) -> None:
    """Start a sandbox exchange with SCENARIO, run the incident flow against it without questions (the drill
    deletes the key in the sandbox's "website" when told to), write the case folder and score the detection
    against the scenario's ground truth.

    Example: keyguard drill wash-trade-theft
    """
    from keyguard.cli.sandbox import build_or_exit
    from keyguard.exchange.client import BinanceClient
    from keyguard.exchange.credentials import Credential
    from keyguard.incident.runbook import run_incident
    from keyguard.sandbox.server import SandboxServer

    console = Console()
    built = build_or_exit(scenario, seed, console)
    creds = {c["label"]: c for c in built.credentials}
    attack = built.truth.get("attack") or {}
    leaked = creds.get(attack.get("key") or "") or next(c for c in built.credentials if c["role"] == "victim")
    # the person's own key for the audit once the leaked one is deleted: read-only if there is one
    others = [
        c for c in built.credentials if c["role"] == "victim" and c is not leaked and "reading" in c["permissions"]
    ]
    reader = min(others, key=lambda c: len(c["permissions"]), default=None)
    case = out or Path(f"drill-{built.truth['scenario']}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}")
    if case.exists() and any(case.iterdir()):
        console.print(f"[red]keyguard: {case} is not empty; choose another --out[/red]")
        raise typer.Exit(2)
    case.mkdir(parents=True, exist_ok=True)

    def credential(entry: dict) -> Credential:
        return Credential(entry["api_key"], entry.get("secret") or entry["private_key_pem"])

    with SandboxServer(built.exchange).running() as server:
        console.print(f"sandbox '{built.truth['scenario']}' on {server.base_url}; leaked key: {leaked['label']}")

        def delete_in_sandbox(steps: list[str]) -> None:
            console.print("  (drill) doing what the person does in API Management: deleting the key")
            delete = Request(f"{server.base_url}/_sandbox/keys/{leaked['label']}/delete", method="POST")
            with urlopen(delete, timeout=10):
                pass

        result = run_incident(
            BinanceClient(credential(leaked), server.base_url),
            case,
            confirm=lambda question: True,
            since_days=7,
            wait_dead=30,
            on_guidance=delete_in_sandbox,
            audit_client=BinanceClient(credential(reader), server.base_url) if reader else None,
        )
    for action in result.log.actions:
        console.print(f"  {action.time}  {action.action}: {action.result}")
    if result.detection is not None:
        truth = {(t["symbol"], t["id"]) for t in built.truth["trade_ids"]}
        flagged = result.detection.flagged_trade_ids()
        withdrawals = set(built.truth["withdrawal_ids"])
        console.print(
            f"score: {len(truth & flagged)}/{len(truth)} attack trades flagged, "
            f"{len(flagged - truth)} other trades flagged, "
            f"{len(withdrawals & result.detection.flagged_withdrawal_ids())}/{len(withdrawals)} "
            "attack withdrawals flagged"
        )
    console.print(f"case folder: {case}\nreport: {case / 'report.html'}")
