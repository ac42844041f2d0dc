"""The sandbox exchange's state: accounts, balances, orders, trades and wallet history.

One matching engine per symbol (limit and market orders, price-time priority) keeps trades, balances
and klines consistent: klines are built from the trades that happened.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any

from keyguard.sandbox.errors import BinanceError, order_rejected, unknown_order

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def generated_client_id(order_id: int) -> str:
    """What Binance puts in clientOrderId when the client sent none: 22 letters and digits (the spot API docs'
    example "6gCrw2kRUAF9CvJDGP16IP"); derived from the order id so that scenarios stay reproducible."""
    number = int.from_bytes(hashlib.sha256(f"order {order_id}".encode()).digest())
    return "".join(BASE62[(number >> (6 * i)) % 62] for i in range(22))


ZERO = Decimal(0)
EIGHT = Decimal("0.00000001")
COMMISSION_RATE = Decimal("0.001")
INTERVALS_MS = {
    "1s": 1_000,
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
    "3d": 259_200_000,
    "1w": 604_800_000,
    "1M": 2_592_000_000,
}


def fmt(value: Decimal) -> str:
    """Binance's decimal strings: always eight places, never exponent notation ("0.00000000", not "0E-8")."""
    return f"{value.quantize(EIGHT, rounding=ROUND_DOWN):f}"


@dataclass
class Symbol:
    name: str
    base: str
    quote: str
    status: str = "TRADING"


@dataclass
class Balance:
    free: Decimal = ZERO
    locked: Decimal = ZERO


@dataclass
class Account:
    name: str
    uid: int
    email: str
    role: str
    balances: dict[str, Balance] = field(default_factory=dict)
    funding: dict[str, Decimal] = field(default_factory=dict)
    futures: dict[str, Decimal] = field(default_factory=dict)
    earn_flexible: dict[str, Decimal] = field(default_factory=dict)
    earn_locked: dict[str, Decimal] = field(default_factory=dict)
    master: str | None = None
    status: str = "Normal"
    created_ms: int = 0
    address_book: list[dict[str, Any]] = field(default_factory=list)  # GET /sapi/v1/capital/withdraw/address/list

    def balance(self, asset: str) -> Balance:
        return self.balances.setdefault(asset, Balance())


def address_book_entry(address: str, coin: str, network: str, name: str, whitelisted: bool) -> dict[str, Any]:
    """An entry of the withdrawal address book as GET /sapi/v1/capital/withdraw/address/list returns it."""
    return {
        "address": address,
        "addressTag": "",
        "coin": coin,
        "name": name,
        "network": network,
        "origin": "",
        "originType": "others",
        "whiteStatus": whitelisted,
    }


@dataclass
class Order:
    symbol: str
    order_id: int
    client_order_id: str
    account: str
    side: str
    type: str
    time_in_force: str
    price: Decimal
    orig_qty: Decimal
    time: int
    executed_qty: Decimal = ZERO
    cumulative_quote: Decimal = ZERO
    status: str = "NEW"
    update_time: int = 0

    @property
    def remaining(self) -> Decimal:
        return self.orig_qty - self.executed_qty

    def to_json(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_order_id,
            "price": fmt(self.price),
            "origQty": fmt(self.orig_qty),
            "executedQty": fmt(self.executed_qty),
            "cummulativeQuoteQty": fmt(self.cumulative_quote),
            "status": self.status,
            "timeInForce": self.time_in_force,
            "type": self.type,
            "side": self.side,
            "stopPrice": "0.00000000",
            "icebergQty": "0.00000000",
            "time": self.time,
            "updateTime": self.update_time or self.time,
            "isWorking": True,
            "workingTime": self.time,
            "origQuoteOrderQty": "0.00000000",
            "selfTradePreventionMode": "NONE",
        }


@dataclass
class Trade:
    id: int
    symbol: str
    price: Decimal
    qty: Decimal
    time: int
    buyer: str
    seller: str
    buy_order: int
    sell_order: int
    buyer_is_maker: bool

    def for_account(self, account: str, base: str, quote_asset: str) -> dict[str, Any]:
        is_buyer = account == self.buyer
        quote = self.price * self.qty
        maker = self.buyer_is_maker if is_buyer else not self.buyer_is_maker
        return {
            "symbol": self.symbol,
            "id": self.id,
            "orderId": self.buy_order if is_buyer else self.sell_order,
            "orderListId": -1,
            "price": fmt(self.price),
            "qty": fmt(self.qty),
            "quoteQty": fmt(quote),
            "commission": fmt((self.qty if is_buyer else quote) * COMMISSION_RATE),
            "commissionAsset": base if is_buyer else quote_asset,
            "time": self.time,
            "isBuyer": is_buyer,
            "isMaker": maker,
            "isBestMatch": True,
        }


@dataclass
class WalletRecord:
    """A deposit, withdrawal or transfer, with the fields its endpoint renders."""

    kind: str  # deposit | withdrawal | transfer
    id: str
    account: str
    asset: str
    amount: Decimal
    time: int
    extra: dict[str, Any] = field(default_factory=dict)


class Book:
    """One symbol's resting orders, best price first, then oldest first."""

    def __init__(self) -> None:
        self.bids: list[tuple[Decimal, int, Order]] = []  # keyed (-price, sequence)
        self.asks: list[tuple[Decimal, int, Order]] = []  # keyed (price, sequence)

    def add(self, order: Order, sequence: int) -> None:
        if order.side == "BUY":
            bisect.insort(self.bids, (-order.price, sequence, order), key=lambda e: (e[0], e[1]))
        else:
            bisect.insort(self.asks, (order.price, sequence, order), key=lambda e: (e[0], e[1]))

    def remove(self, order: Order) -> None:
        side = self.bids if order.side == "BUY" else self.asks
        side[:] = [e for e in side if e[2] is not order]

    def opposite(self, side: str) -> list[tuple[Decimal, int, Order]]:
        return self.asks if side == "BUY" else self.bids


EventSink = Callable[[str, dict[str, Any]], None]


class Ledger:
    def __init__(self) -> None:
        self.symbols: dict[str, Symbol] = {}
        self.accounts: dict[str, Account] = {}
        self.orders: dict[int, Order] = {}
        self.trades: dict[str, list[Trade]] = {}
        self.books: dict[str, Book] = {}
        self.wallet: list[WalletRecord] = []
        self.snapshots: dict[str, list[tuple[int, dict[str, Decimal]]]] = {}  # daily spot balances
        self.futures_trades: list[dict[str, Any]] = []
        self._order_ids = itertools.count(1)
        self._trade_ids = itertools.count(1)
        self._sequence = itertools.count()
        self._withdraw_ids = itertools.count(1)
        self.listeners: list[EventSink] = []  # (account, event) for the user data stream
        self.market_maker: str | None = None
        self.replenished_symbols: set[str] = set()  # books the market maker refills as they are taken

    # --- setup -----------------------------------------------------------------------------------
    def add_symbol(self, symbol: Symbol) -> None:
        self.symbols[symbol.name] = symbol
        self.trades.setdefault(symbol.name, [])
        self.books.setdefault(symbol.name, Book())

    def add_account(self, account: Account) -> None:
        self.accounts[account.name] = account

    def _emit(self, account: str, event: dict[str, Any]) -> None:
        for listener in list(self.listeners):
            listener(account, event)

    # --- trading ---------------------------------------------------------------------------------
    def symbol(self, name: str) -> Symbol:
        return self.symbols[name]

    def place_order(
        self,
        account_name: str,
        symbol_name: str,
        side: str,
        order_type: str,
        quantity: Decimal,
        price: Decimal | None,
        time_in_force: str,
        now: int,
        client_order_id: str | None = None,
    ) -> Order:
        symbol = self.symbols[symbol_name]
        account = self.accounts[account_name]
        order_id = next(self._order_ids)
        order = Order(
            symbol_name,
            order_id,
            client_order_id or generated_client_id(order_id),
            account_name,
            side,
            order_type,
            time_in_force,
            price or ZERO,
            quantity,
            now,
        )
        self._reserve(account, symbol, order)
        self.orders[order_id] = order
        self._emit(account_name, self._execution_report(order, "NEW", now))
        refills = self._match(order, now)
        if order.remaining > 0:
            if order_type == "MARKET" or time_in_force in ("IOC", "FOK"):
                order.status = "EXPIRED"
                self._release(account, symbol, order)
                self._emit(account_name, self._execution_report(order, "EXPIRED", now))
            else:
                self.books[symbol_name].add(order, next(self._sequence))
        for filled in refills:  # the market maker keeps its liquid books as deep as they were
            self._refill(filled, now)
        return order

    @staticmethod
    def _reserved(symbol: Symbol, order: Order, quantity: Decimal) -> tuple[str, Decimal]:
        """What an order holds locked for `quantity` of it; a market buy pays as it fills."""
        if order.side == "SELL":
            return symbol.base, quantity
        if order.type == "MARKET":
            return symbol.quote, ZERO
        return symbol.quote, order.price * quantity

    def _market_buy_cost(self, order: Order) -> Decimal:
        """What a market buy would pay, fees included, walking the asks it would take (as Binance checks it)."""
        cost, wanted = ZERO, order.orig_qty
        for _, _, maker in self.books[order.symbol].asks:
            if wanted <= 0:
                break
            qty = min(wanted, maker.remaining)
            cost += qty * maker.price
            wanted -= qty
        return cost * (1 + COMMISSION_RATE)

    def _reserve(self, account: Account, symbol: Symbol, order: Order) -> None:
        asset, need = self._reserved(symbol, order, order.orig_qty)
        balance = account.balance(asset)
        if order.type == "MARKET" and order.side == "BUY":
            need_now = self._market_buy_cost(order)
            if balance.free < need_now or (need_now == 0 and balance.free <= 0):
                raise order_rejected("Account has insufficient balance for requested action.")
        if balance.free < need:
            raise order_rejected("Account has insufficient balance for requested action.")
        balance.free -= need
        balance.locked += need

    def _release(self, account: Account, symbol: Symbol, order: Order) -> None:
        asset, amount = self._reserved(symbol, order, order.remaining)
        balance = account.balance(asset)
        balance.locked -= amount
        balance.free += amount

    def _match(self, taker: Order, now: int) -> list[Order]:
        """Fills `taker` against the book; returns the market maker's orders it used up."""
        book = self.books[taker.symbol]
        resting = book.opposite(taker.side)
        refills: list[Order] = []
        while taker.remaining > 0 and resting:
            _, _, maker = resting[0]
            crosses = taker.type == "MARKET" or (
                maker.price <= taker.price if taker.side == "BUY" else maker.price >= taker.price
            )
            if not crosses:
                break
            qty = min(taker.remaining, maker.remaining)
            if taker.type == "MARKET" and taker.side == "BUY":
                affordable = self.accounts[taker.account].balance(self.symbols[taker.symbol].quote).free
                qty = min(qty, (affordable / (maker.price * (1 + COMMISSION_RATE))).quantize(EIGHT, ROUND_DOWN))
                if qty <= 0:
                    break
            self._fill(maker, taker, qty, maker.price, now)
            if maker.remaining == 0:
                resting.pop(0)
                if maker.account == self.market_maker and maker.symbol in self.replenished_symbols:
                    refills.append(maker)
        return refills

    def _refill(self, filled: Order, now: int) -> None:
        """The market maker puts a taken order back, unless the book has since moved through its price."""
        best = self.books[filled.symbol].opposite(filled.side)
        if best and (best[0][2].price <= filled.price if filled.side == "BUY" else best[0][2].price >= filled.price):
            return
        account = self.accounts[filled.account]
        symbol = self.symbols[filled.symbol]
        asset, need = self._reserved(symbol, filled, filled.orig_qty)
        account.balance(asset).free += need  # the maker restocks from outside the exchange
        self.place_order(account.name, symbol.name, filled.side, "LIMIT", filled.orig_qty, filled.price, "GTC", now)

    def _fill(self, maker: Order, taker: Order, qty: Decimal, price: Decimal, now: int) -> None:
        symbol = self.symbols[taker.symbol]
        buy, sell = (taker, maker) if taker.side == "BUY" else (maker, taker)
        trade = Trade(
            next(self._trade_ids),
            symbol.name,
            price,
            qty,
            now,
            buy.account,
            sell.account,
            buy.order_id,
            sell.order_id,
            buyer_is_maker=maker is buy,
        )
        self.trades[symbol.name].append(trade)
        quote = price * qty
        buyer, seller = self.accounts[buy.account], self.accounts[sell.account]
        # the buyer pays quote (from locked funds for a resting or limit order, else from free)
        paid_from_lock = buy.type == "LIMIT"
        buyer_quote = buyer.balance(symbol.quote)
        if paid_from_lock:
            buyer_quote.locked -= buy.price * qty
            buyer_quote.free += (buy.price - price) * qty
        else:
            buyer_quote.free -= quote
        buyer.balance(symbol.base).free += qty * (1 - COMMISSION_RATE)
        seller.balance(symbol.base).locked -= qty
        seller.balance(symbol.quote).free += quote * (1 - COMMISSION_RATE)
        for order in (maker, taker):
            order.executed_qty += qty
            order.cumulative_quote += quote
            order.status = "FILLED" if order.remaining == 0 else "PARTIALLY_FILLED"
            order.update_time = now
            self._emit(order.account, self._execution_report(order, "TRADE", now, trade))
        for account in {buyer.name, seller.name}:
            self._emit(account, self._account_position(self.accounts[account], (symbol.base, symbol.quote), now))

    def cancel(self, account: str, symbol: str, order_id: int | None, client_id: str | None, now: int) -> Order:
        for order in self.orders.values():
            if (
                order.account == account
                and order.symbol == symbol
                and order.status in ("NEW", "PARTIALLY_FILLED")
                and (order.order_id == order_id or (client_id is not None and order.client_order_id == client_id))
            ):
                self.books[symbol].remove(order)
                self._release(self.accounts[account], self.symbols[symbol], order)
                order.status = "CANCELED"
                order.update_time = now
                self._emit(account, self._execution_report(order, "CANCELED", now))
                return order
        raise unknown_order()

    def open_orders(self, account: str, symbol: str | None = None) -> list[Order]:
        return [
            o
            for o in self.orders.values()
            if o.account == account
            and o.status in ("NEW", "PARTIALLY_FILLED")
            and (symbol is None or o.symbol == symbol)
        ]

    # --- history ---------------------------------------------------------------------------------
    def record_trade(self, trade: Trade) -> None:
        """Adds a historical trade (scenario history), keeping each symbol's trades in time order."""
        trades = self.trades[trade.symbol]
        if trades and trades[-1].time > trade.time:
            bisect.insort(trades, trade, key=lambda t: (t.time, t.id))
        else:
            trades.append(trade)

    def next_trade_id(self) -> int:
        return next(self._trade_ids)

    def next_order_id(self) -> int:
        return next(self._order_ids)

    def last_price(self, symbol: str) -> Decimal | None:
        trades = self.trades.get(symbol)
        return trades[-1].price if trades else None

    def klines(self, symbol: str, interval_ms: int, start: int | None, end: int | None, limit: int) -> list[list]:
        trades = self.trades[symbol]
        times = [t.time for t in trades]
        lo = bisect.bisect_left(times, start) if start is not None else 0
        hi = bisect.bisect_right(times, end) if end is not None else len(trades)
        rows: list[list] = []
        for trade in trades[lo:hi]:
            open_time = trade.time - trade.time % interval_ms
            if not rows or rows[-1][0] != open_time:
                if len(rows) == limit:
                    break
                rows.append(
                    [
                        open_time,
                        trade.price,
                        trade.price,
                        trade.price,
                        trade.price,
                        ZERO,
                        open_time + interval_ms - 1,
                        ZERO,
                        0,
                        ZERO,
                        ZERO,
                        "0",
                    ]
                )
            row = rows[-1]
            row[2] = max(row[2], trade.price)
            row[3] = min(row[3], trade.price)
            row[4] = trade.price
            row[5] += trade.qty
            row[7] += trade.qty * trade.price
            row[8] += 1
            if not trade.buyer_is_maker:
                row[9] += trade.qty
                row[10] += trade.qty * trade.price
        return [
            [
                r[0],
                fmt(r[1]),
                fmt(r[2]),
                fmt(r[3]),
                fmt(r[4]),
                fmt(r[5]),
                r[6],
                fmt(r[7]),
                r[8],
                fmt(r[9]),
                fmt(r[10]),
                "0",
            ]
            for r in rows
        ]

    # --- user data stream events -----------------------------------------------------------------
    def _execution_report(self, order: Order, execution: str, now: int, trade: Trade | None = None) -> dict:
        last_qty = trade.qty if trade else ZERO
        last_price = trade.price if trade else ZERO
        return {
            "e": "executionReport",
            "E": now,
            "s": order.symbol,
            "c": order.client_order_id,
            "S": order.side,
            "o": order.type,
            "f": order.time_in_force,
            "q": fmt(order.orig_qty),
            "p": fmt(order.price),
            "P": "0.00000000",
            "F": "0.00000000",
            "g": -1,
            "C": "",
            "x": execution,
            "X": order.status,
            "r": "NONE",
            "i": order.order_id,
            "l": fmt(last_qty),
            "z": fmt(order.executed_qty),
            "L": fmt(last_price),
            "n": "0",
            "N": None,
            "T": now,
            "t": trade.id if trade else -1,
            "I": order.order_id,
            "w": order.status in ("NEW", "PARTIALLY_FILLED"),
            "m": bool(trade and trade.buyer_is_maker == (order.side == "BUY")),
            "M": False,
            "O": order.time,
            "Z": fmt(order.cumulative_quote),
            "Y": fmt(last_qty * last_price),
            "Q": "0.00000000",
            "W": order.time,
            "V": "NONE",
        }

    def _account_position(self, account: Account, assets: tuple[str, ...], now: int) -> dict:
        return {
            "e": "outboundAccountPosition",
            "E": now,
            "u": now,
            "B": [{"a": a, "f": fmt(account.balance(a).free), "l": fmt(account.balance(a).locked)} for a in assets],
        }

    def withdraw(
        self, account_name: str, coin: str, amount: Decimal, address: str, network: str, now: int, **extra: Any
    ) -> WalletRecord:
        """A withdrawal from the spot wallet, completed at once (status 6); -4026 when the free balance is short."""
        balance = self.accounts[account_name].balance(coin)
        if balance.free < amount:
            raise BinanceError(-4026, "User has insufficient balance")
        balance.free -= amount
        record_id = f"sandboxwd{next(self._withdraw_ids):08d}"
        fields = {"status": 6, "address": address, "network": network, "txId": f"0x{record_id}", **extra}
        record = WalletRecord("withdrawal", record_id, account_name, coin, amount, now, fields)
        self.wallet.append(record)
        self.balance_update(account_name, coin, -amount, now)
        return record

    def balance_update(self, account: str, asset: str, delta: Decimal, now: int) -> None:
        self._emit(account, {"e": "balanceUpdate", "E": now, "a": asset, "d": fmt(delta), "T": now})
