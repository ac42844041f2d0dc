"""Account behaviours and attacks as scenario data: each bot's statistics as generated, each attack's truth
exact, and the old scenarios exactly as before."""

from __future__ import annotations

import bisect
import copy
import hashlib
import re
import statistics
from collections import Counter
from decimal import Decimal
from typing import NamedTuple

import pytest

from keyguard.sandbox.attacks import CATALOGUE
from keyguard.sandbox.ledger import Trade
from keyguard.sandbox.scenario import (
    Built,
    ScenarioBuilder,
    ScenarioError,
    build_account_scenario,
    build_scenario,
    load_spec,
)
from keyguard.sandbox.server import SandboxServer
from keyguard.sandbox.truth import public_price, true_loss_usdt

from .conftest import ccxt_client

NOW = 1_790_000_000_000
DAY_MS, HOUR_MS = 86_400_000, 3_600_000
CCXT_ID = re.compile(r"^x-TKT5PX2F[0-9a-f]{22}$")
HUMMINGBOT_ID = re.compile(r"^x-MG43PCSN[BS](SL|AA)UT[0-9a-f]{17}$")
APP_ID = re.compile(r"^(web|and|ios)_[0-9a-f]{32}$")
BINANCE_ID = re.compile(r"^[A-Za-z0-9]{22}$")


def small(name: str, days: int = 2, seed: int | None = None, attack: dict | list | None = None, **history) -> Built:
    """A packaged scenario shortened to `days`, its unusual day and new listing moved inside the period."""
    spec = load_spec(name)
    spec["history"].update(days=days, **history)
    unusual = spec["history"].get("unusual")
    if unusual:
        unusual["days_ago"] = min(float(unusual.get("days_ago", 3)), days / 2)
    for raw in spec["symbols"]:
        if "listed_days_ago" in raw:
            raw["listed_days_ago"] = days * 0.75
    if attack is not None:
        spec["attack"] = attack
    return ScenarioBuilder(spec, now_ms=NOW, seed=seed).build()


def victim_trades(built: Built) -> list[Trade]:
    trades = [t for ts in built.exchange.ledger.trades.values() for t in ts if "victim" in (t.buyer, t.seller)]
    return sorted(trades, key=lambda t: t.time)


def ordinary(built: Built) -> list[Trade]:
    """The bot's own trades: not the unusual day's, not the attack's."""
    odd = {i for u in built.truth.get("legit_unusual", []) for i in u["trade_ids"]}
    odd |= {t["id"] for t in built.truth["trade_ids"]}
    return [t for t in victim_trades(built) if t.id not in odd]


def is_maker(trade: Trade) -> bool:
    return trade.buyer_is_maker if trade.buyer == "victim" else not trade.buyer_is_maker


def orders_of(built: Built, trades: list[Trade]) -> list:
    ledger = built.exchange.ledger
    ids = {t.buy_order if t.buyer == "victim" else t.sell_order for t in trades}
    return [ledger.orders[i] for i in sorted(ids)]


def hourly(trades: list[Trade], days: int, quiet_hours: int = 3) -> list[int]:
    first = (NOW - days * DAY_MS) // HOUR_MS + 1
    last = (NOW - quiet_hours * HOUR_MS) // HOUR_MS
    counts = Counter(t.time // HOUR_MS for t in trades)
    return [counts.get(hour, 0) for hour in range(first, last)]


# --- old scenarios ---------------------------------------------------------------------------------------


def _digest(built: Built) -> str:
    h = hashlib.sha256()
    for symbol, trades in sorted(built.exchange.ledger.trades.items()):
        for t in trades:
            h.update(f"{symbol} {t.id} {t.price} {t.qty} {t.time} {t.buyer} {t.seller}\n".encode())
    return h.hexdigest()[:16]


@pytest.mark.parametrize(
    ("name", "digest"),
    [
        ("clean", "446ad387c73dd9bb"),
        ("wash-trade-theft", "bf06fcbe6eb57d98"),
        ("withdrawal-theft", "446ad387c73dd9bb"),
        ("leaked-readonly", "446ad387c73dd9bb"),
    ],
)
def test_old_scenarios_build_the_same_trades_as_before(name, digest):
    """Digests recorded from the code before behaviours and new attacks existed (same seed, same clock)."""
    built = build_scenario(name, now_ms=NOW)
    assert _digest(built) == digest
    btc = built.exchange.ledger.trades["BTCUSDT"][:3]
    assert [(t.id, str(t.price)) for t in btc] == [(1, "53122.57"), (4, "53154.49"), (6, "52941.94")]
    assert "legit_unusual" not in built.truth
    if name == "wash-trade-theft":
        ids = sorted((t["symbol"], t["id"]) for t in built.truth["trade_ids"])
        assert ids[:3] == [("BTCUSDT", 10581), ("BTCUSDT", 10582), ("BTCUSDT", 10583)]
        assert built.truth["attack"]["type"] == "wash-trade-theft" and len(built.truth["attacks"]) == 1
    if name == "withdrawal-theft":
        assert built.truth["withdrawal_ids"] == ["theft000009", "theft000010"]
        assert built.truth["transfer_ids"] == ["89999989"]


# --- behaviours ------------------------------------------------------------------------------------------


def test_grid_bot_trades_140_an_hour_in_bursts_at_grid_levels_mostly_maker():
    built = small("grid-bot", days=3)
    trades = ordinary(built)
    counts = hourly(trades, 3)
    assert 110 <= statistics.mean(counts) <= 170
    assert statistics.pstdev(counts) > 0.4 * statistics.mean(counts)  # some hours busy, some calm
    gaps = [b.time - a.time for a, b in zip(trades, trades[1:], strict=False)]
    assert sum(g < 10_000 for g in gaps) > 0.6 * len(gaps)  # bursts: most fills seconds after the last
    assert {t.symbol for t in trades} == {"SOLUSDT", "ADAUSDT"}
    assert 0.88 <= sum(map(is_maker, trades)) / len(trades) <= 0.98
    orders = orders_of(built, trades)
    assert {o.type for o in orders} == {"LIMIT"} and {o.side for o in orders} == {"BUY", "SELL"}
    assert all(CCXT_ID.match(o.client_order_id) for o in orders)
    sol = sorted({t.price for t in trades if t.symbol == "SOLUSDT" and is_maker(t)})
    levels = Counter(round(float(b / a), 4) for a, b in zip(sol, sol[1:], strict=False))
    assert levels.most_common(1)[0][0] == pytest.approx(1.002, abs=0.0002)  # prices sit on a 0.2 % grid


def test_market_maker_makes_hundreds_of_fills_an_hour_on_both_sides():
    built = small("market-maker", days=1)
    trades = ordinary(built)
    counts = hourly(trades, 1)
    assert 300 <= statistics.mean(counts) <= 560
    assert sum(map(is_maker, trades)) / len(trades) >= 0.95
    buys = sum(t.buyer == "victim" for t in trades) / len(trades)
    assert 0.4 <= buys <= 0.6
    orders = orders_of(built, trades)
    assert all(HUMMINGBOT_ID.match(o.client_order_id) for o in orders)
    assert len(trades) > len(orders)  # resting orders fill in parts


def test_dca_bot_buys_at_market_on_the_clock_and_takes_profit_with_limit_sells():
    built = small("dca-bot", days=10)
    trades = ordinary(built)
    orders = orders_of(built, trades)
    buys = [o for o in orders if o.side == "BUY"]
    assert {o.type for o in buys} == {"MARKET"}
    gaps = [b.time - a.time for a, b in zip(buys, buys[1:], strict=False)]
    on_the_clock = [abs(g - round(g / (3 * HOUR_MS)) * 3 * HOUR_MS) <= 2_000 for g in gaps]
    assert all(on_the_clock) and Counter(round(g / HOUR_MS) for g in gaps).most_common(1)[0][0] == 3
    sells = [o for o in orders if o.side == "SELL"]
    assert sells and {o.type for o in sells} == {"LIMIT"}
    assert all(is_maker(t) for t in trades if t.seller == "victim")
    assert not any(is_maker(t) for t in trades if t.buyer == "victim")
    assert all(CCXT_ID.match(o.client_order_id) for o in orders)
    assert 0.2 <= len(trades) / (10 * 24) <= 0.7


def test_scalper_trades_in_bursts_minutes_apart_then_goes_quiet():
    built = small("scalper", days=4)
    trades = ordinary(built)
    orders = orders_of(built, trades)
    gaps = [(b.time - a.time) / 60_000 for a, b in zip(orders, orders[1:], strict=False)]
    assert statistics.median(gaps) < 5  # minutes apart in a burst
    assert sum(g > 30 for g in gaps) >= 20  # then quiet
    assert sum(c == 0 for c in hourly(trades, 4)) / (4 * 24) >= 0.25
    assert {o.type for o in orders} == {"MARKET", "LIMIT"}
    assert all(BINANCE_ID.match(o.client_order_id) for o in orders)


def test_app_person_trades_a_few_times_a_day_while_awake_with_app_ids():
    built = small("app-person", days=10)
    trades = ordinary(built)
    orders = orders_of(built, trades)
    assert 1.5 <= len(orders) / 10 <= 5
    assert all(7 <= (o.time // HOUR_MS) % 24 <= 22 for o in orders)  # 08:00-23:00 at UTC+1
    assert {o.type for o in orders} == {"MARKET", "LIMIT"}
    assert all(APP_ID.match(o.client_order_id) for o in orders)
    assert {o.client_order_id[:4] for o in orders} >= {"web_", "and_"}


@pytest.mark.parametrize("name", ["grid-bot", "market-maker"])
def test_the_unusual_day_is_a_large_manual_buy_in_the_app(name):
    built = small(name, days=2)
    [day] = built.truth["legit_unusual"]
    assert day["kind"] == "large-buy"
    ledger = built.exchange.ledger
    order = ledger.orders[day["order_id"]]
    assert APP_ID.match(order.client_order_id) and order.type == "MARKET" and order.side == "BUY"
    usual = statistics.median(float(t.price * t.qty) for t in ordinary(built))
    assert float(order.cumulative_quote) > 100 * usual
    market = public_price(ledger, {"attack": {"victim": "victim", "attacker": "attacker"}}, order.symbol, order.time)
    assert float(order.cumulative_quote / order.executed_qty) == pytest.approx(market, rel=0.01)


@pytest.mark.parametrize("name", ["dca-bot", "scalper", "app-person"])
def test_the_unusual_day_is_a_new_listing_bought_during_its_pump(name):
    built = small(name, days=4)
    [day] = built.truth["legit_unusual"]
    assert day["kind"] == "listing-pump" and day["symbol"] == "NEWUSDT"
    ledger = built.exchange.ledger
    tape = [t for t in ledger.trades["NEWUSDT"] if "victim" not in (t.buyer, t.seller)]
    listed = NOW - 3 * DAY_MS
    assert tape and min(t.time for t in tape) >= listed  # nothing traded before the listing
    first = [t for t in tape if t.time < listed + HOUR_MS]
    around = [t for t in tape if abs(t.time - day["start"]) < 2 * HOUR_MS]
    assert first and around and min(float(t.price) for t in around) > 1.5 * max(float(t.price) for t in first)
    order = ledger.orders[day["order_id"]]
    assert APP_ID.match(order.client_order_id) and order.type == "MARKET"
    paid = float(order.cumulative_quote / order.executed_qty)
    before = [float(t.price) for t in tape if t.time < order.time][-1]
    after = next(float(t.price) for t in tape if t.time > order.time)
    assert min(before, after) * 0.98 < paid < max(before, after) * 1.02  # the pumped market's price, no premium


def test_same_seed_same_bot_history_and_another_seed_another():
    first, second, other = (small("scalper", days=1, seed=s) for s in (5, 5, 6))
    assert [(t.id, t.price, t.time) for t in victim_trades(first)] == [
        (t.id, t.price, t.time) for t in victim_trades(second)
    ]
    assert [t.time for t in victim_trades(first)] != [t.time for t in victim_trades(other)]


def test_bot_orders_and_fills_read_through_the_api_as_generated():
    built = small("grid-bot", days=1)
    entry = next(c for c in built.credentials if c["label"] == "victim-bot")
    ledger = built.exchange.ledger
    with SandboxServer(built.exchange).running() as server:
        exchange = ccxt_client(type("S", (), {"base_url": server.base_url}), entry["api_key"], entry["secret"])
        since = NOW - 6 * HOUR_MS
        fills = exchange.fetch_my_trades("ADA/USDT", since=since, limit=1000)
        orders = exchange.fetch_orders("ADA/USDT", since=since, limit=1000)
    expected = [t for t in ledger.trades["ADAUSDT"] if "victim" in (t.buyer, t.seller) and t.time >= since]
    assert [int(f["id"]) for f in fills] == [t.id for t in expected][: len(fills)] and fills
    assert [f["takerOrMaker"] == "maker" for f in fills] == [is_maker(t) for t in expected][: len(fills)]
    assert orders and all(CCXT_ID.match(o["clientOrderId"]) for o in orders)


# --- cancelled orders ------------------------------------------------------------------------------------


class Cancels(NamedTuple):
    days: int
    field: str  # the history field that sets the rate
    rate: float  # its default
    client_ids: re.Pattern
    life_s: tuple[float, float]  # from placed to cancelled
    away: tuple[float, float]  # |price / market - 1|: lowest median, highest of any


CANCELS = {
    "grid-bot": Cancels(2, "cancels_per_fill", 0.3, CCXT_ID, (1800, 12 * 3600), (0.004, 0.05)),
    "market-maker": Cancels(1, "cancels_per_fill", 3, HUMMINGBOT_ID, (5, 90), (0.0002, 0.005)),
    "dca-bot": Cancels(10, "cancels_per_safety_buy", 1, CCXT_ID, (3 * 3600 - 10, 7 * 24 * 3600), (0.0, 0.15)),
    "scalper": Cancels(4, "cancels_per_limit", 0.5, BINANCE_ID, (15, 60), (0.0, 0.005)),
    "app-person": Cancels(90, "cancels_per_limit", 0.2, APP_ID, (1, 3 * 3600), (0.003, 0.04)),
}


def all_orders(exchange, symbol: str) -> list[dict]:
    """GET /api/v3/allOrders from the first order on, paged by order id as the audit reads it."""
    rows: list[dict] = []
    while True:
        next_id = rows[-1]["orderId"] + 1 if rows else 0
        page = exchange.private_get_allorders({"symbol": symbol, "orderId": next_id, "limit": 1000})
        rows += [{**o, "orderId": int(o["orderId"])} for o in page]
        if len(page) < 1000:
            return rows


def market_at(built: Built):
    """The market at a time: the median of others' trades in its hour of the price path (hours counted back from
    NOW), or in the nearest hour that has some."""
    hours: dict[str, dict[int, list[float]]] = {}
    for symbol, trades in built.exchange.ledger.trades.items():
        for t in trades:
            if "victim" not in (t.buyer, t.seller):
                hours.setdefault(symbol, {}).setdefault((NOW - t.time) // HOUR_MS, []).append(float(t.price))
    keys = {s: sorted(h) for s, h in hours.items()}

    def at(symbol: str, time: int) -> float:
        ago = (NOW - time) // HOUR_MS
        index = bisect.bisect_left(keys[symbol], ago)
        near = min(keys[symbol][max(index - 1, 0) : index + 1], key=lambda h: abs(h - ago))
        return statistics.median(hours[symbol][near])

    return at


def cancel_base(name: str, built: Built, filled: list[dict]) -> int:
    """What the behaviour's rate counts against: fills, safety buys or limit orders that filled."""
    if name in ("grid-bot", "market-maker"):
        return len(ordinary(built))
    if name == "dca-bot":
        safety, in_deal = 0, set()
        for o in sorted(filled, key=lambda o: o["time"]):
            if o["side"] == "SELL":
                in_deal.discard(o["symbol"])
            elif o["symbol"] in in_deal:
                safety += 1
            else:
                in_deal.add(o["symbol"])
        return safety
    return sum(o["type"] == "LIMIT" for o in filled)


@pytest.mark.parametrize("name", sorted(CANCELS))
def test_bots_cancel_orders_as_that_bot_does_read_through_all_orders(name):
    """Each behaviour's cancelled orders, read through GET /api/v3/allOrders with ccxt: about as many as its rate
    says, nothing executed, no trade, its own client-id family, LIMIT at the price that bot quotes, cancelled as
    long after placing as that bot waits."""
    spec = CANCELS[name]
    built = small(name, days=spec.days)
    entry = next(c for c in built.credentials if c["label"] == "victim-bot")
    symbols = load_spec(name)["history"]["symbols"]
    with SandboxServer(built.exchange).running() as server:
        exchange = ccxt_client(type("S", (), {"base_url": server.base_url}), entry["api_key"], entry["secret"])
        exchange.enableRateLimit = False  # the sandbox, not Binance
        rows = [o for symbol in symbols for o in all_orders(exchange, symbol)]
        cancelled = [o for o in rows if o["status"] == "CANCELED"]
        sample = cancelled[:: max(1, len(cancelled) // 3)][:3]
        their_trades = [exchange.fetch_my_trades(o["symbol"], params={"orderId": o["orderId"]}) for o in sample]
    share = len(cancelled) / cancel_base(name, built, [o for o in rows if o["status"] == "FILLED"])
    assert 0.75 * spec.rate <= share <= 1.2 * spec.rate, share
    assert {o["status"] for o in rows} == {"FILLED", "CANCELED"}
    assert all(Decimal(o["executedQty"]) == Decimal(o["cummulativeQuoteQty"]) == 0 for o in cancelled)
    assert all(o["type"] == "LIMIT" and o["timeInForce"] == "GTC" and float(o["origQty"]) > 0 for o in cancelled)
    assert all(spec.client_ids.match(o["clientOrderId"]) for o in cancelled)
    assert len({o["clientOrderId"] for o in rows}) == len(rows)
    set_up = NOW - spec.days * DAY_MS + 60_000  # a grid bot's levels placed when it started may go sooner
    lives = [(o["updateTime"] - o["time"]) / 1000 for o in cancelled if o["time"] > set_up]
    assert spec.life_s[0] <= min(lives) and max(lives) <= spec.life_s[1]
    market = market_at(built)
    away = {o["orderId"]: float(o["price"]) / market(o["symbol"], o["time"]) - 1 for o in cancelled}
    assert statistics.median(map(abs, away.values())) >= spec.away[0] and max(map(abs, away.values())) <= spec.away[1]
    for side, sign in (("BUY", -1), ("SELL", 1)):  # bids below the market, asks above
        sided = [away[o["orderId"]] for o in cancelled if o["side"] == side]
        assert not sided or sign * statistics.mean(sided) > 0
    assert their_trades == [[]] * len(sample)
    ids = {o["orderId"] for o in cancelled}
    ledger = built.exchange.ledger
    assert not [t for ts in ledger.trades.values() for t in ts if ids & {t.buy_order, t.sell_order}]


@pytest.mark.parametrize("name", sorted(CANCELS))
def test_cancelled_orders_move_no_balance_and_leave_the_fills_alone(name):
    """The same scenario with its cancels turned off (rate 0): the same trades, daily snapshots and balances."""
    spec = CANCELS[name]
    days = min(spec.days, 3)
    with_cancels, without = small(name, days=days, seed=4), small(name, days=days, seed=4, **{spec.field: 0})
    ledgers = with_cancels.exchange.ledger, without.exchange.ledger
    statuses = [Counter(o.status for o in ledger.orders.values() if o.account == "victim") for ledger in ledgers]
    assert statuses[0]["CANCELED"] > 0 and statuses[1]["CANCELED"] == 0
    assert statuses[0]["FILLED"] == statuses[1]["FILLED"]
    assert [(t.id, t.price, t.qty, t.time, t.buyer) for t in victim_trades(with_cancels)] == [
        (t.id, t.price, t.qty, t.time, t.buyer) for t in victim_trades(without)
    ]
    assert ledgers[0].snapshots["victim"] == ledgers[1].snapshots["victim"]
    balances = [ledger.accounts["victim"].balances for ledger in ledgers]
    assert {a: (b.free, b.locked) for a, b in balances[0].items()} == {
        a: (b.free, b.locked) for a, b in balances[1].items()
    }


def test_a_cancel_rate_must_be_a_number_not_below_zero():
    spec = load_spec("market-maker")
    spec["history"]["cancels_per_fill"] = -1
    with pytest.raises(ScenarioError, match="cancels_per_fill"):
        ScenarioBuilder(spec, now_ms=NOW).build()


def test_unknown_behaviour_is_named_in_the_error():
    spec = load_spec("grid-bot")
    spec["history"]["behaviour"] = "martingale"
    with pytest.raises(ScenarioError, match="behaviour.*must be one of"):
        ScenarioBuilder(spec, now_ms=NOW).build()


# --- attacks ---------------------------------------------------------------------------------------------


def _attack_trades_exact(built: Built) -> list[Trade]:
    """Every trade of the victim with the attacker is in the truth, and the truth holds nothing else but the
    victim's own trades inside an attack window."""
    truth = built.truth
    wanted = {(t["symbol"], t["id"]) for t in truth["trade_ids"]}
    ledger = built.exchange.ledger
    mine = {(t.symbol, t.id): t for t in victim_trades(built)}
    with_attacker = {k for k, t in mine.items() if "attacker" in (t.buyer, t.seller)}
    assert with_attacker <= wanted <= set(mine)
    windows = [(a["start"], a["end"]) for a in truth["attacks"]]
    assert all(any(s <= mine[k].time <= e for s, e in windows) for k in wanted)
    assert ledger and truth["attack"]["start"] == min(s for s, _ in windows)
    return [mine[k] for k in sorted(wanted)]


@pytest.mark.parametrize("markup", [1.2, 20])
def test_wash_trade_markup_as_configured_against_the_public_price(markup):
    attack = {"type": "wash-trade-theft", "key": "victim-bot", "symbol": "KGTUSDT", "markup": markup, "rounds": 3}
    built = small("grid-bot-wash", days=1, attack={**attack, "client_ids": "ccxt"})
    trades = _attack_trades_exact(built)
    kgt = [t for t in trades if t.symbol == "KGTUSDT"]
    market = public_price(built.exchange.ledger, built.truth, "KGTUSDT", built.truth["attack"]["start"])
    assert len(kgt) == 6 and all(t.buyer == "victim" and t.seller == "attacker" for t in kgt)
    assert all(float(t.price) / market == pytest.approx(markup, rel=0.08) for t in kgt)
    loss = sum((float(t.price) - market) * float(t.qty) for t in kgt)
    assert true_loss_usdt(built.exchange.ledger, built.truth) == pytest.approx(loss)
    orders = orders_of(built, kgt)
    assert all(CCXT_ID.match(o.client_order_id) for o in orders)  # the bot's own id shape


def test_drip_is_one_attack_trade_an_hour_at_the_markup():
    attack = {"type": "drip", "key": "victim-bot", "symbol": "KGTUSDT", "markup": 1.5, "quote": 100, "hours": 30}
    built = small("grid-bot-drip", days=2, attack=attack, illiquid_trades=2000)
    trades = _attack_trades_exact(built)
    assert len(trades) == 30 and all(t.seller == "attacker" and t.buyer == "victim" for t in trades)
    hours = [t.time // HOUR_MS for t in trades]
    assert hours == list(range(hours[0], hours[0] + 30))  # one an hour, every hour
    end = (NOW - 3 * HOUR_MS) // HOUR_MS
    assert hours[-1] == end - 1  # up to the end of the history, among the bot's trades
    ledger = built.exchange.ledger
    assert len(ordinary(built)) > 2000  # hidden among the bot's own fills
    for ref, trade in zip(sorted(built.truth["trade_ids"], key=lambda r: r["id"]), trades, strict=True):
        market = public_price(ledger, built.truth, "KGTUSDT", ref["market_before"])
        assert float(trade.price) / market == pytest.approx(1.5, rel=0.03)
    ids = {t.id for t in ledger.trades["KGTUSDT"]}
    assert [t.id for t in ledger.trades["KGTUSDT"]] == sorted(ids)  # ids still rise with time
    expected = sum(
        (float(t.price) - public_price(ledger, built.truth, "KGTUSDT", t.time)) * float(t.qty) for t in trades
    )
    assert true_loss_usdt(ledger, built.truth) == pytest.approx(expected)
    assert built.truth["attack"]["type"] == "drip"


def test_dump_sells_the_holdings_into_the_attackers_bid_below_market():
    built = small("grid-bot-dump", days=1)
    [trade] = _attack_trades_exact(built)
    ledger = built.exchange.ledger
    assert trade.symbol == "ALTUSDT" and trade.seller == "victim" and trade.buyer == "attacker"
    market = public_price(ledger, built.truth, "ALTUSDT", built.truth["attack"]["start"])
    assert float(trade.price) / market == pytest.approx(0.4, rel=0.05)
    assert trade.qty == Decimal("2850.00000")  # 95 % of the victim's 3,000 ALT
    assert true_loss_usdt(ledger, built.truth) == pytest.approx((market - float(trade.price)) * float(trade.qty))
    assert not ledger.books["ALTUSDT"].bids  # nobody else was bidding


def test_dump_needs_a_thin_book():
    attack = {"type": "dump", "key": "victim-bot", "symbol": "SOLUSDT"}
    with pytest.raises(ScenarioError, match="thin book"):
        small("grid-bot-dump", days=1, attack=attack)


def test_a_combination_runs_its_attacks_in_turn_with_exact_truth():
    built = small("dca-bot-combo", days=2)
    truth = built.truth
    kinds = [a["type"] for a in truth["attacks"]]
    assert kinds == ["wash-trade-theft", "withdrawal-theft", "sub-account-transfer"]
    assert truth["attack"]["type"] == "+".join(kinds)
    assert truth["attack"]["keys"] == ["victim-bot", "victim-withdraw"]
    windows = [(a["start"], a["end"]) for a in truth["attacks"]]
    assert all(e1 < s2 for (_, e1), (s2, _) in zip(windows, windows[1:], strict=False))
    trades = _attack_trades_exact(built)
    ledger = built.exchange.ledger
    kgt = [t for t in trades if t.symbol == "KGTUSDT"]
    market = public_price(ledger, truth, "KGTUSDT", truth["attack"]["start"])
    assert kgt and all(float(t.price) / market == pytest.approx(1.2, rel=0.08) for t in kgt)
    [withdrawal] = [r for r in ledger.wallet if r.id in truth["withdrawal_ids"]]
    [transfer] = [r for r in ledger.wallet if r.id in truth["transfer_ids"]]
    assert withdrawal.asset == "USDT" and transfer.asset == "BNB" and transfer.kind == "sub_transfer"
    assert ledger.accounts["victim-sub"].balance("BNB").free == transfer.amount
    bnb = public_price(ledger, truth, "BNBUSDT", transfer.time) or 0.0
    premium = sum((float(t.price) - market) * float(t.qty) for t in kgt)
    assert true_loss_usdt(ledger, truth) == pytest.approx(
        premium + float(withdrawal.amount) + float(transfer.amount) * bnb
    )


def test_unknown_attack_type_is_named_in_the_error():
    with pytest.raises(ScenarioError, match="'type' must be one of"):
        small(
            "grid-bot",
            days=1,
            attack=[{"type": "wash-trade-theft", "key": "victim-bot", "symbol": "KGTUSDT"}, {"type": "rug-pull"}],
        )


@pytest.mark.parametrize(
    "name",
    ["grid-bot-wash", "app-person-wash", "grid-bot-drip", "grid-bot-dump", "market-maker-drip", "scalper-withdrawal"],
)
def test_robbed_scenarios_have_exact_truth(name):
    built = small(name, days=2)
    truth, ledger = built.truth, built.exchange.ledger
    moved = [r for r in ledger.wallet if r.id in set(truth["withdrawal_ids"]) | set(truth["transfer_ids"])]
    assert _attack_trades_exact(built) or moved
    assert all(any(a["start"] <= r.time <= a["end"] for a in truth["attacks"]) for r in moved)
    assert all(r.time >= truth["attack"]["start"] for r in moved)
    valued = sum(float(r.amount) * (1.0 if r.asset == "USDT" else 0.0) for r in moved)
    assert true_loss_usdt(ledger, truth) > valued  # coins moved out count at their market price too
    victim = built.exchange.ledger.accounts["victim"]
    assert all(b.free >= 0 and b.locked >= 0 for b in victim.balances.values())


def test_behaviour_symbols_must_exist():
    spec = load_spec("grid-bot")
    spec["history"]["symbols"] = ["SOLUSDT", "DOGEUSDT"]
    with pytest.raises(ScenarioError, match="DOGEUSDT"):
        ScenarioBuilder(spec, now_ms=NOW).build()


@pytest.mark.parametrize("attack", sorted(CATALOGUE))
def test_every_catalogue_attack_meets_an_account_with_exact_truth(attack):
    built = small("app-person", days=3, attack=copy.deepcopy(CATALOGUE[attack]))
    truth, ledger = built.truth, built.exchange.ledger
    trades = _attack_trades_exact(built)
    assert [a["type"] for a in truth["attacks"]] == [a["type"] for a in CATALOGUE[attack]]
    assert len(truth["withdrawal_ids"]) == sum(a["type"] == "withdrawal-theft" for a in CATALOGUE[attack])
    assert len(truth["transfer_ids"]) == sum(a["type"] == "sub-account-transfer" for a in CATALOGUE[attack])
    assert trades or truth["withdrawal_ids"] or truth["transfer_ids"]
    assert true_loss_usdt(ledger, truth) > 0


def test_build_account_scenario_puts_a_named_attack_on_a_packaged_account():
    built = build_account_scenario("app-person", "wash-20x", seed=3, now_ms=NOW)
    assert built.truth["scenario"] == "app-person+wash-20x" and built.truth["seed"] == 3
    assert built.truth["attack"]["type"] == "wash-trade-theft"
    assert build_account_scenario("app-person", None, now_ms=NOW).truth["attack"] is None
    with pytest.raises(ScenarioError, match="no attack 'rug-pull'"):
        build_account_scenario("app-person", "rug-pull")
