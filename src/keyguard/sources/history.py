"""Git history: every blob reachable from any ref, each unique blob once, attributed only when it matters.

Enumeration is `git rev-list --objects --all --filter=object:type=blob --missing=print` (blob ids with
the path they were first seen at; missing objects of partial clones are reported, not fatal), content
comes from `git cat-file --batch`. Only blobs with findings are attributed to the commit that first
introduced them (`git log --find-object`), as Nosey Parker and Kingfisher do.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from keyguard.sources.gitrepo import GitError, _git


class UnknownRevision(GitError):
    """--since names nothing in the repository."""


def verify_revision(repo: str, revision: str) -> None:
    try:
        _git(["rev-parse", "--verify", "-q", f"{revision}^{{commit}}"], repo)
    except GitError:
        raise UnknownRevision(f"--since {revision}: no such commit in {repo}") from None


@dataclass(frozen=True)
class Blob:
    oid: str
    path: str  # the path it was first seen at while walking history


@dataclass(frozen=True)
class Introduction:
    commit: str
    author: str
    date: str  # ISO 8601, the author date
    path: str = ""  # where that commit put the blob


@dataclass
class HistoryListing:
    blobs: list[Blob]
    missing: list[str]


def git_dir(path: str | Path) -> str | None:
    """The repository's git directory when `path` is a work tree or a bare repository, else None."""
    try:
        out = _git(["rev-parse", "--absolute-git-dir"], path)
    except GitError:
        return None
    return out.decode("utf-8", "surrogateescape").strip() or None


def has_commits(repo: str) -> bool:
    try:
        _git(["rev-parse", "--verify", "-q", "HEAD^{commit}"], repo)
    except GitError:
        return bool(_git(["for-each-ref", "--count=1"], repo).strip())
    return True


def list_blobs(repo: str, since: str | None = None) -> HistoryListing:
    """Unique blobs reachable from all refs (branches, tags, remotes, stash); with `since`, only new ones."""
    args = [
        "rev-list",
        "--objects",
        "--all",
        "--filter=object:type=blob",
        "--filter-provided-objects",
        "--missing=print",
    ]
    if since:
        args += ["--not", since]
    out = _git(args, repo).decode("utf-8", "surrogateescape")
    blobs: list[Blob] = []
    missing: list[str] = []
    for line in out.splitlines():
        if line.startswith("?"):
            missing.append(line[1:].strip())
            continue
        oid, _, path = line.partition(" ")
        if path:  # commits come without a path; the filter leaves no trees
            blobs.append(Blob(oid, path))
    return HistoryListing(blobs, missing)


def read_blob_contents(repo: str, oids: list[str], max_bytes: int) -> Iterator[tuple[str, bytes | None, int]]:
    """(oid, content, size) for each blob; content is None for blobs larger than `max_bytes`."""
    if not oids:
        return
    proc = subprocess.Popen(
        ["git", "cat-file", "--batch"],
        cwd=repo,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin and proc.stdout
    writer_error: list[BaseException] = []

    def feed() -> None:
        try:
            for oid in oids:
                proc.stdin.write(oid.encode() + b"\n")  # type: ignore[union-attr]
            proc.stdin.close()  # type: ignore[union-attr]
        except BaseException as error:  # noqa: BLE001 - reported by the reader
            writer_error.append(error)

    import threading

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        for _ in oids:
            header = proc.stdout.readline().split()
            if not header:
                break
            if len(header) < 3 or header[1] == b"missing":
                continue
            oid, size = header[0].decode(), int(header[2])
            if size > max_bytes:
                _discard(proc.stdout, size + 1)
                yield oid, None, size
                continue
            content = proc.stdout.read(size)
            proc.stdout.read(1)
            yield oid, content, size
    finally:
        proc.stdout.close()
        proc.wait()
        feeder.join(timeout=5)


def _discard(stream, size: int) -> None:
    while size > 0:
        size -= len(stream.read(min(size, 1 << 20)) or b"\0" * size)


def _raw_log(repo: str) -> Iterator[tuple[Introduction | None, bytes, bytes]]:
    """(commit, blob id, path) for each blob a commit adds or changes, oldest commit first."""
    args = ["log", "--all", "--reverse", "--raw", "--no-abbrev", "--no-renames", "--format=%x00%H%x00%an <%ae>%x00%aI"]
    proc = subprocess.Popen(["git", *args], cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout
    current: Introduction | None = None
    try:
        for raw in proc.stdout:
            if raw.startswith(b"\0"):
                commit, author, date = raw.decode("utf-8", "replace").strip("\0\n").split("\0")
                current = Introduction(commit, author, date)
            elif raw.startswith(b":"):
                meta, _, path = raw.rstrip(b"\n").partition(b"\t")
                yield current, meta.split(b" ", 4)[3], path
    finally:
        proc.stdout.close()
        proc.kill()
        proc.wait()


def _introduced(commit: Introduction, path: bytes) -> Introduction:
    return Introduction(commit.commit, commit.author, commit.date, path.decode("utf-8", "surrogateescape"))


def introductions(repo: str, oids: set[str]) -> dict[str, Introduction]:
    """The first commit (in history order) that adds each blob, from one `git log --raw` pass."""
    wanted = {oid.encode() for oid in oids}
    found: dict[str, Introduction] = {}
    for commit, blob, path in _raw_log(repo) if wanted else ():
        if blob in wanted and commit is not None and blob.decode() not in found:
            found[blob.decode()] = _introduced(commit, path)
            if len(found) == len(wanted):
                break
    return found


class IntroductionIndex(threading.Thread):
    """Indexes every blob's first commit while the blobs are being scanned, so attribution costs no
    extra pass afterwards. Past `limit` blobs it stops indexing and lookups fall back to a targeted pass."""

    def __init__(self, repo: str, limit: int = 500_000) -> None:
        super().__init__(daemon=True)
        self.repo = repo
        self.limit = limit
        self.overflow = False
        self._commits: list[Introduction] = []
        self._first: dict[bytes, tuple[int, bytes]] = {}

    def run(self) -> None:
        last: Introduction | None = None
        for commit, blob, path in _raw_log(self.repo):
            if commit is None:
                continue
            if commit is not last:
                self._commits.append(commit)
                last = commit
            if blob not in self._first:
                if len(self._first) >= self.limit:
                    self.overflow = True
                    return
                self._first[blob] = (len(self._commits) - 1, path)

    def lookup(self, oids: set[str]) -> dict[str, Introduction]:
        self.join()
        if self.overflow:
            return introductions(self.repo, oids)
        found = {}
        for oid in oids:
            entry = self._first.get(oid.encode())
            if entry is not None:
                found[oid] = _introduced(self._commits[entry[0]], entry[1])
        return found


def head_blobs(repo: str) -> set[str]:
    try:
        out = _git(["ls-tree", "-r", "-z", "HEAD"], repo)
    except GitError:
        return set()
    blobs = set()
    for entry in out.split(b"\0"):
        meta, _, _path = entry.partition(b"\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == b"blob":
            blobs.add(parts[2].decode())
    return blobs


def pushed_blobs(repo: str, candidates: set[str]) -> set[str]:
    """Which of `candidates` are reachable from a remote-tracking ref (already pushed somewhere)."""
    if not candidates or not _git(["for-each-ref", "--count=1", "refs/remotes"], repo).strip():
        return set()
    out = _git(["rev-list", "--objects", "--remotes", "--filter=object:type=blob", "--missing=allow-any"], repo)
    return {line.split(" ", 1)[0] for line in out.decode("utf-8", "replace").splitlines()} & candidates


def has_remote(repo: str) -> bool:
    return bool(_git(["remote"], repo).strip())
