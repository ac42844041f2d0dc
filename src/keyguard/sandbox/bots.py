"""Account behaviours as scenario data: how a grid bot, a DCA bot, a market maker, a scalper or a person in
Binance's app trades, written into the history as the victim's orders and fills.

`history: {behaviour: grid-bot, ...params}` in a scenario selects one; each also has an optional
`unusual: {kind: large-buy | listing-pump, ...}`, one legitimately odd day recorded in truth["legit_unusual"].

clientOrderId shapes, from public sources:
- ccxt (and freqtrade, which leaves ccxt's broker option alone): `brokerId + uuid22()`, uuid22 being 22 lowercase
  hex digits; the spot/margin brokerId is `x-TKT5PX2F` in ccxt 4.5 (ccxt/binance.py generate_client_order_id and
  options['broker'], as installed here) and was `x-R4BD3S82` in older releases (ids such as
  x-R4BD3S821058420866ddf407f78d90 in users' logs); futures `x-cvBPrNm9`.
- Hummingbot: hummingbot/connector/exchange/binance/binance_constants.py HBOT_ORDER_ID_PREFIX = "x-MG43PCSN",
  MAX_ORDER_ID_LEN = 32; hummingbot/connector/utils.py get_new_client_order_id: prefix + B|S + first and last
  letter of base and of quote + hex(microsecond nonce) + md5 of the host/pid, cut to 32 characters.
- Binance's website and apps (orders seen in users' allOrders output): `web_`, `and_` (Android), `ios_` followed
  by 32 lowercase hex digits on spot.
- No newClientOrderId sent: Binance makes one up, 22 letters and digits (the spot API docs' example
  "6gCrw2kRUAF9CvJDGP16IP").

Cancelled orders: a real bot's allOrders is full of orders it placed and cancelled unfilled (status CANCELED,
executedQty 0, no trade, balances untouched). Each behaviour makes them the way that bot does, at a rate set by
one history field (0 turns them off): a market maker re-quotes (`cancels_per_fill`, 3; real ratios are 10:1 and
more), a grid bot drops far levels when it re-centres (`cancels_per_fill`, 0.3), a DCA bot cancels and re-places
its take-profit after each safety buy (`cancels_per_safety_buy`, 1), a scalper cancels limit orders that did not
fill in time (`cancels_per_limit`, 0.5), a person in the app now and then re-prices a limit order
(`cancels_per_limit`, 0.2). They are drawn from their own rng (seeded from the scenario's seed), so the fills
are the same whatever the rate.
"""

from __future__ import annotations

import functools
import hashlib
import math
import random
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

from keyguard.sandbox.errors import ScenarioError
from keyguard.sandbox.ledger import Account, Order, Symbol, Trade

if TYPE_CHECKING:
    from keyguard.sandbox.scenario import ScenarioBuilder

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MINUTE_MS = 60_000
ALNUM = string.ascii_letters + string.digits
CLIENT_ID_STYLES = ("ccxt", "ccxt-legacy", "freqtrade", "hummingbot", "binance", "web", "android", "ios", "app")


@functools.cache
def _hummingbot_prefix(side: str, base: str, quote: str) -> str:
    return f"x-MG43PCSN{'B' if side == 'BUY' else 'S'}{base[0]}{base[-1]}{quote[0]}{quote[-1]}"


@functools.cache
def _hummingbot_instance(pid: int) -> str:
    return hashlib.md5(f"sandbox-host_pid:{pid}".encode(), usedforsecurity=False).hexdigest()


def client_order_id(rng: random.Random, style: str, side: str, symbol: Symbol, time_ms: int) -> str:
    """A clientOrderId in the shape the named software gives Binance spot orders."""
    if style in ("ccxt", "freqtrade"):
        return f"x-TKT5PX2F{rng.getrandbits(88):022x}"
    if style == "ccxt-legacy":
        return f"x-R4BD3S82{rng.getrandbits(88):022x}"
    if style == "hummingbot":
        instance = _hummingbot_instance(rng.randint(1000, 9999))
        nonce = time_ms * 1000 + rng.randint(0, 999)
        return f"{_hummingbot_prefix(side, symbol.base, symbol.quote)}{nonce:x}{instance}"[:32]
    if style == "binance":
        return "".join(rng.choice(ALNUM) for _ in range(22))
    if style == "app":
        style = rng.choices(("web", "android", "ios"), (0.35, 0.45, 0.2))[0]
    prefix = {"web": "web_", "android": "and_", "ios": "ios_"}[style]
    return f"{prefix}{rng.getrandbits(128):032x}"


class QuickRandom(random.Random):
    """randint from one random() call, several times faster than Random's exact one: a market maker's history
    has hundreds of thousands of cancelled orders, each with a few draws."""

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))


@dataclass
class BotOrder:
    """One of the victim's orders and its fills: (time, price, qty, victim is maker); `cancels` are orders the
    bot placed and cancelled unfilled before this one (CANCELED, order id 0 until written into the ledger with
    it)."""

    symbol: str
    side: str
    type: str
    client_id: str
    placed: int
    price: Decimal
    fills: list[tuple[int, Decimal, Decimal, bool]] = field(default_factory=list)
    tag: str = ""  # the kind of the legitimately unusual day, for its order
    cancels: list[Order] = field(default_factory=list)


CENT, SATOSHI, LOT = Decimal("0.01"), Decimal("0.00000001"), Decimal("0.00001")


def tick(price: Decimal | float) -> Decimal:
    return Decimal(str(price)).quantize(CENT if price > 10 else SATOSHI, rounding=ROUND_DOWN)


def lot(qty: Decimal | float) -> Decimal:
    return Decimal(str(qty)).quantize(LOT, rounding=ROUND_DOWN)


def poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


class Context:
    """What a behaviour needs: the period, the market's price, the rng and the account's parameters."""

    def __init__(self, builder: ScenarioBuilder, params: dict[str, Any], start: int, end: int) -> None:
        self.builder = builder
        self.rng = builder.rng
        self.params = params
        self.start = start
        self.end = end

        where = f"{builder.source}:{params.get('__line__', '?')}"
        names = [str(s) for s in params.get("symbols", ["BTCUSDT"])]
        unknown = [s for s in names if s not in builder.ledger.symbols]
        if unknown:
            raise ScenarioError(f"{where}: history field 'symbols' names symbols the scenario lacks: {unknown}")
        self.symbols = [builder.ledger.symbols[s] for s in names]
        self.style = str(params.get("client_ids", "binance"))
        if self.style not in CLIENT_ID_STYLES:
            raise ScenarioError(f"{where}: history field 'client_ids' must be one of {CLIENT_ID_STYLES}")
        self.net: dict[str, float] = {s.name: 0.0 for s in self.symbols}  # quote spent on each symbol, net
        self.cancel_rng = QuickRandom(f"cancels {builder.seed}")  # apart from the fills' draws

    def cancel_rate(self, name: str, default: float) -> float:

        value = self.params.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            where = f"{self.builder.source}:{self.params.get('__line__', '?')}"
            raise ScenarioError(f"{where}: history field {name!r} must be a number >= 0")
        return float(value)

    def cancelled(
        self, side: str, symbol: Symbol, placed: int, cancelled: int, price: Decimal, qty: Decimal
    ) -> list[Order]:
        """A LIMIT order placed and cancelled with nothing filled, or none when it falls outside the history."""
        if not self.start <= placed < cancelled < self.end or qty <= 0:
            return []
        client_id = client_order_id(self.cancel_rng, self.style, side, symbol, placed)
        order = Order(symbol.name, 0, client_id, "", side, "LIMIT", "GTC", price, qty, placed)
        order.status, order.update_time = "CANCELED", cancelled  # its order id and account are the Writer's
        return [order]

    def market(self, symbol: str, time: int) -> float:
        return float(self.builder._price_at(symbol, time))

    def hours(self) -> Iterator[int]:
        hour = self.start - self.start % HOUR_MS
        while hour < self.end:
            yield hour
            hour += HOUR_MS

    def cid(self, side: str, symbol: Symbol, time: int, style: str | None = None) -> str:
        return client_order_id(self.rng, style or self.style, side, symbol, time)

    def balanced_side(self, symbol: str, typical_quote: float) -> str:
        """Buys and sells about equally, leaning against what the bot has piled up."""
        lean = max(-0.35, min(0.35, self.net[symbol] / (40 * typical_quote)))
        side = "BUY" if self.rng.random() < 0.5 - lean else "SELL"
        self.net[symbol] += typical_quote if side == "BUY" else -typical_quote
        return side

    def bursts(self, hour: int, count: int, mean_size: float, gap_ms: float) -> list[int]:
        times: list[int] = []
        while len(times) < count:
            size = min(count - len(times), 1 + int(self.rng.expovariate(1 / max(mean_size - 1, 0.01))))
            time = hour + self.rng.randint(0, HOUR_MS - 1)
            for _ in range(size):
                times.append(min(time, hour + HOUR_MS - 1))
                time += int(self.rng.expovariate(1 / gap_ms)) + 200
        return sorted(t for t in times if self.start <= t < self.end)

    def fills(self, time: int, price: Decimal, qty: Decimal, maker: bool, parts: int = 1) -> list:
        """An order's fills: `parts` slices a few seconds apart (a taker's walking up or down the book)."""
        out, left = [], qty
        for part in range(parts):
            piece = left if part == parts - 1 else lot(qty / parts)
            if piece > 0:
                out.append((time + part * self.rng.randint(0, 3000), price, piece, maker))
            left -= piece
        return out

    def taker_price(self, symbol: str, side: str, time: int, impact: float = 0.0004) -> Decimal:
        move = self.rng.uniform(0.5, 1.5) * impact
        return tick(self.market(symbol, time) * (1 + move if side == "BUY" else 1 - move))


# --- behaviours -----------------------------------------------------------------------------------------

GRID_BATCH = (2, 8)  # levels a grid bot drops at one re-centring


def grid_recentre(
    ctx: Context, symbol: Symbol, base: float, step: float, quote: float, time: int, mean: float
) -> list[Order]:
    """Levels that the grid bot set up 3 to 12 steps from the market of the time, half an hour to 12 hours ago
    (or when it started), and cancels in a batch when it re-centres after a fill; `mean` cancelled orders on
    average."""
    rng, out = ctx.cancel_rng, []
    at = time
    for _ in range(poisson(rng, mean / (sum(GRID_BATCH) / 2))):
        at += rng.randint(200, 3_000)
        for _ in range(rng.randint(*GRID_BATCH)):
            side = "BUY" if rng.random() < 0.5 else "SELL"
            placed = at - rng.randint(30 * MINUTE_MS, 12 * HOUR_MS)
            placed = max(placed, ctx.start + rng.randint(0, MINUTE_MS))  # the grid set up when the bot started
            here = math.log(ctx.market(symbol.name, placed) / base) / math.log(1 + step)
            away = rng.randint(3, 12)
            level = math.floor(here) - away if side == "BUY" else math.ceil(here) + away
            price = tick(base * (1 + step) ** level)
            out += ctx.cancelled(side, symbol, placed, at, price, lot(quote / float(price)))
            at += rng.randint(20, 300)
    return out


def requotes(ctx: Context, symbol: Symbol, time: int, spread: float, qty: Decimal, mean: float) -> list[Order]:
    """Quotes the market maker placed in the quarter hour before a fill and cancelled unfilled when it refreshed
    them, seconds to a minute and a half later: a bid and an ask at a time (Hummingbot places and refreshes both
    sides together), a few basis points from the market, each of `qty` (its order_amount is in the base asset);
    `mean` cancelled orders on average."""
    rng, out = ctx.cancel_rng, []
    for _ in range(poisson(rng, mean / 2)):
        placed = time - rng.randint(1_000, 15 * MINUTE_MS)
        cancelled = placed + rng.randint(5_000, 90_000)
        market = ctx.market(symbol.name, placed)
        bid, ask = spread * rng.uniform(0.6, 1.4), spread * rng.uniform(0.6, 1.4)
        out += ctx.cancelled("BUY", symbol, placed, cancelled, tick(market * (1 - bid)), qty)
        out += ctx.cancelled("SELL", symbol, placed, cancelled, tick(market * (1 + ask)), qty)
    return out


def grid_bot(ctx: Context) -> Iterator[BotOrder]:
    """Limit orders at fixed grid levels on both sides; a level fills when the market crosses it, so fills
    come in bursts while the price moves. Mostly maker; now and then a re-posted level crosses as taker."""
    p, rng = ctx.params, ctx.rng
    rate = float(p.get("trades_per_hour", 140))
    step = float(p.get("grid_step", 0.002))
    quote = float(p.get("order_quote", 40))
    maker_share = float(p.get("maker_share", 0.94))
    cancels = ctx.cancel_rate("cancels_per_fill", 0.3)
    bases = {s.name: ctx.market(s.name, ctx.start) for s in ctx.symbols}
    for hour in ctx.hours():
        count = poisson(rng, rate * rng.gammavariate(2.0, 0.5))
        for time in ctx.bursts(hour, count, float(p.get("burst_size", 10)), 6_000):
            symbol = rng.choice(ctx.symbols)
            market = ctx.market(symbol.name, time)
            side = ctx.balanced_side(symbol.name, quote)
            level = math.log(market / bases[symbol.name]) / math.log(1 + step)
            level = math.floor(level) if side == "BUY" else math.ceil(level)
            level += -rng.randint(0, 1) if side == "BUY" else rng.randint(0, 1)
            price = tick(bases[symbol.name] * (1 + step) ** level)
            maker = rng.random() < maker_share
            if not maker:
                price = ctx.taker_price(symbol.name, side, time, 0.0002)
            qty = lot(quote / float(price))
            placed = time - (rng.randint(5_000, 2 * HOUR_MS) if maker else 0)
            order = BotOrder(symbol.name, side, "LIMIT", ctx.cid(side, symbol, placed), placed, price)
            order.fills = ctx.fills(time, price, qty, maker, 2 if rng.random() < 0.08 else 1)
            if cancels:
                mean = cancels * len(order.fills)
                order.cancels = grid_recentre(ctx, symbol, bases[symbol.name], step, quote, time, mean)
            yield order


def market_maker(ctx: Context) -> Iterator[BotOrder]:
    """Quotes both sides a few basis points from the market all day; hundreds of small fills an hour, busier
    in the afternoon (UTC), nearly all as maker."""
    p, rng = ctx.params, ctx.rng
    rate = float(p.get("trades_per_hour", 400))
    spread = float(p.get("half_spread", 0.0006))
    quote = float(p.get("order_quote", 30))
    maker_share = float(p.get("maker_share", 0.97))
    cancels = ctx.cancel_rate("cancels_per_fill", 3)
    for hour in ctx.hours():
        daily = 1 + 0.35 * math.sin(2 * math.pi * ((hour // HOUR_MS) % 24 - 8) / 24)
        count = poisson(rng, rate * daily * rng.gammavariate(6.0, 1 / 6))
        times = sorted(rng.randint(hour, hour + HOUR_MS - 1) for _ in range(count))
        index = 0
        while index < len(times):
            time = times[index]
            symbol = rng.choice(ctx.symbols)
            side = ctx.balanced_side(symbol.name, quote)
            maker = rng.random() < maker_share
            market = ctx.market(symbol.name, time)
            offset = spread * rng.uniform(0.6, 1.4)
            price = tick(market * (1 - offset if side == "BUY" else 1 + offset))
            if not maker:
                price = ctx.taker_price(symbol.name, side, time, 0.0002)
            parts = min(len(times) - index, rng.choice((1, 1, 1, 2, 3)))
            placed = time - (rng.randint(1_000, 10 * MINUTE_MS) if maker else 0)
            order = BotOrder(symbol.name, side, "LIMIT", ctx.cid(side, symbol, placed), placed, price)
            qty = lot(quote * parts / float(price))
            order.fills = [(times[index + i], price, lot(qty / parts), maker) for i in range(parts)]
            if cancels:
                size = lot(quote / market)
                order.cancels = requotes(ctx, symbol, time, spread, size, cancels * parts)
            index += parts
            yield order


def dca_bot(ctx: Context) -> Iterator[BotOrder]:
    """A market buy of a fixed amount every few hours, on the clock; when the deal's average price is up by the
    take-profit, the whole deal is sold by a resting limit order (maker). As 3Commas does, the take-profit order
    is cancelled and placed anew at the new average after each safety buy (each buy after a deal's first)."""
    p, rng = ctx.params, ctx.rng
    interval = int(float(p.get("interval_hours", 3)) * HOUR_MS)
    quote = float(p.get("order_quote", 100))
    take_profit = float(p.get("take_profit", 0.015))
    max_buys = int(p.get("max_buys", 10))
    cancels = ctx.cancel_rate("cancels_per_safety_buy", 1)
    deals = {s.name: [0.0, 0.0, 0] for s in ctx.symbols}  # qty, cost, buys
    last_buy = {s.name: ctx.start for s in ctx.symbols}  # when the deal's take-profit order was last placed
    offset = rng.randint(0, interval - 1)
    time = ctx.start - ctx.start % interval + offset
    turn = 0
    while time < ctx.end:
        if time >= ctx.start:
            for symbol in ctx.symbols:  # a take-profit that the market reached since the last buy
                qty, cost, buys = deals[symbol.name]
                if not qty:
                    continue
                target = cost / qty * (1 + take_profit)
                for hour in range(time - interval, time, HOUR_MS):
                    if hour >= ctx.start and ctx.market(symbol.name, hour) >= target:
                        sell_at = hour + rng.randint(0, HOUR_MS - 1)
                        placed = sell_at - rng.randint(HOUR_MS, 5 * HOUR_MS)
                        placed = max(placed, min(last_buy[symbol.name] + 3_000, sell_at))  # after the last buy
                        price = tick(target)
                        order = BotOrder(symbol.name, "SELL", "LIMIT", ctx.cid("SELL", symbol, placed), placed, price)
                        order.fills = ctx.fills(sell_at, price, lot(qty * 0.999), True)
                        deals[symbol.name] = [0.0, 0.0, 0]
                        yield order
                        break
            symbol = ctx.symbols[turn % len(ctx.symbols)]
            turn += 1
            qty, cost, buys = deals[symbol.name]
            if buys < max_buys:
                at = time + rng.randint(0, 1500)
                price = ctx.taker_price(symbol.name, "BUY", at)
                amount = lot(quote / float(price))
                order = BotOrder(symbol.name, "BUY", "MARKET", ctx.cid("BUY", symbol, at), at, Decimal(0))
                order.fills = ctx.fills(at, price, amount, False, rng.choice((1, 1, 2)))
                if buys and ctx.cancel_rng.random() < cancels:  # the take-profit at the deal's old average
                    placed = last_buy[symbol.name] + ctx.cancel_rng.randint(1_000, 5_000)
                    cancelled = at + ctx.cancel_rng.randint(500, 4_000)
                    target, size = tick(cost / qty * (1 + take_profit)), lot(qty * 0.999)
                    order.cancels = ctx.cancelled("SELL", symbol, placed, cancelled, target, size)
                last_buy[symbol.name] = at
                deals[symbol.name] = [qty + float(amount) * 0.999, cost + float(amount * price), buys + 1]
                yield order
        time += interval


def scalper(ctx: Context) -> Iterator[BotOrder]:
    """Quiet for an hour or two, then a burst of in-and-out trades a minute or so apart, market and limit."""
    p, rng = ctx.params, ctx.rng
    quiet = float(p.get("quiet_minutes", 100))
    quote = float(p.get("order_quote", 300))
    burst = (int(p.get("burst_min", 4)), int(p.get("burst_max", 14)))
    cancels = ctx.cancel_rate("cancels_per_limit", 0.5)
    time = ctx.start + int(rng.expovariate(1 / quiet) * MINUTE_MS)
    done = ctx.start  # when the last order filled
    while time < ctx.end:
        symbol = rng.choice(ctx.symbols)
        side = ctx.balanced_side(symbol.name, quote)
        held = Decimal(0)
        for _ in range(rng.randint(*burst)):
            if time >= ctx.end:
                break
            maker = rng.random() < float(p.get("limit_share", 0.4))
            kind = "LIMIT" if maker else "MARKET"
            market = ctx.market(symbol.name, time)
            if maker:
                price = tick(market * (1 - 0.0003 if side == "BUY" else 1 + 0.0003))
                placed, filled = time, time + rng.randint(3_000, 90_000)
            else:
                price, placed, filled = ctx.taker_price(symbol.name, side, time), time, time
            qty = lot(quote / float(price)) if side == "BUY" or not held else held
            limit = price if maker else Decimal(0)
            order = BotOrder(symbol.name, side, kind, ctx.cid(side, symbol, placed), placed, limit)
            order.fills = ctx.fills(filled, price, qty, maker, 1 if maker else rng.choice((1, 1, 2)))
            if maker and cancels:
                order.cancels = timed_out(ctx, symbol, side, qty, done, time, cancels)
            done = filled
            held = qty if side == "BUY" else Decimal(0)
            side = "SELL" if side == "BUY" else "BUY"
            time = filled + rng.randint(30_000, 4 * MINUTE_MS)
            yield order
        time += int(rng.expovariate(1 / quiet) * MINUTE_MS)


def timed_out(ctx: Context, symbol: Symbol, side: str, qty: Decimal, after: int, time: int, mean: float) -> list[Order]:
    """Limit orders the scalper gave 15 to 60 seconds to fill and cancelled, each re-placed at once at the new
    price, before the one at `time` that filled; none before `after`, when its last order filled."""
    rng, out = ctx.cancel_rng, []
    for _ in range(poisson(rng, mean)):
        cancelled = time - rng.randint(200, 2_000)
        placed = cancelled - rng.randint(15_000, 60_000)
        if placed <= after:
            break
        price = tick(ctx.market(symbol.name, placed) * (1 - 0.0003 if side == "BUY" else 1 + 0.0003))
        out = ctx.cancelled(side, symbol, placed, cancelled, price, qty) + out
        time = placed
    return out


def repriced(ctx: Context, symbol: Symbol, side: str, quote: float, time: int, awake: int, mean: float) -> list[Order]:
    """Limit orders the person placed a while before the one at `time` (up to three hours, and after they woke
    `awake` ms before), further from the market, and cancelled shortly before placing that one."""
    rng, out = ctx.cancel_rng, []
    for _ in range(poisson(rng, mean)):
        placed = time - rng.randint(min(15 * MINUTE_MS, awake // 2), min(3 * HOUR_MS, awake))
        away = rng.uniform(0.005, 0.03)
        price = tick(ctx.market(symbol.name, placed) * (1 - away if side == "BUY" else 1 + away))
        cancelled = time - rng.randint(10_000, 5 * MINUTE_MS)
        out += ctx.cancelled(side, symbol, placed, cancelled, price, lot(quote / float(price)))
    return out


def app_person(ctx: Context) -> Iterator[BotOrder]:
    """A few trades a day while awake, in the app or on the website; market and limit orders."""
    p, rng = ctx.params, ctx.rng
    per_day = float(p.get("trades_per_day", 3))
    zone = int(p.get("utc_offset_hours", 1))
    wake, sleep = int(p.get("wake_hour", 8)), int(p.get("sleep_hour", 23))
    cancels = ctx.cancel_rate("cancels_per_limit", 0.2)
    day = ctx.start - ctx.start % DAY_MS
    while day < ctx.end:
        for _ in range(poisson(rng, per_day)):
            local_hour = rng.uniform(wake, sleep)
            time = day + int((local_hour - zone) * HOUR_MS) % DAY_MS
            if not ctx.start <= time < ctx.end:
                continue
            symbol = rng.choice(ctx.symbols)
            side = ctx.balanced_side(symbol.name, 150)
            quote = math.exp(rng.uniform(math.log(30), math.log(600)))
            if rng.random() < 0.6:
                price = ctx.taker_price(symbol.name, side, time)
                order = BotOrder(symbol.name, side, "MARKET", ctx.cid(side, symbol, time), time, Decimal(0))
                order.fills = ctx.fills(time, price, lot(quote / float(price)), False, rng.choice((1, 1, 2)))
            else:
                price = tick(ctx.market(symbol.name, time) * (1 - 0.003 if side == "BUY" else 1 + 0.003))
                filled = time + rng.randint(10 * MINUTE_MS, 6 * HOUR_MS)
                if filled >= ctx.end:
                    continue
                order = BotOrder(symbol.name, side, "LIMIT", ctx.cid(side, symbol, time), time, price)
                order.fills = ctx.fills(filled, price, lot(quote / float(price)), True)
                if cancels:
                    awake = int((local_hour - wake) * HOUR_MS)
                    order.cancels = repriced(ctx, symbol, side, quote, time, awake, cancels)
            yield order
        day += DAY_MS


BEHAVIOURS: dict[str, Callable[[Context], Iterator[BotOrder]]] = {
    "grid-bot": grid_bot,
    "dca-bot": dca_bot,
    "market-maker": market_maker,
    "scalper": scalper,
    "app-person": app_person,
}


# --- the legitimately unusual day -----------------------------------------------------------------------


def _waking_time(ctx: Context, days_ago: float) -> int:
    day = ctx.builder.now - int(days_ago * DAY_MS)
    day -= day % DAY_MS
    low, high = max(day + 9 * HOUR_MS, ctx.start), min(day + 20 * HOUR_MS, ctx.end - MINUTE_MS)
    return ctx.rng.randint(low, high) if low < high else ctx.end - ctx.rng.randint(MINUTE_MS, HOUR_MS)


def large_buy(ctx: Context, spec: dict[str, Any]) -> BotOrder:
    """A person buys by hand, in the app, many times the bot's usual size, at the market."""
    symbol = ctx.builder.ledger.symbols[str(spec.get("symbol", ctx.symbols[0].name))]
    time = _waking_time(ctx, float(spec.get("days_ago", 3)))
    price = ctx.taker_price(symbol.name, "BUY", time, 0.0006)
    qty = lot(float(spec.get("quote", 5000)) / float(price))
    order = BotOrder(
        symbol.name, "BUY", "MARKET", ctx.cid("BUY", symbol, time, "app"), time, Decimal(0), tag="large-buy"
    )
    order.fills = ctx.fills(time, price, qty, False, 3)
    return order


def listing_pump(ctx: Context, spec: dict[str, Any]) -> BotOrder:
    """A coin listed days ago pumps within hours; the person buys it in the app near the top, at the market
    everyone else is paying (the tape pumps too)."""
    builder = ctx.builder
    name = str(spec.get("symbol", "NEWUSDT"))
    raw = next(r for r in builder.spec["symbols"] if r["symbol"] == name)
    listed = builder.now - int(float(raw.get("listed_days_ago", 4)) * DAY_MS)
    pump, rise = float(spec.get("pump", 3)), int(spec.get("rise_hours", 6))
    path = builder.prices[name]
    first = len(path) - 1 - (builder.now - listed) // HOUR_MS
    for index in range(max(first, 0), len(path)):
        hours = index - first
        factor = 1 + (pump - 1) * (hours / rise if hours < rise else math.exp(-(hours - rise) / 24))
        path[index] = tick(path[index] * Decimal(str(factor)))
    time = listed + (rise - 1) * HOUR_MS + ctx.rng.randint(0, HOUR_MS - 1)
    symbol = builder.ledger.symbols[name]
    price = ctx.taker_price(name, "BUY", time, 0.002)
    qty = lot(float(spec.get("quote", 2000)) / float(price))
    order = BotOrder(name, "BUY", "MARKET", ctx.cid("BUY", symbol, time, "app"), time, Decimal(0), tag="listing-pump")
    order.fills = ctx.fills(time, price, qty, False, 2)
    return order


UNUSUAL = {"large-buy": large_buy, "listing-pump": listing_pump}


def generate(builder: ScenarioBuilder, history: dict[str, Any], start: int, end: int) -> list[BotOrder]:
    """The victim's orders over [start, end) for `history['behaviour']`, the unusual day included."""

    name = history.get("behaviour")
    if name not in BEHAVIOURS:
        raise ScenarioError(
            f"{builder.source}:{history.get('__line__', '?')}: history field 'behaviour' must be one of "
            f"{sorted(BEHAVIOURS)}, not {name!r}"
        )
    ctx = Context(builder, history, start, end)
    orders = list(BEHAVIOURS[name](ctx))
    unusual = history.get("unusual")
    if unusual:
        kind = unusual.get("kind")
        if kind not in UNUSUAL:
            raise ScenarioError(
                f"{builder.source}:{unusual.get('__line__', '?')}: unusual 'kind' must be one of {sorted(UNUSUAL)}"
            )
        orders.append(UNUSUAL[kind](ctx, unusual))
    return orders


class Writer:
    """Writes a bot's orders into the ledger with balances applied: the victim's order, and per fill the
    counterparty's (the crowd takes the victim's resting orders, the market maker's book fills its takes)."""

    def __init__(self, builder: ScenarioBuilder, victim: Account, maker: Account, crowd: Account) -> None:
        self.builder, self.ledger = builder, builder.ledger
        self.victim, self.maker, self.crowd = victim, maker, crowd
        self.unusual: list[dict[str, Any]] = []

    def affordable(self, order: BotOrder, symbol: Symbol) -> bool:
        if order.side == "BUY":
            need = sum(price * qty for _, price, qty, _ in order.fills) * Decimal("1.001")
            return self.victim.balance(symbol.quote).free >= need
        return self.victim.balance(symbol.base).free >= sum(qty for _, _, qty, _ in order.fills)

    def write_cancelled(self, orders: list[Order]) -> None:
        """The victim's cancelled orders: no trade, and the balance each locked while open is free again. One is
        left out when the account could not have placed it (Binance rejects an order the free balance does not
        cover)."""
        ledger, balances = self.ledger, self.victim.balances
        for order in orders:
            symbol, buy = ledger.symbols[order.symbol], order.side == "BUY"
            held = balances.get(symbol.quote if buy else symbol.base)
            if held is None or held.free < (order.price * order.orig_qty if buy else order.orig_qty):
                continue
            order.order_id, order.account = ledger.next_order_id(), self.victim.name
            ledger.orders[order.order_id] = order

    def write(self, order: BotOrder, other: Account | None = None) -> list[Trade]:
        """`other`, when given, is the counterparty of every fill (an attacker), its balances applied. The orders
        the bot cancelled before this one are written first."""
        self.write_cancelled(order.cancels)
        symbol = self.ledger.symbols[order.symbol]
        if not order.fills or not self.affordable(order, symbol):
            return []
        ledger, buy = self.ledger, order.side == "BUY"
        own_id = ledger.next_order_id()
        qty_total = sum(q for _, _, q, _ in order.fills)
        record = Order(
            symbol.name,
            own_id,
            order.client_id,
            self.victim.name,
            order.side,
            order.type,
            "GTC",
            order.price,
            qty_total,
            order.placed,
            executed_qty=qty_total,
            cumulative_quote=sum(p * q for _, p, q, _ in order.fills),
            status="FILLED",
            update_time=order.fills[-1][0],
        )
        ledger.orders[own_id] = record
        trades = []
        counterparty = other
        for time, price, qty, victim_maker in order.fills:
            other = counterparty or (self.crowd if victim_maker else self.maker)
            other_id = ledger.next_order_id()
            ledger.orders[other_id] = Order(
                symbol.name,
                other_id,
                f"hist{other_id}",
                other.name,
                "SELL" if buy else "BUY",
                "MARKET" if victim_maker else "LIMIT",
                "GTC",
                Decimal(0) if victim_maker else price,
                qty,
                time if victim_maker else time - self.builder.rng.randint(1000, 600_000),
                executed_qty=qty,
                cumulative_quote=price * qty,
                status="FILLED",
                update_time=time,
            )
            buyer_order, seller_order = (own_id, other_id) if buy else (other_id, own_id)
            trade = Trade(
                ledger.next_trade_id(),
                symbol.name,
                price,
                qty,
                time,
                self.victim.name if buy else other.name,
                other.name if buy else self.victim.name,
                buyer_order,
                seller_order,
                buyer_is_maker=victim_maker if buy else not victim_maker,
            )
            ledger.record_trade(trade)
            self.builder._apply(self.victim, symbol, buy, price, qty)
            if other is self.maker or other is counterparty:
                self.builder._apply(other, symbol, not buy, price, qty)
            trades.append(trade)
        if order.tag:
            self.unusual.append(
                {
                    "kind": order.tag,
                    "symbol": symbol.name,
                    "order_id": own_id,
                    "start": order.placed,
                    "end": order.fills[-1][0],
                    "trade_ids": [t.id for t in trades],
                }
            )
        return trades
