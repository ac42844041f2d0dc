"""The watch's containment on the real sandbox: open orders cancelled with the watched key, spot balances moved to
the Funding wallet by a guardian key that can do nothing else, each action logged with its UTC time."""

from __future__ import annotations

from decimal import Decimal

import ccxt
import pytest

from keyguard.exchange.client import BinanceClient
from keyguard.exchange.credentials import Credential
from keyguard.incident.actions import ActionLog
from keyguard.watch.contain import ContainError, contain, guardian_problems, parse_actions, steps_text

from .conftest import ccxt_client


def _client(sandbox, label: str) -> BinanceClient:
    entry = sandbox.credentials[label]
    return BinanceClient(Credential(entry["api_key"], entry["secret"]), sandbox.base_url, sleep=lambda s: None)


def _guardian(sandbox) -> BinanceClient:
    """victim-withdraw cut down to universal transfer (reading is always on), bound to 127.0.0.1."""
    sandbox.admin("keys/victim-withdraw", {"permissions": ["universal_transfer"], "ip_whitelist": ["127.0.0.1"]})
    return _client(sandbox, "victim-withdraw")


def test_cancel_orders_and_sweep_to_funding_leave_the_trading_key_nothing(sandbox):
    entry = sandbox.credentials["victim-bot"]
    trader = ccxt_client(sandbox, entry["api_key"], entry["secret"])
    trader.create_order("BTC/USDT", "limit", "buy", 0.01, 1000)  # far below the market: stays open
    trader.create_order("ETH/USDT", "limit", "sell", 0.5, 90000)
    victim = sandbox.exchange.ledger.accounts["victim"]
    spot = {asset: b.free + b.locked for asset, b in victim.balances.items() if b.free + b.locked > 0}
    funding = dict(victim.funding)
    guardian = _guardian(sandbox)
    assert guardian_problems(guardian) == []

    log = ActionLog()
    actions = parse_actions("sweep-to-funding,cancel-orders")
    assert actions == ["cancel-orders", "sweep-to-funding"]
    result = contain(actions, _client(sandbox, "victim-bot"), log, "victim-bot", guardian=guardian, money_left=True)

    assert result.cancelled == {"BTCUSDT": 1, "ETHUSDT": 1}
    assert sandbox.exchange.ledger.open_orders("victim") == []
    assert set(result.swept) == set(spot) and result.not_swept == {}
    dust = Decimal("0.00000001")  # Binance shows balances to 8 decimals: what lies below stays
    assert all(b.free < dust and b.locked == 0 for b in victim.balances.values())
    for asset, amount in spot.items():
        assert victim.funding[asset] == funding.get(asset, Decimal(0)) + Decimal(result.swept[asset])
        assert amount - Decimal(result.swept[asset]) < dust
    assert [a.action for a in log.actions][:4] == [
        "list open orders (all symbols)",
        "cancel open orders on BTCUSDT",
        "cancel open orders on ETHUSDT",
        "read spot balances (guardian key)",
    ]
    assert log.actions[4].action == "move USDT to Funding"  # the quote a wash trade spends goes first
    assert all(a.ok and a.time.endswith("+00:00") for a in log.actions)
    assert log.actions[-1].action == "guide deletion"
    text = steps_text(result.steps)
    assert "API Management" in text and "Disable Account" in text and "keyguard incident --key victim-bot" in text
    assert entry["api_key"] not in text and entry["secret"] not in text

    with pytest.raises(ccxt.InsufficientFunds):  # the thief's next order finds nothing to trade with
        trader.create_order("BTC/USDT", "limit", "buy", 0.01, 1000)


def test_a_trading_key_is_no_guardian_and_its_sweep_fails_logged(sandbox):
    bot = _client(sandbox, "victim-bot")
    problems = guardian_problems(bot)
    assert any("lacks the universal-transfer permission" in p for p in problems)
    assert any("enableSpotAndMarginTrading" in p for p in problems) and any("no IP whitelist" in p for p in problems)
    log = ActionLog()
    result = contain(["sweep-to-funding"], bot, log, "victim-bot", guardian=bot)
    assert result.swept == {} and "USDT" in result.not_swept
    assert not [a for a in log.actions if a.action == "move USDT to Funding"][0].ok
    victim = sandbox.exchange.ledger.accounts["victim"]
    assert victim.balance("USDT").free > 0  # nothing moved


def test_actions_are_checked_before_anything_runs(sandbox):
    with pytest.raises(ContainError, match="unknown containment action sell-everything"):
        parse_actions("cancel-orders,sell-everything")
    with pytest.raises(ContainError, match="guardian key"):
        contain(["sweep-to-funding"], _client(sandbox, "victim-bot"), ActionLog(), "victim-bot")
