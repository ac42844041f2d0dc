"""Runs a scan: collects targets from the sources, scans them in parallel, returns findings."""

from __future__ import annotations

import itertools
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from multiprocessing import get_context
from typing import Any, BinaryIO

from keyguard.detect.detector import Chunk, Detector
from keyguard.detect.engine import build_engine
from keyguard.detect.findings import SEVERITIES, Finding
from keyguard.history_scanner import is_bare_repository, is_repository_root, scan_history
from keyguard.rules import load_chat_rules, load_rules
from keyguard.sources.archives import iter_archive
from keyguard.sources.base import FileTarget, Skipped
from keyguard.sources.chat import MAX_CHAT_FILE_BYTES, chat_platform, iter_messages
from keyguard.sources.filesystem import display_path, walk
from keyguard.sources.gitrepo import GitError, read_blobs, staged_blobs, work_tree_root
from keyguard.sources.history import UnknownRevision
from keyguard.sources.reading import ARCHIVE, NotText, iter_chunks, text_chunks

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


@dataclass
class Tally:
    """What a piece of the scan found, skipped and read."""

    findings: list[Finding] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    bytes_scanned: int = 0
    files_scanned: int = 0

    def add(self, other: Tally) -> None:
        self.findings += other.findings
        self.skipped += other.skipped
        self.bytes_scanned += other.bytes_scanned
        self.files_scanned += other.files_scanned


@cache
def _chat_detector(include_examples: bool, engine: str) -> Detector:
    rules = load_chat_rules()
    return Detector(rules, build_engine(rules, engine), include_examples=include_examples)


def scan_chat(detector: Detector, data: bytes, display: str, platform: str, **fields: object) -> list[Finding]:
    """Findings in each message of a chat export, located by message and by line in the file."""
    findings: list[Finding] = []
    for message in iter_messages(display, data, platform):
        text = message.text.encode("utf-8", "replace")
        for finding in detector.scan_file([Chunk(text)], display, **fields):
            needle = text[finding.offset : finding.offset + 24]
            position = data.find(needle)
            if position >= 0:
                finding.line = finding.end_line = data.count(b"\n", 0, position) + 1
                finding.column = position - data.rfind(b"\n", 0, position)
            finding.offset = max(position, 0)
            finding.message = message.location()
            findings.append(finding)
    return findings


def _try_chat(target: FileTarget, include_examples: bool, engine: str) -> Tally | None:
    """A chat export scanned message by message, or None when the file is not one (or not valid JSON)."""
    if not target.path.endswith(".json") or target.size > MAX_CHAT_FILE_BYTES:
        return None
    with open(target.path, "rb") as stream:
        head = stream.read(4096)
        platform = chat_platform(target.path, head)
        if platform is None:
            return None
        data = head + stream.read()
    try:
        found = scan_chat(
            _chat_detector(include_examples, engine), data, target.display, platform, local_only=target.local_only
        )
    except (ValueError, TypeError, AttributeError, KeyError):
        return None  # not the JSON it looked like, or of other shapes than the platform's: scanned as text
    return Tally(findings=found, bytes_scanned=len(data), files_scanned=1)


def _scan_targets(batch: list[FileTarget], include_examples: bool, engine: str) -> Tally:
    detector = _detector(include_examples, engine)
    tally = Tally()
    for target in batch:
        try:
            chat = _try_chat(target, include_examples, engine)
            if chat is not None:
                tally.add(chat)
                continue
            with open(target.path, "rb", buffering=0) as stream:
                found = _scan_stream(detector, stream, target.display, target.size, local_only=target.local_only)
            tally.findings += found
            tally.bytes_scanned += target.size
            tally.files_scanned += 1
        except NotText as reason:
            if str(reason) == ARCHIVE:
                with open(target.path, "rb") as stream:
                    tally.add(scan_archive(detector, stream, target.display, local_only=target.local_only))
            else:
                tally.skipped.append(Skipped(target.display, str(reason)))
        except OSError as error:
            tally.skipped.append(Skipped(target.display, f"unreadable: {error.strerror or error}"))
    return tally


def scan_archive(detector: Detector, stream: BinaryIO, display: str, **fields: object) -> Tally:
    """Findings in an archive's members, named `archive!member`; `fields` are set on each finding."""
    tally = Tally()
    for item in iter_archive(stream, display):
        if isinstance(item, Skipped):
            tally.skipped.append(item)
            continue
        try:
            tally.findings += detector.scan_file(text_chunks(item.data), item.display, **fields)
        except NotText:
            continue  # binary members are routine inside archives
        tally.bytes_scanned += len(item.data)
        tally.files_scanned += 1
    return tally


def _batches(targets: Iterable[FileTarget]) -> Iterator[list[FileTarget]]:
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


def _walk_targets(options: ScanOptions, skipped: list[Skipped]) -> Iterator[FileTarget]:
    """Each file to scan once (by device and inode), as the walk finds it; what it skips goes to `skipped`."""
    seen: set[tuple[int, int]] = set()
    for path in options.paths:
        if path == STDIN or is_bare_repository(path):  # a bare repository is all git internals
            continue
        for item in walk(path, options.exclude, options.include_deps):
            if isinstance(item, Skipped):
                skipped.append(item)
            elif item.identity not in seen:
                seen.add(item.identity)
                yield item


def _scan_files(targets: Iterator[FileTarget], options: ScanOptions, progress: Progress | None) -> tuple[Tally, int]:
    """Scans while the walk goes on; a process pool starts once there is enough work for one."""
    jobs = options.jobs or os.cpu_count() or 1
    _detector(options.include_examples, options.engine)  # compiled once, inherited by forked workers
    batches = _batches(targets)
    ahead: list[list[FileTarget]] = []
    for batch in batches:
        ahead.append(batch)
        files, size = sum(map(len, ahead)), sum(t.size for b in ahead for t in b)
        if files >= PARALLEL_MIN_FILES or size >= PARALLEL_MIN_BYTES:
            break
    parallel = jobs > 1 and len(ahead) > 1
    tally = Tally()
    done = total = 0

    def record(batch: list[FileTarget], result: Tally) -> None:
        nonlocal done
        tally.add(result)
        done += sum(t.size for t in batch)
        if progress:
            progress(done, max(total, done))

    every_batch = itertools.chain(ahead, batches)
    if not parallel:
        for batch in every_batch:
            total += sum(t.size for t in batch)
            record(batch, _scan_targets(batch, options.include_examples, options.engine))
        return tally, 1
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("fork")) as pool:
        submitted = []
        for batch in every_batch:
            total += sum(t.size for t in batch)
            submitted.append((batch, pool.submit(_scan_targets, batch, options.include_examples, options.engine)))
        for batch, future in submitted:
            record(batch, future.result())
    return tally, jobs


def _scan_staged(detector: Detector) -> Tally:
    root = work_tree_root(os.getcwd())
    if root is None:
        raise GitError("--staged needs to run inside a git work tree")
    blobs = staged_blobs(root)
    paths = dict((blob, path) for path, blob in blobs)
    tally = Tally()
    for blob, content in read_blobs(root, [blob for _, blob in blobs]):
        try:
            tally.findings += detector.scan_file(text_chunks(content), paths[blob], source="staged")
            tally.bytes_scanned += len(content)
            tally.files_scanned += 1
        except NotText as reason:
            tally.skipped.append(Skipped(paths[blob], str(reason)))
    return tally


def _merge_history(tally: Tally, found: Tally, shown_root: str) -> None:
    """Adds history findings; one that is also in the work tree annotates that finding instead."""
    in_tree = {(f.path, f.secret_sha256): f for f in tally.findings if f.source == "file"}
    for finding in found.findings:
        finding.path = finding.path if shown_root == "." else os.path.join(shown_root, finding.path)
        twin = in_tree.get((finding.path, finding.secret_sha256))
        if twin is None:
            tally.findings.append(finding)
            continue
        twin.commit, twin.commit_date, twin.author = finding.commit, finding.commit_date, finding.author
        twin.in_head, twin.blob, twin.exposure = finding.in_head, finding.blob, finding.exposure
        if SEVERITIES.index(finding.severity) < SEVERITIES.index(twin.severity):
            twin.severity = finding.severity
    tally.skipped += found.skipped
    tally.bytes_scanned += found.bytes_scanned
    tally.files_scanned += found.files_scanned


def scan(options: ScanOptions, progress: Progress | None = None) -> ScanResult:
    """Scans what `options` names. Raises GitError for --staged outside a repository."""
    started = time.perf_counter()
    detector = _detector(options.include_examples, options.engine)
    tally = Tally()
    jobs = 1
    if options.staged:
        tally.add(_scan_staged(detector))
    if STDIN in options.paths:
        stream = options.stdin or sys.stdin.buffer
        try:
            tally.findings += _scan_stream(detector, stream, STDIN, local_only=True, source="stdin")
            tally.files_scanned += 1
        except NotText as reason:
            tally.skipped.append(Skipped(STDIN, str(reason)))
    if any(path != STDIN for path in options.paths):
        walk_skipped: list[Skipped] = []
        files, jobs = _scan_files(_walk_targets(options, walk_skipped), options, progress)
        tally.skipped += walk_skipped
        tally.add(files)
    histories = []
    for path in options.paths if options.history else []:
        if path == STDIN or not os.path.isdir(path):
            continue
        shown = display_path(path)
        if not is_repository_root(path):
            histories.append({"path": shown, "status": "not the top of a git repository: files only"})
            continue
        try:
            found = scan_history(path, options)
        except UnknownRevision:
            raise
        except GitError as error:
            tally.skipped.append(Skipped(shown, f"git history unreadable: {error}"))
            histories.append({"path": shown, "status": "unreadable"})
            continue
        histories.append(
            {"path": shown, "status": "scanned", "blobs_scanned": found.files_scanned, "since": options.since}
        )
        _merge_history(tally, found, shown)
    tally.findings.sort(key=Finding.sort_key)
    verified_pairs = 0
    if options.verify:
        from keyguard.scan_verify import verify_findings

        verified_pairs = verify_findings(tally.findings, options.base_url)
    for finding in tally.findings if not options.keep_values else ():
        finding.value = None
    stats = {
        "files_scanned": tally.files_scanned,
        "bytes_scanned": tally.bytes_scanned,
        "skipped": len(tally.skipped),
        "findings": len(tally.findings),
        "duration_seconds": round(time.perf_counter() - started, 3),
        "engine": detector.engine.name,
        "rules": len(detector.rules),
        "jobs": jobs,
        "history": histories,
        "verified_pairs": verified_pairs,
    }
    return ScanResult(tally.findings, tally.skipped, stats)
