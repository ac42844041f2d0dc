"""A repository's whole history as a Source: each unique blob reachable from any ref, once.

Blobs whose content was already matched in this scan (a file at HEAD read from the work tree) are not
read again: they are listed in `reused` so the pipeline places the earlier matches at them.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator, Sequence
from typing import Any

from keyguard.model import Blob, Provenance, Skipped
from keyguard.sources import history
from keyguard.sources.base import Source
from keyguard.sources.files import shown_path
from keyguard.sources.filesystem import DEPENDENCY_DIRS, exclusion_matcher

# Larger blobs are listed as skipped: history scanning reads blobs whole.
MAX_BLOB_BYTES = 64 * 1024 * 1024
BATCH_BLOBS = 1000  # one `git cat-file --batch` per batch; small enough that a 3,500-blob history is 4 tasks


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


class HistorySource(Source):
    def __init__(
        self,
        repo: str,
        since: str | None = None,
        exclude: Sequence[str] = (),
        include_deps: bool = False,
        seen: Collection[str] = (),
    ) -> None:
        self.repo = repo
        self.since = since
        self.include_deps = include_deps
        self.exclude = list(exclude)
        self.seen = seen  # content ids already matched in this scan
        self.reused: list[history.Blob] = []
        self.missing: list[str] = []
        self.listed = 0

    def __getstate__(self) -> dict[str, Any]:
        """Workers need only where to read: not the scan-wide sets."""
        return {**self.__dict__, "seen": (), "reused": [], "missing": []}

    def _wanted(self, blob: history.Blob, excluded: Any) -> bool:
        if excluded(blob.path):
            return False
        return self.include_deps or not any(part in DEPENDENCY_DIRS for part in blob.path.split("/")[:-1])

    def units(self, skipped: list[Skipped]) -> Iterator[list[history.Blob]]:
        if self.since:
            history.verify_revision(self.repo, self.since)
        if not history.has_commits(self.repo):
            return
        excluded = exclusion_matcher(self.exclude)
        problems: list[str] = []
        fresh = []
        for blob in history.iter_blobs(self.repo, self.since, self.missing, problems):
            if not self._wanted(blob, excluded):
                continue
            self.listed += 1
            if blob.oid in self.seen:
                self.reused.append(blob)
            else:
                fresh.append(blob)
                if len(fresh) == BATCH_BLOBS:  # handed out while rev-list still walks
                    yield fresh
                    fresh = []
        if fresh:
            yield fresh
        skipped += [Skipped(f"{self.repo}: object {oid}", "missing (partial or shallow clone)") for oid in self.missing]
        skipped += [Skipped(self.repo, problem) for problem in problems]

    def blobs(self, unit: list[history.Blob]) -> Iterator[Blob | Skipped]:
        paths = {blob.oid: blob.path for blob in unit}
        unreadable: list[tuple[str, str]] = []
        for oid, content, _size in history.read_blob_contents(self.repo, list(paths), MAX_BLOB_BYTES, unreadable):
            path = shown_path(paths[oid])
            if content is None:
                yield Skipped(f"{path} (blob {oid[:12]})", f"blob larger than {MAX_BLOB_BYTES // (1 << 20)} MiB")
                continue
            yield Blob(Provenance("git", path, "git", exposure="committed", blob=oid), data=content)
        for oid, reason in unreadable:
            yield Skipped(f"{self.repo}: object {oid}", f"{reason} (a version of {shown_path(paths.get(oid, '?'))})")

    def weight(self, unit: list[history.Blob]) -> int:
        return len(unit) * 4096  # sizes are unknown until read: a typical source file
