"""Incidents as people run them, on the sandbox: the leaked key deleted N seconds after the start, with and
without a read-only audit key, on a clean exchange and with 10 % 5xx (Binance's -1001 body) plus a burst of
429s at the start. Prints, per row: recall and precision of flagged trades, withdrawals and transfers, the
total loss against the scenario's true loss, the audit's state, and the time from start to the open orders
cancelled.

    python bench/incident.py                       # 5, 30 and 120 s; both scenarios; all combinations
    python bench/incident.py --delays 5 --scenarios wash-trade-theft --seeds 7,8
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from urllib.request import Request, urlopen

import ccxt

from keyguard.exchange.client import BinanceClient
from keyguard.exchange.credentials import Credential
from keyguard.incident.runbook import Person, run_incident
from keyguard.sandbox.scenario import build_scenario
from keyguard.sandbox.server import SandboxServer
from keyguard.sandbox.truth import true_loss_usdt


def _post(url: str, body: dict | None = None) -> None:
    data = json.dumps(body or {}).encode()
    with urlopen(Request(url, data=data, method="POST", headers={"Content-Type": "application/json"}), timeout=10):
        pass


def _credential(entry: dict) -> Credential:
    return Credential(entry["api_key"], entry.get("secret") or entry["private_key_pem"])


def _leave_open_order(base_url: str, entry: dict) -> bool:
    """The attacker's kind of leftover: an order resting on the book, to be cancelled in containment."""
    if "spot" not in entry["permissions"] or not entry.get("secret"):
        return False
    options = {"fetchMarkets": {"types": ["spot"]}, "fetchMargins": False, "fetchCurrencies": False}
    exchange = ccxt.binance({"apiKey": entry["api_key"], "secret": entry["secret"], "options": options})
    exchange.urls["api"] = {
        name: f"{base_url}/{url.split('/', 3)[3]}" for name, url in exchange.urls["api"].items() if isinstance(url, str)
    }
    exchange.create_order("BTC/USDT", "limit", "buy", 0.01, 1000)
    return True


def _ratio(hit: int, total: int) -> str:
    return f"{hit}/{total}" if total else "-"


def run_one(scenario: str, seed: int, delay: float, audit_key: bool, faulty: bool, work: Path) -> dict:
    built = build_scenario(scenario, seed=seed)
    truth = built.truth
    creds = {c["label"]: c for c in built.credentials}
    leaked = creds[truth["attack"]["key"]]
    reader = next(c for c in built.credentials if c["role"] == "victim" and c["permissions"] == ["reading"])
    case = work / f"{scenario}-{seed}-{delay:g}-{int(audit_key)}-{int(faulty)}"
    with SandboxServer(built.exchange).running() as server:
        had_order = _leave_open_order(server.base_url, leaked)
        if faulty:
            _post(f"{server.base_url}/_sandbox/faults", {"error_rate": 0.1, "error_body": "binance", "burst_429": 5})
        started = time.monotonic()
        deleter = threading.Timer(delay, _post, [f"{server.base_url}/_sandbox/keys/{leaked['label']}/delete"])
        deleter.daemon = True
        deleter.start()
        result = run_incident(
            BinanceClient(_credential(leaked), server.base_url),
            case,
            Person(confirm=lambda question: True),
            since_days=7,
            wait_dead=delay + 60,
            audit_client=BinanceClient(_credential(reader), server.base_url) if audit_key else None,
            poll_seconds=1,
        )
        deleter.cancel()
        true_loss = true_loss_usdt(built.exchange.ledger, truth)
    cancelled_at = next((a.time for a in result.log.actions if a.action.startswith("cancel open orders on")), None)
    to_cancel = None
    if cancelled_at and had_order:
        to_cancel = (datetime.fromisoformat(cancelled_at) - result.log.started).total_seconds()
    flags = json.loads((case / "flags.json").read_text())
    detection = result.detection
    trades = {(t["symbol"], t["id"]) for t in truth["trade_ids"]}
    flagged_trades = detection.flagged_trade_ids() if detection else set()
    withdrawals = set(truth["withdrawal_ids"])
    flagged_withdrawals = detection.flagged_withdrawal_ids() if detection else set()
    transfers = {str(t) for t in truth["transfer_ids"]}
    flagged_transfers = {f.ref["id"] for f in detection.flags if f.kind == "transfer"} if detection else set()
    loss = flags.get("total_loss_usdt")
    return {
        "scenario": scenario,
        "seed": seed,
        "delay": delay,
        "audit_key": audit_key,
        "faults": faulty,
        "trades": _ratio(len(trades & flagged_trades), len(trades)),
        "trade_fp": len(flagged_trades - trades),
        "withdrawals": _ratio(len(withdrawals & flagged_withdrawals), len(withdrawals)),
        "withdrawal_fp": len(flagged_withdrawals - withdrawals),
        "transfers": _ratio(len(transfers & flagged_transfers), len(transfers)),
        "transfer_fp": len(flagged_transfers - transfers),
        "loss": loss,
        "true_loss": true_loss,
        "loss_error": None if loss is None or not true_loss else loss / true_loss - 1,
        "audit": result.audit_state,
        "missing": len(result.missing),
        "to_cancel_s": to_cancel,
        "elapsed_s": time.monotonic() - started,
        "all_flagged": trades <= flagged_trades
        and withdrawals <= flagged_withdrawals
        and transfers <= flagged_transfers,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--delays", default="5,30,120", help="seconds from start to the key's deletion")
    parser.add_argument("--scenarios", default="wash-trade-theft,withdrawal-theft")
    parser.add_argument("--seeds", default="7", help="scenario seeds (keep some aside: the default is 7)")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as temporary:
        for scenario in args.scenarios.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                for delay in (float(d) for d in args.delays.split(",")):
                    for audit_key in (False, True):
                        for faulty in (False, True):
                            row = run_one(scenario, seed, delay, audit_key, faulty, Path(temporary))
                            rows.append(row)
                            print(_line(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    goal = [r for r in rows if r["delay"] >= 5]
    met = [r for r in goal if r["all_flagged"] and r["loss_error"] is not None and abs(r["loss_error"]) <= 0.01]
    print(f"\ngoal (every attack item flagged, loss within 1 %) met in {len(met)}/{len(goal)} rows with >= 5 s live")


HEADER = (
    "| scenario | seed | deleted after s | audit key | faults | trades | other trades | withdrawals | transfers "
    "| loss USDT | true loss | error | audit | to cancel s |"
)


def _line(row: dict) -> str:
    loss = "n/a" if row["loss"] is None else f"{row['loss']:,.0f}"
    error = "n/a" if row["loss_error"] is None else f"{row['loss_error']:+.2%}"
    cancel = "-" if row["to_cancel_s"] is None else f"{row['to_cancel_s']:.2f}"
    return (
        f"| {row['scenario']} | {row['seed']} | {row['delay']:g} | {'yes' if row['audit_key'] else 'no'} | "
        f"{'5xx+429' if row['faults'] else 'clean'} | {row['trades']} | {row['trade_fp']} | {row['withdrawals']} | "
        f"{row['transfers']} | {loss} | {row['true_loss']:,.0f} | {error} | {row['audit']} "
        f"({row['missing']} missing) | {cancel} |"
    )


if __name__ == "__main__":
    print(HEADER)
    print("|" + "---|" * (HEADER.count("|") - 1))
    main()
