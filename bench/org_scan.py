"""An organisation scan: `keyguard scan --repos` on the local pool against a local Dask cluster, same input, same run.

Generates REPOS git repositories (default 200) of about BLOBS unique blobs each (default 2000: source-like
files of 0.3-4 KB, written with `git fast-import` in commits of 20 files), with keys planted: each repository
one of its own (added in a commit, removed in the next), and a few keys shared by groups of repositories.
Then, interleaved, RUNS times (after one warm-up of each):

  local    `keyguard scan --repos list.txt -j WORKERS` (the local process pool)
  cluster  `keyguard scan --repos list.txt --scheduler ADDR` on a fresh `dask scheduler` and WORKERS
           `dask worker --nthreads 1` processes on loopback (started before the clock starts)
  tiny     both again on TINY one-blob repositories: what a task costs beyond its work

Prints per mode the median wall time (and each run), CPU seconds (the keyguard process and its children; on
the cluster also the workers' own and their git processes', from worker start, so a worker's import is in it),
peak RSS of the client and of each worker (VmHWM of the worker processes; the local pool's largest process),
tasks, blobs and findings; then the cost model: per-task overhead, repositories an hour per worker core, and
the cores (and machines of a given size) that scan 10,000 such repositories in an hour.

    python bench/org_scan.py --repos 200 --blobs 2000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
FILES_PER_COMMIT = 20
MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(time.perf_counter() - start, usage.ru_maxrss, code, usage.ru_utime + usage.ru_stime)
"""
WORDS = ("order", "price", "quantity", "symbol", "balance", "account", "trade", "market", "limit", "signal")


def _token(rng: random.Random) -> str:
    return "".join(rng.choice(ALNUM) for _ in range(64))


def _templates(rng: random.Random, count: int = 64) -> list[str]:
    """Source-like texts of 0.3-4 KB that every repository varies (a unique line makes each blob its own)."""
    texts = []
    for number in range(count):
        lines = [f'"""module {number}"""', "import os", ""]
        for _ in range(rng.randint(8, 120)):
            a, b = rng.choice(WORDS), rng.choice(WORDS)
            lines.append(f"def {a}_{b}_{rng.randint(0, 999)}(x):\n    return x * {rng.random():.6f}  # {b}")
        texts.append("\n".join(lines) + "\n")
    return texts


def _data(text: str) -> bytes:
    body = text.encode()
    return b"data %d\n" % len(body) + body + b"\n"


def _make_repo(path: Path, number: int, blobs: int, planted: list[tuple[str, str]], templates: list[str]) -> None:
    """A repository of about `blobs` unique blobs through one `git fast-import` stream."""
    rng = random.Random(number)
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    stream = bytearray()
    per_commit = min(blobs, FILES_PER_COMMIT)
    commits = max(1, blobs // per_commit)
    when = 1_700_000_000
    for commit in range(commits):
        stream += b"commit refs/heads/main\ncommitter Bench <bench@example.com> %d +0000\n" % (when + commit)
        stream += _data(f"change {commit}")
        for slot in range(per_commit):
            name = f"src/pkg{slot % 7}/module{slot}.py"
            text = templates[rng.randrange(len(templates))] + f"# revision {number}-{commit}-{slot}\n"
            stream += f"M 100644 inline {name}\n".encode() + _data(text)
        if commit == min(1, commits - 1):  # the planted keys arrive early and their own file is emptied later
            for name, text in planted:
                stream += f"M 100644 inline {name}\n".encode() + _data(text)
        if planted and commit == commits // 2 and commits > 2:
            stream += b"M 100644 inline deploy/settings.py\n" + _data("BINANCE_SECRET = os.environ['S']\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=path, input=bytes(stream), check=True)


def generate(root: Path, repos: int, blobs: int, keys_planted: bool = True) -> tuple[Path, int]:
    """The repositories and their list file; returns (list, distinct keys planted)."""
    rng = random.Random(17)
    templates = _templates(rng)
    shared = [_token(rng) for _ in range(max(1, repos // 20))]  # each in about 10 repositories
    keys = set(shared)
    lines = []
    for number in range(repos):
        own = _token(random.Random(10_000 + number))
        keys |= {own} if keys_planted else set()
        planted = [("deploy/settings.py", f'BINANCE_SECRET = "{own}"\n')] if keys_planted else []
        if keys_planted and number % 2 == 0:
            key = shared[(number // 2) % len(shared)]
            planted.append(("config/.env", f"BINANCE_API_SECRET={key}\n"))
        path = root / f"repo{number:04d}.git"
        _make_repo(path, number, blobs, planted, templates)
        lines.append(str(path))
    listing = root / "repos.txt"
    listing.write_text("\n".join(lines) + "\n")
    return listing, len(keys)


@dataclass
class Run:
    wall: float
    cpu: float
    client_rss_mb: float
    worker_rss_mb: list[float]
    tasks: int
    blobs: int
    findings: int
    busy: float | None = None  # cluster: the workers' compute time over (span of the task stream x workers)


@dataclass
class Mode:
    name: str
    runs: list[Run] = field(default_factory=list)

    def median(self, attribute: str) -> float:
        return statistics.median(getattr(run, attribute) for run in self.runs)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalCluster:
    """`dask scheduler` and `workers` single-threaded `dask worker` processes on loopback, from this venv."""

    def __init__(self, workers: int, folder: Path) -> None:
        from dask.distributed import Client

        dask = str(Path(sys.executable).parent / "dask")
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        env = {**os.environ, "XDG_CACHE_HOME": str(folder / "cache")}
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True, "env": env}
        port = self.address.rsplit(":", 1)[1]
        self.processes = [
            subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"], **quiet)
        ]
        worker = [dask, "worker", self.address, "--host", "127.0.0.1", "--nthreads", "1", "--nworkers", "1"]
        self.processes += [subprocess.Popen([*worker, "--no-dashboard"], **quiet) for _ in range(workers)]
        self.client = Client(self.address, timeout=60)
        self.client.wait_for_workers(workers, timeout=120)

    def worker_peaks_mb(self) -> list[float]:
        """VmHWM (peak resident set) of each worker process, read where it runs."""

        def peak() -> float:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
            return float("nan")

        return sorted(self.client.run(peak).values())

    def worker_cpu(self) -> float:
        """CPU seconds of the workers and the git processes they ran."""

        def used() -> float:
            import resource

            own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
            return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

        return sum(self.client.run(used).values())

    def close(self) -> None:
        self.client.close()
        for process in reversed(self.processes):
            os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _scan(listing: Path, extra: list[str], out: Path) -> tuple[float, float, float, dict]:
    command = [sys.executable, "-m", "keyguard", "scan", "--repos", str(listing), "-f", "json", "-o", str(out), *extra]
    done = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, check=True)
    wall, rss_kb, code, cpu = done.stdout.split()
    if int(code) not in (0, 1):
        raise SystemExit(f"keyguard exit {code}: {' '.join(command)}")
    return float(wall), float(cpu), int(rss_kb) / 1024, json.loads(out.read_text())


def run_local(listing: Path, workers: int, out: Path) -> Run:
    wall, cpu, rss, report = _scan(listing, ["-j", str(workers)], out)
    stats = report["stats"]
    # the local pool's processes are the keyguard process's children: ru_maxrss is the largest one's
    return Run(wall, cpu, rss, [rss], stats["cluster"]["tasks"], stats["files_scanned"], len(report["findings"]))


def run_cluster(listing: Path, workers: int, out: Path, folder: Path) -> Run:
    from dask.distributed import get_task_stream

    cluster = LocalCluster(workers, folder)
    try:
        with get_task_stream(cluster.client) as stream:
            wall, cpu, rss, report = _scan(listing, ["--scheduler", cluster.address], out)
        computed = [part for task in stream.data for part in task["startstops"] if part["action"] == "compute"]
        span = max(p["stop"] for p in computed) - min(p["start"] for p in computed)
        busy = sum(p["stop"] - p["start"] for p in computed) / (span * workers) if span else None
        peaks = cluster.worker_peaks_mb()
        cpu += cluster.worker_cpu()
    finally:
        cluster.close()
    stats = report["stats"]
    return Run(wall, cpu, rss, peaks, stats["cluster"]["tasks"], stats["files_scanned"], len(report["findings"]), busy)


def _row(mode: Mode) -> str:
    runs = ", ".join(f"{run.wall:.1f}" for run in mode.runs)
    workers = "/".join(
        f"{statistics.median(run.worker_rss_mb[i] for run in mode.runs):.0f}"
        for i in range(len(mode.runs[0].worker_rss_mb))
    )
    last = mode.runs[-1]
    busy = [run.busy for run in mode.runs if run.busy is not None]
    utilisation = f"  workers busy {statistics.median(busy):.0%}" if busy else ""
    return (
        f"{mode.name:<14} {mode.median('wall'):>8.1f} s ({runs})  cpu {mode.median('cpu'):>7.1f} s"
        f"  client {mode.median('client_rss_mb'):>5.0f} MB  workers {workers} MB"
        f"  tasks {last.tasks}  blobs {last.blobs}  findings {last.findings}{utilisation}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repos", type=int, default=200)
    parser.add_argument("--blobs", type=int, default=2000, help="unique blobs a repository, about")
    parser.add_argument("--tiny", type=int, default=200, help="one-blob repositories for the per-task overhead")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="generate into (and reuse) this folder")
    arguments = parser.parse_args()
    root = arguments.keep or Path(tempfile.mkdtemp(prefix="keyguard-org-"))
    few = max(1, arguments.tiny // 10)
    lists = {"org": root / "org" / "repos.txt", "few": root / "few" / "repos.txt", "tiny": root / "tiny" / "repos.txt"}
    try:
        started = time.perf_counter()
        if not lists["org"].exists():
            for name, count, blobs in (("org", arguments.repos, arguments.blobs), ("few", few, 1)):
                (root / name).mkdir(parents=True, exist_ok=True)
                generate(root / name, count, blobs, keys_planted=name == "org")
            (root / "tiny").mkdir(exist_ok=True)
            generate(root / "tiny", arguments.tiny, 1, keys_planted=False)
        size = sum(f.stat().st_size for f in (root / "org").rglob("*") if f.is_file())
        print(
            f"generated in {time.perf_counter() - started:.0f} s: {arguments.repos} repositories, "
            f"~{arguments.blobs} blobs each, {size / 1e6:.0f} MB packed; {few} and {arguments.tiny} one-blob ones"
        )
        modes: dict[str, Mode] = {}
        out = root / "report.json"
        for number in range(arguments.runs + 1):  # run 0 warms the caches and is not counted
            results = {}
            for name, listing in lists.items():
                results[f"{name} local"] = run_local(listing, arguments.workers, out)
                results[f"{name} cluster"] = run_cluster(listing, arguments.workers, out, root / "dask")
            for name, result in results.items():
                if number:
                    modes.setdefault(name, Mode(name)).runs.append(result)
            said = ", ".join(f"{name} {result.wall:.1f} s" for name, result in results.items())
            print(f"run {number}{' (warm-up)' if not number else ''}: {said}", flush=True)
        print()
        for mode in modes.values():
            print(_row(mode))
        report(modes, arguments, few)
    finally:
        if arguments.keep is None:
            shutil.rmtree(root, ignore_errors=True)


def report(modes: dict[str, Mode], arguments: argparse.Namespace, few: int) -> None:
    workers = arguments.workers
    local, cluster = modes["org local"].median("wall"), modes["org cluster"].median("wall")

    def slope(where: str) -> float:
        """Seconds of wall time a further one-blob repository adds (one task each): fixed start-up cancels out."""
        return (modes[f"tiny {where}"].median("wall") - modes[f"few {where}"].median("wall")) / (arguments.tiny - few)

    fixed = modes["few cluster"].median("wall") - few * slope("cluster")
    per_task = (slope("cluster") - slope("local")) * workers
    per_repo_core = cluster * workers / arguments.repos
    an_hour = 3600 / per_repo_core
    print()
    print(f"cluster / local wall time: {cluster / local:.2f}x ({cluster:.1f} s / {local:.1f} s)")
    print(
        f"a one-blob task: {slope('cluster') * workers * 1000:.0f} ms of a worker on the cluster, "
        f"{slope('local') * workers * 1000:.0f} ms on the local pool: {per_task * 1000:.0f} ms overhead a task; "
        f"a cluster scan's fixed start (import dask, connect): {fixed:.1f} s"
    )
    print(
        f"cost model: {per_repo_core:.2f} s of a worker core a repository of ~{arguments.blobs} blobs "
        f"=> {an_hour:.0f} repositories an hour per worker core"
    )
    for hours in (1, 8):
        cores = 10_000 / (an_hour * hours)
        print(
            f"10,000 such repositories in {hours} h: {math.ceil(cores)} worker cores "
            f"({math.ceil(cores / 16)} machines of 16 cores)"
        )


if __name__ == "__main__":
    main()
