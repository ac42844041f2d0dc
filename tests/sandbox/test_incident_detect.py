"""The audit and theft detection, scored against the sandbox scenarios' ground truth."""

from __future__ import annotations

import time

import pytest

from keyguard.exchange.client import BinanceClient
from keyguard.exchange.credentials import Credential
from keyguard.incident.audit import DAY_MS, Auditor, Checkpoint
from keyguard.incident.detect import detect
from keyguard.sandbox.scenario import build_scenario
from keyguard.sandbox.server import SandboxServer


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
