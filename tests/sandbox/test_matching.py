"""The matching engine: price-time priority, market orders, cancels, balances that add up."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from keyguard.sandbox.errors import BinanceError
from keyguard.sandbox.ledger import INTERVALS_MS, Account, Ledger, Symbol


@pytest.fixture
def ledger() -> Ledger:
    book = Ledger()
    book.add_symbol(Symbol("KGTUSDT", "KGT", "USDT"))
    for name in ("alice", "bob", "carol"):
        account = Account(name, len(book.accounts) + 1, f"{name}@x", "other")
        account.balance("USDT").free = D(10_000)
        account.balance("KGT").free = D(10_000)
        book.add_account(account)
    return book


def test_price_then_time_priority(ledger):
    first = ledger.place_order("alice", "KGTUSDT", "SELL", "LIMIT", D(5), D("1.10"), "GTC", 1)
    better = ledger.place_order("bob", "KGTUSDT", "SELL", "LIMIT", D(5), D("1.05"), "GTC", 2)
    later = ledger.place_order("carol", "KGTUSDT", "SELL", "LIMIT", D(5), D("1.10"), "GTC", 3)
    taker = ledger.place_order("carol", "KGTUSDT", "BUY", "LIMIT", D(8), D("1.20"), "GTC", 4)
    trades = ledger.trades["KGTUSDT"]
    assert [(t.price, t.qty, t.sell_order) for t in trades] == [
        (D("1.05"), D(5), better.order_id),
        (D("1.10"), D(3), first.order_id),
    ]
    assert taker.status == "FILLED" and first.status == "PARTIALLY_FILLED" and later.status == "NEW"
    # the taker locked 8 x 1.20 and paid 5 x 1.05 + 3 x 1.10: the difference came back
    carol = ledger.accounts["carol"]
    assert carol.balance("USDT").free == D(10_000) - D("8.55")
    assert carol.balance("KGT").locked == D(5)  # her own resting sell


def test_market_order_and_cancel_release_funds(ledger):
    ask = ledger.place_order("alice", "KGTUSDT", "SELL", "LIMIT", D(2), D(2), "GTC", 1)
    market = ledger.place_order("bob", "KGTUSDT", "BUY", "MARKET", D(5), None, "GTC", 2)
    assert market.status == "EXPIRED" and market.executed_qty == D(2)
    assert ask.status == "FILLED"
    resting = ledger.place_order("bob", "KGTUSDT", "BUY", "LIMIT", D(10), D(1), "GTC", 3)
    assert ledger.accounts["bob"].balance("USDT").locked == D(10)
    ledger.cancel("bob", "KGTUSDT", resting.order_id, None, 4)
    assert ledger.accounts["bob"].balance("USDT").locked == 0
    with pytest.raises(BinanceError, match="Unknown order"):
        ledger.cancel("bob", "KGTUSDT", resting.order_id, None, 5)


def test_insufficient_balance_is_rejected(ledger):
    with pytest.raises(BinanceError, match="insufficient balance"):
        ledger.place_order("alice", "KGTUSDT", "SELL", "LIMIT", D(20_000), D(1), "GTC", 1)


def test_market_buy_beyond_the_free_balance_is_rejected_whole(ledger):
    """Binance answers -2010 for a market buy the account cannot pay: nothing fills (a swept account stops a thief)."""
    ledger.place_order("alice", "KGTUSDT", "SELL", "LIMIT", D(300), D(50), "GTC", 1)
    with pytest.raises(BinanceError, match="insufficient balance") as refused:
        ledger.place_order("bob", "KGTUSDT", "BUY", "MARKET", D(201), None, "GTC", 2)  # 10,050 > 10,000
    assert refused.value.code == -2010
    assert ledger.trades["KGTUSDT"] == [] and ledger.accounts["bob"].balance("USDT").free == D(10_000)
    ledger.accounts["bob"].balance("USDT").free = D(0)
    with pytest.raises(BinanceError, match="insufficient balance"):
        ledger.place_order("bob", "KGTUSDT", "BUY", "MARKET", D(1), None, "GTC", 3)
    ledger.accounts["bob"].balance("USDT").free = D("50.05")  # 1 x 50 and the 0.1 % fee: just enough
    assert ledger.place_order("bob", "KGTUSDT", "BUY", "MARKET", D(1), None, "GTC", 5).status == "FILLED"


def test_klines_are_built_from_trades(ledger):
    hour = INTERVALS_MS["1h"]
    for minute, price in enumerate(("1.0", "1.5", "0.8", "1.2")):
        ledger.place_order("alice", "KGTUSDT", "SELL", "LIMIT", D(1), D(price), "GTC", hour + minute)
        ledger.place_order("bob", "KGTUSDT", "BUY", "LIMIT", D(1), D(price), "GTC", hour + minute)
    [row] = ledger.klines("KGTUSDT", hour, None, None, 500)
    assert row[:6] == [hour, "1.00000000", "1.50000000", "0.80000000", "1.20000000", "4.00000000"]
    assert row[8] == 4


def test_market_maker_refills_liquid_books(ledger):
    ledger.market_maker = "alice"
    ledger.replenished_symbols = {"KGTUSDT"}
    ledger.place_order("alice", "KGTUSDT", "SELL", "LIMIT", D(1), D(2), "GTC", 1)
    for minute in range(3):
        ledger.place_order("bob", "KGTUSDT", "BUY", "MARKET", D(1), None, "GTC", 2 + minute)
    assert [t.price for t in ledger.trades["KGTUSDT"]] == [D(2)] * 3
    assert len(ledger.open_orders("alice", "KGTUSDT")) == 1
