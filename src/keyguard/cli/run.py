"""`keyguard run`: start a tool with its key from the vault in its environment."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from keyguard.cli.common import fail


def run_command(
    command: Annotated[list[str], typer.Argument(help="The command to start, after --.")],
    key: Annotated[str, typer.Option("--key", help="The vault label of the key to give it.")],
    env_style: Annotated[
        str, typer.Option("--env-style", help="binance, freqtrade, ccxt, or KEY_VAR,SECRET_VAR.")
    ] = "binance",
    mask_output: Annotated[
        bool | None,
        typer.Option(
            "--mask-output/--no-mask-output",
            help="Mask the key and secret in the command's stdout and stderr [default: on at a terminal].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Start COMMAND with the key in its environment (never in its argv) and none of keyguard's own variables
    (no vault passphrase); signals are passed on and its exit code is returned. At a terminal its output is
    masked: the key and secret show as [REDACTED abcd…wxyz].

    Example: keyguard run --key quant-trading --env-style freqtrade -- freqtrade trade -c config.json
    """
    from keyguard.vault.run import env_names, run_with_key
    from keyguard.vault.store import VaultError, open_backend

    try:
        env_names(env_style)
        entry = open_backend().load().get(key)
    except (ValueError, VaultError) as error:
        raise fail(str(error)) from None
    if entry is None:
        raise fail(f"no {key} in the vault (keyguard vault add {key})")
    masked = sys.stdout.isatty() if mask_output is None else mask_output
    try:
        code = run_with_key(entry.credential, command, env_style, mask_output=masked)
    except FileNotFoundError:
        raise fail(f"command not found: {command[0]}") from None
    raise typer.Exit(code)
