"""The `keyguard` command line: thin wrappers that parse, call the library and render."""

from __future__ import annotations

import os
import re
import sys
from typing import Annotated

import typer

from keyguard import __version__
from keyguard.cli import (
    drill,
    evidence,
    hook,
    incident,
    keys,
    migrate,
    redact,
    rotate,
    run,
    sandbox,
    scan,
    tools,
    vault,
    verify,
    watch,
)

app = typer.Typer(
    name="keyguard",
    help="Protect Binance API keys: find leaked keys, verify them, respond to a leak, keep keys safe.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# what an unexpected error's text may carry: a key- or secret-shaped token, or a PEM body
_SECRET_SHAPED = re.compile(r"[A-Za-z0-9]{32,}|-----BEGIN [A-Z ]+-----.*?-----END [A-Z ]+-----", re.DOTALL)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"keyguard {__version__}")
        raise typer.Exit(0)


@app.callback()
def _top(
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    vault_spec: Annotated[
        str | None,
        typer.Option(
            "--vault",
            metavar="VAULT",
            help="The vault every command uses: keyring, file, file:PATH or keepass:PATH[?keyfile=KEYFILE] "
            "(the same as KEYGUARD_VAULT=VAULT).",
        ),
    ] = None,
) -> None:
    """Protect Binance API keys: find leaked keys, verify them, respond to a leak, keep keys safe."""
    if vault_spec:
        os.environ["KEYGUARD_VAULT"] = vault_spec  # read where the vault is opened, by whichever command runs


app.command(name="scan")(scan.scan_command)
app.command(name="verify")(verify.verify_command)
app.command(name="incident")(incident.incident_command)
app.command(name="drill")(drill.drill_command)
app.add_typer(evidence.app, name="evidence")
app.add_typer(vault.app, name="vault")
app.command(name="run", context_settings={"allow_interspersed_args": False})(run.run_command)
app.command(name="redact")(redact.redact_command)
app.command(name="migrate")(migrate.migrate_command)
app.command(name="rotate")(rotate.rotate_command)
app.add_typer(keys.app, name="keys")
app.add_typer(hook.app, name="hook")
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(tools.app, name="tools")
app.command(name="watch")(watch.watch_command)


def unexpected_error_line(error: BaseException) -> str:
    """One line for a bug: what failed, never a traceback, and nothing secret-shaped from the error's text."""
    text = " ".join(str(error).split())[:300]
    text = _SECRET_SHAPED.sub("<redacted>", text)
    return f"keyguard: unexpected error ({type(error).__name__}: {text}) — this is a bug; please report it"


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        print("keyguard: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as error:  # any exception here is a bug: one clear line and exit 2, never a traceback
        print(unexpected_error_line(error), file=sys.stderr)
        sys.exit(2)
