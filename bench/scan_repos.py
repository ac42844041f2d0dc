"""Times history scanning of real repositories against Kingfisher and the git floor, in the same run.

Each repository given is copied to a temporary directory (so no tool can touch the original) and scanned
whole by keyguard (`keyguard scan REPO -f json`: a bare repository is history only), Kingfisher in git
mode, and the floor `git cat-file --batch-all-objects --batch --unordered > /dev/null`. Runs are
interleaved (every tool on every repository, then again), after one warm-up run of each. Prints, per
repository and tool: median wall time of N runs (and each run), median CPU seconds (user + system, the
tool and its children: steadier than wall time on a shared machine), MB/s of unique blob bytes (sizes from
`git cat-file --batch-all-objects --batch-check`), peak RSS of the largest single process, the ratio of
time to keyguard's and to the floor's, and what each tool reports (keyguard: findings and locations).

    python bench/scan_repos.py --repo /path/to/freqtrade.git --repo /path/to/python-binance.git --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from scan_files import CACHE, PEER_PACKAGES, Tool, _venv  # noqa: E402

FLOOR = "floor (cat-file)"
# scan_files.MEASURE plus the CPU seconds (user + system) of the command and its children: on a shared
# machine wall time drifts with others' load, CPU time much less.
MEASURE_CPU = """
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(time.perf_counter() - start, usage.ru_maxrss, code, usage.ru_utime + usage.ru_stime)
"""


@dataclass
class Repo:
    name: str
    path: Path  # the copy that is scanned
    blobs: int
    blob_bytes: int
    out: Path  # where the tools write their reports
    tools: list[Tool] = field(default_factory=list)
    runs: dict[str, list[tuple[float, int, int, float]]] = field(default_factory=dict)


def _blobs(repo: Path) -> tuple[int, int]:
    """(count, bytes) of the repository's unique blobs."""
    out = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch-check=%(objecttype) %(objectsize)"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    sizes = [int(size) for kind, size in (line.split() for line in out.splitlines()) if kind == "blob"]
    return len(sizes), sum(sizes)


def _listing(repo: Path) -> dict[str, tuple[int, float]]:
    """Every file of the repository with its size and mtime: a tool that writes into it shows up."""
    found = {}
    for root, _dirs, names in os.walk(repo):
        for name in names:
            path = os.path.join(root, name)
            stat = os.lstat(path)
            found[os.path.relpath(path, repo)] = (stat.st_size, stat.st_mtime)
    return found


def _measure(tool: Tool) -> tuple[float, int, int, float]:
    """Wall seconds, peak RSS of the largest process (KiB), exit code, CPU seconds."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE_CPU, *tool.command], cwd=tool.cwd, capture_output=True, text=True, check=True
    )
    seconds, rss, code, cpu = done.stdout.split()
    return float(seconds), int(rss), int(code), float(cpu)


def _tools(repo: Path, out: Path, peers: Path) -> list[Tool]:
    return [
        Tool(
            "keyguard",
            [sys.executable, "-m", "keyguard", "scan", str(repo), "-f", "json", "-o", str(out / "keyguard.json")],
            cwd=out,  # no project settings of the working directory apply
        ),
        Tool(
            "kingfisher",
            [
                str(peers / "kingfisher"),
                "scan",
                str(repo),
                "-f",
                "json",
                "--no-validate",
                "--no-update-check",
                "-q",
                "-o",
                str(out / "kingfisher.json"),
            ],
        ),
        Tool(FLOOR, ["git", "-C", str(repo), "cat-file", "--batch-all-objects", "--batch", "--unordered"]),
    ]


def _reported(tool: str, out: Path) -> str:
    """What the tool's report says it found."""
    report = out / f"{tool}.json"
    if tool == FLOOR:
        return ""
    if not report.exists():
        return "no report"
    data = json.loads(report.read_text())
    if tool == "keyguard":
        findings = data["findings"]
        locations = sum(len(f.get("locations") or [f]) for f in findings)
        return f"{len(findings)} findings, {locations} locations ({len(data['skipped'])} skipped)"
    return f"{len(data['findings'])} findings ({data['metadata']['summary']['blobs_scanned']} blobs)"


def _version(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr).strip() else "?"


def _prepare(path: Path, work: Path, peers: Path) -> Repo:
    name = path.name if path.name not in ("repo", ".git") else path.parent.name
    copy = work / name / "repo"
    shutil.copytree(path, copy, symlinks=True)
    out = work / name / "out"
    out.mkdir()
    blobs, size = _blobs(copy)
    return Repo(name, copy, blobs, size, out, _tools(copy, out, peers))


def _row(repo: Repo, tool: str) -> str:
    runs = repo.runs[tool]
    seconds = statistics.median(run[0] for run in runs)
    rss = max(run[1] for run in runs) / 1024
    cpu = statistics.median(run[3] for run in runs)
    ours = statistics.median(run[0] for run in repo.runs["keyguard"])
    floor = statistics.median(run[0] for run in repo.runs[FLOOR])
    each = " ".join(f"{run[0]:.1f}" for run in runs)
    codes = ",".join(str(code) for code in sorted({run[2] for run in runs}))
    return (
        f"| {repo.name} | {tool} | {seconds:.2f} ({each}) | {cpu:.1f} | {repo.blob_bytes / 1e6 / seconds:.0f} "
        f"| {rss:.0f} | {seconds / ours:.2f} | {seconds / floor:.2f} | {_reported(tool, repo.out)} | {codes} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, action="append", required=True, help="a git repository (repeatable)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip", action="append", default=[], help="leave out a tool (repeatable)")
    args = parser.parse_args()

    peers = _venv(CACHE / "peers", PEER_PACKAGES)
    work = Path(tempfile.mkdtemp(prefix="kg-repos-"))
    started = time.perf_counter()
    try:
        repos = [_prepare(path.resolve(), work, peers) for path in args.repo]
        for repo in repos:
            repo.tools = [t for t in repo.tools if t.name not in args.skip or t.name in ("keyguard", FLOOR)]
        print(
            f"{_version([sys.executable, '-m', 'keyguard', '--version'])}, "
            f"{_version([str(peers / 'kingfisher'), '--version'])}, {_version(['git', '--version'])}; "
            f"{os.cpu_count()} cores, {args.runs} runs each, load average {os.getloadavg()[0]:.2f} at the start"
        )
        print(f"keyguard from {_version([sys.executable, '-c', 'import keyguard; print(keyguard.__file__)'])}")
        for repo in repos:
            print(f"{repo.name}: {repo.blobs} blobs, {repo.blob_bytes / 1e6:.0f} MB of unique blobs")
        before = {repo.name: _listing(repo.path) for repo in repos}
        for repo in repos:
            for tool in repo.tools:
                _measure(tool)  # warms the page cache and writes each tool's report
        for _ in range(args.runs):  # interleaved, so drifting machine load hits every tool alike
            for repo in repos:
                for tool in repo.tools:
                    repo.runs.setdefault(tool.name, []).append(_measure(tool))
        print(f"load average {os.getloadavg()[0]:.2f} at the end, {time.perf_counter() - started:.0f} s in all\n")
        print(
            "| repository | tool | median s (each run) | CPU s | MB/s | peak RSS MB | time / keyguard | time / floor "
            f"| reported | exit |\n|{'---|' * 10}"
        )
        for repo in repos:
            for tool in repo.tools:
                print(_row(repo, tool.name))
        for repo in repos:
            if _listing(repo.path) != before[repo.name]:
                print(f"\nnote: a tool wrote into {repo.name}'s repository during the runs")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
