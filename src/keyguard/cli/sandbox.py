"""`keyguard sandbox`: a Binance-compatible local exchange for tests, demos and incident drills."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from keyguard.sandbox import BUILT_IN_SCENARIOS as BUILT_IN

app = typer.Typer(help="A Binance-compatible exchange on loopback, with scenarios and attacks.", no_args_is_help=True)


def build_or_exit(scenario: str, seed: int | None, console: Console):
    """The built scenario, or a clear message (naming line and field) and exit 2."""
    from keyguard.sandbox.errors import ScenarioError
    from keyguard.sandbox.scenario import build_scenario

    try:
        return build_scenario(scenario, seed=seed)
    except ScenarioError as error:
        console.print(f"[red]keyguard: {escape(str(error))}[/red]")
        raise typer.Exit(2) from None


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


@app.command("serve")
def serve(
    scenario: Annotated[
        str,
        typer.Option("--scenario", "-s", help=f"Built-in ({', '.join(BUILT_IN)}) or a scenario YAML file."),
    ] = "clean",
    host: Annotated[str, typer.Option("--host", help="Address to listen on (loopback).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", help="Port; 0 picks a free one.")] = 8790,
    seed: Annotated[int | None, typer.Option("--seed", help="Override the scenario's seed.")] = None,
    write_credentials: Annotated[
        Path | None, typer.Option("--write-credentials", help="Write the sandbox keys (JSON) here.")
    ] = None,
    write_truth: Annotated[
        Path | None, typer.Option("--write-truth", help="Write the scenario's ground truth (JSON) here.")
    ] = None,
) -> None:
    """Serve a sandbox exchange that answers as Binance does.

    Example: keyguard sandbox serve --port 8790 --scenario wash-trade-theft --write-credentials creds.json
    --write-truth truth.json
    """
    from keyguard.sandbox.server import SandboxServer

    console = Console()
    built = build_or_exit(scenario, seed, console)
    try:
        server = SandboxServer(built.exchange, host, port)
    except OSError as error:
        why = escape(str(error.strerror or error))
        console.print(f"[red]keyguard: cannot listen on {escape(host)}:{port}: {why}[/red]")
        raise typer.Exit(2) from None
    if write_credentials:
        _write_json(write_credentials, built.credentials)
    if write_truth:
        _write_json(write_truth, built.truth)
    console.print(f"sandbox exchange ({built.truth['scenario']}) on {server.base_url}  ws: {server.ws_url}")
    console.print(f"{len(built.credentials)} sandbox keys" + (f" in {write_credentials}" if write_credentials else ""))
    server.run()
