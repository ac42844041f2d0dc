"""One scanning pipeline for every input: sources yield blobs, each distinct content is matched once in one
process pool, history is attributed after matching, and hits are grouped into one finding per secret value.
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any, BinaryIO

from keyguard.cluster.org import OrgScan, RepoProgress, scan_repositories
from keyguard.cluster.runner import DaskRunner, LocalRunner, Runner
from keyguard.cluster.state import ScannedBlobs, fingerprint
from keyguard.cluster.tasks import TaskSettings
from keyguard.matching import Hit, Matcher, Tally
from keyguard.model import ScanResult, Skipped
from keyguard.placing import Placed, annotate_work_tree, attribute, group, place, rehome
from keyguard.sources.base import Source
from keyguard.sources.files import FilesSource, shown_path
from keyguard.sources.filesystem import display_path
from keyguard.sources.git_history import HistorySource, is_bare_repository, is_repository_root
from keyguard.sources.gitrepo import GitError, work_tree_root
from keyguard.sources.history import UnknownRevision, repository_problems
from keyguard.sources.repos import repository
from keyguard.sources.staged import StagedSource
from keyguard.sources.stream import STDIN, StreamSource
from keyguard.work import match_unit

# Below this much work a process pool costs more than it saves.
PARALLEL_MIN_WEIGHT = 8 * 1024 * 1024

Progress = Callable[[int, int], None]


@dataclass
class ScanOptions:
    paths: list[str] = field(default_factory=lambda: ["."])
    staged: bool = False
    history: bool = True  # a scanned path that is a git repository: scan every commit too
    since: str | None = None  # history: only objects not reachable from this revision
    exclude: list[str] = field(default_factory=list)
    include_deps: bool = False
    include_examples: bool = False
    engine: str = "auto"
    jobs: int = 0  # 0: one per core
    stdin: BinaryIO | None = None
    verify: bool = False  # check found key+secret pairs live (scan --verify)
    keep_values: bool = False  # leave the values on the findings, in memory, for migrate
    base_url: str | None = None  # where --verify sends them (default: Binance production)
    images: bool = True  # read text in images (OCR); --no-images turns it off
    repos: list[str] = field(default_factory=list)  # --repos: local paths or git URLs, one a line of a file
    scheduler: str | None = None  # --scheduler: a Dask scheduler's address; None: the local pool
    since_last: bool = False  # --since-last: only objects not scanned in the previous run
    slice_blobs: int = 5000  # --repos: a repository with more new blobs is split into tasks of this many


class Workers:
    """Runs sources' units serially until there is enough work for a pool; one pool serves every source."""

    def __init__(self, options: ScanOptions) -> None:
        self.jobs = options.jobs or os.cpu_count() or 1
        self.include_examples = options.include_examples
        self.engine = options.engine
        self.images = options.images
        self.used = 1
        self._pool: ProcessPoolExecutor | None = None

    def pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=get_context("fork"))
            self.used = self.jobs
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def run(self, source: Source, tally: Tally, progress: Progress | None = None) -> None:
        units = source.units(tally.skipped)
        ahead: list[list[Any]] = []
        weight = 0
        if source.parallel and self.jobs > 1:
            for unit in units:  # until there is enough work, in more than one unit, for a pool
                ahead.append(unit)
                weight += source.weight(unit)
                if weight >= PARALLEL_MIN_WEIGHT and len(ahead) > 1:
                    break
        every_unit = itertools.chain(ahead, units)
        parallel = self._pool is not None or (len(ahead) > 1 and weight >= PARALLEL_MIN_WEIGHT)
        done = total = 0

        def record(unit: list[Any], result: Tally) -> None:
            nonlocal done
            tally.add(result)
            done += source.weight(unit)
            if progress:
                progress(done, max(total, done))

        if not parallel:
            for unit in every_unit:
                total += source.weight(unit)
                record(unit, match_unit(source, unit, self.include_examples, self.engine, self.images))
            return
        pool = self.pool()
        submitted: list[tuple[list[Any], Future[Tally]]] = []
        for unit in every_unit:  # handed out while the source is still listing
            total += source.weight(unit)
            submitted.append(
                (unit, pool.submit(match_unit, source, unit, self.include_examples, self.engine, self.images))
            )
        for unit, future in submitted:
            record(unit, future.result())


def _histories(
    options: ScanOptions, workers: Workers, files: Tally, placed: list[Placed], skipped: list[Skipped]
) -> tuple[list[Placed], list[dict[str, Any]], tuple[int, int]]:
    """Every repository among the paths: its history's hits attributed; returns them, the stats, (blobs, bytes) read."""
    by_root: dict[str, list[Hit]] = defaultdict(list)
    for hit in files.hits:
        by_root[hit.root].append(hit)
    attributed: list[Placed] = []
    stats: list[dict[str, Any]] = []
    read = blobs_read = 0
    for path in options.paths if options.history else []:
        if path == STDIN or not os.path.isdir(path):
            continue
        shown = shown_path(display_path(path))
        if not is_repository_root(path):
            stats.append({"path": shown, "status": "not the top of a git repository: files only"})
            continue
        skipped += [Skipped(shown, problem) for problem in repository_problems(path)]
        source = HistorySource(path, options.since, options.exclude, options.include_deps, seen=files.contents)
        found = Tally()
        try:
            workers.run(source, found)
        except UnknownRevision:
            raise
        except GitError as error:
            skipped.append(Skipped(shown, f"git history unreadable: {error}"))
            stats.append({"path": shown, "status": "unreadable"})
            continue
        reused = [rehome(hit, blob) for blob in source.reused for hit in by_root.get(files.contents[blob.oid], ())]
        attributed += attribute(path, found.hits + reused, shown)
        skipped += found.skipped
        read += found.bytes_scanned
        blobs_read += found.files_scanned
        files.images_read += found.images_read
        files.images_cached += found.images_cached
        stats.append({"path": shown, "status": "scanned", "blobs_scanned": source.listed, "since": options.since})
    return attributed, stats, (blobs_read, read)


def _repositories(options: ScanOptions, workers: Workers, progress: RepoProgress | None) -> OrgScan:
    """The --repos list's histories, as tasks on the Dask scheduler or the local pool."""
    settings = TaskSettings(
        include_examples=options.include_examples,
        engine=options.engine,
        images=options.images,
        exclude=tuple(options.exclude),
        include_deps=options.include_deps,
        keep_values=options.keep_values or options.verify,
        slice_blobs=options.slice_blobs,
        record=options.since_last,
    )
    state = ScannedBlobs(fingerprint(options.include_examples, options.images)) if options.since_last else None
    runner: Runner = DaskRunner(options.scheduler) if options.scheduler else LocalRunner(workers.pool(), workers.jobs)
    try:
        repos = [repository(entry, Path.cwd()) for entry in options.repos]
        return scan_repositories(repos, settings, runner, state, progress)
    finally:
        runner.close()


def scan(
    options: ScanOptions, progress: Progress | None = None, repo_progress: RepoProgress | None = None
) -> ScanResult:
    """Scans what `options` names. Raises GitError for --staged outside a repository or an unknown --since,
    ClusterError when the --scheduler cannot be used."""
    started = time.perf_counter()
    # compiled once, inherited by forked workers
    matcher = Matcher(options.include_examples, options.engine, options.images)
    workers = Workers(options)
    tally = Tally()
    org: OrgScan | None = None
    try:
        if options.staged:
            root = work_tree_root(os.getcwd())
            if root is None:
                raise GitError("--staged needs to run inside a git work tree")
            workers.run(StagedSource(root), tally)
        if STDIN in options.paths:
            workers.run(StreamSource(options.stdin or sys.stdin.buffer), tally)
        paths = [p for p in options.paths if p != STDIN and not is_bare_repository(p)]
        if paths:
            source = FilesSource(paths, options.exclude, options.include_deps, options.images)
            workers.run(source, tally, progress)
        placed = [place(hit) for hit in tally.hits]
        attributed, histories, (history_blobs, history_bytes) = _histories(
            options, workers, tally, placed, tally.skipped
        )
        org = _repositories(options, workers, repo_progress) if options.repos else None
    finally:
        workers.close()
    if org is not None:
        attributed += org.placed
        tally.add(org.tally)
    findings = group(annotate_work_tree(placed, attributed) + attributed, options.keep_values or options.verify)
    verified_pairs = 0
    if options.verify:
        # deferred: the exchange client brings ccxt, 0.4 s at every start; only --verify talks to Binance
        from keyguard.scan_verify import verify_findings

        findings, verified_pairs = verify_findings(findings, options.base_url)
    if not options.keep_values:
        findings = [replace(f, value=None) for f in findings]
    stats = {
        "files_scanned": tally.files_scanned + history_blobs,
        "bytes_scanned": tally.bytes_scanned + history_bytes,
        "skipped": len(tally.skipped),
        "findings": len(findings),
        "duration_seconds": round(time.perf_counter() - started, 3),
        "engine": matcher.files.engine.name,
        "rules": len(matcher.files.rules),
        "jobs": workers.used,
        "history": histories,
        "verified_pairs": verified_pairs,
        "images_read": tally.images_read,  # with OCR
        "images_cached": tally.images_cached,  # their reading taken from the cache: no OCR
    }
    if org is not None:
        stats["jobs"] = org.cluster["workers"] if options.scheduler else workers.used
        stats["repositories"] = org.repositories
        stats["cluster"] = org.cluster
    return ScanResult(findings, tally.skipped, stats)
