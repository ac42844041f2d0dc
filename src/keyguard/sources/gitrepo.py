"""The few git facts the scanner needs, asked of the `git` executable."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path


class GitError(RuntimeError):
    """git is missing, or the path is not a usable repository."""


def _git(args: list[str], cwd: str | Path) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError as error:
        if error.filename == "git":
            raise GitError("the git executable was not found on PATH") from None
        raise GitError(f"cannot run git in {cwd}: no such directory") from None
    except OSError as error:  # cwd is not a directory
        raise GitError(f"cannot run git in {cwd}: {error.strerror or error}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(message[-1] if message else f"git {args[0]} failed")
    return done.stdout


@cache
def work_tree_root(directory: str) -> str | None:
    """The top of the git work tree holding `directory`, or None."""
    try:
        out = _git(["rev-parse", "--show-toplevel"], directory)
    except GitError:
        return None
    return os.path.realpath(out.decode("utf-8", "surrogateescape").strip()) or None


@cache
def tracked_files(root: str) -> frozenset[str]:
    """Real paths of the files git tracks in the work tree at `root`."""
    try:
        out = _git(["ls-files", "-z", "--full-name"], root)
    except GitError:
        return frozenset()
    names = out.decode("utf-8", "surrogateescape").split("\0")
    return frozenset(os.path.join(root, name) for name in names if name)


def staged_blobs(root: str) -> list[tuple[str, str]]:
    """(path, blob id) of each file added, copied, modified or renamed in the index."""
    names = _git(["diff", "--cached", "--name-only", "-z", "--diff-filter=ACMR"], root)
    paths = [p for p in names.decode("utf-8", "surrogateescape").split("\0") if p]
    if not paths:
        return []
    listing = _git(["ls-files", "-s", "-z", "--", *paths], root).decode("utf-8", "surrogateescape")
    blobs = []
    for entry in listing.split("\0"):
        if not entry:
            continue
        meta, path = entry.split("\t", 1)
        mode, blob, _stage = meta.split()
        if mode.startswith("160000"):  # a submodule commit, not a file
            continue
        blobs.append((path, blob))
    return blobs


def read_blobs(root: str, blob_ids: list[str]) -> Iterator[tuple[str, bytes]]:
    """Contents of the given blobs, through one `git cat-file --batch` process."""
    if not blob_ids:
        return
    proc = subprocess.Popen(["git", "cat-file", "--batch"], cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin and proc.stdout
    try:
        for blob_id in blob_ids:
            proc.stdin.write(blob_id.encode() + b"\n")
            proc.stdin.flush()
            header = proc.stdout.readline().split()
            if len(header) < 3 or header[1] == b"missing":
                continue
            size = int(header[2])
            content = proc.stdout.read(size)
            proc.stdout.read(1)
            yield blob_id, content
    finally:
        proc.stdin.close()
        proc.wait()
