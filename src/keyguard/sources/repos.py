"""The repositories of an organisation scan: a list file of local paths and git URLs, and a cache of bare mirrors.

A git URL is fetched into a bare mirror under `$XDG_CACHE_HOME/keyguard/mirrors/<hash>` on the machine that
reads it (a Dask worker, or this one), and fetched again when reused. Credentials written in a URL
(`https://user:token@host/...`) are used to fetch and never stored or shown: the mirror's own config, the
labels in findings and the reasons given for a failure carry the URL without them.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from keyguard.sources.git_history import is_repository_root

__all__ = ["Repository", "Unreachable", "mirror_root", "open_repository", "read_repo_list", "repository"]

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SCP_LIKE = re.compile(r"^(?:[^@/\s]+@)?[^/:\s]+:(?!//)")  # git's own rule: a colon before any slash
FETCH_TIMEOUT_SECONDS = 3600
# no prompt for a password or a host key: an unattended worker fails instead of hanging
_ADVICE = ("Please make sure you have the correct access rights", "and the repository exists.", "hint:")
_GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": "", "GCM_INTERACTIVE": "never"}


class Unreachable(Exception):
    """The repository cannot be read here (not found, not a repository, the URL does not answer)."""


@dataclass(frozen=True)
class Repository:
    """One line of the list: `where` is what is opened (an absolute path, or the URL as written)."""

    where: str
    label: str  # shown in findings and kept in the state file: never holds a credential
    url: bool


def is_git_url(entry: str) -> bool:
    """scheme://... or git's scp-like host:path (a Windows drive `C:` is a path)."""
    return bool(_SCHEME.match(entry)) or (bool(_SCP_LIKE.match(entry)) and not re.match(r"^[A-Za-z]:[\\/]", entry))


def without_credentials(url: str) -> str:
    """The URL without user information holding a secret: `https://user:token@h/x` -> `https://h/x`.

    ssh's user name (`ssh://git@host`, `git@host:org/x`) is kept: it is no secret and names the account."""
    if not _SCHEME.match(url):
        return url
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    if parts.scheme.startswith("ssh") and ":" not in userinfo:
        return url
    return urlunsplit(parts._replace(netloc=host))


def repository(entry: str, base: Path) -> Repository:
    """A list entry: a git URL as it is, a local path made absolute (relative to `base`, ~ expanded)."""
    if is_git_url(entry):
        return Repository(entry, without_credentials(entry), url=True)
    path = os.path.abspath(os.path.join(base, os.path.expanduser(entry)))
    return Repository(path, path, url=False)


def read_repo_list(path: Path) -> list[str]:
    """The entries of a --repos file: one a line; blank lines and lines starting with '#' are ignored.

    Local paths are made absolute against the file's own directory (workers do not share our working
    directory); duplicates are dropped. Raises OSError when the file cannot be read."""
    base = path.resolve().parent
    entries: dict[str, str] = {}  # label -> what to open: one repository listed twice is scanned once
    for raw in path.read_text(encoding="utf-8", errors="surrogateescape").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            found = repository(line, base)
            entries.setdefault(found.label, found.where)
    return list(entries.values())


def mirror_root() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "keyguard" / "mirrors"


def _mirror_dir(label: str) -> Path:
    return mirror_root() / hashlib.sha256(label.encode()).hexdigest()[:24]


def _scrub(text: str, repo: Repository) -> str:
    """git's message, with the URL's credentials (if git echoed them) replaced by the label."""
    text = text.replace(repo.where, repo.label)
    secret = urlsplit(repo.where).netloc.rpartition("@")[0] if _SCHEME.match(repo.where) else ""
    return text.replace(secret, "***") if secret and repo.where != repo.label else text


def _reason(stderr: bytes, otherwise: str) -> str:
    """What git and ssh said, without git's advice ("Please make sure you have the correct access rights...")."""
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    said = [line.removeprefix("fatal: ").removeprefix("error: ") for line in lines if not line.startswith(_ADVICE)]
    return "; ".join(dict.fromkeys(said[:2])) or otherwise


@cache
def _unattended() -> dict[str, str]:
    """git's environment without prompts; ssh (the user's own command, if configured) in batch mode."""
    if os.environ.get("GIT_SSH_COMMAND") or os.environ.get("GIT_SSH"):
        return _GIT_ENV
    configured = subprocess.run(["git", "config", "--get", "core.sshCommand"], capture_output=True, text=True)
    return {**_GIT_ENV, "GIT_SSH_COMMAND": f"{configured.stdout.strip() or 'ssh'} -o BatchMode=yes"}


def _git(args: list[str], repo: Repository, cwd: Path | None = None) -> None:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            env={**os.environ, **_unattended()},
            timeout=FETCH_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise Unreachable(f"no answer from {repo.label} within {FETCH_TIMEOUT_SECONDS} s") from None
    if done.returncode != 0:
        raise Unreachable(_scrub(_reason(done.stderr, f"git {args[0]} exit {done.returncode}"), repo))


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """One fetch of a mirror at a time on this machine (slices of one repository may run side by side)."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{directory}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _fetch(repo: Repository, mirror: Path) -> None:
    _git(["--git-dir", str(mirror), "fetch", "--prune", "--quiet", "--", repo.where, "+refs/*:refs/*"], repo)


def _clone(repo: Repository, mirror: Path) -> None:
    """A bare mirror, built beside its final place and renamed there, so a half clone is never reused."""
    building = Path(tempfile.mkdtemp(prefix=mirror.name + ".", dir=mirror.parent))
    try:
        _git(["clone", "--mirror", "--quiet", "--", repo.where, str(building)], repo)
        _git(["--git-dir", str(building), "remote", "set-url", "origin", repo.label], repo)
        os.rename(building, mirror)
    finally:
        shutil.rmtree(building, ignore_errors=True)


def open_repository(repo: Repository, fetch: bool = True) -> tuple[str, list[str]]:
    """(the git directory or work tree to read, notes on what may be stale) for `repo` on this machine.

    A URL's mirror is cloned when absent; with `fetch` an existing one is brought up to date first (a failed
    fetch keeps the old mirror and says so). Raises Unreachable with the reason."""
    if not repo.url:
        if not os.path.isdir(repo.where):
            raise Unreachable("no such directory" if not os.path.exists(repo.where) else "not a directory")
        if is_repository_root(repo.where) is None:
            raise Unreachable("not the top of a git repository")
        return repo.where, []
    mirror = _mirror_dir(repo.label)
    if mirror.is_dir() and not fetch:
        return str(mirror), []
    with _locked(mirror):
        if not mirror.is_dir():
            _clone(repo, mirror)
            return str(mirror), []
        try:
            _fetch(repo, mirror)
        except Unreachable as error:
            return str(mirror), [f"fetch failed ({error}): the mirror as last fetched was scanned"]
    return str(mirror), []
