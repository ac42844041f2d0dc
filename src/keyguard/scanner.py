"""Runs a scan: collects targets from the sources, scans them in parallel, returns findings."""

from __future__ import annotations

import io
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from multiprocessing import get_context
from typing import Any, BinaryIO

from keyguard.detect.detector import Detector
from keyguard.detect.engine import build_engine
from keyguard.detect.findings import Finding
from keyguard.rules import load_rules
from keyguard.sources.base import FileTarget, Skipped
from keyguard.sources.filesystem import walk
from keyguard.sources.gitrepo import GitError, read_blobs, staged_blobs, work_tree_root
from keyguard.sources.reading import NotText, iter_chunks

STDIN = "-"
BATCH_BYTES = 4 * 1024 * 1024
BATCH_FILES = 256
# Below this much work a process pool costs more than it saves.
PARALLEL_MIN_BYTES = 8 * 1024 * 1024
PARALLEL_MIN_FILES = 400

Progress = Callable[[int, int], None]


@dataclass
class ScanOptions:
    paths: list[str] = field(default_factory=lambda: ["."])
    staged: bool = False
    exclude: list[str] = field(default_factory=list)
    include_deps: bool = False
    include_examples: bool = False
    engine: str = "auto"
    jobs: int = 0  # 0: one per core
    stdin: BinaryIO | None = None


@dataclass
class ScanResult:
    findings: list[Finding]
    skipped: list[Skipped]
    stats: dict[str, Any]


@cache
def _detector(include_examples: bool, engine: str) -> Detector:
    rules = load_rules()
    return Detector(rules, build_engine(rules, engine), include_examples=include_examples)


def _scan_stream(
    detector: Detector, stream: BinaryIO, path: str, size: int | None = None, **fields: object
) -> list[Finding]:
    return detector.scan_file(iter_chunks(stream, size_hint=size), path, **fields)


def _scan_targets(
    batch: list[FileTarget], include_examples: bool, engine: str
) -> tuple[list[Finding], list[Skipped], int, int]:
    detector = _detector(include_examples, engine)
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    scanned = files = 0
    for target in batch:
        try:
            with open(target.path, "rb", buffering=0) as stream:
                found = _scan_stream(
                    detector, stream, target.display, target.size, local_only=target.local_only
                )
                findings.extend(found)
            scanned += target.size
            files += 1
        except NotText as reason:
            skipped.append(Skipped(target.display, str(reason)))
        except OSError as error:
            skipped.append(Skipped(target.display, f"unreadable: {error.strerror or error}"))
    return findings, skipped, scanned, files


def _batches(targets: list[FileTarget]) -> Iterator[list[FileTarget]]:
    batch: list[FileTarget] = []
    size = 0
    for target in targets:
        batch.append(target)
        size += target.size
        if size >= BATCH_BYTES or len(batch) >= BATCH_FILES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _collect_targets(options: ScanOptions) -> tuple[list[FileTarget], list[Skipped]]:
    targets: dict[tuple[int, int], FileTarget] = {}
    skipped: list[Skipped] = []
    for path in options.paths:
        if path == STDIN:
            continue
        for item in walk(path, options.exclude, options.include_deps):
            if isinstance(item, Skipped):
                skipped.append(item)
            else:
                targets.setdefault(item.identity, item)
    return list(targets.values()), skipped


def _scan_files(
    targets: list[FileTarget], options: ScanOptions, progress: Progress | None
) -> tuple[list[Finding], list[Skipped], int, int, int]:
    total = sum(t.size for t in targets)
    jobs = options.jobs or os.cpu_count() or 1
    batches = list(_batches(targets))
    parallel = (
        jobs > 1 and len(batches) > 1 and (total >= PARALLEL_MIN_BYTES or len(targets) >= PARALLEL_MIN_FILES)
    )
    _detector(options.include_examples, options.engine)  # compiled once, inherited by forked workers
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    scanned = done = files = 0

    def collect(results: Iterable[tuple[list[Finding], list[Skipped], int, int]]) -> None:
        nonlocal scanned, done, files
        for batch, (found, missed, nbytes, nfiles) in zip(batches, results, strict=True):
            findings.extend(found)
            skipped.extend(missed)
            scanned += nbytes
            files += nfiles
            done += sum(t.size for t in batch)
            if progress:
                progress(done, total)

    if parallel:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("fork")) as pool:
            collect(
                pool.map(
                    _scan_targets,
                    batches,
                    [options.include_examples] * len(batches),
                    [options.engine] * len(batches),
                )
            )
        used_jobs = jobs
    else:
        collect(_scan_targets(b, options.include_examples, options.engine) for b in batches)
        used_jobs = 1
    return findings, skipped, scanned, files, used_jobs


def _scan_staged(detector: Detector) -> tuple[list[Finding], list[Skipped], int, int]:
    root = work_tree_root(os.getcwd())
    if root is None:
        raise GitError("--staged needs to run inside a git work tree")
    blobs = staged_blobs(root)
    paths = dict((blob, path) for path, blob in blobs)
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    scanned = files = 0
    for blob, content in read_blobs(root, [blob for _, blob in blobs]):
        try:
            findings.extend(_scan_stream(detector, io.BytesIO(content), paths[blob], source="staged"))
            scanned += len(content)
            files += 1
        except NotText as reason:
            skipped.append(Skipped(paths[blob], str(reason)))
    return findings, skipped, scanned, files


def scan(options: ScanOptions, progress: Progress | None = None) -> ScanResult:
    """Scans what `options` names. Raises GitError for --staged outside a repository."""
    started = time.perf_counter()
    detector = _detector(options.include_examples, options.engine)
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    scanned_bytes = files = 0
    jobs = 1
    if options.staged:
        found, missed, scanned_bytes, files = _scan_staged(detector)
        findings += found
        skipped += missed
    if STDIN in options.paths:
        stream = options.stdin or sys.stdin.buffer
        try:
            findings += _scan_stream(detector, stream, STDIN, local_only=True, source="stdin")
            files += 1
        except NotText as reason:
            skipped.append(Skipped(STDIN, str(reason)))
    if options.paths and options.paths != [STDIN]:
        targets, missed = _collect_targets(options)
        skipped += missed
        found, missed, nbytes, nfiles, jobs = _scan_files(targets, options, progress)
        findings += found
        skipped += missed
        scanned_bytes += nbytes
        files += nfiles
    findings.sort(key=Finding.sort_key)
    stats = {
        "files_scanned": files,
        "bytes_scanned": scanned_bytes,
        "skipped": len(skipped),
        "findings": len(findings),
        "duration_seconds": round(time.perf_counter() - started, 3),
        "engine": detector.engine.name,
        "rules": len(detector.rules),
        "jobs": jobs,
    }
    return ScanResult(findings, skipped, stats)
