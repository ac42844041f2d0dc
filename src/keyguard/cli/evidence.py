"""`keyguard evidence verify`: is a case folder exactly as keyguard sealed it?"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

app = typer.Typer(help="Check evidence bundles written by keyguard incident.", no_args_is_help=True)


@app.command("verify")
def verify_evidence(
    case: Annotated[Path, typer.Argument(help="The case folder.")],
    expect: Annotated[
        str | None,
        typer.Option("--expect", help="The manifest's SHA-256 as printed when sealed and sent to Binance support."),
    ] = None,
) -> None:
    """Check the manifest's signature, report changed, missing or added files, and (with --expect) that
    manifest.json is the one whose hash was sent out. Exit 0 when intact, 1 when not, 2 when the manifest is
    unreadable or malformed.

    Example: keyguard evidence verify case-2026-11-25/ --expect 3f5a…
    """
    from keyguard.evidence.manifest import DOES_NOT_PROVE, PROVES, verify_case

    console = Console(highlight=False, soft_wrap=True)
    check = verify_case(case)
    if check.error:
        Console(stderr=True, highlight=False, soft_wrap=True).print(f"[red]keyguard: {escape(check.error)}[/red]")
        raise typer.Exit(2)
    console.print(f"manifest SHA-256: {check.manifest_sha256}")
    hash_ok = True
    if expect is not None:
        hash_ok = expect.strip().lower() == check.manifest_sha256
        if hash_ok:
            console.print("[green]matches the SHA-256 you expected[/green]")
        else:
            console.print(
                f"[red]DIFFERS from the SHA-256 you expected: expected {escape(expect.strip())}, "
                f"manifest.json is {check.manifest_sha256}[/red]"
            )
    if check.complete is False:
        reasons = "; ".join(check.incomplete_reasons) or "not recorded"
        console.print(f"[yellow]sealed {check.created} as INCOMPLETE: missing {escape(reasons)}[/yellow]")
    elif check.complete:
        console.print(f"sealed {check.created} as complete")
    else:
        console.print(f"sealed {check.created} (completeness not recorded by the keyguard that sealed it)")
    for label, paths in (("changed", check.changed), ("missing", check.missing), ("added", check.added)):
        for path in paths:
            console.print(f"[red]{label}[/red]: {escape(path)}")
    for name, carries in check.outside.items():
        state = "carries the manifest's SHA-256" if carries else "[red]does not carry the manifest's SHA-256[/red]"
        console.print(f"outside the seal (written after sealing, so not hashed): {escape(name)} — {state}")
    if check.signature_ok:
        console.print(f"signature: valid — proves {PROVES}; does not prove {DOES_NOT_PROVE}")
    else:
        console.print("signature: [red]INVALID[/red] — the manifest was changed after sealing")
    intact = check.intact and hash_ok
    console.print("[green]intact[/green]" if intact else "[red]not as sealed[/red]")
    raise typer.Exit(0 if intact else 1)
