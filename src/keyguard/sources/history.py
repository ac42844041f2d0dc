"""Git history: every blob reachable from any ref, each unique blob once, attributed only when it matters.

Enumeration is `git rev-list --objects --all --filter=object:type=blob --missing=print` (blob ids with
the path they were first seen at; missing objects of partial clones are reported, not fatal), content
comes from `git cat-file --batch`. Only blobs with findings are attributed to the commit that first
introduced them (`git log --find-object`), as Nosey Parker and Kingfisher do.
"""

from __future__ import annotations

import contextlib
import os
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


def iter_blobs(repo: str, since: str | None = None, missing: list[str] | None = None) -> Iterator[Blob]:
    """Unique blobs reachable from all refs (branches, tags, remotes, stash), as `git rev-list` finds them,
    so scanning starts before the walk ends; with `since`, only new ones. Missing ids go to `missing`."""
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
    proc = subprocess.Popen(["git", *args], cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout and proc.stderr
    try:
        for raw in proc.stdout:
            line = raw.decode("utf-8", "surrogateescape").rstrip("\n")
            if line.startswith("?"):
                if missing is not None:
                    missing.append(line[1:].strip())
                continue
            oid, _, path = line.partition(" ")
            if path:  # commits come without a path; the filter leaves no trees
                yield Blob(oid, path)
        error = proc.stderr.read().decode("utf-8", "replace").strip()
    finally:
        proc.stdout.close()
        if proc.wait() != 0 and proc.returncode > 0:
            raise GitError(error.splitlines()[-1] if error else "git rev-list failed")


def list_blobs(repo: str, since: str | None = None) -> HistoryListing:
    missing: list[str] = []
    blobs = list(iter_blobs(repo, since, missing))
    return HistoryListing(blobs, missing)


def read_blob_contents(repo: str, oids: list[str], max_bytes: int) -> Iterator[tuple[str, bytes | None, int]]:
    """(oid, content, size) for each blob, through one `git cat-file --batch`; content is None past max_bytes.

    The output is read in large pieces and parsed here: per-object reads would cost more than the scan.
    """
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

    def feed() -> None:
        with contextlib.suppress(OSError):  # the reader stopped early
            proc.stdin.write(b"".join(oid.encode() + b"\n" for oid in oids))  # type: ignore[union-attr]
            proc.stdin.close()  # type: ignore[union-attr]

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    reader = _PieceReader(proc.stdout.fileno())
    try:
        for _ in oids:
            header = reader.line()
            if header is None:
                break
            parts = header.split()
            if len(parts) < 3 or parts[1] == b"missing":
                continue
            size = int(parts[2])
            content = reader.take(size + 1)
            if content is None:
                break
            yield parts[0].decode(), (content[:-1] if size <= max_bytes else None), size
    finally:
        proc.stdout.close()
        proc.kill()
        proc.wait()
        feeder.join(timeout=5)


class _PieceReader:
    PIECE = 1 << 20

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = bytearray()
        self.position = 0

    def _fill(self, need: int) -> bool:
        if self.position > 4 * self.PIECE:  # drop what was consumed
            del self.buffer[: self.position]
            self.position = 0
        while len(self.buffer) - self.position < need:
            piece = os.read(self.fd, max(self.PIECE, need))
            if not piece:
                return False
            self.buffer += piece
        return True

    def line(self) -> bytes | None:
        while True:
            end = self.buffer.find(b"\n", self.position)
            if end != -1:
                line = bytes(self.buffer[self.position : end])
                self.position = end + 1
                return line
            if not self._fill(len(self.buffer) - self.position + 1):
                return None

    def take(self, size: int) -> bytes | None:
        if not self._fill(size):
            return None
        data = bytes(self.buffer[self.position : self.position + size])
        self.position += size
        return data


def _raw_log(repo: str, paths: list[str] | None = None) -> Iterator[tuple[Introduction | None, bytes, bytes]]:
    """(commit, blob id, path) for each blob a commit adds or changes, oldest commit first."""
    args = ["log", "--all", "--reverse", "--raw", "--no-abbrev", "--no-renames", "--format=%x00%H%x00%an <%ae>%x00%aI"]
    if paths:
        args += ["--", *(f":(literal){path}" for path in paths)]
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


def introductions(repo: str, blobs: dict[str, str]) -> dict[str, Introduction]:
    """The first commit (in history order) that adds each blob (oid -> a path it was seen at).

    A `git log --raw` limited to those paths finds them cheaply; a blob that arrived there by a move
    was first added somewhere else, so those are looked for again in one full pass.
    """
    found: dict[str, Introduction] = {}
    wanted = {oid.encode() for oid in blobs}
    for commit, blob, path in _raw_log(repo, sorted(set(blobs.values()))) if wanted else ():
        if blob in wanted and commit is not None:
            found[blob.decode()] = _introduced(commit, path)
            wanted.discard(blob)
            if not wanted:
                break
    moved = _moved_in(repo, found) | {oid.decode() for oid in wanted}
    for oid in moved:
        found.pop(oid, None)
    wanted = {oid.encode() for oid in moved}
    for commit, blob, path in _raw_log(repo) if wanted else ():
        if blob in wanted and commit is not None:
            found[blob.decode()] = _introduced(commit, path)
            wanted.discard(blob)
            if not wanted:
                break
    return found


def _moved_in(repo: str, found: dict[str, Introduction]) -> set[str]:
    """Blobs that their introducing commit renamed or copied from another path (rename detection on)."""
    if not found:
        return set()
    commits = sorted({intro.commit for intro in found.values()})
    done = subprocess.run(
        ["git", "diff-tree", "--stdin", "-r", "-M", "-C", "--raw", "--no-abbrev"],
        cwd=repo,
        input="\n".join(commits).encode() + b"\n",
        capture_output=True,
        check=False,
    )
    moved = set()
    for line in done.stdout.splitlines():
        if line.startswith(b":"):
            meta = line.split(b"\t", 1)[0].split(b" ")
            if meta[4][:1] in (b"R", b"C") and meta[3].decode() in found:
                moved.add(meta[3].decode())
    return moved


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
