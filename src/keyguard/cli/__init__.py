"""The `keyguard` command line: thin wrappers that parse, call the library and render."""

from __future__ import annotations

import typer

from keyguard.cli import drill, evidence, hook, incident, keys, sandbox, scan, vault, verify

app = typer.Typer(
    name="keyguard",
    help="Protect Binance API keys: find leaked keys, verify them, respond to a leak, keep keys safe.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command(name="scan")(scan.scan_command)
app.command(name="verify")(verify.verify_command)
app.command(name="incident")(incident.incident_command)
app.command(name="drill")(drill.drill_command)
app.add_typer(evidence.app, name="evidence")
app.add_typer(vault.app, name="vault")
app.command(name="run", context_settings={"allow_interspersed_args": False})(vault.run_command)
app.command(name="redact")(vault.redact_command)
app.command(name="migrate")(vault.migrate_command)
app.command(name="rotate")(vault.rotate_command)
app.add_typer(keys.app, name="keys")
app.add_typer(hook.app, name="hook")
app.add_typer(sandbox.app, name="sandbox")


def main() -> None:
    app()
