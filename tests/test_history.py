"""Git history: every blob reachable from any ref, once; attribution; incomplete and broken repositories."""

from __future__ import annotations

import json
import os
import subprocess

from conftest import commit_files as _commit
from conftest import decode, git, make_canaries, run_keyguard


def _report(repo, *args: str) -> dict:
    done = run_keyguard("scan", "-f", "json", *args, cwd=repo)
    out, err = decode(done)
    assert done.returncode in (0, 1), err
    return json.loads(out)


def test_key_deleted_in_a_later_commit_is_found_with_its_commit(repo, canaries):
    introduced = _commit(repo, "add bot", **{"bot.py": f'secret = "{canaries.secret}"\n'})
    _commit(repo, "use env", **{"bot.py": "secret = os.environ['S']\n"})
    [finding] = _report(repo)["findings"]
    assert (finding["source"], finding["path"], finding["commit"], finding["in_head"]) == (
        "git",
        "bot.py",
        introduced,
        False,
    )
    assert finding["author"] == "Test <test@example.com>" and finding["commit_date"].startswith("2026-01-02")
    assert _report(repo, "--no-history")["findings"] == []


def test_key_still_at_head_is_one_finding_with_history(repo, canaries):
    introduced = _commit(repo, "add", **{".env": f"BINANCE_API_SECRET={canaries.secret}\n"})
    for number in range(4):  # the same blob in many commits is scanned once
        _commit(repo, f"more {number}", **{f"notes{number}.txt": "nothing\n"})
    [finding] = _report(repo)["findings"]
    assert (finding["source"], finding["commit"], finding["in_head"], finding["local_only"]) == (
        "file",
        introduced,
        True,
        False,
    )


def test_every_ref_is_scanned_branches_tags_and_stash(repo):
    keys = [make_canaries(seed).secret for seed in (11, 12, 13)]
    _commit(repo, "base", **{"README.md": "bot\n"})
    git("checkout", "-q", "-b", "experiment", cwd=repo)
    _commit(repo, "try", **{"try.py": f"secret = '{keys[0]}'\n"})
    git("checkout", "-q", "--orphan", "release", cwd=repo)
    git("rm", "-rfq", ".", cwd=repo)
    _commit(repo, "orphan", **{"rel.py": f"secret = '{keys[1]}'\n"})
    git("tag", "-a", "v1", "-m", "release", cwd=repo)
    git("checkout", "-q", "main", cwd=repo)
    git("branch", "-D", "release", cwd=repo)
    (repo / "README.md").write_text(f"secret = '{keys[2]}'\n")
    git("stash", "-q", cwd=repo)
    found = {f["secret_sha256"] for f in _report(repo)["findings"]}
    import hashlib

    assert found == {hashlib.sha256(k.encode()).hexdigest() for k in keys}


def test_since_limits_history_to_new_commits(repo, canaries):
    old = _commit(repo, "old", **{"a.py": f"secret = '{canaries.secret}'\n"})
    _commit(repo, "drop", **{"a.py": "x = 1\n"})
    mark = git("rev-parse", "HEAD", cwd=repo).strip()
    assert _report(repo, "--since", mark)["findings"] == []
    assert _report(repo, "--since", "HEAD~1")["findings"] == []  # the key came before HEAD~1
    assert [f["commit"] for f in _report(repo)["findings"]] == [old]
    new_key = make_canaries(21).secret
    added = _commit(repo, "new", **{"b.py": f"secret = '{new_key}'\n"})
    assert [f["commit"] for f in _report(repo, "--since", mark)["findings"]] == [added]


def test_unknown_since_revision_is_a_usage_error(repo):
    _commit(repo, "one", **{"a.txt": "a\n"})
    done = run_keyguard("scan", "--since", "no-such-rev", cwd=repo)
    assert done.returncode == 2 and "no such commit" in decode(done)[1]


def test_bare_repository(repo, tmp_path, canaries):
    _commit(repo, "add", **{"k.py": f"api_secret = '{canaries.secret}'\n"})
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(tmp_path / "bare.git")], check=True)
    [finding] = _report(tmp_path, "bare.git")["findings"]
    assert finding["source"] == "git" and finding["path"] == os.path.join("bare.git", "k.py")


def test_partial_clone_lists_missing_objects_and_completes(repo, tmp_path, canaries):
    git("config", "uploadpack.allowFilter", "true", cwd=repo)
    _commit(repo, "one", **{"k.py": f"secret = '{canaries.secret}'\n"})
    _commit(repo, "two", **{"k.py": "x\n"})
    subprocess.run(
        ["git", "clone", "-q", "--no-checkout", "--filter=blob:none", f"file://{repo}", str(tmp_path / "partial")],
        check=True,
        capture_output=True,
    )
    report = _report(tmp_path / "partial")
    assert any(s["reason"].startswith("missing") for s in report["skipped"])
    assert report["stats"]["files_scanned"] >= 0


def test_corrupt_repository_gets_a_clear_message(repo, canaries):
    _commit(repo, "one", **{"k.py": "x = 1\n"})
    objects = repo / ".git" / "objects"
    for directory in objects.iterdir():
        if len(directory.name) == 2:
            for obj in directory.iterdir():
                obj.write_bytes(b"garbage")
    (repo / "live.env").write_text(f"BINANCE_API_SECRET={canaries.secret}\n")
    report = _report(repo)
    assert [f["path"] for f in report["findings"]] == ["live.env"]  # the work tree is still scanned
    assert any(s["reason"].startswith("git history unreadable") for s in report["skipped"])


def test_pushed_history_is_more_severe(repo, tmp_path, canaries):
    _commit(repo, "add", **{"k.py": f"api_key = '{canaries.key}'\n"})
    _commit(repo, "rm", **{"k.py": "x\n"})
    local = _report(repo)["findings"][0]
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "origin.git")], check=True)
    git("remote", "add", "origin", str(tmp_path / "origin.git"), cwd=repo)
    git("push", "-q", "origin", "main", cwd=repo)
    pushed = _report(repo)["findings"][0]
    assert (local["exposure"], local["severity"]) == ("committed", "medium")
    assert (pushed["exposure"], pushed["severity"]) == ("pushed", "high")


def test_a_blob_moved_later_is_attributed_to_where_it_was_added(repo, canaries):
    introduced = _commit(repo, "add", **{"old/keys.py": f"api_secret = '{canaries.secret}'\n"})
    (repo / "new").mkdir()
    git("mv", "old/keys.py", "new/keys.py", cwd=repo)
    git("commit", "-qm", "move", cwd=repo)
    git("rm", "-q", "new/keys.py", cwd=repo)
    git("commit", "-qm", "remove", cwd=repo)
    [finding] = _report(repo)["findings"]
    assert (finding["path"], finding["commit"]) == ("old/keys.py", introduced)


def test_stats_say_whether_history_was_scanned(repo, tmp_path, canaries):
    _commit(repo, "one", **{"a.txt": "a\n"})
    assert _report(repo)["stats"]["history"] == [{"path": ".", "status": "scanned", "blobs_scanned": 1, "since": None}]
    plain = tmp_path / "plain"
    plain.mkdir()
    assert _report(plain)["stats"]["history"] == [
        {"path": ".", "status": "not the top of a git repository: files only"}
    ]
    text = decode(run_keyguard("scan", cwd=repo))[0]
    assert "git history of .: 1 blobs" in text
