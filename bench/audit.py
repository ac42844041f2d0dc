"""Incident audit cost and detection quality on the sandbox.

1. An account that traded 50 symbols, 10,000 trades over 90 days: audits the whole 90 days and prints the
   API weight used against the least the endpoints need for the same data, the wall time, and how many
   429/418 answers the sandbox gave (the promise: none).
2. Detection precision and recall over N seeded `wash-trade-theft` and N `clean` scenarios (7-day windows).

    python bench/audit.py --seeds 10
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

from keyguard.exchange.client import BinanceClient
from keyguard.exchange.credentials import Credential
from keyguard.incident.audit import DAY_MS, Auditor, Checkpoint
from keyguard.incident.audit_rules import (
    LEGACY_TRANSFER_TYPES,
    SUB_TRANSFER_SPAN_MS,
    TRANSFER_TYPES,
    WALLET_HISTORY_SPAN_MS,
    windows,
)
from keyguard.incident.audit_wallet import ADDRESS_HISTORY_MS
from keyguard.incident.detect import detect
from keyguard.sandbox.scenario import ScenarioBuilder, load_spec
from keyguard.sandbox.server import SandboxServer

# Weights (binance-api.md §2) of what the audit calls; UID-weighted sapi calls count their UID weight.
WEIGHTS = {
    "private_get_account": 20,
    "sapi_get_accountsnapshot": 2400,
    "sapi_get_capital_deposit_hisrec": 1,
    "sapi_get_capital_withdraw_history": 18000,
    "sapi_get_asset_transfer": 1,
    "public_get_exchangeinfo": 20,
    "sapi_get_sub_account_universaltransfer": 1,
    "private_get_mytrades": 20,
    "private_get_allorders": 20,
    "public_get_klines": 2,
    "sapi_get_asset_wallet_balance": 60,
    "fapiprivatev2_get_account": 5,
    "sapi_get_simple_earn_flexible_position": 150,
    "sapi_get_simple_earn_locked_position": 150,
    "sapi_get_sub_account_list": 1,
    "sapi_get_sub_account_transfer_subuserhistory": 1,
    "sapi_get_margin_isolated_account": 10,
}


def _reader(built):
    entry = next(c for c in built.credentials if c["label"] == "victim-rsa")
    return Credential(entry["api_key"], entry["private_key_pem"])


def fifty_symbols(seed: int = 11):
    spec = load_spec("clean")
    for number in range(46):
        name = f"S{number:02d}"
        spec["symbols"].append(
            {
                "symbol": f"{name}USDT",
                "base": name,
                "quote": "USDT",
                "price": 1 + number,
                "volatility": 0.005,
                "liquid": True,
            }
        )
        spec["accounts"][3]["balances"][name] = 10_000_000
    spec["history"].update({"days": 90, "victim_trades": 10_000, "crowd_trades_per_symbol": 300})
    spec["accounts"][0]["balances"]["USDT"] = 2_000_000
    return ScenarioBuilder(spec, seed=seed).build()


def cost() -> None:
    built = fifty_symbols()
    trades = sum(1 for ts in built.exchange.ledger.trades.values() for t in ts if "victim" in (t.buyer, t.seller))
    with SandboxServer(built.exchange).running() as server, tempfile.TemporaryDirectory() as tmp:
        client = BinanceClient(_reader(built), server.base_url)
        end = built.exchange.clock.now_ms()
        started = time.perf_counter()
        checkpoint = Checkpoint(Path(tmp) / "audit.sqlite")
        data = Auditor(client, checkpoint).collect(end - 90 * DAY_MS, end)
        seconds = time.perf_counter() - started
        used = sum(WEIGHTS.get(method, 0) for method, _, _ in checkpoint.all())
        refused = built.exchange.limiter.refused
    start = end - 90 * DAY_MS
    history_windows = len(windows(start - ADDRESS_HISTORY_MS, end, WALLET_HISTORY_SPAN_MS))
    sub_windows = len(windows(start, end, SUB_TRANSFER_SPAN_MS))
    subs = 1  # the scenario's master has one sub-account: the default query plus from and to it, each window
    fixed = sum(WEIGHTS[m] for m in ("private_get_account", "sapi_get_accountsnapshot", "public_get_exchangeinfo"))
    fixed += history_windows * (
        WEIGHTS["sapi_get_capital_withdraw_history"] + WEIGHTS["sapi_get_capital_deposit_hisrec"]
    )
    fixed += (len(TRANSFER_TYPES) + len(LEGACY_TRANSFER_TYPES)) * WEIGHTS["sapi_get_asset_transfer"]
    fixed += WEIGHTS["sapi_get_sub_account_list"] + sub_windows * (1 + 2 * subs)
    per_symbol = sum(
        WEIGHTS["private_get_mytrades"] * math.ceil(len(t) / 1000)
        + WEIGHTS["private_get_allorders"] * math.ceil(len(data.orders.get(s, [])) / 1000)
        + WEIGHTS["public_get_klines"] * math.ceil(91 * 24 / 1000)
        for s, t in data.trades.items()
        if t
    )
    print(
        f"audit of 90 days: {len(data.trades)} symbols touched, {sum(map(len, data.trades.values()))} of "
        f"{trades} victim trades, {sum(map(len, data.orders.values()))} orders"
    )
    print(
        f"  weight used {used:,} vs the least these endpoints need {fixed + per_symbol:,} "
        f"({used / (fixed + per_symbol):.2f}x); {data.calls} calls in {seconds:.1f} s; "
        f"429/418 answers: {refused}; errors: {len(data.errors)}"
    )


def quality(seeds: int) -> None:
    tp = fp = fn = 0
    for seed in range(1, seeds + 1):
        for name in ("wash-trade-theft", "clean"):
            built = ScenarioBuilder(load_spec(name), seed=seed).build()
            with SandboxServer(built.exchange).running() as server, tempfile.TemporaryDirectory() as tmp:
                end = built.exchange.clock.now_ms()
                data = Auditor(
                    BinanceClient(_reader(built), server.base_url), Checkpoint(Path(tmp) / "a.sqlite")
                ).collect(end - 7 * DAY_MS, end)
            flagged = detect(data, end - 7 * DAY_MS)
            truth = {(t["symbol"], t["id"]) for t in built.truth["trade_ids"]}
            found = flagged.flagged_trade_ids()
            tp, fp, fn = tp + len(found & truth), fp + len(found - truth), fn + len(truth - found)
    print(
        f"detection over {seeds} wash-trade-theft and {seeds} clean scenarios: precision "
        f"{tp / max(tp + fp, 1):.3f}, recall {tp / max(tp + fn, 1):.3f} ({tp} true, {fp} false, {fn} missed)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    cost()
    quality(args.seeds)


if __name__ == "__main__":
    main()
