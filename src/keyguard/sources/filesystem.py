"""Walks files and directories: every file, git-ignored ones included, never `.git` internals."""

from __future__ import annotations

import errno
import functools
import os
import stat
from collections.abc import Callable, Iterator, Sequence

import pathspec

from keyguard.model import Skipped
from keyguard.sources.base import FileTarget
from keyguard.sources.gitrepo import tracked_files, work_tree_root

DEPENDENCY_DIRS = frozenset(
    {
        "node_modules",
        "site-packages",
        "dist-packages",
        ".venv",
        ".tox",
        ".nox",
        "__pypackages__",
        "bower_components",
    }
)
NEVER_WALKED = frozenset({".git"})


def is_dependency_dir(path: str) -> bool:
    name = os.path.basename(os.path.normpath(path))
    return name in DEPENDENCY_DIRS or os.path.isfile(os.path.join(path, "pyvenv.cfg"))


def display_path(path: str) -> str:
    """Relative to the working directory when inside it, else as absolute."""
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute)
    return absolute if relative.startswith("..") else relative


def _directory_line(line: str) -> str:
    """`dir/**` as git reads it for a directory: everything inside `dir`, not `dir` itself."""
    line = line.rstrip()
    return f"{line[:-3]}/?*" if line.endswith("/**") and line.strip("!/") != "**" else line


@functools.lru_cache(maxsize=32)
def _compiled_matcher(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    if not patterns:
        return lambda relative: False
    files = pathspec.GitIgnoreSpec.from_lines(patterns)
    directories = pathspec.GitIgnoreSpec.from_lines([_directory_line(p) for p in patterns])

    @functools.lru_cache(maxsize=4096)
    def directory_excluded(directory: str) -> bool:
        """`directory` ends with '/'; a directory inside an excluded one is excluded (as in git)."""
        parent = directory[:-1].rpartition("/")[0]
        return (bool(parent) and directory_excluded(parent + "/")) or directories.match_file(directory)

    def excluded(relative: str) -> bool:
        path = relative.replace(os.sep, "/")
        if path.endswith("/"):
            return directory_excluded(path)
        parent = path.rpartition("/")[0]
        return (bool(parent) and directory_excluded(parent + "/")) or files.match_file(path)

    return excluded


def exclusion_matcher(patterns: Sequence[str]) -> Callable[[str], bool]:
    """Whether a path is excluded by `patterns`, read as the lines of a .gitignore at the scan's root.

    The path is relative to that root (or to the repository for history blobs), '/'-separated;
    a directory is given with a trailing '/'. As in git, `build/` matches only directories,
    `/vendor` only at the root, `!pattern` re-includes, and nothing inside an excluded directory
    can be re-included.
    """
    return _compiled_matcher(tuple(patterns))


def _stat_problem(error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "symlink loop"
    if error.errno == errno.ENOENT:
        return "not found (or a broken symlink)"
    if error.errno == errno.EACCES:
        return "permission denied"
    return f"unreadable: {error.strerror or error}"


def _tracked_checker(repo: str | None):
    tracked = tracked_files(repo) if repo else frozenset()
    return lambda real_path: real_path in tracked


def _single_file(path: str) -> FileTarget | Skipped:
    shown = display_path(path)
    try:
        info = os.stat(path)
    except OSError as error:
        return Skipped(shown, _stat_problem(error))
    if not stat.S_ISREG(info.st_mode):
        return Skipped(shown, "not a regular file")
    real = os.path.realpath(path)
    repo = work_tree_root(os.path.dirname(real))
    return FileTarget(path, shown, info.st_size, not _tracked_checker(repo)(real), (info.st_dev, info.st_ino))


def walk(root: str, exclude: Sequence[str] = (), include_deps: bool = False) -> Iterator[FileTarget | Skipped]:
    """Every file under `root` (or `root` itself when it is a file).

    A dependency folder named as `root` is scanned; those found inside it are skipped by default.
    Symlinked directories are not followed (no loops, no leaving the tree); symlinked files are read.
    """
    if not os.path.isdir(root):
        yield _single_file(root)
        return
    excluded = exclusion_matcher(exclude)
    real_root = os.path.realpath(root)
    shown_root = display_path(root)

    prefix = "" if shown_root == "." else os.path.join(shown_root, "")

    def shown(relative: str) -> str:
        return prefix + relative

    # (directory to read, its path relative to root, its real path, the repository it belongs to)
    stack: list[tuple[str, str, str, str | None]] = [(root, "", real_root, work_tree_root(real_root))]
    while stack:
        directory, relative_directory, real_directory, repo = stack.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as error:
            yield Skipped(shown(relative_directory), _stat_problem(error))
            continue
        if any(e.name == ".git" for e in entries) and real_directory != repo:
            repo = real_directory  # a nested repository or submodule
        is_tracked_path = _tracked_checker(repo)
        subdirectories = []
        for entry in entries:
            name = entry.name
            relative = f"{relative_directory}{os.sep}{name}" if relative_directory else name
            real_path = f"{real_directory}{os.sep}{name}"
            try:
                if entry.is_dir(follow_symlinks=False):
                    if excluded(relative + "/") or name in NEVER_WALKED:
                        continue
                    if include_deps or not is_dependency_dir(entry.path):
                        subdirectories.append((entry.path, relative, real_path, repo))
                    continue
                if excluded(relative):
                    continue
                if entry.is_symlink() and os.path.isdir(entry.path):
                    continue
                info = entry.stat()
            except OSError as error:
                yield Skipped(shown(relative), _stat_problem(error))
                continue
            if not stat.S_ISREG(info.st_mode):
                yield Skipped(shown(relative), "not a regular file")
                continue
            yield FileTarget(
                entry.path,
                shown(relative),
                info.st_size,
                not is_tracked_path(real_path),
                (info.st_dev, info.st_ino),
            )
        stack.extend(reversed(subdirectories))
