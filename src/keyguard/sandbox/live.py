"""Trading in real time on a running sandbox: a key's ordinary bot and an attack, order by order through the
matching engine the REST API uses, so the user data stream carries them as they happen.

Every order a key places is refused as Binance would refuse the key's request (-2015) once the key is deleted,
its account disabled, its trading permission removed or the caller's IP left off its whitelist; and an order
the free balance does not cover fails (-2010), so moving the funds to the Funding wallet stops an attack.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import statistics
from collections import Counter
from collections.abc import Awaitable, Callable
from decimal import ROUND_DOWN, Decimal
from typing import Any

from keyguard.sandbox import errors
from keyguard.sandbox.bots import CLIENT_ID_STYLES, client_order_id, lot, tick
from keyguard.sandbox.errors import BinanceError
from keyguard.sandbox.exchange import SandboxExchange
from keyguard.sandbox.keys import SandboxKey
from keyguard.sandbox.ledger import Account, Order

TRADE = "enableSpotAndMarginTrading"
WITHDRAW = "enableWithdrawals"
THIEF_ADDRESS = "0xa77ac4e2b1f0d9c3e5a6b7c8d9e0f1a2b3c4d5e6"  # as attacks.withdrawal_theft
BOT_IP = "127.0.0.1"  # the owner's bot runs where its key's whitelist allows
ATTACKER_IP = "198.51.100.23"  # TEST-NET-2: the attacker's requests come from elsewhere
STYLE_PREFIXES = (
    ("x-TKT5PX2F", "ccxt"),
    ("x-R4BD3S82", "ccxt-legacy"),
    ("x-MG43PCSN", "hummingbot"),
    ("web_", "app"),
    ("and_", "app"),
    ("ios_", "app"),
)


class LiveError(ValueError):
    """A live request that cannot run, said in words for the admin API's 400."""


def _q(value: Decimal, places: str = "0.00000001") -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_DOWN)


def _number(body: dict[str, Any], name: str, default: float, low: float = 0.0) -> float:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
        raise LiveError(f"{name} must be a number >= {low}")
    return float(value)


def key_refusal(exchange: SandboxExchange, key: SandboxKey, ip: str, permission: str = TRADE) -> BinanceError | None:
    """What Binance answers a request signed with `key` from `ip` that needs `permission`, when it refuses the key."""
    if key.deleted or exchange.account_disabled(key) or not key.ip_allowed(ip) or not key.allows(permission):
        return errors.rejected_key()
    return None


def client_id_style(exchange: SandboxExchange, account: str) -> str:
    """The clientOrderId shape of the account's recent orders (its bot's software), so live orders look alike."""
    recent = [o for o in exchange.ledger.orders.values() if o.account == account][-200:]
    styles = Counter(_style_of(o.client_order_id) for o in recent)
    return styles.most_common(1)[0][0] if styles else "binance"


def _style_of(client_id: str) -> str:
    return next((style for prefix, style in STYLE_PREFIXES if client_id.startswith(prefix)), "binance")


def typical_quote(exchange: SandboxExchange, account: str) -> Decimal:
    """The median quote value of the account's recent filled orders (40 when it has none)."""
    filled = [o.cumulative_quote for o in exchange.ledger.orders.values() if o.account == account and o.executed_qty]
    return Decimal(str(round(statistics.median(filled[-500:]), 2))) if filled else Decimal(40)


def public_price(exchange: SandboxExchange, symbol: str, insiders: set[str]) -> Decimal | None:
    """The last price on the tape between accounts other than `insiders`."""
    trades = exchange.ledger.trades.get(symbol, [])
    outside = next((t for t in reversed(trades) if not {t.buyer, t.seller} & insiders), None)
    return outside.price if outside else exchange.ledger.last_price(symbol)


class LiveTrading:
    """The live bots and the live attack of one sandbox, as asyncio tasks on the server's event loop."""

    def __init__(self, exchange: SandboxExchange, seed: int = 0) -> None:
        self.exchange = exchange
        self.rng = random.Random(seed)
        self.tasks: dict[str, asyncio.Task] = {}
        self._ids = itertools.count(1)

    def _start(self, name: str, work: Awaitable[None], record: dict[str, Any]) -> None:
        async def run() -> None:
            try:
                await work
            finally:
                record["running"] = False
                record["ended_ms"] = self.exchange.clock.now_ms()

        self.tasks[name] = asyncio.create_task(run(), name=name)

    def start_bot(self, key: SandboxKey, body: dict[str, Any]) -> dict[str, Any]:
        symbols = [str(s) for s in body.get("symbols") or []]
        unknown = [s for s in symbols if s not in self.exchange.ledger.symbols]
        if not symbols or unknown:
            raise LiveError(f"symbols must name the sandbox's symbols; unknown: {unknown}" if unknown else "no symbols")
        per_minute = _number(body, "trades_per_minute", 6.0, 0.01)
        style = str(body.get("client_ids") or client_id_style(self.exchange, key.account))
        if style not in CLIENT_ID_STYLES:
            raise LiveError(f"client_ids must be one of {CLIENT_ID_STYLES}")
        quote = Decimal(str(_number(body, "order_quote", 0.0))) or typical_quote(self.exchange, key.account)
        name = f"bot-{next(self._ids)}"
        record = {"id": name, "key": key.label, "symbols": symbols, "trades_per_minute": per_minute}
        record |= {"client_ids": style, "order_quote": str(quote), "running": True, "orders": 0, "trades": 0}
        record |= {"rejected": 0, "started_ms": self.exchange.clock.now_ms()}
        self.exchange.truth.setdefault("live_bots", []).append(record)
        bot = _Bot(self.exchange, key, symbols, style, quote, random.Random(self.rng.random()), record)
        self._start(name, bot.run(per_minute), record)
        return record

    def start_attack(self, key: SandboxKey, spec: dict[str, Any]) -> dict[str, Any]:
        kind = spec.get("type")
        if kind not in LIVE_ATTACKS:
            raise LiveError(f"type must be one of {sorted(LIVE_ATTACKS)}, not {kind!r}")
        attack = _Attack(self.exchange, key, spec, random.Random(self.rng.random()))
        script = LIVE_ATTACKS[kind](attack)  # checks the spec before anything runs
        for name in [n for n in self.tasks if n.startswith("attack") and not self.tasks[n].done()]:
            self.tasks.pop(name).cancel()
        self.exchange.truth["live_attack"] = attack.record
        self._start(f"attack-{next(self._ids)}", script, attack.record)
        return attack.record

    async def stop(self, name: str | None = None) -> list[str]:
        """Stops the named task, or all; returns the names of those that were still running."""
        chosen = [n for n in self.tasks if name is None or n == name]
        running = [n for n in chosen if not self.tasks[n].done()]
        for task_name in chosen:
            self.tasks[task_name].cancel()
        await asyncio.gather(*(self.tasks.pop(n) for n in chosen), return_exceptions=True)
        return running


class _Bot:
    """A key's ordinary trading in real time: a trade about every 60/N seconds (Poisson), in turn on its symbols,
    sides balanced against what it holds; market orders and marketable limit orders of about its usual size,
    and now and then a limit order away from the market that it cancels unfilled at its next trade."""

    def __init__(
        self,
        exchange: SandboxExchange,
        key: SandboxKey,
        symbols: list[str],
        style: str,
        quote: Decimal,
        rng: random.Random,
        record: dict[str, Any],
    ) -> None:
        self.exchange, self.ledger, self.key = exchange, exchange.ledger, key
        self.symbols, self.style, self.quote, self.rng, self.record = symbols, style, quote, rng, record
        self.resting: list[Order] = []

    async def run(self, per_minute: float) -> None:
        while True:
            await asyncio.sleep(self.rng.expovariate(per_minute / 60))
            self.step()

    def step(self) -> None:
        now = self.exchange.clock.now_ms()
        for order in self.resting:
            if order.status in ("NEW", "PARTIALLY_FILLED"):
                self._place(lambda o=order: self.ledger.cancel(o.account, o.symbol, o.order_id, None, now))
        self.resting = []
        name = self.rng.choice(self.symbols)
        side = self._side(name)
        if side is None:
            return
        best = self.ledger.books[name].opposite(side)
        price = best[0][2].price if best else self.ledger.last_price(name)
        if price is None:
            return
        qty = lot(self.quote * Decimal(str(self.rng.uniform(0.7, 1.3))) / price)
        if side == "SELL":
            qty = min(qty, lot(self.ledger.accounts[self.key.account].balance(self.ledger.symbols[name].base).free))
        if qty <= 0:
            return
        market = self.rng.random() < 0.6
        before = len(self.ledger.trades[name])
        taken = self._order(name, side, "MARKET" if market else "LIMIT", qty, None if market else price, now)
        self.record["trades"] += len(self.ledger.trades[name]) - before
        placed = [taken]  # a limit order the book could not fill whole rests until the next trade
        if self.rng.random() < 0.25:
            away = Decimal(str(self.rng.uniform(0.002, 0.01)))
            passive = tick(price * (1 - away if side == "BUY" else 1 + away))
            placed.append(self._order(name, side, "LIMIT", lot(self.quote / passive), passive, now))
        self.resting = [o for o in placed if o is not None and o.status in ("NEW", "PARTIALLY_FILLED")]

    def _side(self, name: str) -> str | None:
        """BUY or SELL, leaning towards selling what it holds more of than its usual order, and never what the
        account cannot pay for."""
        symbol = self.ledger.symbols[name]
        account = self.ledger.accounts[self.key.account]
        price = self.ledger.last_price(name) or Decimal(1)
        can_buy = account.balance(symbol.quote).free >= self.quote * Decimal("1.3")
        can_sell = account.balance(symbol.base).free * price >= self.quote * Decimal("0.3")
        if can_buy and can_sell:
            return "BUY" if self.rng.random() < 0.5 else "SELL"
        return "BUY" if can_buy else "SELL" if can_sell else None

    def _order(self, name: str, side: str, kind: str, qty: Decimal, price: Decimal | None, now: int) -> Order | None:
        symbol = self.ledger.symbols[name]
        cid = client_order_id(self.rng, self.style, side, symbol, now)
        placed = self._place(
            lambda: self.ledger.place_order(self.key.account, name, side, kind, qty, price, "GTC", now, cid)
        )
        self.record["orders"] += int(placed is not None)
        return placed

    def _place(self, action: Callable[[], Order]) -> Order | None:
        refusal = key_refusal(self.exchange, self.key, BOT_IP)
        try:
            if refusal:
                raise refusal
            return action()
        except BinanceError:
            self.record["rejected"] += 1
            return None


class _Attack:
    """One live attack's orders and what they did: `record` is truth's `live_attack`."""

    def __init__(self, exchange: SandboxExchange, key: SandboxKey, spec: dict[str, Any], rng: random.Random) -> None:
        self.exchange, self.ledger, self.key, self.spec, self.rng = exchange, exchange.ledger, key, spec, rng
        self.victim = exchange.account_of(key)
        attacker = next((a for a in self.ledger.accounts.values() if a.role == "attacker"), None)
        if attacker is None:
            raise LiveError("the sandbox has no account with role 'attacker'")
        self.attacker: Account = attacker
        self.step_seconds = _number(spec, "step_seconds", 7.0)
        self.ip = str(spec.get("ip", ATTACKER_IP))
        self.style = spec.get("client_ids")
        self.placed = 0
        self.record: dict[str, Any] = {
            "type": spec.get("type"),
            "key": key.label,
            "symbol": spec.get("symbol"),
            "victim": self.victim.name,
            "attacker": self.attacker.name,
            "running": True,
            "started_ms": exchange.clock.now_ms(),
            "first_trade_ms": None,
            "trades": [],
            "victim_orders": [],
            "rejected": [],
            "planned_theft_usdt": 0.0,
            "theft_usdt": 0.0,
            "withdrawals": [],
        }
        self.market: dict[str, Decimal] = {}

    def symbol(self, name: Any) -> str:
        if name not in self.ledger.symbols:
            raise LiveError(f"symbol {name!r} is not one of the sandbox's symbols")
        return str(name)

    def market_price(self, name: str) -> Decimal:
        """The market before the attack: the public tape's last price, kept for the theft's valuation."""
        if name not in self.market:
            price = public_price(self.exchange, name, {self.victim.name, self.attacker.name})
            if price is None:
                raise LiveError(f"{name} has never traded: no market price")
            self.market[name] = price
        return self.market[name]

    async def order(self, account: Account, name: str, side: str, kind: str, qty: Decimal, price: Decimal | None):
        """Places one order `step_seconds` (±20 %) after the last; the victim's through the stolen key."""
        if self.placed:
            await asyncio.sleep(self.step_seconds * self.rng.uniform(0.8, 1.2))
        self.placed += 1
        now = self.exchange.clock.now_ms()
        symbol = self.ledger.symbols[name]
        victim = account is self.victim
        cid = client_order_id(self.rng, str(self.style), side, symbol, now) if self.style and victim else None
        before = len(self.ledger.trades[name])
        try:
            refusal = key_refusal(self.exchange, self.key, self.ip) if victim else None
            if refusal:
                raise refusal
            if qty <= 0:
                raise errors.order_rejected("Account has insufficient balance for requested action.")
            order = self.ledger.place_order(account.name, name, side, kind, qty, price, "GTC", now, cid)
        except BinanceError as error:
            if victim:
                self.record["rejected"].append({"time": now, "symbol": name, "side": side, **error.body()})
            return None
        if victim:
            self.record["victim_orders"].append({"id": order.order_id, "symbol": name, "side": side, "time": now})
        self._count_trades(name, before)
        return order

    def _count_trades(self, name: str, before: int) -> None:
        for trade in self.ledger.trades[name][before:]:
            if self.victim.name not in (trade.buyer, trade.seller):
                continue
            self.record["trades"].append({"id": trade.id, "symbol": name, "time": trade.time})
            if self.record["first_trade_ms"] is None:
                self.record["first_trade_ms"] = trade.time
            if name in self.market:
                bought = trade.buyer == self.victim.name
                edge = trade.price - self.market[name] if bought else self.market[name] - trade.price
                self.record["theft_usdt"] += float(edge * trade.qty)

    async def withdraw(self, coin: str, amount: Decimal, value_usdt: Decimal, address: str) -> None:
        """One withdrawal through the stolen key, `step_seconds` (±20 %) after the last request."""
        if self.placed:
            await asyncio.sleep(self.step_seconds * self.rng.uniform(0.8, 1.2))
        self.placed += 1
        now = self.exchange.clock.now_ms()
        try:
            refusal = key_refusal(self.exchange, self.key, self.ip, WITHDRAW)
            if refusal:
                raise refusal
            record = self.ledger.withdraw(self.victim.name, coin, amount, address, coin, now)
        except BinanceError as error:
            self.record["rejected"].append({"time": now, "coin": coin, **error.body()})
            return
        self.record["withdrawals"].append({"id": record.id, "coin": coin, "amount": str(amount), "time": now})
        if self.record["first_trade_ms"] is None:
            self.record["first_trade_ms"] = now  # the first of the victim's money to leave
        self.record["theft_usdt"] += float(value_usdt)

    def cancel_attacker_orders(self, name: str) -> None:
        now = self.exchange.clock.now_ms()
        for order in self.ledger.open_orders(self.attacker.name, name):
            self.ledger.cancel(self.attacker.name, name, order.order_id, None, now)


def wash_trade_theft(attack: _Attack) -> Awaitable[None]:
    """As attacks.wash_trade_theft, in real time: sell the victim's coins (`liquidate`), buy up the thin book of
    `symbol`, then make the victim's key buy it from the attacker at `markup` times the market, `rounds` times as
    taker and `rounds` times as maker. The size of each buy is planned at the start from the victim's funds."""
    spec, ledger, victim = attack.spec, attack.ledger, attack.victim
    target = ledger.symbols[attack.symbol(spec.get("symbol"))]
    liquidate = [attack.symbol(n) for n in spec.get("liquidate") or []]
    markup = Decimal(str(_number(spec, "markup", 8.0, 0.01)))
    rounds = int(_number(spec, "rounds", 6, 1))
    market = attack.market_price(target.name)
    inflated = _q(market * markup)
    proceeds = sum(
        (victim.balance(ledger.symbols[n].base).free * (ledger.last_price(n) or 0) for n in liquidate), Decimal(0)
    )
    budget = (victim.balance(target.quote).free + proceeds) * Decimal("0.9")
    chunk = _q(budget / inflated / (2 * rounds), "0.01")
    attack.record["planned_theft_usdt"] = float(2 * rounds * chunk * (inflated - market))

    async def run() -> None:
        for name in liquidate:
            qty = _q(victim.balance(ledger.symbols[name].base).free * Decimal("0.95"), "0.00001")
            await attack.order(victim, name, "SELL", "MARKET", qty, None)
        honest = [o for _, _, o in ledger.books[target.name].asks if o.account != attack.attacker.name]
        for resting in honest:
            await attack.order(attack.attacker, target.name, "BUY", "LIMIT", resting.remaining, resting.price)
        for victim_first in [False] * rounds + [True] * rounds:
            price = _q(inflated * Decimal(str(1 + attack.rng.uniform(-0.05, 0.05))))
            steps = [(victim, "BUY"), (attack.attacker, "SELL")]
            for account, side in steps if victim_first else steps[::-1]:
                await attack.order(account, target.name, side, "LIMIT", chunk, price)
        attack.cancel_attacker_orders(target.name)

    return run()


def dump(attack: _Attack) -> Awaitable[None]:
    """As attacks.dump, in real time: the attacker sells into the honest bids of a thin book, bids at
    `price_ratio` of the market, and the victim's key sells `share` of its holding at market into that bid."""
    spec, ledger, victim, attacker = attack.spec, attack.ledger, attack.victim, attack.attacker
    symbol = ledger.symbols[attack.symbol(spec.get("symbol"))]
    if symbol.name in ledger.replenished_symbols:
        raise LiveError("dump needs a thin book (a symbol with liquid: false)")
    market = attack.market_price(symbol.name)
    price = tick(market * Decimal(str(_number(spec, "price_ratio", 0.5, 0.0001))))
    share = Decimal(str(_number(spec, "share", 0.95, 0.0001)))
    attack.record["planned_theft_usdt"] = float(lot(victim.balance(symbol.base).free * share) * (market - price))

    async def run() -> None:
        for _, _, resting in list(ledger.books[symbol.name].bids):
            if resting.account != attacker.name:
                attacker.balance(symbol.base).free += resting.remaining  # the attacker brings coins of its own
                await attack.order(attacker, symbol.name, "SELL", "LIMIT", resting.remaining, resting.price)
        qty = lot(victim.balance(symbol.base).free * share)
        attacker.balance(symbol.quote).free += price * qty
        await attack.order(attacker, symbol.name, "BUY", "LIMIT", qty, price)
        await attack.order(victim, symbol.name, "SELL", "MARKET", qty, None)
        attack.cancel_attacker_orders(symbol.name)

    return run()


def withdrawal_theft(attack: _Attack) -> Awaitable[None]:
    """As attacks.withdrawal_theft, in real time: `share` of each of `assets` withdrawn to a new address in
    `rounds` equal parts (thieves split under withdrawal limits), each from the spot wallet. The key needs the
    withdrawal permission and the thief an address its whitelist allows (`ip`: a thief on the bot's own server)."""
    spec, ledger, victim = attack.spec, attack.ledger, attack.victim
    assets = [str(a) for a in spec.get("assets") or ["USDT"]]
    share = Decimal(str(_number(spec, "share", 0.97, 0.0001)))
    rounds = int(_number(spec, "rounds", 1, 1))
    address = str(spec.get("address", THIEF_ADDRESS))
    parts: list[tuple[str, Decimal, Decimal]] = []
    for asset in assets:
        price = Decimal(1) if asset in ("USDT", "USDC", "FDUSD") else ledger.last_price(f"{asset}USDT")
        if price is None:
            raise LiveError(f"{asset} has no USDT market to value it")
        part = _q(victim.balance(asset).free * share / rounds)
        parts += [(asset, part, part * price)] * rounds if part > 0 else []
    attack.record["planned_theft_usdt"] = float(sum(value for _, _, value in parts))

    async def run() -> None:
        for asset, amount, value in parts:
            await attack.withdraw(asset, amount, value, address)

    return run()


LIVE_ATTACKS: dict[str, Callable[[_Attack], Awaitable[None]]] = {
    "wash-trade-theft": wash_trade_theft,
    "dump": dump,
    "withdrawal-theft": withdrawal_theft,
}
