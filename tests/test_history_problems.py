"""Broken repositories: every object, ref or walk that cannot be read is named, and the rest is still read."""

from __future__ import annotations

import hashlib
import json
import random
import string
import subprocess

import pytest

from conftest import commit_files as _commit
from conftest import decode, git, run_keyguard
from keyguard.sources import history
from keyguard.sources.gitrepo import GitError


def _noise(seed: int, size: int = 6000) -> str:
    """Text that zlib cannot shrink much, so a truncated loose object still has a readable header."""
    rng = random.Random(seed)
    return "".join(rng.choice(string.ascii_letters) for _ in range(size)) + "\n"


def _object_file(repo, oid: str):
    path = repo / ".git" / "objects" / oid[:2] / oid[2:]
    path.chmod(0o644)
    return path


def _blob(repo, path: str) -> str:
    return git("rev-parse", f"HEAD:{path}", cwd=repo).strip()


def _read(repo, oids: list[str]) -> tuple[dict[str, bytes | None], list[tuple[str, str]]]:
    unreadable: list[tuple[str, str]] = []
    read = {oid: content for oid, content, _size in history.read_blob_contents(str(repo), oids, 1 << 20, unreadable)}
    return read, unreadable


def test_a_corrupt_loose_object_costs_only_itself(repo):
    texts = {f"f{n}.txt": f"file {n}\n" for n in range(5)}
    _commit(repo, "files", **texts)
    oids = [_blob(repo, name) for name in texts]
    _object_file(repo, oids[2]).write_bytes(b"junk")
    read, unreadable = _read(repo, oids)
    assert read == {oid: text.encode() for oid, text in zip(oids, texts.values(), strict=True) if oid != oids[2]}
    [(oid, reason)] = unreadable
    assert oid == oids[2] and reason.startswith("corrupt:") and oids[2] in reason


def test_cat_file_dying_midway_the_rest_is_still_read(repo):
    texts = {f"f{n}.txt": _noise(n) for n in range(6)}
    _commit(repo, "files", **texts)
    oids = [_blob(repo, name) for name in texts]
    for oid in oids[2:4]:  # two in a row: cat-file is restarted twice
        path = _object_file(repo, oid)
        path.write_bytes(path.read_bytes()[:200])
    # git prints the header of a truncated object, then dies: everything after it went unread
    done = subprocess.run(["git", "cat-file", "--batch"], cwd=repo, input="\n".join(oids).encode(), capture_output=True)
    assert done.returncode != 0 and oids[4].encode() not in done.stdout
    read, unreadable = _read(repo, oids)
    assert read == {oid: texts[f"f{n}.txt"].encode() for n, oid in enumerate(oids) if n not in (2, 3)}
    assert [oid for oid, _reason in unreadable] == oids[2:4]
    assert all(reason.startswith("corrupt:") and oid in reason for oid, reason in unreadable)


def test_missing_objects_are_named_as_missing(repo):
    _commit(repo, "files", **{"a.txt": "a\n", "b.txt": "b\n"})
    kept, lost = _blob(repo, "a.txt"), _blob(repo, "b.txt")
    _object_file(repo, lost).unlink()
    read, unreadable = _read(repo, [lost, kept])
    assert read == {kept: b"a\n"} and unreadable == [(lost, "missing")]
    missing: list[str] = []
    problems: list[str] = []
    assert [b.oid for b in history.iter_blobs(str(repo), None, missing, problems)] == [kept]
    assert missing == [lost]
    [problem] = problems
    assert "no partial clone" in problem


def test_garbage_head_still_scans_the_branches(repo):
    _commit(repo, "base", **{"a.txt": "a\n"})
    git("checkout", "-q", "-b", "side", cwd=repo)
    _commit(repo, "side", **{"b.txt": "b\n"})
    (repo / ".git" / "HEAD").write_text("garbage")
    assert subprocess.run(["git", "rev-parse", "--git-dir"], cwd=repo, capture_output=True).returncode != 0
    assert history.git_dir(repo) == str((repo / ".git").resolve())
    assert history.has_commits(str(repo))
    [problem] = history.repository_problems(str(repo))
    assert problem.startswith("HEAD is garbage")
    problems: list[str] = []
    blobs = list(history.iter_blobs(str(repo), None, [], problems))
    assert sorted(b.path for b in blobs) == ["a.txt", "b.txt"] and problems == []
    read, unreadable = _read(repo, [b.oid for b in blobs])
    assert sorted(read.values()) == [b"a\n", b"b\n"] and unreadable == []


def test_head_on_a_branch_that_does_not_exist(repo):
    assert history.repository_problems(str(repo)) == []  # a new repository: nothing to say
    _commit(repo, "base", **{"a.txt": "a\n"})
    git("symbolic-ref", "HEAD", "refs/heads/gone", cwd=repo)
    assert history.repository_problems(str(repo)) == [
        "HEAD points at refs/heads/gone, which does not exist: the other refs are scanned"
    ]
    assert [b.path for b in history.iter_blobs(str(repo))] == ["a.txt"]


def test_shallow_clone_is_named(repo, tmp_path):
    _commit(repo, "one", **{"a.txt": "a\n"})
    _commit(repo, "two", **{"b.txt": "b\n"})
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(clone)], check=True)
    assert history.repository_problems(str(clone)) == [history.SHALLOW]
    assert history.repository_problems(str(repo)) == []


def test_a_ref_naming_a_missing_object_is_named_and_the_others_walked(repo):
    _commit(repo, "base", **{"a.txt": "a\n"})
    (repo / ".git" / "refs" / "heads" / "broken").write_text("1" * 40 + "\n")
    with pytest.raises(GitError):  # without `problems`, as before: the whole walk fails
        list(history.iter_blobs(str(repo)))
    problems: list[str] = []
    assert [b.path for b in history.iter_blobs(str(repo), None, [], problems)] == ["a.txt"]
    assert problems == ["ref refs/heads/broken names a missing or corrupt object: its history is not scanned"]


def test_a_walk_stopping_midway_keeps_what_it_listed(repo):
    _commit(repo, "files", **{"top.txt": "top\n", "zsub/deep.txt": "deep\n"})  # top.txt is walked first
    tree = _object_file(repo, git("rev-parse", "HEAD:zsub", cwd=repo).strip())
    tree.write_bytes(tree.read_bytes()[:10])
    with pytest.raises(GitError):
        list(history.iter_blobs(str(repo)))
    problems: list[str] = []
    assert [b.path for b in history.iter_blobs(str(repo), None, [], problems)] == ["top.txt"]
    [problem] = problems
    assert problem.startswith("git rev-list stopped early")


def test_scan_reads_past_a_corrupt_object_and_names_it(repo, canaries):
    """End to end through the CLI: the key pair lives only in history, read after a corrupt object."""
    _commit(repo, "keys", **{".env": f"BINANCE_API_KEY={canaries.key}\nBINANCE_API_SECRET={canaries.secret}\n"})
    git("rm", "-q", ".env", cwd=repo)
    _commit(repo, "notes", **{"notes.txt": _noise(1)})  # listed before .env: newer commits come first
    corrupt = _blob(repo, "notes.txt")
    _commit(repo, "rewrite", **{"notes.txt": "short\n"})  # the corrupt one is only in history, not in the work tree
    path = _object_file(repo, corrupt)
    path.write_bytes(path.read_bytes()[:200])
    done = run_keyguard("scan", "-f", "json", cwd=repo)
    out, err = decode(done)
    assert "Traceback" not in err
    report = json.loads(out)
    found = {finding["secret_sha256"] for finding in report["findings"]}
    secret_sha256 = hashlib.sha256(canaries.secret.encode()).hexdigest()  # a failing assert shows this, not the key
    assert secret_sha256 in found
    assert any(skip["path"].endswith(f"object {corrupt}") for skip in report["skipped"]), report["skipped"]


def test_a_blob_past_the_size_limit_is_passed_over_and_the_next_read(repo):
    _commit(repo, "big", **{"big.txt": "x" * 3_000_000, "small.txt": "small\n"})
    big, small = _blob(repo, "big.txt"), _blob(repo, "small.txt")
    read = list(history.read_blob_contents(str(repo), [big, small], max_bytes=1_000_000))
    assert read == [(big, None, 3_000_000), (small, b"small\n", 6)]
