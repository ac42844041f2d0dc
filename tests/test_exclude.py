"""`--exclude` and the `exclude` setting read as .gitignore lines, rooted at the scanned path (or the repository)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import decode, git, places, run_keyguard


def _tree(root: Path, canaries, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {name}\nBINANCE_API_KEY={canaries.key}\n")  # one blob per file in history


def _found(cwd: Path, *args: str) -> list[str]:
    """The files with findings, '/'-separated, sorted."""
    done = run_keyguard("scan", "--no-history", "-f", "json", *args, cwd=cwd)
    out, err = decode(done)
    assert done.returncode in (0, 1), err
    return sorted({f["path"].replace(os.sep, "/") for f in places(json.loads(out))})


def _excluding(*patterns: str) -> list[str]:
    return [arg for pattern in patterns for arg in ("--exclude", pattern)]


def test_a_pattern_without_slash_matches_at_any_depth_and_negation_re_includes(tmp_path, canaries):
    _tree(tmp_path, canaries, "app.log", "logs/deep/app.log", "keep.log", "logs/keep.log", "app.log.txt")
    assert len(_found(tmp_path)) == 5
    assert _found(tmp_path, *_excluding("*.log", "!keep.log")) == ["app.log.txt", "keep.log", "logs/keep.log"]


def test_a_trailing_slash_matches_only_directories_and_all_below(tmp_path, canaries):
    _tree(tmp_path, canaries, "build/out.env", "src/build/gen/x.env", "lib/build", "builder/x.env")
    assert _found(tmp_path, *_excluding("build/")) == ["builder/x.env", "lib/build"]


def test_a_leading_slash_anchors_to_the_scanned_root(tmp_path, canaries):
    _tree(tmp_path, canaries, "vendor/a.env", "app/vendor/b.env", "app/main.env")
    assert _found(tmp_path, *_excluding("/vendor")) == ["app/main.env", "app/vendor/b.env"]
    assert _found(tmp_path, "app", *_excluding("/vendor")) == ["app/main.env"]  # root = the path scanned


def test_double_star_in_the_middle_matches_zero_or_more_directories(tmp_path, canaries):
    _tree(tmp_path, canaries, "docs/a.md", "docs/guide/deep/b.md", "docs/c.txt", "site/docs/d.md")
    assert _found(tmp_path, *_excluding("docs/**/*.md")) == ["docs/c.txt", "site/docs/d.md"]


def test_leading_double_star_matches_a_directory_at_any_depth(tmp_path, canaries):
    _tree(tmp_path, canaries, "fixtures/a.env", "tests/unit/fixtures/b.env", "tests/fixtures_data.env")
    assert _found(tmp_path, *_excluding("**/fixtures")) == ["tests/fixtures_data.env"]


def test_star_does_not_cross_a_slash(tmp_path, canaries):
    _tree(tmp_path, canaries, "conf/prod.env", "conf/eu/prod.env")
    assert _found(tmp_path, *_excluding("conf/*.env")) == ["conf/eu/prod.env"]


def test_nothing_inside_an_excluded_directory_comes_back_but_inside_dir_star_star_it_does(tmp_path, canaries):
    _tree(tmp_path, canaries, "build/a.env", "build/keep.env", "out/a.env", "out/keep.env", "out/sub/keep.env")
    patterns = _excluding("build/", "!build/keep.env", "out/**", "!out/keep.env", "!out/sub/keep.env")
    assert _found(tmp_path, *patterns) == ["out/keep.env"]


PATTERN_SETS = [
    ["*.log", "!keep.log"],
    ["build/"],
    ["/vendor"],
    ["docs/**/*.md"],
    ["**/fixtures"],
    ["conf/*"],
    ["build/", "!build/keep.log"],
    ["out/**", "!out/keep.log"],
    ["*", "!*.log"],
    ["vendor", "!/vendor"],
    ["a/**/b", "docs/*.md"],
]
TREE = [
    "main.log",
    "keep.log",
    "deep/a/keep.log",
    "build/app.log",
    "build/keep.log",
    "src/build/x.log",
    "lib/build",
    "vendor/v.log",
    "app/vendor/v.log",
    "docs/a.md",
    "docs/x/y/b.md",
    "site/docs/c.md",
    "fixtures/f.log",
    "t/unit/fixtures/f.log",
    "conf/c.log",
    "conf/eu/c.log",
    "out/keep.log",
    "out/sub/keep.log",
    "a/b/x.log",
    "a/q/r/b/x.log",
]


@pytest.mark.parametrize("patterns", PATTERN_SETS, ids=" ".join)
def test_files_scanned_are_the_files_git_does_not_ignore(tmp_path, canaries, patterns):
    tree = tmp_path / "tree"
    _tree(tree, canaries, *TREE)
    git("init", "-q", cwd=tree)
    ignore_file = tmp_path / "patterns"
    ignore_file.write_text("".join(f"{p}\n" for p in patterns))
    not_ignored = git("ls-files", "--others", f"--exclude-from={ignore_file}", cwd=tree).split()
    assert _found(tree, *_excluding(*patterns)) == sorted(not_ignored)


def test_history_blob_paths_are_matched_from_the_repository_root(tmp_path, canaries):
    repo = tmp_path / "bot"
    names = ["vendor/a.env", "app/vendor/b.env", "build/c.env", "logs/x.log", "app/d.env"]
    _tree(repo, canaries, *names)
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", ".", cwd=repo)
    git("commit", "-qm", "add", cwd=repo)
    git("rm", "-q", *names, cwd=repo)
    git("commit", "-qm", "remove", cwd=repo)
    done = run_keyguard("scan", "-f", "json", *_excluding("/vendor", "build/", "*.log"), cwd=repo)
    out, err = decode(done)
    assert done.returncode == 1, err
    findings = places(json.loads(out))
    assert {f["source"] for f in findings} == {"git"}
    assert sorted({f["path"] for f in findings}) == ["app/d.env", "app/vendor/b.env"]


def test_the_exclude_setting_has_the_same_meaning(tmp_path, canaries):
    _tree(tmp_path, canaries, "build/a.env", "src/build/b.env", "lib/build", "vendor/c.env", "app/vendor/d.env")
    (tmp_path / ".keyguard.toml").write_text('exclude = ["build/", "/vendor"]\n')
    assert _found(tmp_path) == ["app/vendor/d.env", "lib/build"]
