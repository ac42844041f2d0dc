"""`keyguard evidence verify`: is a case folder exactly as keyguard sealed it?"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(help="Check evidence bundles written by keyguard incident.", no_args_is_help=True)


@app.command("verify")
def verify_evidence(case: Annotated[Path, typer.Argument(help="The case folder.")]) -> None:
    """Report changed, missing or added files and check the manifest's signature. Exit 0 when intact.

    Example: keyguard evidence verify case-2026-11-25/
    """
    from keyguard.evidence.manifest import verify_case

    console = Console()
    check = verify_case(case)
    if check.error:
        console.print(f"[red]{check.error}[/red]")
        raise typer.Exit(2)
    for label, paths in (("changed", check.changed), ("missing", check.missing), ("added", check.added)):
        for path in paths:
            console.print(f"[red]{label}[/red]: {path}")
    console.print("signature: " + ("valid" if check.signature_ok else "[red]INVALID[/red]"))
    console.print("[green]intact[/green]" if check.intact else "[red]not as sealed[/red]")
    raise typer.Exit(0 if check.intact else 1)
