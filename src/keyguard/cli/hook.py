"""`keyguard hook install`: a plain git pre-commit hook that runs `keyguard scan --staged`."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(help="Git hooks that stop Binance keys before they are committed.", no_args_is_help=True)

MARKER = "# installed by keyguard"
HOOK = f"""#!/bin/sh
{MARKER}: blocks commits that add Binance keys. Bypass once with: git commit --no-verify
if command -v keyguard >/dev/null 2>&1; then
    exec keyguard scan --staged
fi
exec python3 -m keyguard scan --staged
"""


def _hooks_dir(repo: Path) -> Path:
    done = subprocess.run(
        ["git", "rev-parse", "--git-path", "hooks"], cwd=repo, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise typer.BadParameter(f"{repo} is not inside a git repository", param_hint="--repo")
    return (repo / done.stdout.strip()).resolve()


@app.command("install")
def install(
    repo: Annotated[Path, typer.Option("--repo", help="Repository to protect.")] = Path("."),
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace another pre-commit hook (it is kept as pre-commit.keyguard-backup)."),
    ] = False,
) -> None:
    """Install a pre-commit hook in REPO that runs `keyguard scan --staged`.

    Example: keyguard hook install
    """
    console = Console()
    hooks = _hooks_dir(repo)
    hooks.mkdir(parents=True, exist_ok=True)
    target = hooks / "pre-commit"
    if target.exists() and MARKER not in target.read_text("utf-8", "replace"):
        if not force:
            console.print(f"[red]{target} already exists and is not keyguard's; nothing changed.[/red]")
            console.print("Add `keyguard scan --staged` to it, or rerun with --force (it will be backed up).")
            raise typer.Exit(2)
        backup = target.with_name("pre-commit.keyguard-backup")
        if backup.exists():
            console.print(f"[red]{backup} exists already; move it away first. Nothing changed.[/red]")
            raise typer.Exit(2)
        os.replace(target, backup)
        console.print(f"kept the previous hook as {backup}")
    target.write_text(HOOK, encoding="utf-8")
    target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    console.print(f"installed {target}: commits that add Binance keys will be stopped")
