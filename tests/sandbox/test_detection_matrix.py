"""Theft detection scored on the sandbox's realistic accounts: each account type clean and robbed (fixed seeds),
audited over HTTP from the real sandbox server with the victim's read-only key, then judged against the
scenario's ground truth. bench/detection.py runs the full matrix (every attack, three seeds)."""

from __future__ import annotations

import copy
import time

import pytest

from keyguard.exchange.client import BinanceClient
from keyguard.exchange.credentials import Credential
from keyguard.incident.audit import DAY_MS, AuditData, Auditor, Checkpoint
from keyguard.incident.detect import FLAG_SCORE, detect
from keyguard.incident.market import HOUR_MS, markets
from keyguard.incident.valuation import assess
from keyguard.sandbox.attacks import CATALOGUE
from keyguard.sandbox.scenario import Built, ScenarioBuilder, load_spec
from keyguard.sandbox.server import SandboxServer
from keyguard.sandbox.truth import true_loss_usdt

HOUR = 3_600_000
NOW = int(time.time() * 1000) // HOUR * HOUR - HOUR + 1_234_567  # 20 minutes past an hour: cells comparable
DAYS, WINDOW_DAYS = 5, 3
SEED = 11


def _build(account: str, attack: str | None) -> Built:
    """The packaged account over 5 days (its unusual day and the new listing moved inside), robbed or clean."""
    spec = load_spec(account)
    spec["history"]["days"] = DAYS
    unusual = spec["history"].get("unusual")
    if unusual:
        unusual["days_ago"] = 2
    for raw in spec["symbols"]:
        if "listed_days_ago" in raw:
            raw["listed_days_ago"] = 4
    if attack:
        spec["attack"] = copy.deepcopy(CATALOGUE[attack])
    return ScenarioBuilder(spec, now_ms=NOW, seed=SEED).build()


def _audit(built: Built, tmp_path) -> tuple[AuditData, int]:
    reader = next(c for c in built.credentials if c["role"] == "victim" and c["permissions"] == ["reading"])
    end = built.exchange.clock.now_ms()
    window_start = end - WINDOW_DAYS * DAY_MS
    with SandboxServer(built.exchange).running() as server:
        client = BinanceClient(Credential(reader["api_key"], reader["private_key_pem"]), server.base_url)
        data = Auditor(client, Checkpoint(tmp_path / "audit.sqlite")).collect(
            window_start, end, window_start - (DAYS - WINDOW_DAYS) * DAY_MS
        )
    assert data.errors == []
    return data, window_start


CELLS = [
    ("grid-bot", None),
    ("grid-bot", "wash-1.2x"),
    ("market-maker", None),
    ("market-maker", "drip"),
    ("dca-bot", None),
    ("dca-bot", "combination"),
    ("scalper", None),
    ("scalper", "dump"),
    ("app-person", None),
    ("app-person", "wash-20x"),
]


@pytest.mark.parametrize(("account", "attack"), CELLS)
def test_every_attack_item_flagged_and_ordinary_trades_left_alone(tmp_path, account, attack):
    built = _build(account, attack)
    data, window_start = _audit(built, tmp_path)
    detection = detect(data, window_start)
    truth = built.truth
    attack_trades = {(t["symbol"], t["id"]) for t in truth["trade_ids"]}
    in_window = [(s, t["id"]) for s, rows in data.trades.items() for t in rows if t["time"] >= window_start]
    ordinary_flags = detection.flagged_trade_ids() - attack_trades
    assert len(in_window) >= 5
    assert len(ordinary_flags) <= 0.001 * len(in_window), [f.reasons for f in detection.flags][:3]
    unusual = {(u["symbol"], i) for u in truth.get("legit_unusual", []) for i in u["trade_ids"]}
    assert unusual and not unusual & detection.flagged_trade_ids()  # the legitimately odd day is not theft
    assert all(f.score >= FLAG_SCORE and f.reasons for f in detection.flags)
    loss = assess(data, detection)
    if attack is None:
        assert loss.by_kind()["trades"] == 0
        return
    assert attack_trades <= detection.flagged_trade_ids()
    assert set(truth["withdrawal_ids"]) <= detection.flagged_withdrawal_ids()
    assert set(truth["transfer_ids"]) <= {f.ref["id"] for f in detection.flags if f.kind == "transfer"}
    true = true_loss_usdt(built.exchange.ledger, truth)
    assert abs(loss.total_usdt - true) <= 0.05 * true, (loss.total_usdt, true)


def test_a_flag_says_why_in_words_and_the_bursts_of_a_busy_bot_are_not_evidence(tmp_path):
    built = _build("grid-bot", "wash-3x")
    data, window_start = _audit(built, tmp_path)
    detection = detect(data, window_start)
    wash = [f for f in detection.flags if f.ref.get("symbol") == "KGTUSDT"]
    assert wash and all(f.score >= 5 for f in wash)
    reasons = " | ".join(wash[0].reasons)
    assert "against the market price" in reasons and "usual deviation" in reasons
    assert "KGTUSDT was never traded before the window" in reasons
    assert "thinly traded" in reasons
    assert "client id of a kind this account never used: none sent" in reasons
    assert "it uses ccxt (x-TKT5PX2F…)" in reasons
    busy_hours = [h for h, n in detection.baseline.busiest_hour.items() if n >= 20]
    assert busy_hours  # the bot trades in bursts of 20+ an hour and none of those trades is flagged
    assert {f.ref["symbol"] for f in detection.flags if f.kind == "trade"} == {"KGTUSDT"}


def test_the_market_reference_is_everyone_elses_price_in_that_hour(tmp_path):
    """On a liquid symbol, the reference is the volume-weighted price of the trades the account was not part
    of, in the trade's hour: checked against the sandbox ledger's own trades."""
    built = _build("grid-bot", None)
    data, _ = _audit(built, tmp_path)
    sol = markets(data)["SOLUSDT"]
    assert not sol.thin
    ledger = built.exchange.ledger
    checked = 0
    for trade in data.trades["SOLUSDT"][::500]:
        hour = trade["time"] - trade["time"] % HOUR_MS
        same_hour = [t for t in ledger.trades["SOLUSDT"] if hour <= t.time < hour + HOUR_MS]
        others = [t for t in same_hour if "victim" not in (t.buyer, t.seller)]
        reference = sol.reference(trade["time"])
        if not others or reference is None or reference.how != "others' average price in the same hour":
            continue  # the first hour, which began before the audit read the account's trades
        vwap = float(sum(t.price * t.qty for t in others) / sum(t.qty for t in others))
        assert reference.price == pytest.approx(vwap, rel=1e-5)  # decimal strings summed as floats
        checked += 1
    assert checked >= 5
