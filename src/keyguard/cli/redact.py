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

    A value found anywhere is masked everywhere it occurs, also inside base64 values (Kubernetes Secrets)
    and in chat exports (Telegram result.json, Slack, Discord).

    Example: keyguard redact bot.log > bot-safe.log
    """
    from keyguard.sources.reading import ARCHIVE, kind_of_binary
    from keyguard.vault.redact import redact_bytes

    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as error:
        raise fail(f"{source}: {error.strerror or error}") from None
    if kind_of_binary(data[:512]) == ARCHIVE:
        raise fail(f"{source} is an archive: redact reads text (keyguard scan {source} finds keys inside it)")
    sys.stdout.buffer.write(redact_bytes(data, source))
