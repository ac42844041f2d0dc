"""`keyguard migrate`: plaintext keys into the vault and out of the files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from keyguard.cli.common import fail


def migrate_command(
    folder: Annotated[Path, typer.Argument(help="The folder whose plaintext keys move into the vault.")],
    do_it: Annotated[bool, typer.Option("--apply", help="Do it (without it: only show what would be done).")] = False,
    label_prefix: Annotated[str | None, typer.Option("--label-prefix", help="Vault labels: PREFIX-1, ...")] = None,
) -> None:
    """Find plaintext key+secret pairs in FOLDER, store them in the vault and rewrite the files without them.

    Example: keyguard migrate ~/bots/grid --apply
    """
    from keyguard.vault.migrate import apply, not_git_ignored, plan
    from keyguard.vault.store import VaultError, open_backend

    console = Console()
    if not folder.is_dir():
        raise fail(f"{folder} is not a folder")
    moves = plan(folder, label_prefix)
    if not moves:
        console.print("no plaintext key+secret pairs found")
        raise typer.Exit(0)
    for move in moves:
        console.print(
            f"{move.path}:{move.line}  {move.key.redacted} + {move.partner.kind} "
            f"{move.partner.redacted} -> vault label [bold]{move.label}[/bold]; {move.how}"
        )
    if not do_it:
        console.print("\ndry run: nothing changed; run again with --apply")
        raise typer.Exit(0)
    try:
        apply(moves, open_backend())
    except VaultError as error:
        raise fail(f"{error}; no file was changed") from None
    console.print("\nmoved. From now on start each tool with its key from the vault:")
    for move in moves:
        console.print(f"  keyguard run --key {move.label} --env-style {move.env_style} -- <your bot command>")
    for path in not_git_ignored(sorted({m.path for m in moves})):
        console.print(f"[yellow]{path} is not git-ignored: add it to .gitignore[/yellow]")
