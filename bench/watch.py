"""`keyguard watch` on the live sandbox (issue 15): false alerts of normal trading, and how fast an attack is seen
and stopped.

For each packaged account type (grid bot, market maker, DCA bot, scalper, a person in the app), on the real sandbox
server over loopback, with the real `keyguard watch` command in a child process (its JSONL log read back):

1. Normal trading: the account's own bot trades live on its own symbols, at its rate of the last 7 days compressed
   --compress times (60: an hour in a minute), for --normal-minutes. Every alert is a false alert; per day =
   alerts / compressed hours x 24.
   An account that trades less than --min-trades times in that time is shown more hours, so that it does.
2. Each attack (wash-trade at 1.2x, 3x and 20x the market, a dump into a thin book, and a withdrawal in 4 parts
   with the bot's key from its own server), the thief's orders carrying client ids of the bot's own software (the
   harder case: no alert for software never seen), on a fresh sandbox, amid the
   same normal trading, with --contain cancel-orders,sweep-to-funding and a guardian key: the time from the
   attack's first fill (the sandbox's truth) to the first alert and to the first containment action, and the share
   of the attacker's planned theft that happened (truth: theft_usdt / planned_theft_usdt). The attack is stopped
   30 s after containment (the victim's orders are refused by then: its funds are in Funding).

Goals: 0 false alerts per day, alert within 2 s, containment within 5 s, less than 10 % of the planned theft.

    python bench/watch.py                                    # 5 accounts x (normal + 4 attacks), seed 7
    python bench/watch.py --accounts dca-bot --attacks wash-3x --normal-minutes 0.5
    python bench/watch.py --json /tmp/watch.json
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from keyguard.sandbox.scenario import ACCOUNT_SCENARIOS, Built, build_account_scenario
from keyguard.sandbox.server import SandboxServer

WEEK_MS = 7 * 86_400_000
ATTACKS: dict[str, dict[str, Any]] = {
    "wash-1.2x": {"type": "wash-trade-theft", "symbol": "KGTUSDT", "markup": 1.2, "rounds": 6},
    "wash-3x": {"type": "wash-trade-theft", "symbol": "KGTUSDT", "markup": 3, "rounds": 6},
    "wash-20x": {"type": "wash-trade-theft", "symbol": "KGTUSDT", "markup": 20, "rounds": 6},
    "dump": {"type": "dump", "symbol": "ALTUSDT", "price_ratio": 0.4},
    # the bot's key with withdrawals on, whitelisted to its server, stolen from that server: USDT out in 4 parts
    "withdrawal": {"type": "withdrawal-theft", "ip": "127.0.0.1", "rounds": 4, "assets": ["USDT"]},
}
WITHDRAWING_BOT_KEY = {"permissions": ["reading", "spot", "withdrawals"], "ip_whitelist": ["127.0.0.1"]}
GOAL_ALERT_S, GOAL_CONTAIN_S, GOAL_THEFT = 2.0, 5.0, 0.10
STOP_AFTER_CONTAINMENT_S = 30.0
ATTACK_TIMEOUT_S = 240.0


def normal_trading(built: Built) -> tuple[list[str], float]:
    """The victim's symbols of the last 7 days and its trades per hour."""
    ledger, end = built.exchange.ledger, built.exchange.clock.now_ms()
    counts = {
        name: sum(1 for t in trades if "victim" in (t.buyer, t.seller) and t.time > end - WEEK_MS)
        for name, trades in ledger.trades.items()
    }
    symbols = [name for name, count in sorted(counts.items(), key=lambda kv: -kv[1]) if count >= 5]
    return symbols, sum(counts.values()) / (7 * 24)


class Lab:
    """One account's sandbox on loopback, a vault holding its keys, and `keyguard watch` on it."""

    def __init__(self, built: Built, base_url: str, work: Path) -> None:
        self.built, self.base_url, self.work = built, base_url, work
        self.env = {
            **os.environ,
            "KEYGUARD_VAULT_BACKEND": "file",
            "KEYGUARD_VAULT_FILE": str(work / "vault.enc"),
            "KEYGUARD_VAULT_PASSPHRASE": "bench",
            "KEYGUARD_INVENTORY": str(work / "inventory.sqlite"),
            "NO_COLOR": "1",
        }
        self.admin("keys/victim-withdraw", {"permissions": ["reading", "universal_transfer"]})
        for label, name in (("victim", "victim-bot"), ("guardian", "victim-withdraw")):
            entry = next(c for c in built.credentials if c["label"] == name)
            secret = entry.get("secret") or entry.get("private_key_pem")
            subprocess.run(
                [sys.executable, "-m", "keyguard", "vault", "add", label],
                input=f"{entry['api_key']}\n{secret}\n",
                env=self.env,
                capture_output=True,
                text=True,
                check=True,
            )

    def admin(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = requests.post(f"{self.base_url}/_sandbox/{path}", json=body or {}, timeout=30)
        response.raise_for_status()
        return response.json()

    @contextmanager
    def watching(self, contain: bool) -> Iterator[Path]:
        log = self.work / f"events-{time.monotonic_ns()}.jsonl"
        command = [sys.executable, "-m", "keyguard", "watch", "--key", "victim", "--base-url", self.base_url]
        command += ["--log", str(log)]
        if contain:
            command += ["--contain", "cancel-orders,sweep-to-funding", "--guardian-key", "guardian"]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env)
        try:
            wait_for(lambda: any(r["kind"] == "stream.connected" for r in records(log)), process, 300)
            yield log
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def records(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def wait_for(ready: Any, process: subprocess.Popen | None, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return True
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"keyguard watch ended early: {process.stderr.read() if process.stderr else ''}")
        time.sleep(0.1)
    return False


def logged_ms(record: dict[str, Any]) -> int:
    return int(datetime.fromisoformat(record["logged_at"]).timestamp() * 1000)


def alerts_in(log: Path) -> list[dict[str, Any]]:
    return [r for r in records(log) if r["kind"].startswith("alert.") and not r["event"].get("own_sweep")]


@contextmanager
def lab_for(account: str, seed: int) -> Iterator[Lab]:
    built = build_account_scenario(account, seed=seed)
    with SandboxServer(built.exchange).running() as server, tempfile.TemporaryDirectory() as work:
        yield Lab(built, server.base_url, Path(work))


def bot_rate(per_hour: float, compress: float, minutes: float, min_trades: int) -> tuple[float, float]:
    """(trades per minute, hours of the account's trading shown): an hour compressed `compress` times, or as many
    hours as make `min_trades` trades for an account that trades less (a DCA bot trades a few times a day)."""
    hours = max(minutes * compress / 60, min_trades / per_hour if per_hour else 0)
    return per_hour * hours / minutes, hours


def run_normal(account: str, seed: int, compress: float, minutes: float, min_trades: int) -> dict[str, Any]:
    with lab_for(account, seed) as lab:
        symbols, per_hour = normal_trading(lab.built)
        per_minute, hours = bot_rate(per_hour, compress, minutes, min_trades)
        with lab.watching(contain=False) as log:
            bot = lab.admin("live/bot", {"key": "victim-bot", "symbols": symbols, "trades_per_minute": per_minute})
            time.sleep(minutes * 60)
            lab.admin("live/stop")
        alerts = alerts_in(log)
        bots = lab.built.exchange.truth.get("live_bots", [])
    return {
        "account": account,
        "symbols": symbols,
        "trades_per_hour": round(per_hour, 1),
        "bot_trades": sum(b.get("trades", 0) for b in bots),
        "compressed_hours": hours,
        "false_alerts": len(alerts),
        "false_alerts_per_day": len(alerts) / hours * 24 if hours else 0.0,
        "alert_kinds": sorted({a["kind"] for a in alerts}),
        "alert_examples": [a["event"].get("message", "")[:160] for a in alerts[:3]],
        "bot_client_ids": bot.get("client_ids"),
    }


def run_attack(account: str, attack: str, seed: int, compress: float, minutes: float, min_trades: int) -> dict:
    row: dict[str, Any] = {"account": account, "attack": attack}
    with lab_for(account, seed) as lab:
        symbols, per_hour = normal_trading(lab.built)
        per_minute, _ = bot_rate(per_hour, compress, minutes, min_trades)
        truth = lab.built.exchange.truth
        if ATTACKS[attack]["type"] == "withdrawal-theft":
            lab.admin("keys/victim-bot", WITHDRAWING_BOT_KEY)
        with lab.watching(contain=True) as log:
            bot = lab.admin("live/bot", {"key": "victim-bot", "symbols": symbols, "trades_per_minute": per_minute})
            time.sleep(5)
            # the thief uses the same software as the bot (its client order ids look alike): the harder case
            lab.admin("live/attack", {**ATTACKS[attack], "key": "victim-bot", "client_ids": bot["client_ids"]})

            def contained() -> bool:
                return any(r["kind"] == "containment" for r in records(log))

            def ended() -> bool:
                return not truth["live_attack"]["running"]

            wait_for(lambda: contained() or ended(), None, ATTACK_TIMEOUT_S)
            if contained():
                wait_for(ended, None, STOP_AFTER_CONTAINMENT_S)
            lab.admin("live/stop")
        row.update(score_attack(truth["live_attack"], log, lab.built.exchange.clock.offset_ms))
    return row


def score_attack(attacked: dict[str, Any], log: Path, clock_offset_ms: int) -> dict[str, Any]:
    planned = attacked["planned_theft_usdt"]
    row: dict[str, Any] = {
        "attack_trades": len(attacked["trades"]),
        "victim_orders": len(attacked["victim_orders"]),
        "refused_orders": len(attacked["rejected"]),
        "planned_theft_usdt": round(planned, 2),
        "theft_usdt": round(attacked["theft_usdt"], 2),
        "theft_share": attacked["theft_usdt"] / planned if planned else None,
    }
    if attacked["first_trade_ms"] is None:
        return {**row, "error": "the attack never filled"}
    first_fill = attacked["first_trade_ms"] - clock_offset_ms  # on this machine's clock, as the log's times
    started = attacked["started_ms"] - clock_offset_ms
    alerts = [a for a in alerts_in(log) if logged_ms(a) >= started]
    actions = [r for r in records(log) if r["kind"] == "containment"]
    row["alert_s"] = (logged_ms(alerts[0]) - first_fill) / 1000 if alerts else None
    row["first_alert"] = alerts[0]["kind"] if alerts else None
    row["contain_s"] = (logged_ms(actions[0]) - first_fill) / 1000 if actions else None
    row["alerts_before_attack"] = len([a for a in alerts_in(log) if logged_ms(a) < started])
    return row


def _mark(ok: bool) -> str:
    return "" if ok else " ✗"


def print_tables(normal: list[dict[str, Any]], attacks: list[dict[str, Any]]) -> None:
    print("\nNormal trading (false alerts)")
    print(f"{'account':<14}{'trades/h':>9}{'hours':>7}{'bot trades':>11}{'alerts':>8}{'per day':>9}  kinds")
    for row in normal:
        mark = _mark(row["false_alerts"] == 0)
        print(
            f"{row['account']:<14}{row['trades_per_hour']:>9}{row['compressed_hours']:>7.1f}{row['bot_trades']:>11}"
            f"{row['false_alerts']:>8}{row['false_alerts_per_day']:>9.1f}{mark}  {', '.join(row['alert_kinds'])}"
        )
    print("\nAttacks (seconds from the attack's first fill; share of the planned theft done)")
    print(f"{'account':<14}{'attack':<11}{'alert s':>8}{'contain s':>10}{'theft %':>9}  first alert")
    for row in attacks:
        if "error" in row:
            print(f"{row['account']:<14}{row['attack']:<11}  {row['error']}")
            continue
        alert, contain, share = row.get("alert_s"), row.get("contain_s"), row.get("theft_share")
        shown = [
            "-" if alert is None else f"{alert:.2f}{_mark(alert <= GOAL_ALERT_S)}",
            "-" if contain is None else f"{contain:.2f}{_mark(contain <= GOAL_CONTAIN_S)}",
            "-" if share is None else f"{share * 100:.1f}{_mark(share < GOAL_THEFT)}",
        ]
        print(f"{row['account']:<14}{row['attack']:<11}{shown[0]:>8}{shown[1]:>10}{shown[2]:>9}  {row['first_alert']}")
    latencies = [r["alert_s"] for r in attacks if r.get("alert_s") is not None]
    if latencies:
        print(f"\nmedian alert {statistics.median(latencies):.2f} s, max {max(latencies):.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", default=",".join(ACCOUNT_SCENARIOS))
    parser.add_argument("--attacks", default=",".join(ATTACKS))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--compress", type=float, default=60.0, help="time compression of normal trading")
    parser.add_argument("--normal-minutes", type=float, default=1.0)
    parser.add_argument("--min-trades", type=int, default=40, help="at least this many trades of normal trading")
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    normal, attacks = [], []
    for account in options.accounts.split(","):
        if options.normal_minutes > 0:
            try:
                normal.append(
                    run_normal(account, options.seed, options.compress, options.normal_minutes, options.min_trades)
                )
            except Exception as error:  # noqa: BLE001 - the bench goes on; the row shows what broke
                print(f"{account} normal: {type(error).__name__}: {error}", file=sys.stderr)
            print(json.dumps(normal[-1:]), file=sys.stderr)
        for attack in [a for a in options.attacks.split(",") if a]:
            try:
                attacks.append(
                    run_attack(
                        account, attack, options.seed, options.compress, options.normal_minutes, options.min_trades
                    )
                )
            except Exception as error:  # noqa: BLE001
                attacks.append({"account": account, "attack": attack, "error": f"{type(error).__name__}: {error}"})
            print(json.dumps(attacks[-1]), file=sys.stderr)
    print_tables(normal, attacks)
    if options.json:
        options.json.write_text(json.dumps({"normal": normal, "attacks": attacks}, indent=1))


if __name__ == "__main__":
    main()
