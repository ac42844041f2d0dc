"""Theft detection that knows the account (issue 11), on the sandbox: every packaged account type (grid bot,
market maker, DCA bot, scalper, a person in the app) robbed by every attack of the catalogue, and clean. Each
cell builds the scenario, runs the real sandbox server on loopback, audits it over HTTP with the victim's
read-only key (the incident's 7-day window, 7 days of baseline before it), then runs detect() and assess().

1. The matrix, the worst of the seeds in each cell: recall on attack items (attack trades, withdrawals and
   transfers flagged / all of them), the ordinary-flag share (flagged trades that are not attack trades / the
   victim's trades in the window; the legitimately unusual day counts as ordinary) and the loss error
   ((estimate - true loss) / true loss). A cell missing the goal (recall >= 0.99, ordinary <= 0.1 %, loss
   within 5 %) is marked `✗`. Clean cells: the ordinary share and the loss estimate, which should be 0.
2. Detection time: detect() + assess() on the audit of a busy market maker, 10,000 and 100,000 trades in the
   window (median of 3 runs).

    python bench/detection.py                                        # 5 accounts x 9 columns x seeds 7,8,9
    python bench/detection.py --accounts app-person,dca-bot --seeds 7 --no-timing
    python bench/detection.py --attacks wash-3x,drip --jobs 2 --json /tmp/detection.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from keyguard.exchange.client import BinanceClient
from keyguard.exchange.credentials import Credential
from keyguard.incident.audit import DAY_MS, AuditData, Auditor, Checkpoint
from keyguard.incident.detect import Detection, detect
from keyguard.incident.valuation import assess
from keyguard.sandbox.attacks import CATALOGUE
from keyguard.sandbox.scenario import ACCOUNT_SCENARIOS, Built, ScenarioBuilder, build_account_scenario, load_spec
from keyguard.sandbox.server import SandboxServer
from keyguard.sandbox.truth import true_loss_usdt

ACCOUNTS = ("grid-bot", "market-maker", "dca-bot", "scalper", "app-person")
CLEAN = "clean"
WINDOW_DAYS = 7  # the incident's default window
BASELINE_DAYS = 7  # the runbook's baseline before it
GOAL_RECALL = 0.99
GOAL_ORDINARY = 0.001
GOAL_LOSS_ERROR = 0.05
TIMING_ACCOUNT = "market-maker"
TIMING_ATTACK = "combination"  # flags of every kind, so assess() values trades, withdrawals and transfers
TIMING_SIZES = (10_000, 100_000)
TIMING_RUNS = 3


# --- one cell ----------------------------------------------------------------------------------------------


def _reader(built: Built) -> dict[str, Any]:
    return next(c for c in built.credentials if c["role"] == "victim" and c["permissions"] == ["reading"])


def audit(built: Built, window_start: int, end: int, work: Path) -> AuditData:
    """The real audit over HTTP against the real sandbox server, with the victim's read-only key."""
    reader = _reader(built)
    with SandboxServer(built.exchange).running() as server:
        client = BinanceClient(Credential(reader["api_key"], reader["private_key_pem"]), server.base_url)
        return Auditor(client, Checkpoint(work / "audit.sqlite")).collect(
            window_start, end, window_start - BASELINE_DAYS * DAY_MS
        )


def window_trades(data: AuditData, window_start: int) -> list[dict[str, Any]]:
    return [t for rows in data.trades.values() for t in rows if t["time"] >= window_start]


def score(built: Built, data: AuditData, detection: Detection, window_start: int) -> dict[str, Any]:
    """Recall on attack items, ordinary flags and their share of the window's trades, from the truth."""
    truth = built.truth
    attack_trades = {(t["symbol"], t["id"]) for t in truth["trade_ids"]}
    withdrawals = {str(w) for w in truth["withdrawal_ids"]}
    transfers = {str(t) for t in truth["transfer_ids"]}
    flagged_trades = detection.flagged_trade_ids()
    flagged_withdrawals = {str(w) for w in detection.flagged_withdrawal_ids()}
    flagged_transfers = {str(f.ref["id"]) for f in detection.flags if f.kind == "transfer"}
    unusual = {(u["symbol"], i) for u in truth.get("legit_unusual") or [] for i in u["trade_ids"]}
    ordinary = flagged_trades - attack_trades
    victim_trades = len(window_trades(data, window_start))
    items = len(attack_trades) + len(withdrawals) + len(transfers)
    hits = len(attack_trades & flagged_trades) + len(withdrawals & flagged_withdrawals)
    hits += len(transfers & flagged_transfers)
    return {
        "attack_items": items,
        "attack_hits": hits,
        "attack_trades": len(attack_trades),
        "attack_trades_flagged": len(attack_trades & flagged_trades),
        "withdrawals": len(withdrawals),
        "withdrawals_flagged": len(withdrawals & flagged_withdrawals),
        "withdrawals_wrong": len(flagged_withdrawals - withdrawals),
        "transfers": len(transfers),
        "transfers_flagged": len(transfers & flagged_transfers),
        "transfers_wrong": len(flagged_transfers - transfers),
        "victim_trades": victim_trades,
        "ordinary_flagged": len(ordinary),
        "unusual_trades": len(unusual),
        "unusual_flagged": len(unusual & flagged_trades),
        "ordinary_reasons": [
            [f.ref["symbol"], f.ref["id"], f.score, f.reasons]
            for f in detection.flags
            if f.kind == "trade" and (f.ref["symbol"], f.ref["id"]) in ordinary
        ][:5],
        "recall": hits / items if items else None,
        "ordinary_share": len(ordinary) / victim_trades if victim_trades else 0.0,
    }


def run_cell(account: str, attack: str, seed: int) -> dict[str, Any]:
    """One account, one attack (or clean), one seed; an exception becomes the row's `error`."""
    row: dict[str, Any] = {"account": account, "attack": attack, "seed": seed}
    started = time.monotonic()
    try:
        built = build_account_scenario(account, None if attack == CLEAN else attack, seed=seed)
        row["build_s"] = time.monotonic() - started
        end = built.exchange.clock.now_ms()
        window_start = end - WINDOW_DAYS * DAY_MS
        with tempfile.TemporaryDirectory() as work:
            audited = time.monotonic()
            data = audit(built, window_start, end, Path(work))
            row["audit_s"] = time.monotonic() - audited
        row["audit_errors"] = list(data.errors)
        detected = time.monotonic()
        detection = detect(data, window_start)
        loss = assess(data, detection).total_usdt
        row["detect_s"] = time.monotonic() - detected
        true_loss = true_loss_usdt(built.exchange.ledger, built.truth)
        row.update(score(built, data, detection, window_start))
        row.update(
            {"loss": loss, "true_loss": true_loss, "loss_error": (loss - true_loss) / true_loss if true_loss else None}
        )
    except Exception as error:  # noqa: BLE001 - the run goes on; the cell shows what broke
        row["error"] = f"{type(error).__name__}: {error}"
        row["traceback"] = traceback.format_exc()
    row["cell_s"] = time.monotonic() - started
    return row


# --- the matrix --------------------------------------------------------------------------------------------


def run_matrix(accounts: list[str], attacks: list[str], seeds: list[int], jobs: int) -> list[dict[str, Any]]:
    tasks = [(account, attack, seed) for account in accounts for attack in attacks for seed in seeds]
    rows: list[dict[str, Any]] = []
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(run_cell, *task): task for task in tasks}
        for number, future in enumerate(as_completed(futures), start=1):
            try:
                row = future.result()
            except Exception as error:  # noqa: BLE001 - a worker that died still leaves its cell
                account, attack, seed = futures[future]
                row = {"account": account, "attack": attack, "seed": seed, "error": f"{type(error).__name__}: {error}"}
            rows.append(row)
            print(f"[{number}/{len(tasks)}] {_progress(row)}", file=sys.stderr, flush=True)
    return rows


def _progress(row: dict[str, Any]) -> str:
    head = f"{row['account']} {row['attack']} seed {row['seed']}"
    if "error" in row:
        return f"{head}: ERROR {row['error']}"
    recall = "-" if row["recall"] is None else f"{row['attack_hits']}/{row['attack_items']}"
    return (
        f"{head}: recall {recall}, ordinary {row['ordinary_flagged']}/{row['victim_trades']}, "
        f"loss {row['loss']:,.0f} (true {row['true_loss']:,.0f}), {row['cell_s']:.1f} s "
        f"(build {row['build_s']:.1f}, audit {row['audit_s']:.1f}, detect {row['detect_s']:.1f})"
    )


def worst(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The worst seed per metric: least recall, most ordinary share, largest |loss error|."""
    recalls = [r["recall"] for r in rows if r.get("recall") is not None]
    errors = [r["loss_error"] for r in rows if r.get("loss_error") is not None]
    return {
        "recall": min(recalls) if recalls else None,
        "ordinary_share": max(r["ordinary_share"] for r in rows),
        "loss_error": max(errors, key=abs) if errors else None,
        "loss": max((r["loss"] for r in rows), key=abs),
        "errors": [f"seed {r['seed']}: {r['error']}" for r in rows if "error" in r],
    }


def meets_goal(cell: dict[str, Any], clean: bool) -> bool:
    if cell["ordinary_share"] > GOAL_ORDINARY:
        return False
    if clean:
        return abs(cell["loss"]) < 0.005
    return (
        cell["recall"] is not None
        and cell["recall"] >= GOAL_RECALL
        and cell["loss_error"] is not None
        and abs(cell["loss_error"]) <= GOAL_LOSS_ERROR
    )


def cell_text(rows: list[dict[str, Any]], clean: bool) -> str:
    if not rows:
        return "not run"
    good = [r for r in rows if "error" not in r]
    failed = [r for r in rows if "error" in r]
    problems = "; ".join(f"ERROR seed {r['seed']}: {r['error'][:80]}" for r in failed)
    if not good:
        return f"✗ {problems}"
    cell = worst(good)
    ordinary = f"ord {cell['ordinary_share']:.2%}"
    if clean:
        text = f"{ordinary} · {cell['loss']:,.0f} USDT"
    else:
        recall = "rec -" if cell["recall"] is None else f"rec {cell['recall']:.3f}"
        error = "loss n/a" if cell["loss_error"] is None else f"loss {cell['loss_error']:+.1%}"
        text = f"{recall} · {ordinary} · {error}"
    mark = "✓" if meets_goal(cell, clean) and not failed else "✗"
    return f"{mark} {text}" + (f" · {problems}" if problems else "")


def print_matrix(rows: list[dict[str, Any]], accounts: list[str], attacks: list[str], seeds: list[int]) -> None:
    by_cell: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        by_cell.setdefault((row["account"], row["attack"]), []).append(row)
    seeds_text = ",".join(str(s) for s in seeds)
    print(f"\n## Detection matrix: the worst of seeds {seeds_text} per metric")
    print(
        f"goal: recall >= {GOAL_RECALL}, ordinary flags <= {GOAL_ORDINARY:.1%} of the window's trades, "
        f"loss within {GOAL_LOSS_ERROR:.0%} of the true loss (clean: 0 USDT); ✗ marks a cell missing it\n"
    )
    print("| account | " + " | ".join(attacks) + " |")
    print("|---|" + "---|" * len(attacks))
    met = total = 0
    for account in accounts:
        cells = []
        for attack in attacks:
            text = cell_text(by_cell.get((account, attack), []), attack == CLEAN)
            met += text.startswith("✓")
            total += 1
            cells.append(text)
        print(f"| {account} | " + " | ".join(cells) + " |")
    print(f"\ngoal met in {met}/{total} cells")
    print("\n| account | seconds per cell (median) | slowest | victim trades in the window |")
    print("|---|---|---|---|")
    for account in accounts:
        done = [r for r in rows if r["account"] == account and "cell_s" in r]
        trades = [r["victim_trades"] for r in done if "victim_trades" in r]
        if done:
            seconds = [r["cell_s"] for r in done]
            span = f"{min(trades):,}–{max(trades):,}" if trades else "-"
            print(f"| {account} | {statistics.median(seconds):.1f} | {max(seconds):.1f} | {span} |")


# --- detection time ----------------------------------------------------------------------------------------


def _victim_times(built: Built) -> list[int]:
    victim = _reader(built)["account"]
    ledger = built.exchange.ledger
    return sorted(t.time for rows in ledger.trades.values() for t in rows if victim in (t.buyer, t.seller))


def timing_scenario(largest: int, seed: int = 7) -> Built:
    """The market maker with enough days of history for `largest` trades in the window and a baseline before."""
    spec = load_spec(TIMING_ACCOUNT)
    per_day = int(spec["history"].get("trades_per_hour", 400)) * 24
    spec["history"]["days"] = -(-largest // per_day) + BASELINE_DAYS + 3
    spec["attack"] = CATALOGUE[TIMING_ATTACK]
    return ScenarioBuilder(spec, seed=seed).build()


def time_detection(sizes: Iterable[int], runs: int) -> list[dict[str, Any]]:
    """detect() + assess() only, on the real audit of a window holding `size` of the victim's trades."""
    sizes = sorted(sizes)
    built = timing_scenario(sizes[-1])
    times = _victim_times(built)
    end = built.exchange.clock.now_ms()
    results = []
    for size in sizes:
        window_start = times[-size] if size <= len(times) else times[0]
        with tempfile.TemporaryDirectory() as work:
            data = audit(built, window_start, end, Path(work))
        seconds = []
        for _ in range(runs):
            started = time.perf_counter()
            assess(data, detect(data, window_start))
            seconds.append(time.perf_counter() - started)
        baseline = sum(len(rows) for rows in data.trades.values()) - len(window_trades(data, window_start))
        results.append(
            {
                "size": size,
                "window_trades": len(window_trades(data, window_start)),
                "baseline_trades": baseline,
                "window_hours": (end - window_start) / 3_600_000,
                "seconds": statistics.median(seconds),
                "runs": seconds,
            }
        )
    return results


def print_timing(results: list[dict[str, Any]]) -> None:
    print(f"\n## Detection time: detect() + assess() on a {TIMING_ACCOUNT}'s audit (median of {TIMING_RUNS} runs)\n")
    print("| trades in the window | baseline trades before it | window hours | seconds |")
    print("|---|---|---|---|")
    for r in results:
        print(f"| {r['window_trades']:,} | {r['baseline_trades']:,} | {r['window_hours']:.0f} | {r['seconds']:.2f} |")


# --- main --------------------------------------------------------------------------------------------------


def _names(text: str, known: Iterable[str], what: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)} (known: {', '.join(known)})")
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", default=",".join(ACCOUNTS))
    parser.add_argument("--attacks", default=",".join([*CATALOGUE, CLEAN]), help=f"catalogue names and/or {CLEAN}")
    parser.add_argument("--seeds", default="7,8,9")
    parser.add_argument("--jobs", type=int, default=2, help="cells run in this many processes")
    parser.add_argument("--json", type=Path, help="write every cell's raw numbers (and the timing) here")
    parser.add_argument("--no-timing", action="store_true", help="skip the detection-time part")
    parser.add_argument("--no-matrix", action="store_true", help="only the detection-time part")
    args = parser.parse_args()
    accounts = _names(args.accounts, ACCOUNT_SCENARIOS, "accounts")
    attacks = _names(args.attacks, [*CATALOGUE, CLEAN], "attacks")
    seeds = [int(s) for s in args.seeds.split(",")]
    started = time.monotonic()
    rows = [] if args.no_matrix else run_matrix(accounts, attacks, seeds, args.jobs)
    if rows:
        print_matrix(rows, accounts, attacks, seeds)
    timing = [] if args.no_timing else time_detection(TIMING_SIZES, TIMING_RUNS)
    if timing:
        print_timing(timing)
    print(f"\ntotal {time.monotonic() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"cells": rows, "timing": timing}, indent=2) + "\n")


if __name__ == "__main__":
    main()
