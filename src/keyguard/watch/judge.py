"""Live judgement: each user-data-stream event (Binance's own JSON: executionReport, outboundAccountPosition,
balanceUpdate) and each poll event, judged against the account's normal (incident/baseline.py) and the market
(incident/market.py), the same way `keyguard incident` judges an audit after the fact.

Poll events are watch/polls.py's dicts with a `kind` and `time` (ms): permissions_changed (`enabled`,
`disabled`, `changes`), ip_whitelist_removed, withdrawal (`withdrawal`: Binance's history row),
balance_changed (`asset`, `new`: {free, locked}), account_status_changed (`old`, `new`), key_rejected (`code`);
other kinds (the stream's own `stream.*`, deposits, open orders) raise nothing.

The spot holdings are valued at the market (the same references as the fills) after every balance change: a
fall of more than `balance_drop_share` from the hour's highest is an alert, whatever caused it.
"""

from __future__ import annotations

import time as clock
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from keyguard.exchange.client import BinanceClient, ExchangeError
from keyguard.incident.audit import AuditData
from keyguard.incident.baseline import Baseline, account_baseline, client_id_pattern
from keyguard.incident.detect import (
    EMPTIED_SHARE,
    FUNDING_ORDER_FACTOR,
    MIN_ORDERS_FOR_IDS,
    OWN_MARGIN,
    PRICE_POINTS,
    USD_QUOTES,
)
from keyguard.incident.market import Reference, SymbolMarket, adverse, markets
from keyguard.incident.symbols import split_symbol

HOUR_MS = 3_600_000
FAR_Z = PRICE_POINTS[1][0]  # this many times the symbol's usual deviation worse than the market
BURST_WINDOW_MS = 10 * 60_000
BURST_SALES = 2  # unusual market sales within the window
REPEAT_MS = 10 * 60_000  # the same alert about the same thing again only after this long
BALANCE_DROP_SHARE = 0.2
MARKET_HOURS = 72  # the public hourly klines read for a symbol the audit did not cover
APP_FAMILIES = frozenset({"Binance website (web_…)", "Binance Android app (and_…)", "Binance iOS app (ios_…)"})
FINISHED = ("FILLED", "EXPIRED", "CANCELED", "EXPIRED_IN_MATCH")

TRADING_TODO = (
    "Not you? Cancel its orders and move the funds to Funding (keyguard watch --contain), delete the key {key} "
    "in API Management, then run keyguard incident --key {key}."
)
MONEY_TODO = (
    "Not you? Disable the account now (app: Account > Security > Disable Account), delete the key {key}, "
    "then run keyguard incident --key {key}."
)
LOGIN_TODO = (
    "Not you? Someone has your Binance login: change the password and 2FA, delete the key {key}, "
    "then run keyguard incident --key {key}."
)


@dataclass(frozen=True)
class Alert:
    kind: str  # client-id | far-from-market | new-symbol | market-sell-burst | money-out | withdrawal | transfer
    #            | permissions | whitelist | balance-drop
    severity: str  # critical | warning
    what: str
    why: str
    todo: str
    time: int  # ms, the event's time
    subject: str = ""  # the symbol, asset, pattern or field it is about

    def message(self) -> str:
        """One short message: what happened, why it matters, what to do."""
        return f"{self.what} — {self.why}. {self.todo}"

    def title(self) -> str:
        return f"keyguard {self.severity}: {self.kind.replace('-', ' ')}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "message": self.message()}


@dataclass
class _Order:
    symbol: str
    side: str
    type: str
    held_before: float | None  # the base asset held when a sell was placed


def public_markets(client: BinanceClient, hours: int = MARKET_HOURS) -> Callable[[str], SymbolMarket | None]:
    """Reads a symbol's market from Binance's public hourly klines (no key needed) when the judge meets a symbol
    the audit did not cover, or its reference has gone stale."""

    def read(symbol: str) -> SymbolMarket | None:
        now = int(clock.time() * 1000)
        start = now - hours * HOUR_MS
        params = {"symbol": symbol, "interval": "1h", "startTime": start, "limit": 1000}
        try:
            klines = client.call("public_get_klines", params)
        except ExchangeError:
            return None
        # the hour still open holds this account's own fills (maybe the thief's): only closed hours are others'
        closed = [kline for kline in klines if int(kline[0]) + HOUR_MS <= now]
        return SymbolMarket(closed, [], start, now) if closed else None

    return read


class Judge:
    """`judge(event)` answers the alerts one event raises; the judge remembers what it saw (orders, holdings,
    recent sales, alerts already sent) between events."""

    def __init__(
        self,
        baseline: Baseline,
        markets: dict[str, SymbolMarket] | None = None,
        *,
        balances: dict[str, float] | None = None,
        market_for: Callable[[str], SymbolMarket | None] | None = None,
        key_label: str = "KEY",
        balance_drop_share: float = BALANCE_DROP_SHARE,
        known_addresses: set[str] | None = None,
    ) -> None:
        self.baseline = baseline
        self.markets = dict(markets or {})
        self.market_for = market_for
        self.key_label = key_label
        self.balance_drop_share = balance_drop_share
        self.held: dict[str, float] = dict(balances or {})
        self._orders: dict[int, _Order] = {}
        self._sales: deque[tuple[int, str, str]] = deque()  # (time, symbol, why) of unusual market sales
        self._said: dict[tuple[str, str], int] = {}
        self._asked: dict[str, int] = {}  # symbol -> when its market was last read
        self._values: deque[tuple[int, float]] = deque()  # (time, spot holdings' value in USDT)
        self.known_addresses = set(known_addresses or ())

    @classmethod
    def from_audit(
        cls, data: AuditData, public: BinanceClient | None = None, key_label: str = "KEY", **options: Any
    ) -> Judge:
        """The judge of an account audited up to the moment watching starts: its whole audit is its normal."""
        market = markets(data)
        baseline = account_baseline(data, min(data.start, data.baseline_start or data.start), data.end, market)
        reader = public_markets(public) if public is not None else None
        known = {w["address"] for w in data.withdrawals} | {d["address"] for d in data.deposits}
        known |= {e["address"] for e in data.address_book if e.get("whiteStatus")}
        return cls(
            baseline,
            market,
            balances=data.balances,
            market_for=reader,
            key_label=key_label,
            known_addresses=known,
            **options,
        )

    def judge(self, event: dict[str, Any]) -> list[Alert]:
        if "kind" in event:
            return self._poll(event)
        kind = event.get("e")
        if kind == "executionReport":
            return self._execution(event)
        if kind == "outboundAccountPosition":
            rows = {row["a"]: float(row["f"]) + float(row["l"]) for row in event.get("B", [])}
            return self._holdings(rows, int(event.get("E") or 0))
        if kind == "balanceUpdate":
            return self._balance_update(event)
        return []

    # --- orders and fills --------------------------------------------------------------------------
    def _execution(self, event: dict[str, Any]) -> list[Alert]:
        symbol, when = event["s"], int(event.get("E") or event.get("T") or 0)
        order = self._orders.get(event["i"])
        if order is None:
            base = split_symbol(symbol)[0]
            held = self.held.get(base) if event["S"] == "SELL" else None
            order = self._orders[event["i"]] = _Order(symbol, event["S"], event["o"], held)
        alerts = [*self._client_id(event, when), *self._new_symbol(symbol, when)]
        if event["x"] == "TRADE":
            alerts += self._far_from_market(event, when)
        if event["X"] in FINISHED:
            del self._orders[event["i"]]
            if order.type == "MARKET" and order.side == "SELL" and float(event["z"]) > 0:
                alerts += self._market_sale(order, event, when)
        return alerts

    def _client_id(self, event: dict[str, Any], when: int) -> list[Alert]:
        ids = self.baseline.client_ids
        if sum(ids.values()) < MIN_ORDERS_FOR_IDS:
            return []
        pattern = client_id_pattern(event.get("c") or "")
        if pattern in ids or (pattern in APP_FAMILIES and APP_FAMILIES & ids.keys()):
            return []
        usual = max(ids, key=lambda k: ids[k])
        return self._once(
            "client-id",
            pattern,
            when,
            "warning",
            f"An order on {event['s']} came from software this account never used: client id {pattern}",
            f"its {sum(ids.values())} earlier orders came from {usual}; a stolen key is often used from other software",
            TRADING_TODO,
        )

    def _new_symbol(self, symbol: str, when: int) -> list[Alert]:
        if not self.baseline.trades or symbol in self.baseline.symbols:
            return []
        market = self._market(symbol, when)
        thin = market is not None and market.thin
        how = f", a thinly traded coin (others traded it in {market.coverage:.0%} of the hours)" if thin else ""
        return self._once(
            "new-symbol",
            symbol,
            when,
            "critical" if thin else "warning",
            f"The key trades {symbol}, a symbol this account never traded{how}",
            "thieves push a stolen key into thin coins they control to buy them at many times their price",
            TRADING_TODO,
        )

    def _far_from_market(self, event: dict[str, Any], when: int) -> list[Alert]:
        symbol = event["s"]
        reference = self._reference(symbol, when)
        if reference is None:
            return []
        fill = {"price": event["L"], "isBuyer": event["S"] == "BUY"}
        z = adverse(fill, reference) / reference.scale
        own = self.baseline.fills.get(symbol)
        if z < FAR_Z or (own is not None and z <= OWN_MARGIN * max(own["adverse_z_p99"], 1.0)):
            return []
        price = float(event["L"])
        side = "bought" if fill["isBuyer"] else "sold"
        return self._once(
            "far-from-market",
            symbol,
            when,
            "critical",
            f"The key {side} {float(event['l']):,.6g} {symbol} at {price:g}, "
            f"{price / reference.price - 1:+.0%} against the market price {reference.price:.6g}",
            f"{z:.0f}x the symbol's usual deviation: a fill this far off moves the account's money to whoever "
            "was on the other side",
            TRADING_TODO,
        )

    def _market_sale(self, order: _Order, event: dict[str, Any], when: int) -> list[Alert]:
        sold, proceeds = float(event["z"]), float(event["Z"])
        why = self._unusual_sale(order, sold, proceeds)
        if why is None:
            return []
        self._sales.append((when, order.symbol, why))
        while self._sales and self._sales[0][0] < when - BURST_WINDOW_MS:
            self._sales.popleft()
        if len(self._sales) < BURST_SALES:
            return []
        sales = "; ".join(f"{symbol} ({why})" for _, symbol, why in self._sales)
        minutes = max(1, round((when - self._sales[0][0]) / 60_000))
        return self._once(
            "market-sell-burst",
            "holdings",
            when,
            "critical",
            f"The key sold {len(self._sales)} holdings at market within {minutes} min: {sales}",
            "turning the coins into cash is a thief's first step before buying a worthless coin with it",
            TRADING_TODO,
        )

    def _unusual_sale(self, order: _Order, sold: float, proceeds: float) -> str | None:
        base = split_symbol(order.symbol)[0]
        if order.held_before and sold >= EMPTIED_SHARE * order.held_before:
            return f"{sold / order.held_before:.0%} of the {base} held"
        usual = self.baseline.order_size.get(order.symbol)
        if usual and proceeds >= FUNDING_ORDER_FACTOR * usual:
            return f"{proceeds:,.0f}, {proceeds / usual:.0f}x its usual order"
        if order.symbol not in self.baseline.symbols:
            return "a symbol it never traded"
        return None

    # --- the market ----------------------------------------------------------------------------------
    def _market(self, symbol: str, when: int) -> SymbolMarket | None:
        market = self.markets.get(symbol)
        if market is None:
            market = self._read_market(symbol, when)
        return market

    def _reference(self, symbol: str, when: int) -> Reference | None:
        market = self._market(symbol, when)
        reference = market.reference(when) if market is not None else None
        if reference is None:  # gone stale while watching: read the market again, at most once an hour
            market = self._read_market(symbol, when)
            reference = market.reference(when) if market is not None else None
        return reference

    def _read_market(self, symbol: str, when: int) -> SymbolMarket | None:
        if self.market_for is None or when - self._asked.get(symbol, -HOUR_MS) < HOUR_MS:
            return self.markets.get(symbol)
        self._asked[symbol] = when
        market = self.market_for(symbol)
        if market is not None:
            self.markets[symbol] = market
        return self.markets.get(symbol)

    # --- money out, the key and the account ----------------------------------------------------------
    def _balance_update(self, event: dict[str, Any]) -> list[Alert]:
        delta, asset = float(event["d"]), event["a"]
        when = int(event.get("E") or event.get("T") or 0)
        dropped = self._holdings({asset: self.held.get(asset, 0.0) + delta}, when)
        if delta >= 0:
            return []
        return [
            *dropped,
            *self._once(
                "money-out",
                asset,
                when,
                "critical",
                f"{-delta:g} {asset} left the spot wallet (a withdrawal or a transfer)",
                "money moved out of the account by API cannot be called back",
                MONEY_TODO,
            ),
        ]

    def _poll(self, event: dict[str, Any]) -> list[Alert]:
        when = int(event.get("time") or clock.time() * 1000)
        handlers: dict[str, Callable[[dict[str, Any], int], list[Alert]]] = {
            "withdrawal": self._withdrawal,
            "permissions_changed": self._permissions,
            "ip_whitelist_removed": self._whitelist,
            "balance_changed": self._balance_changed,
            "account_status_changed": self._account_status,
            "key_rejected": self._key_rejected,
        }
        handler = handlers.get(str(event["kind"]))
        return handler(event, when) if handler else []

    def _withdrawal(self, event: dict[str, Any], when: int) -> list[Alert]:
        row = event.get("withdrawal") or {}
        known = row.get("address") in self.known_addresses
        where = "an address this account used before" if known else "an address never used before"
        return self._once(
            "withdrawal",
            str(row.get("id") or row.get("address")),
            when,
            "warning" if known else "critical",
            f"A withdrawal of {row.get('amount')} {row.get('coin')} to {row.get('address')}, {where}",
            "a withdrawal cannot be called back once it is on the chain",
            MONEY_TODO,
        )

    def _permissions(self, event: dict[str, Any], when: int) -> list[Alert]:
        enabled, disabled = list(event.get("enabled") or []), list(event.get("disabled") or [])
        parts = [f"{name} on" for name in enabled] + [f"{name} off" for name in disabled]
        parts = parts or sorted(event.get("changes") or {})
        return self._once(
            "permissions",
            ",".join(sorted(event.get("changes") or parts)),
            when,
            "critical" if enabled else "warning",
            f"The key {self.key_label}'s permissions changed: {', '.join(parts) or 'see API Management'}",
            "only someone logged in to the account can change them"
            + ("; new powers let a thief move the money" if enabled else ""),
            LOGIN_TODO,
        )

    def _whitelist(self, event: dict[str, Any], when: int) -> list[Alert]:
        return self._once(
            "whitelist",
            "ip",
            when,
            "critical",
            f"The key {self.key_label}'s IP whitelist was removed",
            "the key now works from any computer, a thief's included",
            LOGIN_TODO,
        )

    def _account_status(self, event: dict[str, Any], when: int) -> list[Alert]:
        return self._once(
            "account-status",
            str(event.get("new")),
            when,
            "warning",
            f"The account's status changed from {event.get('old')} to {event.get('new')}",
            "Binance restricts an account it suspects, and a disabled account stops every key",
            LOGIN_TODO,
        )

    def _key_rejected(self, event: dict[str, Any], when: int) -> list[Alert]:
        return self._once(
            "key-rejected",
            "key",
            when,
            "warning",
            f"Binance now refuses the key {self.key_label} ({event.get('code')})",
            "it was deleted or its IP whitelist changed; if you did neither, someone with the login did",
            LOGIN_TODO,
        )

    def _balance_changed(self, event: dict[str, Any], when: int) -> list[Alert]:
        new = event.get("new") or {}
        return self._holdings({event["asset"]: float(new.get("free", 0)) + float(new.get("locked", 0))}, when)

    def _holdings(self, amounts: dict[str, float], when: int) -> list[Alert]:
        if not self._values and (before := self._value(when)) is not None:
            self._values.append((when, before))  # the value before the first change seen
        self.held.update(amounts)
        return self._value_drop(when)

    def _value_drop(self, when: int) -> list[Alert]:
        """The spot holdings' value (coins at their market price, where known) against its highest in the last
        hour: a theft empties it in minutes, trading at market prices leaves it where it was."""
        value = self._value(when)
        if value is None:
            return []
        self._values.append((when, value))
        while self._values and self._values[0][0] < when - HOUR_MS:
            self._values.popleft()
        peak = max(v for _, v in self._values)
        if peak <= 0 or 1 - value / peak < self.balance_drop_share:
            return []
        return self._once(
            "balance-drop",
            "spot",
            when,
            "critical",
            f"The spot holdings fell {1 - value / peak:.0%} in value within the hour, from {peak:,.0f} to "
            f"{value:,.0f} USDT",
            f"more than {self.balance_drop_share:.0%} gone this fast is more than markets move",
            MONEY_TODO,
        )

    def _value(self, when: int) -> float | None:
        total, priced = 0.0, False
        for asset, amount in self.held.items():
            price = self._price(asset, when)
            if price is not None:
                total, priced = total + amount * price, True
        return total if priced else None

    def _price(self, asset: str, when: int) -> float | None:
        if asset in USD_QUOTES:
            return 1.0
        market = self.markets.get(f"{asset}USDT")
        reference = market.reference(when) if market is not None else None
        return reference.price if reference is not None else None

    # --- one alert per thing ----------------------------------------------------------------------
    def _once(self, kind: str, subject: str, when: int, severity: str, what: str, why: str, todo: str) -> list[Alert]:
        last = self._said.get((kind, subject))
        if last is not None and when - last < REPEAT_MS:
            return []
        self._said[(kind, subject)] = when
        return [Alert(kind, severity, what, why, todo.format(key=self.key_label), when, subject)]
