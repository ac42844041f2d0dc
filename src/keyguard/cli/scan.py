"""`keyguard scan`: find Binance keys in files, directories, stdin or the staged changes."""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from keyguard.cluster.runner import ClusterError
from keyguard.config import ConfigError, load_settings
from keyguard.model import ScanResult
from keyguard.pipeline import ScanOptions, scan
from keyguard.report import Reporter
from keyguard.report.baseline import BaselineError, apply_baseline, load_baseline, write_baseline
from keyguard.report.json_format import JsonReporter
from keyguard.report.sarif_format import SarifReporter
from keyguard.report.text_format import TextReporter
from keyguard.sources.gitrepo import GitError
from keyguard.sources.repos import read_repo_list

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
PROGRESS_MIN_BYTES = 50 * 1024 * 1024


class OutputFormat(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"


class EngineChoice(StrEnum):
    auto = "auto"
    hyperscan = "hyperscan"
    re = "re"


def _fail(message: str) -> typer.Exit:
    Console(stderr=True).print(f"[red]keyguard: {escape(message)}[/red]")
    return typer.Exit(EXIT_ERROR)


def _run_with_repo_progress(options: ScanOptions) -> ScanResult:
    """A bar of repositories done, moved as each repository's last task comes back."""
    where = f"on {options.scheduler}" if options.scheduler else "on the local pool"
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(f"repositories {where}", total=len(options.repos))
        return scan(options, repo_progress=lambda done, total: bar.update(task, completed=done, total=total))


def _run_with_progress(options: ScanOptions, show: bool) -> ScanResult:
    if not show:
        return scan(options)
    if options.repos:
        return _run_with_repo_progress(options)
    console = Console(stderr=True)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("scanning", total=None)

        def advance(done: int, total: int) -> None:
            if total >= PROGRESS_MIN_BYTES:
                bar.update(task, completed=done, total=total)

        return scan(options, progress=advance)


def _reporter(fmt: OutputFormat, baselined: int) -> Reporter:
    if fmt is OutputFormat.json:
        return JsonReporter()
    if fmt is OutputFormat.sarif:
        return SarifReporter()
    return TextReporter(baselined)


def _write_report(reporter: Reporter, result: ScanResult, output: Path | None) -> None:
    """To stdout, or to the file through a temporary beside it, so a failed write leaves no half report."""
    if output is None:
        terminal = sys.stdout.isatty()
        width = Console().width if terminal else 80
        reporter.write(result, sys.stdout, terminal=terminal, width=width)
        return
    temporary = output.with_name(f".{output.name}.keyguard-tmp")
    try:
        with temporary.open("w", encoding="utf-8", errors="backslashreplace") as handle:
            reporter.write(result, handle, width=100)
        os.replace(temporary, output)
    finally:
        temporary.unlink(missing_ok=True)


def _repos_problem(repos: Path | None, scheduler: str | None, since_last: bool, since: str | None) -> str | None:
    if repos is None and scheduler:
        return "--scheduler runs the repositories of --repos FILE on a Dask cluster: give --repos"
    if repos is None and since_last:
        return "--since-last remembers what was scanned per repository of --repos FILE: give --repos"
    if repos is not None and since:
        return "--since names a commit of one repository; with --repos use --since-last"
    return None


def scan_command(
    paths: Annotated[
        list[str] | None,
        typer.Argument(help="Files or directories to scan (default: the current directory); '-' reads stdin."),
    ] = None,
    output_format: Annotated[
        OutputFormat | None, typer.Option("--format", "-f", help="Output format: text, json or sarif.")
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to FILE.")] = None,
    staged: Annotated[
        bool, typer.Option("--staged", help="Scan what is staged for the next commit (pre-commit hook).")
    ] = False,
    exclude: Annotated[
        list[str] | None,
        typer.Option("--exclude", "-x", help="Skip paths matching a .gitignore-style PATTERN (repeatable)."),
    ] = None,
    include_deps: Annotated[
        bool, typer.Option("--include-deps", help="Also scan .venv, node_modules, site-packages ...")
    ] = False,
    include_examples: Annotated[
        bool,
        typer.Option("--include-examples", help="Report Binance's public documentation example keys (as info)."),
    ] = False,
    baseline: Annotated[
        Path | None, typer.Option("--baseline", help="Ignore findings recorded in this baseline file.")
    ] = None,
    write_baseline_to: Annotated[
        Path | None,
        typer.Option("--write-baseline", help="Record the current findings as accepted, then exit 0."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Settings file (default: .keyguard.toml or pyproject.toml)."),
    ] = None,
    no_history: Annotated[
        bool, typer.Option("--no-history", help="Do not scan the git history of repositories among the paths.")
    ] = False,
    since: Annotated[
        str | None, typer.Option("--since", help="History: only commits not reachable from REV (incremental).")
    ] = None,
    verify: Annotated[
        bool, typer.Option("--verify", help="Check found key+secret pairs live (only against the --base-url).")
    ] = False,
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="Binance API for --verify (default: KEYGUARD_BINANCE_URL, else production)."),
    ] = None,
    engine: Annotated[EngineChoice, typer.Option("--engine", help="Matching engine.")] = EngineChoice.auto,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=0, help="Worker processes (0: one per core).")] = 0,
    no_images: Annotated[
        bool, typer.Option("--no-images", help="Do not read text in images (screenshots) with OCR.")
    ] = False,
    repos: Annotated[
        Path | None,
        typer.Option("--repos", help="Scan the repositories listed in FILE (local paths or git URLs, one a line)."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Run on this Dask scheduler (tcp://HOST:8786); needs keyguard[cluster]."),
    ] = None,
    since_last: Annotated[
        bool, typer.Option("--since-last", help="Only what the previous run did not scan (a state file).")
    ] = False,
    slice_blobs: Annotated[
        int,
        typer.Option("--slice-blobs", min=1, help="With --repos: split a repository with more new blobs into tasks."),
    ] = 5000,
) -> None:
    """Find Binance API keys, secrets and private keys. Exit 0: none found, 1: found, 2: error.

    Examples:\n
      keyguard scan                 # in a repo: working tree and every commit of every branch and tag\n
      keyguard scan ~/src/mybot --no-history\n
      keyguard scan bots/ ~/.config/freqtrade --format json --output findings.json\n
      cat bot.log | keyguard scan -\n
      keyguard scan --staged\n
      keyguard scan --repos repos.txt --scheduler tcp://10.0.0.5:8786 --since-last
    """
    try:
        settings = load_settings(".", config)
    except ConfigError as error:
        raise _fail(str(error)) from None
    for warning in settings.warnings:
        Console(stderr=True).print(f"[yellow]{escape(warning)}[/yellow]")
    values = settings.values
    fmt = output_format or OutputFormat(values.get("format", "text"))
    baseline = baseline or (Path(values["baseline"]) if "baseline" in values else None)
    problem = _repos_problem(repos, scheduler, since_last, since)
    if problem:
        raise _fail(problem)
    try:
        listed = read_repo_list(repos) if repos else []
    except OSError as error:
        raise _fail(f"cannot read {repos}: {error.strerror or error}") from None
    if repos and not listed:
        raise _fail(f"{repos} lists no repository (one local path or git URL a line)")
    options = ScanOptions(
        paths=list(paths) if paths else ([] if staged or repos else ["."]),
        staged=staged,
        history=not no_history,
        since=since,
        verify=verify,
        base_url=base_url or os.environ.get("KEYGUARD_BINANCE_URL"),
        exclude=[*values.get("exclude", []), *(exclude or [])],
        include_deps=include_deps or values.get("include_deps", False),
        include_examples=include_examples or values.get("include_examples", False),
        engine=engine.value,
        jobs=jobs,
        images=not no_images and values.get("images", True),
        repos=listed,
        scheduler=scheduler,
        since_last=since_last,
        slice_blobs=slice_blobs,
    )
    missing = [p for p in options.paths if p != "-" and not os.path.lexists(p)]
    for path in missing:  # said now, the rest still scanned; exit 2 at the end so CI does not stay green
        Console(stderr=True).print(f"[red]keyguard: {escape(path)}: no such file or directory[/red]")
    try:
        accepted = load_baseline(baseline) if baseline else set()
        show_progress = fmt is OutputFormat.text and output is None and sys.stdout.isatty()
        show_progress = show_progress or (bool(listed) and sys.stderr.isatty())  # the bar is on stderr, then gone
        result = _run_with_progress(options, show_progress)
    except (BaselineError, GitError, ClusterError) as error:
        raise _fail(str(error)) from None
    if write_baseline_to is not None:
        write_baseline(write_baseline_to, result.findings)
        Console(stderr=True).print(f"wrote {len(result.findings)} accepted findings to {write_baseline_to}")
        raise typer.Exit(EXIT_CLEAN)
    result.findings, baselined = apply_baseline(result.findings, accepted)
    result.stats["findings"] = len(result.findings)
    result.stats["baselined"] = baselined
    try:
        _write_report(_reporter(fmt, baselined), result, output)
    except OSError as error:
        raise _fail(f"cannot write {output}: {error.strerror or error}") from None
    leaks = [f for f in result.findings if f.severity != "info"]
    raise typer.Exit(EXIT_ERROR if missing else EXIT_FINDINGS if leaks else EXIT_CLEAN)
