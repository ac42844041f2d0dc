"""`keyguard migrate`: plaintext keys into the vault and out of the files."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from keyguard.cli.common import fail

if TYPE_CHECKING:  # the module itself is imported when the command runs: it brings the scanner
    from keyguard.vault.migrate import Pair


def migrate_command(
    folder: Annotated[Path, typer.Argument(help="The folder whose plaintext keys move into the vault.")],
    do_it: Annotated[bool, typer.Option("--apply", help="Do it (without it: only show what would be done).")] = False,
    label_prefix: Annotated[str | None, typer.Option("--label-prefix", help="Vault labels: PREFIX-1, ...")] = None,
) -> None:
    """Find plaintext key pairs in FOLDER (and its git history), store each distinct pair in the vault once and
    rewrite the files without them: .env lines removed, JSON values emptied, code made to read the environment
    in its own language. Every other place a value is (archives, chat exports, encoded values, git history) is
    listed as "still here" with what to do. A pair that was committed, pushed or sent in a chat is leaked:
    rotate it with `keyguard incident`.

    Exit 0: nothing found, or everything fixed and nothing leaked (a dry run: 0 whatever it found);
    1: something is still there or leaked; 2: usage error, or the vault could not be written (no file changed).

    Example: keyguard migrate ~/bots/grid --apply
    """
    from keyguard.vault.migrate import apply, not_git_ignored, plan
    from keyguard.vault.store import VaultError, open_backend

    console = Console(highlight=False, soft_wrap=True)
    if not folder.is_dir():
        raise fail(f"{folder} is not a folder")
    migration = plan(folder, label_prefix)
    if not migration.pairs:
        console.print(f"no plaintext key pairs found in {escape(str(folder))} ({migration.history})")
        raise typer.Exit(0)
    if do_it:
        try:
            apply(migration, open_backend())
        except VaultError as error:
            raise fail(f"{error}; no file was changed") from None
    pairs = [pair for pair in migration.pairs if pair.secret is not None]
    console.print(f"{len(pairs)} key pair(s) in {escape(str(folder))}; {migration.history}")
    for pair in migration.pairs:
        _show(console, pair, do_it)
    for path in not_git_ignored(migration.ignore):
        console.print(f"[yellow]{escape(str(path))} is not git-ignored: add it to .gitignore[/yellow]")
    for pair in migration.pairs:  # last, where it is seen: the one thing that cannot wait
        if pair.leaked:
            name = pair.label if pair.movable else pair.shown
            step = f"keyguard incident --key {pair.label}" if pair.stored else "keyguard incident"
            console.print(f"[bold red]LEAKED: {escape(name)} — rotate it, next step: {escape(step)}[/bold red]")
    if not do_it:
        console.print("\ndry run: nothing changed; run again with --apply")
        raise typer.Exit(0)
    unsafe = any(pair.leaked or not all(p.fixed for p in pair.places) for pair in migration.pairs)
    raise typer.Exit(1 if unsafe else 0)


def _show(console: Console, pair: Pair, applied: bool) -> None:
    if pair.secret is None:
        where = "found without its partner, not stored"
    elif pair.refused:
        where = f"not stored ({escape(pair.refused)})"
    else:
        where = ("stored in the vault as" if pair.stored else "vault label") + f" [bold]{escape(pair.label)}[/bold]"
    console.print(f"\n{pair.shown}: {where}")
    merged: dict[tuple[bool, str, str], set[int]] = defaultdict(set)  # key and secret on the same lines
    for place in pair.places:
        merged[(not place.fixed, place.path, place.note)] |= set(place.lines)
    for (left, path, note), lines in sorted(merged.items(), key=lambda item: (*item[0][:2], min(item[1]))):
        status = "still here" if left else ("fixed" if applied else "will fix")
        shown = escape(note.replace("{label}", pair.label if pair.movable else "LABEL"))
        console.print(f"  {status}: {escape(path)}:{_lines(lines)} ({shown})")
    if pair.runs:
        console.print("  start each program with its key from the vault:")
    for run in pair.runs:
        console.print(f"    {escape(run.replace('{label}', pair.label))}")
    if pair.leaked:
        _leaked(console, pair)


def _leaked(console: Console, pair: Pair) -> None:
    console.print(f"  [bold red]LEAKED: {pair.shown} is not safe to keep using:[/bold red]")
    for reason in pair.leaks:
        console.print(f"    [red]{escape(reason)}[/red]")
    console.print("    moving it into the vault does not take it back from whoever has a copy: rotate it now.")
    label = f" --key {pair.label}" if pair.stored else ""
    later = "" if pair.stored or not pair.movable else f" (after --apply: keyguard incident --key {pair.label})"
    console.print(f"    [bold red]next step: keyguard incident{escape(label)}[/bold red]{escape(later)}")


def _lines(lines: set[int]) -> str:
    ordered = sorted(set(lines))
    if len(ordered) > 1 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{ordered[0]}-{ordered[-1]}"
    return ",".join(str(n) for n in ordered)
