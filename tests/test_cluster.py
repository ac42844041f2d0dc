"""scan --repos --scheduler on a real Dask cluster: `dask scheduler` and two `dask worker` processes on loopback,
started from this environment, scanning generated repositories; one test kills a worker midway."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from dask.distributed import Client

from conftest import commit_files, decode, git, random_token, run_keyguard

DASK = str(Path(sys.executable).parent / "dask")


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def token(seed: int) -> str:
    return random_token(random.Random(seed))


@dataclass
class Cluster:
    address: str
    workers: list[subprocess.Popen]
    cache: Path  # the workers' XDG_CACHE_HOME: where they keep mirrors


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    """The process we started and its children (a worker's nanny runs the worker in a child process)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _start(folder: Path, workers: int = 2) -> Iterator[Cluster]:
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "XDG_CACHE_HOME": str(folder / "cache"), "DASK_DISTRIBUTED__WORKER__DAEMON": "True"}
    address = f"tcp://127.0.0.1:{_free_port()}"
    started: list[subprocess.Popen] = []

    def launch(*args: str, log: str) -> subprocess.Popen:
        with open(folder / log, "wb") as out:
            process = subprocess.Popen(
                [DASK, *args, "--no-dashboard"], cwd=folder, env=env, stdout=out, stderr=out, start_new_session=True
            )
        started.append(process)
        return process

    port = address.rsplit(":", 1)[1]
    launch("scheduler", "--host", "127.0.0.1", "--port", port, log="scheduler.log")
    one_process = ("--nthreads", "1", "--nworkers", "1", "--memory-limit", "0")
    nodes = [launch("worker", address, "--host", "127.0.0.1", *one_process, log=f"w{n}.log") for n in range(workers)]
    try:
        with Client(address, timeout=60) as client:
            deadline = time.monotonic() + 120
            while len(client.scheduler_info()["workers"]) < workers:
                dead = [log.name for log, p in zip(sorted(folder.glob("*.log")), started, strict=True) if p.poll()]
                assert not dead and time.monotonic() < deadline, f"the cluster did not start: see {folder}"
                time.sleep(0.2)
        yield Cluster(address, nodes, folder / "cache")
    finally:
        for process in reversed(started):
            _stop(process)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from _start(tmp_path_factory.mktemp("dask"))


@dataclass
class Org:
    listing: Path
    keys: dict[str, set[str]]  # secret_sha256 -> the labels of the repositories holding it
    values: set[str]  # the keys themselves: never to be seen in an output


def _repo(path: Path, files: dict[str, str]) -> Path:
    path.mkdir(parents=True)
    git("init", "-q", "-b", "main", cwd=path)
    commit_files(path, "first", **files)
    return path


def make_org(root: Path, count: int, seed: int) -> Org:
    """`count` repositories: every third one a bare copy given as a file:// URL; one key shared by all, one by
    each pair of neighbours, one of each repository's own in a later commit that a further commit removes."""
    shared = token(seed)
    keys: dict[str, set[str]] = {}
    values = {shared}
    lines = []
    for n in range(count):
        neighbour, own = token(seed + 100 + n // 2), token(seed + 200 + n)
        values |= {neighbour, own}
        work = _repo(
            root / "work" / f"repo{n}",
            {
                "config/.env": f"BINANCE_API_SECRET={shared}\n",
                "bot.py": f'BINANCE_SECRET = "{neighbour}"\n',
                "README.md": f"repository {n}\n",
            },
        )
        commit_files(work, "key", **{"deploy.py": f'binance_secret = "{own}"\n'})
        commit_files(work, "no key", **{"deploy.py": "secret = os.environ['BINANCE_SECRET']\n"})
        if n % 3 == 2:
            bare = root / "srv" / f"repo{n}.git"
            git("clone", "-q", "--bare", str(work), str(bare), cwd=root)
            label = f"file://{bare}"
        else:
            label = str(work)
        lines.append(label)
        for key in (shared, neighbour, own):
            keys.setdefault(sha(key), set()).add(label)
    listing = root / "repos.txt"
    listing.write_text("\n".join(lines) + "\n")
    return Org(listing, keys, values)


def _repositories(finding: dict, org: Org) -> set[str]:
    labels = {label for labels in org.keys.values() for label in labels}
    return {next(label for label in labels if loc["path"].startswith(label + "/")) for loc in finding["locations"]}


def _scan(*args: str, cwd: Path) -> tuple[dict, str]:
    done = run_keyguard("scan", "-f", "json", *args, cwd=cwd)
    out, err = decode(done)
    assert done.returncode == 1 and "Traceback" not in err, err
    return json.loads(out), out + err


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "client-cache"))
    monkeypatch.setenv("KEYGUARD_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def test_repositories_on_the_cluster_give_one_finding_per_credential(cluster: Cluster, tmp_path: Path, state: Path):
    org = make_org(tmp_path, 6, seed=60)
    report, text = _scan(
        "--repos", str(org.listing), "--scheduler", cluster.address, "--slice-blobs", "4", cwd=tmp_path
    )
    found = {finding["secret_sha256"]: finding for finding in report["findings"]}
    assert set(found) == set(org.keys)
    for secret, labels in org.keys.items():
        assert _repositories(found[secret], org) == labels
    shared = found[next(secret for secret, labels in org.keys.items() if len(labels) == 6)]
    assert {loc["exposure"] for loc in shared["locations"]} == {"committed", "pushed"}  # URLs' copies are pushed
    assert shared["severity"] == next(loc["severity"] for loc in shared["locations"] if loc["exposure"] == "pushed")
    stats = report["stats"]
    assert stats["cluster"] == {
        "scheduler": cluster.address,
        "workers": 2,
        "tasks": sum(row["tasks"] for row in stats["repositories"]),
    }
    # 5 blobs a repository (deploy.py twice) in slices of 4: listed, 2 slices, attributed
    assert [row["tasks"] for row in stats["repositories"]] == [4] * 6 and stats["files_scanned"] == 30
    assert report["skipped"] == [] and all(value not in text for value in org.values)
    assert len(list((cluster.cache / "keyguard" / "mirrors").glob("*/HEAD"))) >= 2  # URLs mirrored on the workers
    local, _ = _scan("--repos", str(org.listing), cwd=tmp_path)
    assert local["findings"] == report["findings"]  # the same code path on the local pool


def test_since_last_on_the_cluster_reads_only_the_new_commit(cluster: Cluster, tmp_path: Path, state: Path):
    org = make_org(tmp_path, 3, seed=400)
    first, _ = _scan("--repos", str(org.listing), "--scheduler", cluster.address, "--since-last", cwd=tmp_path)
    assert {f["secret_sha256"] for f in first["findings"]} == set(org.keys) and first["stats"]["files_scanned"] == 15
    new = token(499)
    work = tmp_path / "work" / "repo2"  # the one served as a file:// URL: its bare copy gets the commit
    added = commit_files(work, "another key", **{"later.py": f'BINANCE_SECRET = "{new}"\n'})
    git("push", "-q", str(tmp_path / "srv" / "repo2.git"), "main", cwd=work)
    second, text = _scan("--repos", str(org.listing), "--scheduler", cluster.address, "--since-last", cwd=tmp_path)
    assert [(f["secret_sha256"], f["commit"], f["exposure"]) for f in second["findings"]] == [
        (sha(new), added, "pushed")
    ]
    assert second["stats"]["files_scanned"] == 1 and [r["blobs_listed"] for r in second["stats"]["repositories"]] == [
        5,
        5,
        6,
    ]
    assert len(list(state.iterdir())) == 3 and new not in "".join(p.read_text() for p in state.iterdir()) + text


def test_a_worker_killed_midway_loses_nothing(tmp_path: Path, state: Path):
    org = make_org(tmp_path / "org", 12, seed=700)
    starter = _start(tmp_path / "dask")
    cluster = next(starter)
    try:
        with Client(cluster.address, timeout=30) as watcher:
            pids = watcher.run(os.getpid)  # worker address -> its process id
            scan = subprocess.Popen(
                [sys.executable, "-m", "keyguard", "scan", "-f", "json", "--repos", str(org.listing)]
                + ["--scheduler", cluster.address, "--slice-blobs", "2"],
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            victim, deadline = None, time.monotonic() + 120
            while victim is None and time.monotonic() < deadline and scan.poll() is None:
                busy = [worker for worker, keys in watcher.processing().items() if keys]
                victim = busy[0] if busy else None
                time.sleep(0.01)
            assert victim is not None, "no task was seen running"
            node = next(p for p in cluster.workers if os.getpgid(pids[victim]) == p.pid)
            os.killpg(node.pid, signal.SIGKILL)  # the worker and its nanny, mid-task
            node.wait()
            out, err = scan.communicate(timeout=180)
    finally:
        starter.close()
    assert scan.returncode == 1 and b"Traceback" not in err, err.decode()
    report = json.loads(out)
    assert {f["secret_sha256"] for f in report["findings"]} == set(org.keys)
    for finding in report["findings"]:
        assert _repositories(finding, org) == org.keys[finding["secret_sha256"]]
    assert report["skipped"] == [] and report["stats"]["files_scanned"] == 60
    assert report["stats"]["cluster"]["workers"] == 2
    assert all(row["status"] == "scanned" for row in report["stats"]["repositories"])


def test_an_unreachable_scheduler_is_one_line_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT", "2s")
    (tmp_path / "repos.txt").write_text("somewhere\n")
    done = run_keyguard("scan", "--repos", "repos.txt", "--scheduler", f"tcp://127.0.0.1:{_free_port()}", cwd=tmp_path)
    out, err = decode(done)
    assert done.returncode == 2 and "cannot reach the Dask scheduler at tcp://127.0.0.1:" in err
    assert "Traceback" not in out + err and len(err.strip().splitlines()) == 1, err
