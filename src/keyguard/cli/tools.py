"""`keyguard tools`: the registry of third-party tools people connect to Binance — what each needs of a key,
whether it publishes server IPs to whitelist, its security incidents, and the source of every fact."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from keyguard.cli.common import fail

if TYPE_CHECKING:  # imported when run: the registry loads the posture modules (and ccxt under them)
    from keyguard.posture.tools import BinanceUI, Tool

app = typer.Typer(
    help="Third-party tools people connect to Binance: permissions, server IPs, incidents, sources.",
    no_args_is_help=True,
)
IP_WORDS = {
    "yes": "yes",
    "no": "no (says not to restrict)",
    "own": "your own IP",
    "none": "n/a (no Binance key)",
    "unknown": "unknown",
}


@app.command("list")
def list_tools() -> None:
    """Every tool in the registry: kind, permissions it needs, whether it publishes IPs, incidents on record.

    Example: keyguard tools list
    """
    from keyguard.posture.tools import load_registry

    table = Table(title="Tools people connect to Binance", title_justify="left")
    table.add_column("Tool", no_wrap=True)
    for column in ("Name", "Kind", "Permissions", "Publishes IPs", "Incidents"):
        table.add_column(column, overflow="fold")
    for tool in load_registry().tools:
        table.add_row(
            tool.id,
            tool.name,
            tool.kind,
            tool.permissions_summary(),
            IP_WORDS[tool.publishes_ips],
            str(len(tool.incidents)),
        )
    console = Console()
    console.print(table)
    console.print("Every fact with its source: `keyguard tools show NAME`.")


@app.command("show")
def show(name: Annotated[str, typer.Argument(help="The tool's id, name or alias, e.g. 3commas.")]) -> None:
    """Every fact the registry holds on a tool, each with its sources; `unknown` where none was found.

    Example: keyguard tools show 3commas
    """
    from keyguard.posture.tools import load_registry

    registry = load_registry()
    tool = registry.find(name)
    if tool is None:
        raise fail(f"no tool {name!r} in the registry; known: {', '.join(t.id for t in registry.tools)}")
    for line in _describe(tool, registry.binance):
        typer.echo(line)


def _describe(tool: Tool, binance: BinanceUI) -> list[str]:
    lines = [f"{tool.name} ({tool.id}) — {tool.kind} — {tool.site}"]
    if tool.aliases:
        lines.append(f"Also called: {', '.join(tool.aliases)}")
    lines += _fact("How it connects to Binance", tool.connection, tool.connection_sources)
    lines += _fact("Permissions", _permissions(tool, binance), tool.permission_sources)
    lines += _fact(f"Publishes server IPs ({IP_WORDS[tool.publishes_ips]})", tool.ips_where, tool.ip_sources)
    lines.append(f"Security incidents: {len(tool.incidents) or 'none found in the sources searched'}")
    for incident in tool.incidents:
        lines.append(f"  {incident.date}  {incident.what}")
        lines += [f"    source: {url}" for url in incident.sources]
    lines.append(_register_line(tool))
    return lines


def _fact(title: str, text: str, sources: tuple[str, ...]) -> list[str]:
    lines = [f"{title}:", f"  {text}"]
    return lines + ([f"  source: {url}" for url in sources] or ["  source: unknown"])


def _permissions(tool: Tool, binance: BinanceUI) -> str:
    if tool.needs is None:
        return f"unknown. {tool.permissions_basis}"
    if not tool.takes_key:
        return f"none. {tool.permissions_basis}"
    options = ", ".join(f"'{binance.label(name)}'" for name in tool.needs)
    text = f"needs {', '.join(tool.needs)} ({options})"
    if tool.optional:
        text += f"; optional, for some features: {', '.join(tool.optional)}"
    return f"{text}; never withdrawals. {tool.permissions_basis}"


def _register_line(tool: Tool) -> str:
    if tool.needs is None:
        return f"Register a key for it: keyguard keys add LABEL --tool {tool.id} --profile PROFILE"
    if not tool.takes_key:
        return "Register a key for it: nothing to register (it takes no Binance key)"
    allow = f" [--allow {'|'.join(tool.optional)}]" if tool.optional else ""
    return f"Register a key for it: keyguard keys add LABEL --tool {tool.id}{allow}"
