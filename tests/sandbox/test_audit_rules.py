"""The audit follows Binance's documented windows, paging and directions, against the enforcing sandbox.

Each test builds a scenario, adds the history that would slip through a careless auditor straight into the
sandbox's ledger, and audits it with the real client over HTTP."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from keyguard.exchange.client import BinanceClient
from keyguard.exchange.credentials import Credential
from keyguard.incident.audit import DAY_MS, AuditData, Auditor, Checkpoint, KeyRejected
from keyguard.incident.audit_rules import LEGACY_TRANSFER_TYPES, TRANSFER_TYPES, days
from keyguard.incident.audit_wallet import ADDRESS_HISTORY_MS
from keyguard.sandbox.ledger import Order, Symbol, Trade, WalletRecord
from keyguard.sandbox.scenario import Built, build_scenario
from keyguard.sandbox.server import SandboxServer

HOUR_MS = 3_600_000


@dataclass
class Audit:
    built: Built
    base_url: str
    end: int

    @property
    def ledger(self):
        return self.built.exchange.ledger

    def client(self, label: str = "victim-rsa") -> BinanceClient:
        entry = next(c for c in self.built.credentials if c["label"] == label)
        secret = entry.get("secret") or entry["private_key_pem"]
        return BinanceClient(Credential(entry["api_key"], secret), self.base_url, sleep=lambda s: None)

    def run(self, path: Path, days: int = 30, label: str = "victim-rsa", **kwargs) -> AuditData:
        return Auditor(self.client(label), Checkpoint(path), **kwargs).collect(self.end - days * DAY_MS, self.end)

    def charged(self) -> int:
        return self.built.exchange.limiter.weight_charged


@contextmanager
def sandbox(name: str, prepare=None) -> Iterator[Audit]:
    built = build_scenario(name)
    end = built.exchange.clock.now_ms()
    if prepare:
        prepare(built.exchange.ledger, end)
    with SandboxServer(built.exchange).running() as server:
        yield Audit(built, server.base_url, end)


def _trade(ledger, symbol: str, time: int, seller: str = "victim", buyer: str = "market-maker", price="10") -> int:
    buy, sell = ledger.next_order_id(), ledger.next_order_id()
    for order_id, account, side in ((buy, buyer, "BUY"), (sell, seller, "SELL")):
        ledger.orders[order_id] = Order(
            symbol, order_id, f"t{order_id}", account, side, "LIMIT", "GTC", Decimal(price), Decimal(1), time,
            executed_qty=Decimal(1), cumulative_quote=Decimal(price), status="FILLED", update_time=time,
        )  # fmt: skip
    trade = Trade(ledger.next_trade_id(), symbol, Decimal(price), Decimal(1), time, buyer, seller, buy, sell, False)
    ledger.record_trade(trade)
    return trade.id


def _trade_ids(data: AuditData) -> list[int]:
    return [t["id"] for trades in data.trades.values() for t in trades]


def test_a_symbol_held_only_8_to_30_days_ago_is_audited(tmp_path):
    """Snapshots asked without dates cover 7 days only: a coin held weeks ago and sold since is then never seen."""
    sold: list[int] = []

    def prepare(ledger, end):
        ledger.add_symbol(Symbol("SOLUSDT", "SOL", "USDT"))
        for number, (day_end, balances) in enumerate(ledger.snapshots["victim"]):
            if end - 25 * DAY_MS <= day_end <= end - 12 * DAY_MS:
                ledger.snapshots["victim"][number] = (day_end, {**balances, "SOL": Decimal(40)})
        sold.append(_trade(ledger, "SOLUSDT", end - 12 * DAY_MS + HOUR_MS, price="150"))

    with sandbox("clean", prepare) as audit:
        data = audit.run(tmp_path / "a.sqlite")
    assert any(b["asset"] == "SOL" for s in data.snapshots for b in s["data"]["balances"])
    assert [t["id"] for t in data.trades["SOLUSDT"]] == sold
    assert data.klines["SOLUSDT"] and data.complete, data.errors + data.missing


def test_sub_account_transfers_in_both_directions(tmp_path):
    """The theft's transfer to the sub-account, and one back from it 10 days ago (past a 7-day window)."""
    back = "90500001"

    def prepare(ledger, end):
        ledger.wallet.append(
            WalletRecord(
                "sub_transfer", back, "victim", "USDT", Decimal(50), end - 10 * DAY_MS,
                {"fromEmail": "victim-sub@sandbox.invalid", "toEmail": "victim@sandbox.invalid", "clientTranId": "",
                 "fromAccountType": "SPOT", "toAccountType": "SPOT"},
            )
        )  # fmt: skip

    with sandbox("withdrawal-theft", prepare) as audit:
        master = audit.run(tmp_path / "master.sqlite")
        sub = audit.run(tmp_path / "sub.sqlite", label="victim-sub-key")
        truth = {str(t) for t in audit.built.truth["transfer_ids"]}
    ids = [str(t["tranId"]) for t in master.sub_transfers]
    assert sorted(ids) == sorted(truth | {back}) and len(truth) == 1
    assert master.complete, master.errors + master.missing
    assert {str(t["tranId"]) for t in sub.sub_user_transfers} == truth | {back}
    assert {t["type"] for t in sub.sub_user_transfers} == {1, 2}
    assert not sub.errors and sub.sub_transfers == []


def test_every_transfer_type_every_page(tmp_path):
    expected: set[int] = set()

    def prepare(ledger, end):
        kinds = [*TRANSFER_TYPES, *LEGACY_TRANSFER_TYPES] + ["MAIN_FUNDING"] * 240  # 241 rows: three pages of 100
        for number, kind in enumerate(kinds):
            tran_id = 70_000_000 + number
            when = end - 29 * DAY_MS + number * HOUR_MS
            record = WalletRecord("transfer", str(tran_id), "victim", "USDT", Decimal(1), when, {"type": kind})
            ledger.wallet.append(record)
            expected.add(tran_id)

    with sandbox("clean", prepare) as audit:
        data = audit.run(tmp_path / "a.sqlite")
    ids = [t["tranId"] for t in data.transfers]
    assert len(ids) == len(set(ids)) and set(ids) == expected
    assert {t["type"] for t in data.transfers} == set(TRANSFER_TYPES) | set(LEGACY_TRANSFER_TYPES)
    assert not data.errors


def test_more_than_1000_deposits_and_withdrawals_are_paged(tmp_path):
    """1,500 deposits and 1,200 withdrawals, some on the millisecond where one 90-day window ends or the next begins."""
    deposits: set[str] = set()
    withdrawals: set[str] = set()

    def prepare(ledger, end):
        first = end - 60 * DAY_MS - ADDRESS_HISTORY_MS + 1  # 120 days of history: two windows under 90 days
        edges = [first, first + 90 * DAY_MS - 1, first + 90 * DAY_MS, end]
        for kind, count, ids in (("deposit", 1500, deposits), ("withdrawal", 1200, withdrawals)):
            for number in range(count):
                when = edges[number] if number < len(edges) else end - 20 * DAY_MS + number * 60_000
                record = f"bulk{kind[:3]}{number:05d}"
                extra = {"status": 6, "address": "0x5b1a3e8d0c9f7a6b5c4d3e2f1a0b9c8d7e6f5a4b", "network": "ETH"}
                ledger.wallet.append(WalletRecord(kind, record, "victim", "USDT", Decimal(1), when, extra))
                ids.add(record)

    with sandbox("clean", prepare) as audit:
        data = audit.run(tmp_path / "a.sqlite", days=60)
    for rows, added in ((data.deposits, deposits), (data.withdrawals, withdrawals)):
        ids = [r["id"] for r in rows]
        assert len(ids) == len(set(ids)) and added <= set(ids)
    assert not data.errors


def test_no_trade_twice_at_a_window_boundary(tmp_path):
    """Trades on the first and last millisecond of the audit and on both sides of a 24-hour window's edge."""
    placed: list[int] = []

    def prepare(ledger, end):
        ledger.add_symbol(Symbol("EDGEUSDT", "EDGE", "USDT"))
        ledger.accounts["victim"].balance("EDGE").free = Decimal(100)
        start = end - 7 * DAY_MS
        for when in (start, start + DAY_MS - 1, start + DAY_MS, start + 3 * DAY_MS, end):
            placed.append(_trade(ledger, "EDGEUSDT", when))

    with sandbox("clean", prepare) as audit:
        data = audit.run(tmp_path / "a.sqlite", days=7)
    assert [t["id"] for t in data.trades["EDGEUSDT"]] == placed
    ids = _trade_ids(data)
    assert len(ids) == len(set(ids)) and not data.errors


def test_offline_audit_lists_what_it_would_have_read(tmp_path):
    with sandbox("clean") as audit:
        online = audit.run(tmp_path / "a.sqlite", days=7)
    replay = Auditor(None, Checkpoint(tmp_path / "a.sqlite")).collect(online.start, online.end)
    assert replay.complete and replay.calls == 0
    assert replay.trades == online.trades and replay.withdrawals == online.withdrawals

    with sqlite3.connect(tmp_path / "a.sqlite") as db:  # as if the first run had stopped before BTCUSDT's trades
        db.execute("DELETE FROM answers WHERE method = 'private_get_mytrades' AND params LIKE '%BTCUSDT%'")
    partial = Auditor(None, Checkpoint(tmp_path / "a.sqlite")).collect(online.start, online.end)
    assert not partial.complete and partial.trades["BTCUSDT"] == []
    assert partial.missing == [f"trades on BTCUSDT {days(online.start, online.start + DAY_MS - 1)}"]

    empty = Auditor(None, Checkpoint(tmp_path / "empty.sqlite")).collect(online.start, online.end)
    assert "spot balances" in empty.missing and "listed symbols" in empty.missing
    assert f"withdrawal history {days(online.start - ADDRESS_HISTORY_MS + 1, online.end)}" in empty.missing
    assert "sub-account list" in empty.missing and empty.trades == {}


def test_key_deleted_mid_audit_stops_it(tmp_path):
    def deleted(stage: str, done: int, total: int) -> None:
        if stage == "trades" and done == 2:
            requests.post(f"{audit.base_url}/_sandbox/keys/victim-rsa/delete", timeout=10).raise_for_status()

    with sandbox("clean") as audit:
        checkpoint = Checkpoint(tmp_path / "a.sqlite")
        with pytest.raises(KeyRejected) as stopped:
            Auditor(audit.client(), checkpoint, deleted).collect(audit.end - 7 * DAY_MS, audit.end)
    assert stopped.value.code == -2015
    assert checkpoint.count() > 0  # what was read before stays for a rerun with another key


def test_a_refusal_on_a_live_key_is_a_note(tmp_path):
    with sandbox("clean") as audit:
        data = audit.run(tmp_path / "a.sqlite", days=7)  # victim-rsa may read, not trade futures
    assert "USD-M futures account: not readable with this key (-2015)" in data.notes
    assert not data.errors


def test_a_rerun_makes_no_call_and_the_checkpoint_works_across_threads(tmp_path):
    with sandbox("withdrawal-theft") as audit:
        checkpoint = Checkpoint(tmp_path / "a.sqlite")
        result: list[AuditData] = []
        worker = threading.Thread(
            target=lambda: result.append(Auditor(audit.client(), checkpoint).collect(audit.end - 7 * DAY_MS, audit.end))
        )
        worker.start()
        worker.join()
        stored, charged = checkpoint.count(), audit.charged()
        again = Auditor(audit.client(), checkpoint).collect(audit.end - 7 * DAY_MS, audit.end)
        assert audit.charged() == charged and again.calls == 0 and checkpoint.count() == stored
    [first] = result
    assert first.calls > 0 and len(checkpoint.all()) == stored
    assert (again.trades, again.sub_transfers, again.notes) == (first.trades, first.sub_transfers, first.notes)


def test_withdrawn_and_moved_assets_are_valued_in_usdt(tmp_path):
    def prepare(ledger, end):
        _trade(ledger, "KGTUSDT", end - 2 * DAY_MS, seller="crowd", price="0.05")  # KGT's market, never the victim's
        extra = {"status": 6, "address": "0xa77ac4e2b1f0d9c3e5a6b7c8d9e0f1a2b3c4d5e6", "network": "ETH"}
        ledger.wallet.append(WalletRecord("withdrawal", "kgtout", "victim", "KGT", Decimal(1000), end - DAY_MS, extra))

    with sandbox("withdrawal-theft", prepare) as audit:
        data = audit.run(tmp_path / "a.sqlite", days=7)
        checkpoint = Checkpoint(tmp_path / "a.sqlite")
    assert data.trades["KGTUSDT"] == [] and data.klines["KGTUSDT"]
    assert {"BTCUSDT", "BNBUSDT"} <= set(data.klines)  # withdrawn BTC, BNB moved to the sub-account
    starts = [p["startTime"] for m, p, _ in checkpoint.all() if m == "public_get_klines" and p["symbol"] == "BTCUSDT"]
    assert len(starts) == len(set(starts))  # fetched once


def test_transfers_flagged_by_direction_for_master_and_sub_account_keys(tmp_path):
    """Money out of the audited account is flagged, money in is not: the master's transfer to its sub-account
    (the theft), and a sub-account key's own transfer back to the master, within the window."""
    from keyguard.incident.detect import detect

    back = "90500002"

    def prepare(ledger, end):
        ledger.wallet.append(
            WalletRecord(
                "sub_transfer", back, "victim", "USDT", Decimal(50), end - DAY_MS,
                {"fromEmail": "victim-sub@sandbox.invalid", "toEmail": "victim@sandbox.invalid", "clientTranId": "",
                 "fromAccountType": "SPOT", "toAccountType": "SPOT"},
            )
        )  # fmt: skip

    with sandbox("withdrawal-theft", prepare) as audit:
        master = audit.run(tmp_path / "master.sqlite", days=7)
        sub = audit.run(tmp_path / "sub.sqlite", days=7, label="victim-sub-key")
        theft = {str(t) for t in audit.built.truth["transfer_ids"]}
    start = audit.end - 7 * DAY_MS
    flagged_master = {f.ref["id"] for f in detect(master, start).flags if f.kind == "transfer"}
    flagged_sub = {f.ref["id"] for f in detect(sub, start).flags if f.kind == "transfer"}
    assert master.sub_account_emails == ["victim-sub@sandbox.invalid"]
    assert flagged_master == theft  # the transfer back into the master is money in
    assert flagged_sub == {back}  # for the sub-account, the theft's transfer was money in


def test_prices_are_read_without_a_key_once_the_key_is_gone(tmp_path):
    """The withdrawals were captured, the prices to value them were not, and the key is deleted: public
    market data needs no key, so the offline pass still reads BTCUSDT's hourly prices."""
    with sandbox("withdrawal-theft") as audit:
        path = tmp_path / "a.sqlite"
        captured = audit.run(path, days=7, label="victim-withdraw")
        assert "BTCUSDT" in captured.klines
        with sqlite3.connect(path) as db:
            db.execute("DELETE FROM answers WHERE method = 'public_get_klines'")
        requests.post(f"{audit.base_url}/_sandbox/keys/victim-withdraw/delete", timeout=10).raise_for_status()
        start = audit.end - 7 * DAY_MS
        without_prices = Auditor(None, Checkpoint(path)).collect(start, audit.end)
        public = Auditor(None, Checkpoint(path), public=BinanceClient.public_data(audit.base_url)).collect(
            start, audit.end
        )
    assert not without_prices.klines.get("BTCUSDT") and without_prices.missing
    assert public.klines["BTCUSDT"] and public.complete, public.missing + public.errors
