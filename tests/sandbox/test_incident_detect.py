"""The audit and theft detection, scored against the sandbox scenarios' ground truth."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from keyguard.exchange.client import BinanceClient
from keyguard.exchange.credentials import Credential
from keyguard.incident.audit import DAY_MS, Auditor, Checkpoint
from keyguard.incident.detect import detect
from keyguard.sandbox.scenario import build_scenario
from keyguard.sandbox.server import SandboxServer

from .conftest import ccxt_client


def _audit(name: str, tmp_path, days: int = 7, label: str = "victim-rsa", now_ms: int | None = None):
    built = build_scenario(name, now_ms=now_ms)
    with SandboxServer(built.exchange).running() as server:
        entry = next(c for c in built.credentials if c["label"] == label)
        client = BinanceClient(
            Credential(entry["api_key"], entry.get("secret") or entry["private_key_pem"]),
            server.base_url,
            sleep=lambda s: None,
        )
        end = built.exchange.clock.now_ms()
        start = end - days * DAY_MS
        data = Auditor(client, Checkpoint(tmp_path / "audit.sqlite")).collect(start, end)
        resumed = Auditor(client, Checkpoint(tmp_path / "audit.sqlite")).collect(start, end)
    return built, data, resumed, start


@pytest.mark.parametrize("minutes_before_the_hour", [2, 30])  # the attack crossing an hour boundary, or not
def test_wash_trade_theft_every_attack_trade_flagged(tmp_path, minutes_before_the_hour):
    hour = 3_600_000
    now = int(time.time() * 1000)
    built, data, resumed, start = _audit(
        "wash-trade-theft", tmp_path, now_ms=now - now % hour - minutes_before_the_hour * 60_000
    )
    assert data.errors == [] and "KGTUSDT" in data.trades
    result = detect(data, start)
    truth = {(t["symbol"], t["id"]) for t in built.truth["trade_ids"]}
    assert truth and truth <= result.flagged_trade_ids()
    assert result.flagged_trade_ids() <= truth  # no ordinary trade flagged
    kgt = [f for f in result.flags if f.ref.get("symbol") == "KGTUSDT"]
    assert all("against the market price" in " ".join(f.reasons) for f in kgt)
    assert all("KGT was never held in the daily snapshots before the window" in f.reasons for f in kgt)
    assert result.loss_by_symbol["KGTUSDT"] > 10_000
    assert resumed.calls == 0  # the rerun read every answer from the checkpoint


def test_withdrawal_theft_flags_new_address_and_transfer(tmp_path):
    built, data, _, start = _audit("withdrawal-theft", tmp_path)
    result = detect(data, start)
    assert set(built.truth["withdrawal_ids"]) == result.flagged_withdrawal_ids()
    assert {f.ref["id"] for f in result.flags if f.kind == "transfer"} == set(built.truth["transfer_ids"])


def test_clean_account_flags_nothing(tmp_path):
    _, data, _, start = _audit("clean", tmp_path, days=30)
    assert sum(len(t) for t in data.trades.values()) > 100
    assert detect(data, start).flags == []


def test_a_withdrawal_to_a_whitelisted_address_is_known_and_one_saved_through_the_api_is_not(tmp_path):
    """The withdrawal address book (GET /sapi/v1/capital/withdraw/address/list): an address the person whitelisted
    is theirs; an API withdrawal with a `name` saves its address to the book, but never as whitelisted."""
    built = build_scenario("withdrawal-theft")
    entry = next(c for c in built.credentials if c["label"] == "victim-withdraw")
    reader = next(c for c in built.credentials if c["label"] == "victim-rsa")
    with SandboxServer(built.exchange).running() as server:
        exchange = ccxt_client(SimpleNamespace(base_url=server.base_url), entry["api_key"], entry["secret"])
        mine, theirs = "0x5b1a3e8d0c9f7a6b5c4d3e2f1a0b9c8d7e6f5a4b", "0xfeedfacefeedfacefeedfacefeedfacefeedface"
        for address, name in ((mine, "cold wallet"), (theirs, "exchange deposit")):
            params = {"coin": "USDT", "address": address, "amount": "25", "network": "ETH", "name": name}
            exchange.sapi_post_capital_withdraw_apply(params)
        client = BinanceClient(Credential(reader["api_key"], reader["private_key_pem"]), server.base_url)
        end = built.exchange.clock.now_ms()
        data = Auditor(client, Checkpoint(tmp_path / "audit.sqlite")).collect(end - 7 * DAY_MS, end)
    book = {e["address"]: e["whiteStatus"] for e in data.address_book}
    assert book[mine] is True and book[theirs] is False
    withdrawals = [f for f in detect(data, end - 7 * DAY_MS).flags if f.kind == "withdrawal"]
    flagged = {f.reasons[0].split(" to ")[1].split(",")[0]: f for f in withdrawals}
    assert mine not in flagged
    assert "saved in the address book, not whitelisted" in flagged[theirs].reasons[0]
