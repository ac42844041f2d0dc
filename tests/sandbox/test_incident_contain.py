"""keyguard incident, containment: open orders cancelled on every symbol, actions logged, polled until dead."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

from keyguard.exchange.client import BinanceClient
from keyguard.exchange.credentials import Credential
from keyguard.incident.actions import ActionLog
from keyguard.incident.contain import contain, poll_until_dead

from .conftest import ccxt_client


def _leave_open_orders(sandbox, label: str) -> None:
    entry = sandbox.credentials[label]
    exchange = ccxt_client(sandbox, entry["api_key"], entry["secret"])
    exchange.create_order("BTC/USDT", "limit", "buy", 0.01, 1000)  # far below the market: stays open
    exchange.create_order("ETH/USDT", "limit", "buy", 0.1, 100)
    exchange.create_order("ETH/USDT", "limit", "sell", 0.1, 90000)


def test_containment_cancels_every_open_order_and_logs_it(sandbox):
    _leave_open_orders(sandbox, "victim-bot")
    entry = sandbox.credentials["victim-bot"]
    client = BinanceClient(Credential(entry["api_key"], entry["secret"]), sandbox.base_url, sleep=lambda s: None)
    log = ActionLog()
    result = contain(client, log, confirm=lambda question: True)
    assert result.cancelled == {"BTCUSDT": 1, "ETHUSDT": 2}
    assert sandbox.exchange.ledger.open_orders("victim") == []
    assert [a.action for a in log.actions][:4] == [
        "identify key",
        "check key",
        "list open orders (all symbols)",
        "cancel open orders on BTCUSDT",
    ]
    assert all(a.time.endswith("+00:00") for a in log.actions)
    assert any("API Management" in step for step in result.guidance)
    threading.Timer(0.5, lambda: sandbox.admin("keys/victim-bot/delete")).start()
    assert poll_until_dead(client, log, seconds=10, poll_seconds=0.2)
    assert log.actions[-1].result.startswith("Binance now rejects this key from this machine (-2015)")


def test_declined_cancel_is_logged_and_nothing_cancelled(sandbox):
    _leave_open_orders(sandbox, "victim-bot")
    entry = sandbox.credentials["victim-bot"]
    client = BinanceClient(Credential(entry["api_key"], entry["secret"]), sandbox.base_url, sleep=lambda s: None)
    log = ActionLog()
    result = contain(client, log, confirm=lambda question: False)
    assert result.cancelled == {} and len(sandbox.exchange.ledger.open_orders("victim")) == 3
    assert ("cancel open orders", "declined by the person") in [(a.action, a.result) for a in log.actions]


def test_cli_incident_writes_the_case_folder(sandbox, tmp_path):
    _leave_open_orders(sandbox, "victim-bot")
    entry = sandbox.credentials["victim-bot"]
    env = {
        **os.environ,
        "BINANCE_API_KEY": entry["api_key"],
        "BINANCE_API_SECRET": entry["secret"],
        "KEYGUARD_BINANCE_URL": sandbox.base_url,
        "COLUMNS": "200",
    }
    threading.Timer(10, lambda: sandbox.admin("keys/victim-bot/delete")).start()  # people take 30-120 s
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "keyguard", "incident", "--yes", "--out", str(tmp_path / "case"), "--wait-dead", "60"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert time.monotonic() - started < 60
    summary = json.loads((tmp_path / "case" / "containment.json").read_text())
    assert summary["cancelled"] == {"BTCUSDT": 1, "ETHUSDT": 2} and summary["confirmed_dead"] is True
    log = (tmp_path / "case" / "containment-log.jsonl").read_text()
    for text in (log, json.dumps(summary), done.stdout, done.stderr):
        assert entry["secret"] not in text and entry["api_key"] not in text
    again = subprocess.run(
        [sys.executable, "-m", "keyguard", "incident", "--yes", "--out", str(tmp_path / "case")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 2 and "sealed case" in again.stderr


def test_master_account_locks_a_leaked_sub_account_key(sandbox):
    leaked, master = sandbox.credentials["victim-sub-key"], sandbox.credentials["victim-bot"]
    sub_client = BinanceClient(Credential(leaked["api_key"], leaked["secret"]), sandbox.base_url, sleep=lambda s: None)
    master_client = BinanceClient(Credential(master["api_key"], master["secret"]), sandbox.base_url)
    from keyguard.incident.contain import lock_sub_account_key

    sandbox.admin(f"keys/{leaked['api_key']}", {"ip_whitelist": ["127.0.0.1", "198.51.100.7"]})  # trusted IPs
    log = ActionLog()
    assert lock_sub_account_key(master_client, "victim-sub@sandbox.invalid", leaked["api_key"], log)
    assert log.actions[-1].result == "IP list was [127.0.0.1, 198.51.100.7], now [192.0.2.1]: usable from nowhere"
    assert sandbox.exchange.keys[leaked["api_key"]].ip_whitelist == ["192.0.2.1"]
    from keyguard.posture.verify import verify

    assert verify(sub_client).status == "dead"  # from here it is refused now


def test_a_cancel_whose_answer_was_lost_is_not_reported_as_failed(sandbox):
    """Binance: a 5xx leaves the execution status unknown. The cancel went through, its answer was lost, the
    retry finds nothing to cancel (-2011): the orders are gone, and containment says so."""
    _leave_open_orders(sandbox, "victim-bot")
    entry = sandbox.credentials["victim-bot"]
    client = BinanceClient(Credential(entry["api_key"], entry["secret"]), sandbox.base_url, sleep=lambda s: None)
    sandbox.admin("faults", {"lost_answers": 1})
    log = ActionLog()
    result = contain(client, log, confirm=lambda question: True)
    assert sandbox.exchange.ledger.open_orders("victim") == []
    assert result.cancelled == {"BTCUSDT": 1, "ETHUSDT": 2}
    assert all(a.ok for a in log.actions if a.action.startswith("cancel open orders on"))
    assert "the retried request found none left" in log.actions[3].result


def test_a_failed_lock_never_logs_the_sub_account_key_and_names_the_ips_it_had(sandbox):
    """The leaked key travels in the master's request URL; a bare 401 from a proxy puts that URL in the error."""
    from keyguard.incident.contain import lock_sub_account_key

    leaked, master = sandbox.credentials["victim-sub-key"], sandbox.credentials["victim-bot"]
    master_client = BinanceClient(Credential(master["api_key"], master["secret"]), sandbox.base_url)
    sandbox.admin(f"keys/{leaked['api_key']}", {"ip_whitelist": ["198.51.100.7"]})
    log = ActionLog()
    assert lock_sub_account_key(master_client, "victim-sub@sandbox.invalid", leaked["api_key"], log)
    sandbox.admin("faults", {"proxy_401": 3})
    assert not lock_sub_account_key(master_client, "victim-sub@sandbox.invalid", leaked["api_key"], log)
    assert log.actions[-1].result.startswith("failed (IP list was [")
    assert all(leaked["api_key"] not in a.result for a in log.actions)
    assert sandbox.exchange.keys[leaked["api_key"]].ip_whitelist == ["192.0.2.1"]  # never left unrestricted


def test_a_ban_on_api_does_not_hold_back_the_deletion_steps(sandbox):
    """418 on /api for 60 s: the key check (/sapi) answers, the open orders cannot be read within the short
    budget, and the steps come at once — with the open orders to cancel in the app first."""
    _leave_open_orders(sandbox, "victim-bot")
    entry = sandbox.credentials["victim-bot"]
    client = BinanceClient(Credential(entry["api_key"], entry["secret"]), sandbox.base_url)
    sandbox.admin("faults", {"burst_418": 1, "ban_seconds": 60})
    started = time.monotonic()
    result = contain(client, ActionLog(), confirm=lambda question: True)
    assert time.monotonic() - started < 30
    assert result.verification.status == "live" and result.cancelled == {}
    assert result.guidance[0].startswith("keyguard could not cancel every open order")
    assert any("API Management" in step for step in result.guidance[1:])
