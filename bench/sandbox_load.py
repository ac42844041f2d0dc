"""Sandbox exchange throughput and scenario build time.

1. Builds `wash-trade-theft` with 90 days of history and 10,000 victim trades (median of N builds).
2. Starts `keyguard sandbox serve` in its own process and drives signed GET /api/v3/account from 8
   concurrent clients (threads, keep-alive sessions) in another process for a fixed time; prints the
   sustained requests per second and latency percentiles. Rate limits are switched off through the
   admin API for this run only (Binance would allow 300 such calls a minute per IP).

    python bench/sandbox_load.py --seconds 20 --clients 8
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import requests

from keyguard.sandbox.scenario import ScenarioBuilder, load_spec


def build_time(runs: int) -> tuple[float, int]:
    spec = load_spec("wash-trade-theft")
    spec["history"].update({"days": 90, "victim_trades": 10_000})
    times, trades = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        built = ScenarioBuilder(json.loads(json.dumps(spec))).build()
        times.append(time.perf_counter() - started)
        ledger = built.exchange.ledger
        trades = sum(1 for ts in ledger.trades.values() for t in ts if "victim" in (t.buyer, t.seller))
    return statistics.median(times), trades


def _client(base: str, entry: dict, stop: float, latencies: list[float], errors: list[int]) -> None:
    session = requests.Session()
    session.headers["X-MBX-APIKEY"] = entry["api_key"]
    secret = entry["secret"].encode()
    while time.perf_counter() < stop:
        query = urlencode({"timestamp": int(time.time() * 1000), "recvWindow": 10_000})
        signature = hmac.new(secret, query.encode(), hashlib.sha256).hexdigest()
        started = time.perf_counter()
        response = session.get(f"{base}/api/v3/account?{query}&signature={signature}", timeout=10)
        latencies.append(time.perf_counter() - started)
        if response.status_code != 200:
            errors.append(response.status_code)


def load(seconds: float, clients: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        creds_path = Path(tmp) / "creds.json"
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "keyguard",
                "sandbox",
                "serve",
                "--port",
                "0",
                "--scenario",
                "clean",
                "--write-credentials",
                str(creds_path),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            base = server.stdout.readline().split(" on ")[1].split()[0]
            requests.post(f"{base}/_sandbox/faults", json={"enforce_limits": False}, timeout=10).raise_for_status()
            entry = next(c for c in json.loads(creds_path.read_text()) if c["label"] == "victim-bot")
            latencies: list[float] = []
            errors: list[int] = []
            stop = time.perf_counter() + seconds
            threads = [
                threading.Thread(target=_client, args=(base, entry, stop, latencies, errors)) for _ in range(clients)
            ]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=10)
    latencies.sort()
    return {
        "requests": len(latencies),
        "per_second": len(latencies) / elapsed,
        "errors": len(errors),
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--builds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3, help="load runs; the median is reported")
    args = parser.parse_args()

    seconds, trades = build_time(args.builds)
    print(f"wash-trade-theft, 90 days, {trades} victim trades: built in {seconds:.2f} s (median of {args.builds})")
    runs = [load(args.seconds, args.clients) for _ in range(args.runs)]
    for run in runs:
        print(
            f"  {run['requests']} signed GET /api/v3/account in {args.seconds:.0f} s from {args.clients} clients: "
            f"{run['per_second']:.0f}/s, p50 {run['p50_ms']:.1f} ms, p99 {run['p99_ms']:.1f} ms, "
            f"{run['errors']} errors"
        )
    print(
        f"median: {statistics.median(r['per_second'] for r in runs):.0f} signed requests/s "
        f"(target >= 500/s on 2 cores, server and clients on the same machine)"
    )


if __name__ == "__main__":
    main()
