"""scan --repos on the local pool: the list file, URL mirrors, one finding per credential across repositories,
unreachable repositories, slices of a large repository, --since-last. (tests/test_cluster.py: the same on Dask.)"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import commit_files, decode, git, make_canaries, run_keyguard
from keyguard.sources.repos import Repository, Unreachable, open_repository, read_repo_list, without_credentials


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_repo(path: Path, **files: str) -> Path:
    path.mkdir(parents=True)
    git("init", "-q", "-b", "main", cwd=path)
    commit_files(path, "first", **files)
    return path


def bare_copy(repo: Path, where: Path) -> Path:
    git("clone", "-q", "--bare", str(repo), str(where), cwd=repo.parent)
    return where


def scan_json(*args: str, cwd: Path) -> tuple[int, dict, str]:
    done = run_keyguard("scan", "-f", "json", *args, cwd=cwd)
    out, err = decode(done)
    assert done.returncode in (0, 1), err
    return done.returncode, json.loads(out), out + err


def by_secret(report: dict) -> dict[str, dict]:
    return {finding["secret_sha256"]: finding for finding in report["findings"]}


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Mirrors and --since-last state in this test's own folders (the keyguard child inherits the environment)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("KEYGUARD_STATE_DIR", raising=False)
    return tmp_path / "cache"


def test_the_list_takes_paths_relative_to_itself_urls_as_written_and_skips_comments(tmp_path: Path) -> None:
    listing = tmp_path / "lists" / "repos.txt"
    listing.parent.mkdir()
    listing.write_text(
        "# the trading team\n\n  bots/alpha  \n../beta\nfile:///srv/git/gamma.git\n"
        "git@github.com:acme/delta.git\nhttps://deploy:tok3n@git.example.com/acme/eps.git\nbots/alpha\n"
        "https://other:s3cret@git.example.com/acme/eps.git\n"
    )
    assert read_repo_list(listing) == [
        str(tmp_path / "lists" / "bots" / "alpha"),
        str(tmp_path / "beta"),
        "file:///srv/git/gamma.git",
        "git@github.com:acme/delta.git",
        "https://deploy:tok3n@git.example.com/acme/eps.git",  # the same repository twice: the first one
    ]
    assert without_credentials("https://deploy:tok3n@git.example.com/acme/eps.git") == (
        "https://git.example.com/acme/eps.git"
    )
    assert without_credentials("https://ghp_token@github.com/acme/x.git") == "https://github.com/acme/x.git"
    assert without_credentials("ssh://git@host:2222/acme/x.git") == "ssh://git@host:2222/acme/x.git"
    assert without_credentials("ssh://git:pw@host/acme/x.git") == "ssh://host/acme/x.git"


def test_a_url_is_mirrored_bare_once_and_fetched_again_when_reused(tmp_path: Path, cache: Path) -> None:
    origin = new_repo(tmp_path / "origin", **{"a.txt": "one\n"})
    repo = Repository(f"file://{origin}", f"file://{origin}", url=True)
    mirror, notes = open_repository(repo)
    assert notes == [] and Path(mirror).parent == cache / "keyguard" / "mirrors"
    assert git("rev-parse", "--is-bare-repository", cwd=Path(mirror)).strip() == "true"
    added = commit_files(origin, "second", **{"b.txt": "two\n"})
    again, notes = open_repository(repo)
    assert (again, notes) == (mirror, [])
    assert git("rev-parse", "main", cwd=Path(mirror)).strip() == added
    assert open_repository(repo, fetch=False) == (mirror, [])
    os.rename(origin, tmp_path / "gone")  # the server is down: the mirror as last fetched, said so
    stale, notes = open_repository(repo)
    assert stale == mirror and len(notes) == 1 and notes[0].startswith("fetch failed (")
    with pytest.raises(Unreachable, match="does not appear to be a git repository"):
        open_repository(Repository(f"file://{tmp_path}/nothing", f"file://{tmp_path}/nothing", url=True))


def test_one_key_in_several_repositories_is_one_finding_with_every_place(tmp_path: Path, cache: Path) -> None:
    shared, own = make_canaries(31).secret, make_canaries(32).secret
    alpha = new_repo(tmp_path / "alpha", **{"bot.py": f'BINANCE_SECRET = "{shared}"\n'})
    beta_work = new_repo(tmp_path / "work" / "beta", **{"conf/.env": f"BINANCE_API_SECRET={shared}\n"})
    beta = bare_copy(beta_work, tmp_path / "srv" / "beta.git")
    gamma = new_repo(tmp_path / "gamma", **{"keys.py": f'binance_secret = "{own}"\n', "x.py": "x = 1\n"})
    listing = tmp_path / "repos.txt"
    with socket.socket() as probe:  # nothing listens there: ssh is refused at once, and never prompts
        probe.bind(("127.0.0.1", 0))
        ssh = f"ssh://git@127.0.0.1:{probe.getsockname()[1]}/acme/x.git"
    listing.write_text(f"alpha\nfile://{beta}\n{gamma}\n# retired\nmissing\nfile://{tmp_path}/srv/none.git\n{ssh}\n")
    code, report, text = scan_json("--repos", str(listing), cwd=tmp_path)
    assert code == 1
    found = by_secret(report)
    assert set(found) == {sha(shared), sha(own)}
    places = {(loc["path"], loc["exposure"]) for loc in found[sha(shared)]["locations"]}
    assert places == {(f"{alpha}/bot.py", "committed"), (f"file://{beta}/conf/.env", "pushed")}
    # the widest exposure decides: pushed (a URL's repository is on its server) raises the local one's severity
    severities = {loc["exposure"]: loc["severity"] for loc in found[sha(shared)]["locations"]}
    assert found[sha(shared)]["severity"] == severities["pushed"] != severities["committed"]
    assert [loc["path"] for loc in found[sha(own)]["locations"]] == [f"{gamma}/keys.py"]
    assert found[sha(own)]["commit"] == git("rev-parse", "HEAD", cwd=gamma).strip()
    skipped = {item["path"]: item["reason"] for item in report["skipped"]}
    assert skipped[str(tmp_path / "missing")] == "unreachable: no such directory"
    assert "does not appear to be a git repository" in skipped[f"file://{tmp_path}/srv/none.git"]
    assert skipped[ssh].startswith("unreachable: ") and "Please make sure" not in skipped[ssh]
    stats = report["stats"]
    assert stats["cluster"] == {"scheduler": None, "workers": stats["jobs"], "tasks": 6}
    assert [row["status"] for row in stats["repositories"]] == ["scanned"] * 3 + ["unreachable"] * 3
    assert stats["files_scanned"] == 4 and shared not in text and own not in text
    shown = run_keyguard("scan", "--repos", str(listing), cwd=tmp_path)
    assert "repositories: 3 scanned, 3 unreachable on this machine (6 tasks)" in shown.stdout.decode()


def test_a_key_behind_git_daemon_on_loopback_is_found_as_pushed(tmp_path: Path, cache: Path) -> None:
    key = make_canaries(33).secret
    work = new_repo(tmp_path / "work", **{"settings.py": f'BINANCE_API_SECRET = "{key}"\n'})
    served = tmp_path / "served"
    served.mkdir()
    bare_copy(work, served / "desk.git")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    daemon = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            f"--base-path={served}",
            "--listen=127.0.0.1",
            f"--port={port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # `git daemon` runs git-daemon as a child: the whole group is stopped after
    )
    try:
        url = f"git://127.0.0.1:{port}/desk.git"
        deadline = time.monotonic() + 20
        while subprocess.run(["git", "ls-remote", url], capture_output=True).returncode != 0:
            assert time.monotonic() < deadline, "git daemon did not start"
            time.sleep(0.1)
        (tmp_path / "repos.txt").write_text(f"{url}\ngit://127.0.0.1:{port}/absent.git\n")
        code, report, _ = scan_json("--repos", "repos.txt", cwd=tmp_path)
    finally:
        os.killpg(daemon.pid, signal.SIGKILL)
        daemon.wait()
    [finding] = report["findings"]
    assert (finding["secret_sha256"], finding["path"], finding["exposure"]) == (
        sha(key),
        f"{url}/settings.py",
        "pushed",
    )
    assert [item["path"] for item in report["skipped"]] == [f"git://127.0.0.1:{port}/absent.git"]
    assert (cache / "keyguard" / "mirrors").is_dir()


def test_credentials_in_a_url_are_used_but_never_shown_or_kept(tmp_path: Path, cache: Path) -> None:
    key = make_canaries(34).secret
    token = "kgtoken" + make_canaries(35).key[:20]
    origin = bare_copy(new_repo(tmp_path / "work", **{"bot.py": f'BINANCE_SECRET = "{key}"\n'}), tmp_path / "bot.git")
    with socket.socket() as probe:  # a port nothing listens on: that fetch fails at once
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    listing = tmp_path / "lists" / "repos.txt"
    listing.parent.mkdir()
    listing.write_text(f"file://deploy:{token}@{origin}\nhttps://deploy:{token}@127.0.0.1:{port}/acme/bot.git\n")
    for run in ("cloned", "fetched"):
        code, report, text = scan_json("--repos", str(listing), "--since-last", cwd=tmp_path)
        assert token not in text, run
        [skipped] = report["skipped"]
        assert skipped["path"] == f"https://127.0.0.1:{port}/acme/bot.git" and skipped["reason"].startswith(
            "unreachable: "
        )
    code, report, _ = scan_json("--repos", str(listing), cwd=tmp_path)
    [finding] = report["findings"]
    assert (finding["path"], finding["secret_sha256"]) == (f"file://{origin}/bot.py", sha(key))
    kept = [
        Path(root, name)
        for folder in ("cache", "state")
        for root, _, names in os.walk(tmp_path / folder)
        for name in names
    ]
    assert any(path.name == "config" for path in kept) and any(path.suffix == ".json" for path in kept)
    for path in kept:
        assert token.encode() not in path.read_bytes(), path


def test_a_large_repository_is_read_in_slices_with_the_same_findings(tmp_path: Path, cache: Path) -> None:
    keys = [make_canaries(40 + n).secret for n in range(3)]
    repo = new_repo(tmp_path / "big", **{f"m{n}.py": f"x = {n}\n" for n in range(7)})
    for n, key in enumerate(keys):
        commit_files(repo, f"key {n}", **{f"k{n}.py": f'BINANCE_SECRET = "{key}"\n'})
    (tmp_path / "repos.txt").write_text("big\n")
    _, whole, _ = scan_json("--repos", "repos.txt", cwd=tmp_path)
    _, sliced, _ = scan_json("--repos", "repos.txt", "--slice-blobs", "3", cwd=tmp_path)
    assert sliced["findings"] == whole["findings"] and {f["secret_sha256"] for f in sliced["findings"]} == {
        sha(key) for key in keys
    }
    assert [row["tasks"] for row in whole["stats"]["repositories"]] == [1]
    assert [row["tasks"] for row in sliced["stats"]["repositories"]] == [1 + 4 + 1]  # listed, 10 blobs in 4, attributed
    assert sliced["stats"]["files_scanned"] == whole["stats"]["files_scanned"] == 10


def test_since_last_reads_only_objects_the_previous_run_did_not(tmp_path: Path, cache: Path) -> None:
    old, new = make_canaries(51).secret, make_canaries(52).secret
    repo = new_repo(tmp_path / "desk", **{"old.py": f'BINANCE_SECRET = "{old}"\n', "a.py": "a = 1\n"})
    (tmp_path / "repos.txt").write_text("desk\n")
    code, first, _ = scan_json("--repos", "repos.txt", "--since-last", cwd=tmp_path)
    assert (code, [f["secret_sha256"] for f in first["findings"]], first["stats"]["files_scanned"]) == (
        1,
        [sha(old)],
        2,
    )
    code, second, _ = scan_json("--repos", "repos.txt", "--since-last", cwd=tmp_path)
    assert (code, second["findings"], second["stats"]["files_scanned"]) == (0, [], 0)
    added = commit_files(repo, "new key", **{"new.py": f'BINANCE_SECRET = "{new}"\n', "a.py": "a = 2\n"})
    code, third, _ = scan_json("--repos", "repos.txt", "--since-last", cwd=tmp_path)
    assert [(f["secret_sha256"], f["commit"]) for f in third["findings"]] == [(sha(new), added)]
    assert third["stats"]["files_scanned"] == 2  # new.py and the new a.py; old.py is not read again
    assert third["stats"]["repositories"][0]["blobs_listed"] == 4
    _, full, _ = scan_json("--repos", "repos.txt", cwd=tmp_path)  # without the flag: everything, state untouched
    assert {f["secret_sha256"] for f in full["findings"]} == {sha(old), sha(new)}
    [state] = (tmp_path / "state" / "keyguard" / "scanned").iterdir()
    kept = json.loads(state.read_text())
    assert kept["repository"] == str(repo) and len(kept["blobs"]) == 4
    assert old not in state.read_text() and new not in state.read_text()
    _, other, _ = scan_json("--repos", "repos.txt", "--since-last", "--include-examples", cwd=tmp_path)
    assert other["stats"]["files_scanned"] == 4  # other settings, other findings from the same blobs: all read again


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler runs the repositories of --repos FILE"),
        (["--since-last"], "--since-last remembers what was scanned per repository of --repos FILE"),
        (["--repos", "empty.txt"], "empty.txt lists no repository"),
        (["--repos", "absent.txt"], "cannot read absent.txt"),
        (["--repos", "empty.txt", "--since", "HEAD"], "--since names a commit of one repository"),
    ],
)
def test_a_wrong_combination_is_one_line_and_exit_2(tmp_path: Path, args: list[str], said: str) -> None:
    (tmp_path / "empty.txt").write_text("# nothing yet\n\n")
    done = run_keyguard("scan", *args, cwd=tmp_path)
    out, err = decode(done)
    assert done.returncode == 2 and said in err and "Traceback" not in out + err, err
