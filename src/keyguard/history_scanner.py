"""Scans a repository's whole history: unique blobs in parallel, then attribution for those with findings."""

from __future__ import annotations

import io
import itertools
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import TYPE_CHECKING

from keyguard.detect.findings import Finding, raised
from keyguard.sources import history
from keyguard.sources.base import Skipped
from keyguard.sources.filesystem import DEPENDENCY_DIRS, exclusion_matcher
from keyguard.sources.reading import ARCHIVE, NotText, text_chunks

if TYPE_CHECKING:
    from keyguard.scanner import ScanOptions, Tally

# Larger blobs are listed as skipped: history scanning reads blobs whole.
MAX_BLOB_BYTES = 64 * 1024 * 1024
PARALLEL_MIN_BLOBS = 2000
BATCH_BLOBS = 4000  # one `git cat-file --batch` per batch


def _batched(items: Iterable[history.Blob], size: int) -> Iterator[list[history.Blob]]:
    items = iter(items)
    while batch := list(itertools.islice(items, size)):
        yield batch


def is_repository_root(path: str) -> str | None:
    """The git directory when `path` is a work tree's top or a bare repository, else None."""
    if not os.path.isdir(path):
        return None
    git_dir = history.git_dir(path)
    if git_dir is None:
        return None
    real = os.path.realpath(path)
    if os.path.realpath(git_dir) == real or os.path.dirname(os.path.realpath(git_dir)) == real:
        return git_dir
    return None


def is_bare_repository(path: str) -> bool:
    git_dir = is_repository_root(path)
    return git_dir is not None and os.path.realpath(git_dir) == os.path.realpath(path)


def _wanted(blob: history.Blob, options: ScanOptions) -> bool:
    if options.exclude and exclusion_matcher(options.exclude)(blob.path):
        return False
    if options.include_deps:
        return True
    return not any(part in DEPENDENCY_DIRS for part in blob.path.split("/")[:-1])


def _scan_blobs(repo: str, blobs: list[history.Blob], include_examples: bool, engine: str) -> Tally:
    from keyguard.scanner import Tally, _detector, scan_archive

    detector = _detector(include_examples, engine)
    paths = {b.oid: b.path for b in blobs}
    tally = Tally()
    for oid, content, size in history.read_blob_contents(repo, list(paths), MAX_BLOB_BYTES):
        shown = f"{paths[oid]} (blob {oid[:12]})"
        if content is None:
            tally.skipped.append(Skipped(shown, f"blob larger than {MAX_BLOB_BYTES // (1 << 20)} MiB"))
            continue
        try:
            found = detector.scan_file(
                text_chunks(content), paths[oid], source="git", blob=oid, local_only=False, exposure="committed"
            )
        except NotText as reason:
            if str(reason) == ARCHIVE:  # binary blobs are routine in history and not listed
                tally.add(
                    scan_archive(
                        detector,
                        io.BytesIO(content),
                        paths[oid],
                        source="git",
                        blob=oid,
                        local_only=False,
                        exposure="committed",
                    )
                )
            continue
        tally.findings += found
        tally.bytes_scanned += size
        tally.files_scanned += 1
    return tally


def scan_history(repo: str, options: ScanOptions) -> Tally:
    from keyguard.scanner import Tally, _detector

    if not history.has_commits(repo):
        return Tally()
    if options.since:
        history.verify_revision(repo, options.since)
    missing: list[str] = []
    blobs = (b for b in history.iter_blobs(repo, options.since, missing) if _wanted(b, options))
    tally = Tally()
    jobs = options.jobs or os.cpu_count() or 1
    _detector(options.include_examples, options.engine)
    first = list(itertools.islice(blobs, PARALLEL_MIN_BLOBS))
    if jobs > 1 and len(first) == PARALLEL_MIN_BLOBS:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("fork")) as pool:
            pending = []
            for batch in _batched(itertools.chain(first, blobs), BATCH_BLOBS):  # submitted while rev-list walks
                pending.append(pool.submit(_scan_blobs, repo, batch, options.include_examples, options.engine))
            for future in pending:
                tally.add(future.result())
    else:
        tally.add(_scan_blobs(repo, first, options.include_examples, options.engine))
    tally.skipped += [Skipped(f"{repo}: object {oid}", "missing (partial or shallow clone)") for oid in missing]
    _attribute(repo, tally.findings)
    return tally


def _attribute(repo: str, findings: list[Finding]) -> None:
    """Commit, author, date, presence at HEAD and exposure, for blobs with findings only."""
    if not findings:
        return
    in_head_blobs = history.head_blobs(repo)
    secrets_at_head = {f.secret_sha256 for f in findings if f.blob in in_head_blobs}
    blobs = {f.blob for f in findings if f.blob}
    pushed = history.pushed_blobs(repo, blobs)
    remote = history.has_remote(repo)
    introductions = history.introductions(repo, {f.blob: f.path.split("!")[0] for f in findings if f.blob})
    for finding in findings:
        first = introductions.get(finding.blob or "")
        if first:
            finding.commit, finding.author, finding.commit_date = first.commit, first.author, first.date
            if first.path and "!" not in finding.path:  # archive members keep their member path
                finding.path = first.path
        finding.in_head = finding.secret_sha256 in secrets_at_head
        if finding.blob in pushed or (finding.in_head and remote):
            finding.exposure = "pushed" if finding.blob in pushed else "committed"
            finding.severity = raised(finding.severity)
