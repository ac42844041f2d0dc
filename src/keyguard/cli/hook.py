"""`keyguard hook install`: a plain git pre-commit hook that runs `keyguard scan --staged`.

The hook names the interpreter keyguard was installed in by its absolute path, so it works without an
activated virtualenv, and it runs the hook it replaced (kept as pre-commit.keyguard-backup) first.
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

app = typer.Typer(help="Git hooks that stop Binance keys before they are committed.", no_args_is_help=True)

MARKER = "# installed by keyguard"
BACKUP_NAME = "pre-commit.keyguard-backup"
FIX_MESSAGE = """\
keyguard stopped this commit: the staged changes above hold a Binance key, secret or private key.
Fix it one of these ways, then commit again:
  - move it into keyguard's vault and out of the files:  keyguard migrate PATH
    (a dry run that shows what would change; add --apply to do it)
  - a value that is not a real key (a test value, an example): end its line with the comment  # keyguard:allow
  - accept everything found now as known:  keyguard scan --write-baseline .keyguard-baseline.json
    then add  baseline = ".keyguard-baseline.json"  to .keyguard.toml
A key that was ever pushed, shared or committed elsewhere is leaked: rotate it (keyguard rotate LABEL).
Bypass once (not advised): git commit --no-verify"""
HOOK_TEMPLATE = """\
#!/bin/sh
{marker}: blocks commits that add Binance keys. Bypass once with: git commit --no-verify
# Written by `keyguard hook install`; run it again if keyguard's Python below moves or is recreated.
KEYGUARD_PYTHON={python}
previous="$(dirname "$0")/{backup}"
if [ -f "$previous" ]; then
    if [ -x "$previous" ]; then
        "$previous" "$@" || {{
            status=$?
            echo "keyguard: the previous pre-commit hook $previous failed (exit $status): commit stopped" >&2
            exit "$status"
        }}
    else
        echo "keyguard: $previous is not executable, so it was not run (chmod +x it to run it)" >&2
    fi
fi
if [ ! -x "$KEYGUARD_PYTHON" ]; then
    echo "keyguard: $KEYGUARD_PYTHON (the Python keyguard was installed in) is gone: commit stopped." >&2
    echo "Reinstall the hook from keyguard's environment: keyguard hook install --repo ." >&2
    exit 1
fi
"$KEYGUARD_PYTHON" -m keyguard scan --staged
status=$?
if [ "$status" -eq 1 ]; then
    cat >&2 <<'KEYGUARD_FIX'
{fix}
KEYGUARD_FIX
    echo "(when keyguard is not on your PATH, it is: $KEYGUARD_PYTHON -m keyguard)" >&2
elif [ "$status" -ne 0 ]; then
    echo "keyguard: the staged changes could not be scanned (exit $status): commit stopped" >&2
fi
exit "$status"
"""


def hook_script(python: str) -> str:
    """The pre-commit hook text for keyguard installed in the interpreter `python` (an absolute path)."""
    return HOOK_TEMPLATE.format(marker=MARKER, python=shlex.quote(python), backup=BACKUP_NAME, fix=FIX_MESSAGE)


def _hooks_dir(repo: Path) -> Path:
    done = subprocess.run(
        ["git", "rev-parse", "--git-path", "hooks"], cwd=repo, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise typer.BadParameter(f"{repo} is not inside a git repository", param_hint="--repo")
    return (repo / done.stdout.strip()).resolve()


def _keep_previous(target: Path, force: bool, console: Console) -> None:
    """Moves another tool's hook aside (with --force) so keyguard's hook runs it first."""
    if not target.exists() or MARKER in target.read_text("utf-8", "replace"):
        return
    if not force:
        console.print(f"[red]{escape(str(target))} already exists and is not keyguard's; nothing changed.[/red]")
        console.print(
            f"Rerun with --force: it is kept as {BACKUP_NAME} and still runs before keyguard's scan; "
            "or add `keyguard scan --staged` to it yourself."
        )
        raise typer.Exit(2)
    backup = target.with_name(BACKUP_NAME)
    if backup.exists():
        console.print(f"[red]{escape(str(backup))} exists already; move it away first. Nothing changed.[/red]")
        raise typer.Exit(2)
    os.replace(target, backup)
    console.print(f"kept the previous hook as {backup}; it runs first, and its failure stops the commit")


@app.command("install")
def install(
    repo: Annotated[Path, typer.Option("--repo", help="Repository to protect.")] = Path("."),
    force: Annotated[
        bool,
        typer.Option(
            "--force", help=f"Take the place of another pre-commit hook (kept as {BACKUP_NAME} and run first)."
        ),
    ] = False,
) -> None:
    """Install a pre-commit hook in REPO that runs `keyguard scan --staged` with this keyguard's Python.

    Example: keyguard hook install
    """
    console = Console()
    python = os.path.abspath(sys.executable) if sys.executable else ""
    if not python:
        console.print("[red]keyguard cannot tell which Python it runs in; nothing changed.[/red]")
        raise typer.Exit(2)
    hooks = _hooks_dir(repo)
    hooks.mkdir(parents=True, exist_ok=True)
    target = hooks / "pre-commit"
    _keep_previous(target, force, console)
    target.write_text(hook_script(python), encoding="utf-8")
    target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    console.print(f"installed {target}: commits that add Binance keys will be stopped")
    console.print(f"it runs {python} -m keyguard (no virtualenv needs to be active)")
