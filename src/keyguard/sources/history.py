"""Git history: every blob reachable from any ref, each unique blob once, attributed only when it matters.

Enumeration is `git rev-list --objects --all --filter=object:type=blob --missing=print` (blob ids with
the path they were first seen at; missing objects of partial clones are reported, not fatal), content
comes from `git cat-file --batch`. Only blobs with findings are attributed to the commit that first
introduced them (`git log --find-object`), as Nosey Parker and Kingfisher do.

Nothing here drops a problem silently: a broken ref, a walk that stops early, an object that cannot be
read are handed back to the caller (`problems`, `unreadable`, `repository_problems`) and the rest is
still read. A repository whose HEAD git refuses (missing or garbage) is opened through a stand-in git
directory that shares its objects and refs, so its branches and tags are still scanned.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from keyguard.sources.gitrepo import GitError, _git

SHALLOW = "shallow: history before the graft is not scanned"
# git's own test for a HEAD it will open (validate_headref): a symbolic ref under refs/, or a commit id.
_VALID_HEAD = re.compile(rb"ref:\s*refs/|[0-9a-fA-F]{40}")
_BAD_OBJECT = re.compile(r"fatal: bad object (HEAD|refs/\S+)$")
_OBJECT_ID = re.compile(r"\b[0-9a-f]{40}(?:[0-9a-f]{24})?\b")
_MAX_BROKEN_REFS = 100  # rev-list retries, one broken ref left out each time
_MAX_FRUITLESS_RESTARTS = 32  # cat-file deaths in a row without one object read: git itself is failing
_MAX_REPORTED_ERRORS = 5
_STAND_INS: dict[str, str] = {}


class UnknownRevision(GitError):
    """--since names nothing in the repository."""


def verify_revision(repo: str, revision: str) -> None:
    try:
        _git_in(repo, ["rev-parse", "--verify", "-q", f"{revision}^{{commit}}"])
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


@dataclass(frozen=True)
class _RefusedHead:
    git_dir: str
    common_dir: str  # where the objects and refs are: the git dir, or the main one for a linked worktree
    reason: str


def _own_git_dir(path: Path) -> Path | None:
    """`path`/.git (a directory, or a file naming one), or `path` itself when it is laid out as a bare repository."""
    dot = path / ".git"
    if dot.is_dir():
        return dot
    if dot.is_file():
        with contextlib.suppress(OSError, UnicodeDecodeError):
            text = dot.read_text().strip()
            if text.startswith("gitdir:"):
                return path / text.removeprefix("gitdir:").strip()
        return None
    return path if (path / "HEAD").exists() or (path / "HEAD").is_symlink() else None


def _common_dir(git_dir: Path) -> Path:
    with contextlib.suppress(OSError, UnicodeDecodeError):
        return git_dir / (git_dir / "commondir").read_text().strip()
    return git_dir


def _head_fault(head: Path) -> str | None:
    """Why git would refuse this HEAD, or None when it would accept it."""
    try:
        if head.is_symlink():
            return None if os.readlink(head).startswith("refs/") else "HEAD is a symlink outside refs/"
        text = head.read_bytes()[:255]
    except FileNotFoundError:
        return "HEAD is missing"
    except OSError as error:
        return f"HEAD is unreadable ({error.strerror or error})"
    return None if _VALID_HEAD.match(text) else "HEAD is garbage (neither a ref nor a commit id)"


def _refused_head(path: str | Path) -> _RefusedHead | None:
    """The repository at `path` when git will not open it because of its HEAD (git checks HEAD before all else)."""
    own = _own_git_dir(Path(path))
    if own is None:
        return None
    common = _common_dir(own)
    if not ((common / "objects").is_dir() and (common / "refs").is_dir()):
        return None
    fault = _head_fault(own / "HEAD")
    if fault is None:
        return None
    reason = f"{fault}: git refuses the repository, so its refs are read without HEAD"
    return _RefusedHead(os.path.realpath(own), os.path.realpath(common), reason)


def _stand_in(common_dir: str) -> str:
    """A git directory of our own sharing `common_dir`'s objects and refs, with an unborn HEAD of its own."""
    if common_dir not in _STAND_INS:
        directory = tempfile.mkdtemp(prefix="keyguard-git-")
        Path(directory, "commondir").write_text(common_dir + "\n")
        Path(directory, "HEAD").write_text("ref: refs/heads/.invalid\n")  # a branch name git forbids: never born
        atexit.register(shutil.rmtree, directory, True)
        _STAND_INS[common_dir] = directory
    return _STAND_INS[common_dir]


def _command(repo: str | Path) -> list[str]:
    """`git` with what it takes to open `repo`, including a repository whose HEAD git refuses."""
    refused = _refused_head(repo)
    return ["git", f"--git-dir={_stand_in(refused.common_dir)}"] if refused else ["git"]


def _git_in(repo: str | Path, args: list[str]) -> bytes:
    return _git([*_command(repo)[1:], *args], repo)


def _run(repo: str | Path, args: list[str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*_command(repo), *args], cwd=repo, capture_output=True, check=False)


def git_dir(path: str | Path) -> str | None:
    """The repository's git directory when `path` is a work tree or a bare repository, else None.

    A repository whose HEAD git refuses is still one: its git directory is returned."""
    try:
        out = _git(["rev-parse", "--absolute-git-dir"], path)
    except GitError:
        found = None
    else:
        found = out.decode("utf-8", "surrogateescape").strip() or None
    refused = _refused_head(path)
    if refused and (found is None or os.path.realpath(found) != refused.git_dir):
        return refused.git_dir  # git skipped it (and may have found an enclosing repository instead)
    return found


def has_commits(repo: str) -> bool:
    try:
        _git_in(repo, ["rev-parse", "--verify", "-q", "HEAD^{commit}"])
    except GitError:
        return bool(_git_in(repo, ["for-each-ref", "--count=1", "--format=%(refname)"]).strip())
    return True


def repository_problems(repo: str) -> list[str]:
    """What a history scan of `repo` will not cover, known before it starts (HEAD, shallow clone).

    One git call for a sound repository, at most four when HEAD is broken."""
    refused = _refused_head(repo)
    done = _run(repo, ["rev-parse", "--is-shallow-repository", "--verify", "-q", "HEAD^{commit}"])
    lines = done.stdout.decode("utf-8", "replace").splitlines()
    if done.returncode not in (0, 1) or not lines:  # rev-parse -q --verify fails with 1; 128 is no repository
        return [f"not a readable git repository: {_bare(_last_line(done.stderr)) or f'git exit {done.returncode}'}"]
    problems = [refused.reason] if refused else []
    if done.returncode != 0 and not refused:
        problems += _head_problems(repo)
    if lines[0] == "true":
        problems.append(SHALLOW)
    return problems


def _head_problems(repo: str) -> list[str]:
    """Why a HEAD that git accepts names no commit; nothing for a new repository without commits."""
    target = _run(repo, ["symbolic-ref", "-q", "HEAD"])
    if target.returncode != 0:  # detached
        oid = _run(repo, ["rev-parse", "-q", "--verify", "HEAD"]).stdout.decode("utf-8", "replace").strip()
        return [f"HEAD names {oid or 'an object'}, which is not a readable commit: it is not scanned"]
    ref = target.stdout.decode("utf-8", "replace").strip()
    exists = _run(repo, ["show-ref", "--verify", "-q", ref]).returncode
    if exists != 1:  # 0: there but not a readable commit; 128: names a missing object
        return [f"HEAD points at {ref}, which names a missing or unreadable commit: it is not scanned"]
    if _run(repo, ["for-each-ref", "--count=1", "--format=%(refname)"]).stdout.strip():
        return [f"HEAD points at {ref}, which does not exist: the other refs are scanned"]
    return []


class _Stderr:
    """A child's stderr, collected while it runs (a full pipe would stall the child)."""

    LIMIT = 1 << 20

    def __init__(self, stream: IO[bytes]) -> None:
        self.data = bytearray()
        self.thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self.thread.start()

    def _drain(self, stream: IO[bytes]) -> None:
        with stream:
            while piece := stream.read1(1 << 16):  # type: ignore[attr-defined]
                if len(self.data) < self.LIMIT:
                    self.data += piece

    def lines(self) -> list[str]:
        self.thread.join(timeout=10)
        text = self.data.decode("utf-8", "replace")
        return [line.strip() for line in text.splitlines() if line.strip()]


def _last_line(stderr: bytes) -> str:
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    return lines[-1].strip() if lines else ""


def _bare(line: str) -> str:
    for prefix in ("fatal: ", "error: ", "warning: "):
        line = line.removeprefix(prefix)
    return line


def _distinct(lines: list[str]) -> list[str]:
    return list(dict.fromkeys(_bare(line) for line in lines))


def _broken_ref(errors: list[str], excluded: list[str]) -> str | None:
    """The ref a rev-list refused to start for (it names a missing or corrupt object), if one was newly named."""
    for line in errors:
        found = _BAD_OBJECT.match(line)
        if found and found[1] not in excluded and len(excluded) < _MAX_BROKEN_REFS:
            return found[1]
    return None


def _is_partial_clone(repo: str) -> bool:
    done = _run(repo, ["config", "--get-regexp", r"^(extensions\.partialclone|remote\..*\.promisor)$"])
    return bool(done.stdout.strip())


def iter_blobs(
    repo: str, since: str | None = None, missing: list[str] | None = None, problems: list[str] | None = None
) -> Iterator[Blob]:
    """Unique blobs reachable from all refs (branches, tags, remotes, stash), as `git rev-list` finds them,
    so scanning starts before the walk ends; with `since`, only new ones. Missing ids go to `missing`.

    With `problems`, what the walk could not cover is appended there and the walk goes on as far as it
    can: a ref naming a missing or corrupt object is left out (and named), a walk that stops midway keeps
    what it listed. GitError is raised when nothing could be walked, or, without `problems`, on any failure.
    """
    excluded: list[str] = []
    while True:
        args = ["rev-list", "--objects", *(f"--exclude={ref}" for ref in excluded), "--all"]
        args += ["--filter=object:type=blob", "--filter-provided-objects", "--missing=print"]
        if since:
            args += ["--not", since]
        proc = subprocess.Popen([*_command(repo), *args], cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout and proc.stderr
        stderr = _Stderr(proc.stderr)
        listed = absent = 0
        try:
            for raw in proc.stdout:
                listed += 1
                line = raw.decode("utf-8", "surrogateescape").rstrip("\n")
                if line.startswith("?"):
                    absent += 1
                    if missing is not None:
                        missing.append(line[1:].strip())
                    continue
                oid, _, path = line.partition(" ")
                if path:  # commits come without a path; the filter leaves no trees
                    yield Blob(oid, path)
        finally:  # also when the consumer stops early: rev-list then dies of a closed pipe, which is no fault
            proc.stdout.close()
            code = proc.wait()
        errors = stderr.lines()
        broken = _broken_ref(errors, excluded) if code and not listed else None
        if broken is None or problems is None:
            break
        excluded.append(broken)
        problems.append(f"ref {broken} names a missing or corrupt object: its history is not scanned")
    _walk_done(repo, code, listed, absent, errors, problems)


def _walk_done(repo: str, code: int, listed: int, absent: int, errors: list[str], problems: list[str] | None) -> None:
    stated = _distinct([line for line in errors if line.startswith(("error:", "fatal:"))])
    if code:
        reason = "; ".join(stated[-2:]) or f"git rev-list exit {code}"
        if problems is None or not listed:
            raise GitError(reason)
        problems.append(f"git rev-list stopped early ({reason}): the history beyond is not listed")
    elif problems is not None:
        problems += [f"git rev-list: {line}" for line in stated[:_MAX_REPORTED_ERRORS]]
        if len(stated) > _MAX_REPORTED_ERRORS:
            problems.append(f"git rev-list: {len(stated) - _MAX_REPORTED_ERRORS} more errors")
    if problems is not None and absent and not _is_partial_clone(repo):
        problems.append(
            f"objects missing ({absent}) though this is no partial clone: the object store is damaged"
            " (see git fsck) and what lies under a missing tree is not listed"
        )


def list_blobs(repo: str, since: str | None = None) -> HistoryListing:
    missing: list[str] = []
    blobs = list(iter_blobs(repo, since, missing))
    return HistoryListing(blobs, missing)


def read_blob_contents(
    repo: str, oids: list[str], max_bytes: int, unreadable: list[tuple[str, str]] | None = None
) -> Iterator[tuple[str, bytes | None, int]]:
    """(oid, content, size) for each blob, through `git cat-file --batch`; content is None past max_bytes.

    An object that cannot be read, (oid, reason), goes to `unreadable`: missing, corrupt (cat-file then
    says why on stderr), or the one cat-file died on; cat-file is then restarted for the oids after it.
    The output is read in large pieces and parsed here: per-object reads would cost more than the scan.
    """
    start = fruitless = 0
    while start < len(oids):
        batch = _CatFile(repo, oids[start:])
        try:
            yield from batch.read(max_bytes)
        finally:
            batch.close()
        lost = batch.lost()
        if unreadable is not None:
            unreadable += lost
        start += batch.answered + batch.died  # past the object it died on
        fruitless = 0 if batch.answered else fruitless + 1
        if fruitless == _MAX_FRUITLESS_RESTARTS and start < len(oids):
            if unreadable is not None:
                reason = f"not read: git cat-file failed {fruitless} times in a row, last: {lost[-1][1]}"
                unreadable += [(oid, reason) for oid in oids[start:]]
            return


class _CatFile:
    """One `git cat-file --batch` over `oids`, answered in order until it ends or dies."""

    def __init__(self, repo: str, oids: list[str]) -> None:
        self.oids = oids
        self.answered = 0
        self.absent: list[str] = []
        self.died = False
        self.proc = subprocess.Popen(
            [*_command(repo), "cat-file", "--batch"],
            cwd=repo,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.stderr = _Stderr(self.proc.stderr)  # type: ignore[arg-type]
        self.feeder = threading.Thread(target=self._feed, daemon=True)
        self.feeder.start()

    def _feed(self) -> None:
        with contextlib.suppress(OSError):  # cat-file stopped early
            self.proc.stdin.write(b"".join(oid.encode() + b"\n" for oid in self.oids))  # type: ignore[union-attr]
            self.proc.stdin.close()  # type: ignore[union-attr]

    def read(self, max_bytes: int) -> Iterator[tuple[str, bytes | None, int]]:
        reader = _PieceReader(self.proc.stdout.fileno())  # type: ignore[union-attr]
        for oid in self.oids:
            header = reader.line()
            if header is None:  # it died before answering this one
                break
            parts = header.split()
            if len(parts) != 3 or not parts[2].isdigit():  # "<oid> missing"
                self.absent.append(oid)
                self.answered += 1
                continue
            size = int(parts[2])
            if size > max_bytes:  # passed over in pieces: a huge blob never sits in memory
                if not reader.skip(size + 1):
                    break
                self.answered += 1
                yield oid, None, size
                continue
            content = reader.take(size + 1)
            if content is None:  # it died while streaming this one
                break
            self.answered += 1
            yield oid, content[:-1], size
        self.died = self.answered < len(self.oids)

    def close(self) -> None:
        self.proc.stdout.close()  # type: ignore[union-attr]
        if not self.died:  # done, or the consumer stopped: cat-file may still be running
            self.proc.kill()
        self.proc.wait()
        self.feeder.join(timeout=5)

    def lost(self) -> list[tuple[str, str]]:
        """(oid, reason) for the objects not read: those answered missing, and the one it died on."""
        said: dict[str, list[str]] = {}
        for line in self.stderr.lines():
            for oid in set(_OBJECT_ID.findall(line)):
                said.setdefault(oid, []).append(_bare(line))
        lost = [(oid, _why(said.get(oid), "missing")) for oid in self.absent]
        if self.died:
            oid = self.oids[self.answered]
            stopped = _bare(_last_line(bytes(self.stderr.data))) or f"exit {self.proc.returncode}"
            lost.append((oid, _why(said.get(oid), f"unreadable: git cat-file stopped ({stopped})")))
        return lost


def _why(said: list[str] | None, otherwise: str) -> str:
    return "corrupt: " + "; ".join(dict.fromkeys(said)) if said else otherwise


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
            piece = os.read(self.fd, max(self.PIECE, min(need, 16 * self.PIECE)))  # never one huge allocation
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

    def skip(self, size: int) -> bool:
        """Passes over `size` bytes, holding at most one piece; False at the end of the stream."""
        while size > 0:
            held = len(self.buffer) - self.position
            if held >= size:
                self.position += size
                return True
            size -= held
            del self.buffer[:]
            self.position = 0
            if not self._fill(min(size, self.PIECE)):
                return False
        return True

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
    proc = subprocess.Popen([*_command(repo), *args], cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
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
        [*_command(repo), "diff-tree", "--stdin", "-r", "-M", "-C", "--raw", "--no-abbrev"],
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
        out = _git_in(repo, ["ls-tree", "-r", "-z", "HEAD"])
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
    if (
        not candidates
        or not _git_in(repo, ["for-each-ref", "--count=1", "--format=%(refname)", "refs/remotes"]).strip()
    ):
        return set()
    excluded: list[str] = []  # remote refs naming a missing object: iter_blobs reports them
    while True:
        selection = [*(f"--exclude={ref}" for ref in excluded), "--remotes"]
        try:
            out = _git_in(
                repo, ["rev-list", "--objects", *selection, "--filter=object:type=blob", "--missing=allow-any"]
            )
        except GitError as error:
            broken = _broken_ref([str(error)], excluded)
            if broken is None:
                raise
            excluded.append(broken)
        else:
            return {line.split(" ", 1)[0] for line in out.decode("utf-8", "replace").splitlines()} & candidates


def has_remote(repo: str) -> bool:
    return bool(_git_in(repo, ["remote"]).strip())
