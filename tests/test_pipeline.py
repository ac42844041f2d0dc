"""The scanning pipeline as a user meets it: every blob scanned, each content read once, one finding per
credential, odd file names and unwritable outputs handled."""

from __future__ import annotations

import json
import os

from conftest import decode, git, run_keyguard


def _json(done) -> dict:
    out, err = decode(done)
    assert done.returncode in (0, 1), err
    return json.loads(out)


def _pair(canaries) -> str:
    return f"BINANCE_API_KEY={canaries.key}\nBINANCE_API_SECRET={canaries.secret}\n"


def test_one_job_scans_every_blob_of_a_long_history(tmp_path, canaries):
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    for index in range(3000):
        (repo / f"f{index:04}.txt").write_text(f"file {index}\n")
    git("add", ".", cwd=repo)
    git("commit", "-qm", "many", cwd=repo)
    (repo / "zz.env").write_text(_pair(canaries))  # listed after the first 3,000 blobs
    git("add", ".", cwd=repo)
    git("commit", "-qm", "key", cwd=repo)
    git("rm", "-q", "zz.env", cwd=repo)
    git("commit", "-qm", "gone", cwd=repo)
    report = _json(run_keyguard("scan", "-f", "json", "--jobs", "1", cwd=repo))
    assert report["stats"]["history"][0]["blobs_scanned"] == 3001
    assert sorted(f["kind"] for f in report["findings"]) == ["api_key", "secret"]
    assert {f["source"] for f in report["findings"]} == {"git"}


def test_a_file_at_head_is_read_once_and_placed_in_the_tree_and_in_history(tmp_path, canaries):
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    (repo / ".env").write_text(_pair(canaries))
    git("add", ".", cwd=repo)
    git("commit", "-qm", "key", cwd=repo)
    report = _json(run_keyguard("scan", "-f", "json", cwd=repo))
    assert report["stats"]["files_scanned"] == 1  # the blob at HEAD is the file's content: not read again
    assert report["stats"]["history"][0]["blobs_scanned"] == 1
    key = next(f for f in report["findings"] if f["kind"] == "api_key")
    assert [loc["source"] for loc in key["locations"]] == ["file", "git"]
    assert key["commit"] and key["in_head"] is True and key["exposure"] == "committed"


def test_one_key_in_many_files_and_commits_is_one_credential(tmp_path, canaries):
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    for index in range(20):
        (repo / f"bot{index:02}").mkdir()
        (repo / f"bot{index:02}" / ".env").write_text(f"# bot {index}\n" + _pair(canaries))
        git("add", ".", cwd=repo)
        git("commit", "-qm", f"bot {index}", cwd=repo)
    report = _json(run_keyguard("scan", "-f", "json", cwd=repo))
    assert len(report["findings"]) == 2
    key = next(f for f in report["findings"] if f["kind"] == "api_key")
    assert key["paired_with"] == next(f["secret_sha256"] for f in report["findings"] if f["kind"] == "secret")
    assert len({loc["path"] for loc in key["locations"]}) == 20
    assert len({loc["commit"] for loc in key["locations"] if loc["source"] == "git"}) == 20
    assert (key["path"], key["line"]) == (key["locations"][0]["path"], key["locations"][0]["line"])
    done = run_keyguard("scan", cwd=repo)
    out, _ = decode(done)
    lines = out.splitlines()
    assert done.returncode == 1 and len(lines) <= 12, out
    assert all(len(line) <= 80 for line in lines), out
    assert "1 credential pair" in out and "in 20 files and 20 commits since" in out
    assert "keyguard incident" in out and "and 17 more files" in out
    assert canaries.key not in out and canaries.secret not in out


def test_a_file_name_that_is_not_utf8_is_reported_and_written(tmp_path, canaries):
    tree = tmp_path / "tree"
    tree.mkdir()
    with open(os.path.join(os.fsencode(tree), b"keys-\xff.env"), "w") as handle:
        handle.write(_pair(canaries))
    for fmt in ("text", "json", "sarif"):
        target = tmp_path / f"report.{fmt}"
        done = run_keyguard("scan", "--no-history", "-f", fmt, "-o", str(target), str(tree), cwd=tmp_path)
        assert done.returncode == 1, decode(done)
        written = target.read_text("utf-8")
        shown = "keys-\\\\xff.env" if fmt != "text" else "keys-\\xff.env"  # JSON escapes the backslash
        assert shown in written and canaries.secret not in written
    report = _json(run_keyguard("scan", "--no-history", "-f", "json", str(tree), cwd=tmp_path))
    assert report["findings"][0]["path"].endswith("keys-\\xff.env")


def test_an_unwritable_output_is_one_line_and_exit_2(tmp_path, canaries):
    (tmp_path / ".env").write_text(_pair(canaries))
    done = run_keyguard("scan", "--no-history", "-o", str(tmp_path / "missing" / "r.txt"), cwd=tmp_path)
    out, err = decode(done)
    assert done.returncode == 2 and "cannot write" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_a_folder_of_screenshots_is_read_by_several_processes(tmp_path):
    """OCR costs about a second an image: six of them are worth the pool, however small their files are."""
    from PIL import Image

    shots = tmp_path / "Screenshots"
    shots.mkdir()
    for number in range(6):
        Image.new("RGB", (640, 400), (250, 250, 250)).save(shots / f"shot-{number}.png")
    assert sum(p.stat().st_size for p in shots.iterdir()) < 100_000
    read = run_keyguard("scan", str(shots), "--format", "json", "--jobs", "2", cwd=tmp_path)
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout)["stats"]["jobs"] == 2
    unread = run_keyguard("scan", str(shots), "--format", "json", "--jobs", "2", "--no-images", cwd=tmp_path)
    assert json.loads(unread.stdout)["stats"]["jobs"] == 1
