"""`keyguard redact`: a file or stdin with Binance keys, secrets and signatures masked."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from keyguard.cli.common import fail


def redact_command(
    source: Annotated[str, typer.Argument(help="A file, or - for stdin.")] = "-",
) -> None:
    """Print SOURCE with Binance keys, secrets, private keys and request signatures masked.

    Example: keyguard redact bot.log > bot-safe.log
    """
    from keyguard.vault.redact import redact_bytes

    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as error:
        raise fail(f"{source}: {error.strerror or error}") from None
    sys.stdout.buffer.write(redact_bytes(data))
