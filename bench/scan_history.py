"""Times history scanning against peers on a generated repository, in the same run.

The repository (deterministic seed) has COMMITS commits of mixed files (Python, JSON, YAML, Markdown,
.env) and PLANTED Binance key/secret pairs, each added in one commit and deleted a few commits later,
so only history holds them. Tools: keyguard, Kingfisher (git mode), Betterleaks (git mode), and the
floor `git cat-file --batch-all-objects --batch --unordered`. Prints median wall time of N runs, MB/s of
unique blob bytes, peak RSS (largest process), and the recall of planted keys per tool.

    python bench/scan_history.py --commits 20000 --runs 3
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import string
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from scan_files import CACHE, PEER_PACKAGES, Tool, _measure, _venv  # noqa: E402

ALNUM = string.ascii_letters + string.digits
WORDS = [
    "order",
    "price",
    "symbol",
    "quantity",
    "balance",
    "market",
    "limit",
    "trade",
    "fill",
    "depth",
    "ticker",
    "candle",
    "signal",
    "risk",
]


def _token(rng: random.Random) -> str:
    return "".join(rng.choice(ALNUM) for _ in range(64))


def _text(rng: random.Random, kind: str, lines: int) -> str:
    if kind == "py":
        return "".join(f"def {rng.choice(WORDS)}_{i}(x):\n    return x * {rng.randint(1, 99)}\n" for i in range(lines))
    if kind == "json":
        return json.dumps({f"{rng.choice(WORDS)}{i}": rng.random() for i in range(lines)}, indent=2)
    if kind == "yaml":
        return "".join(f"{rng.choice(WORDS)}_{i}: {rng.randint(0, 10**6)}\n" for i in range(lines))
    return "".join(" ".join(rng.choice(WORDS) for _ in range(12)) + "\n" for _ in range(lines))


def generate(path: Path, commits: int, planted: int, seed: int) -> list[tuple[str, str]]:
    """A bare repository built with git fast-import; returns the planted (key, secret) pairs."""
    rng = random.Random(seed)
    files = [
        f"src/{w}_{i}.{k}"
        for i, (w, k) in enumerate(
            (rng.choice(WORDS), rng.choice(["py", "py", "json", "yaml", "md"])) for _ in range(300)
        )
    ]
    plant_at = sorted(rng.sample(range(10, commits - 10), planted))
    pairs = [(_token(rng), _token(rng)) for _ in range(planted)]
    removals: dict[int, list[str]] = {}
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    stream = []
    when = 1_700_000_000
    for number in range(commits):
        changes = []
        for _ in range(rng.randint(1, 3)):
            name = rng.choice(files)
            content = _text(rng, name.rsplit(".", 1)[1], rng.randint(20, 120)).encode()
            changes.append(f"M 100644 inline {name}\ndata {len(content)}\n".encode() + content + b"\n")
        if plant_at and plant_at[0] == number:
            plant_at.pop(0)
            key, secret = pairs[len(pairs) - len(plant_at) - 1]
            name = rng.choice(["config/.env", "bot/settings.py", "deploy/values.yaml"]) + f".{number}"
            content = (
                f"BINANCE_API_KEY={key}\nBINANCE_API_SECRET={secret}\n"
                if ".env" in name
                else f'api_key = "{key}"\napi_secret = "{secret}"\n'
            ).encode()
            changes.append(f"M 100644 inline {name}\ndata {len(content)}\n".encode() + content + b"\n")
            removals.setdefault(number + rng.randint(1, 8), []).append(name)
        for name in removals.pop(number, []):
            changes.append(f"D {name}\n".encode())
        message = f"commit {number}".encode()
        when += rng.randint(60, 7200)
        stream.append(
            b"commit refs/heads/main\n"
            + f"committer Bench <bench@example.com> {when} +0000\n".encode()
            + f"data {len(message)}\n".encode()
            + message
            + b"\n"
            + b"".join(changes)
            + b"\n"
        )
    subprocess.run(["git", "fast-import", "--quiet"], cwd=path, input=b"".join(stream), check=True)
    subprocess.run(["git", "gc", "-q"], cwd=path, check=True)
    return pairs


def _blob_bytes(repo: Path) -> int:
    out = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch-check=%(objecttype) %(objectsize)"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sum(int(size) for kind, size in (line.split() for line in out.splitlines()) if kind == "blob")


def _recall(name: str, output: Path, pairs: list[tuple[str, str]]) -> str:
    if not output.exists():
        return "no output"
    text = output.read_text(errors="replace")
    if name == "keyguard":
        found = {f["secret_sha256"] for f in json.loads(text)["findings"]}
        hits = sum(hashlib.sha256(s.encode()).hexdigest() in found for _, s in pairs)
    else:
        hits = sum(s in text for _, s in pairs)
    return f"{hits}/{len(pairs)} secrets"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commits", type=int, default=20_000)
    parser.add_argument("--planted", type=int, default=40)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    peers = _venv(CACHE / "peers", PEER_PACKAGES)
    work = Path(tempfile.mkdtemp(prefix="kg-history-"))
    repo = work / "repo.git"
    pairs = generate(repo, args.commits, args.planted, args.seed)
    size = _blob_bytes(repo)
    print(
        f"repository: {args.commits} commits, {len(pairs)} planted pairs (deleted later), "
        f"{size / 1e6:.1f} MB of unique blobs"
    )
    out = work / "out"
    out.mkdir()
    tools = [
        Tool(
            "keyguard",
            [sys.executable, "-m", "keyguard", "scan", str(repo), "-f", "json", "-o", str(out / "keyguard.json")],
            cwd=out,
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
        Tool(
            "betterleaks",
            [
                str(peers / "betterleaks"),
                "git",
                str(repo),
                "--no-banner",
                "--exit-code",
                "0",
                "-o",
                str(out / "betterleaks.json"),
            ],
        ),
        Tool("floor (cat-file)", ["git", "-C", str(repo), "cat-file", "--batch-all-objects", "--batch", "--unordered"]),
    ]
    for tool in tools:
        _measure(tool)  # warm caches, and produce each tool's report for recall
    runs: dict[str, list[tuple[float, int]]] = {}
    for _ in range(args.runs):
        for tool in tools:
            seconds, rss, _code = _measure(tool)
            runs.setdefault(tool.name, []).append((seconds, rss))
    ours = statistics.median(s for s, _ in runs["keyguard"])
    print(f"\n{'tool':18} {'median s':>9} {'MB/s':>8} {'peak RSS MB':>12} {'time / keyguard':>16}  recall")
    for tool in tools:
        seconds = statistics.median(s for s, _ in runs[tool.name])
        rss = max(r for _, r in runs[tool.name])
        report = out / f"{tool.name}.json"
        recall = _recall(tool.name, report, pairs) if tool.name != "floor (cat-file)" else ""
        print(
            f"{tool.name:18} {seconds:9.2f} {size / 1e6 / seconds:8.1f} {rss / 1024:12.0f} "
            f"{seconds / ours:16.2f}  {recall}"
        )
    print(f"\nrepository kept at {repo}")


if __name__ == "__main__":
    main()
