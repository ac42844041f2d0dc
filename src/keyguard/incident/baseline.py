"""What is normal for this account: its own trading before the audit window — symbols, order types, trades per
hour and how they vary, hours of day, maker share, order sizes and client-id patterns — so that detection can
judge a trade against the account as well as against the market, and the report can say "normally: …".

Client-id patterns are the shapes bots and Binance's own apps give `clientOrderId` (sources in
keyguard/sandbox/bots.py): ccxt `x-TKT5PX2F…` (older releases `x-R4BD3S82…`), Hummingbot `x-MG43PCSN…`,
Binance's website and apps `web_…`, `and_…`, `ios_…`, and 22 letters and digits when the client sent none.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from keyguard.incident.audit import AuditData
from keyguard.incident.market import SymbolMarket, adverse, markets

HOUR_MS = 3_600_000
CLIENT_ID_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ccxt (x-TKT5PX2F…)", re.compile(r"x-TKT5PX2F")),
    ("ccxt, older (x-R4BD3S82…)", re.compile(r"x-R4BD3S82")),
    ("Hummingbot (x-MG43PCSN…)", re.compile(r"x-MG43PCSN")),
    ("Binance website (web_…)", re.compile(r"web_")),
    ("Binance Android app (and_…)", re.compile(r"and_")),
    ("Binance iOS app (ios_…)", re.compile(r"ios_")),
    ("none sent (22 random characters)", re.compile(r"[A-Za-z0-9]{22}$")),
)
OTHER_BROKER = re.compile(r"(x-[A-Za-z0-9]{8})")


def client_id_pattern(client_order_id: str) -> str:
    """The family a clientOrderId belongs to; another broker's `x-XXXXXXXX` prefix by itself; else `other`."""
    for name, pattern in CLIENT_ID_PATTERNS:
        if pattern.match(client_order_id):
            return name
    broker = OTHER_BROKER.match(client_order_id)
    return f"broker {broker.group(1)}…" if broker else "other"


@dataclass
class Baseline:
    start: int
    end: int
    trades: int = 0
    symbols: dict[str, int] = field(default_factory=dict)  # trades per symbol
    trades_per_hour: dict[str, float] = field(default_factory=dict)  # p10, p50, p90, max over the period's hours
    hours_of_day: list[int] = field(default_factory=lambda: [0] * 24)  # trades by UTC hour
    maker_share: float | None = None
    order_types: dict[str, int] = field(default_factory=dict)
    client_ids: dict[str, int] = field(default_factory=dict)  # orders by client-id pattern
    quote_size: dict[str, float] = field(default_factory=dict)  # p50, p90 of a trade's quote amount
    busiest_hour: dict[str, int] = field(default_factory=dict)  # the most trades in one hour, per symbol
    order_size: dict[str, float] = field(default_factory=dict)  # p90 of an order's quote amount, per symbol
    # per symbol: median |price / market - 1| of its fills, and the 99th percentile of how far worse than the
    # market they were, in units of the symbol's own scale (see market.py)
    fills: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """One line a person can read: 'normally: 34–283 trades an hour on SOLUSDT/ADAUSDT, …'."""
        if not self.trades:
            return "no trades before the window: nothing to compare with"
        symbols = "/".join(name for name, _ in Counter(self.symbols).most_common(3))
        rate = self.trades_per_hour
        orders = ", ".join(f"{kind.lower()}" for kind, _ in Counter(self.order_types).most_common(2))
        ids = ", ".join(name for name, _ in Counter(self.client_ids).most_common(2))
        parts = [f"normally: {rate['p10']:.0f}–{rate['p90']:.0f} trades an hour on {symbols}"]
        if orders:
            parts.append(f"{orders} orders")
        if self.maker_share is not None:
            parts.append(f"{self.maker_share:.0%} as maker")
        spread = [f["median_deviation"] for f in self.fills.values()]
        if spread:
            parts.append(f"fills typically within {statistics.median(spread):.2%} of the market")
        if ids:
            parts.append(f"client ids: {ids}")
        return ", ".join(parts)


def account_baseline(data: AuditData, start: int, end: int, market: dict[str, SymbolMarket] | None = None) -> Baseline:
    """The account's trading in [start, end] (the period before the audit window), from the audit's trades and
    orders; trades outside that period are left out."""
    result = Baseline(start, end)
    market = markets(data) if market is None else market
    trades = [(symbol, t) for symbol, rows in data.trades.items() for t in rows if start <= t["time"] <= end]
    result.trades = len(trades)
    if not trades:
        return result
    result.symbols = dict(Counter(symbol for symbol, _ in trades))
    first = min(t["time"] for _, t in trades)  # an account that began trading later is measured from then
    per_hour = Counter((t["time"] - first) // HOUR_MS for _, t in trades)
    hours = max(1, -(-(end - first) // HOUR_MS))
    rates = sorted(per_hour.get(hour, 0) for hour in range(hours))
    result.trades_per_hour = {
        "p10": _quantile(rates, 0.10),
        "p50": _quantile(rates, 0.50),
        "p90": _quantile(rates, 0.90),
        "max": float(rates[-1]),
    }
    for _, t in trades:
        result.hours_of_day[(t["time"] // HOUR_MS) % 24] += 1
    result.maker_share = sum(1 for _, t in trades if t.get("isMaker")) / len(trades)
    sizes = sorted(float(t["quoteQty"]) for _, t in trades)
    result.quote_size = {"p50": _quantile(sizes, 0.5), "p90": _quantile(sizes, 0.9)}
    busiest = Counter((symbol, t["time"] // HOUR_MS) for symbol, t in trades)
    for (symbol, _), count in busiest.items():
        result.busiest_hour[symbol] = max(result.busiest_hour.get(symbol, 0), count)
    result.fills = _fills(trades, market)
    per_order: dict[tuple[str, int], float] = {}
    for symbol, t in trades:
        per_order[(symbol, t["orderId"])] = per_order.get((symbol, t["orderId"]), 0.0) + float(t["quoteQty"])
    for symbol in result.symbols:
        sizes = sorted(v for (s, _), v in per_order.items() if s == symbol)
        result.order_size[symbol] = round(_quantile(sizes, 0.9), 2)
    traded_orders = {(symbol, t["orderId"]) for symbol, t in trades}
    orders = [o for symbol, rows in data.orders.items() for o in rows if (symbol, o["orderId"]) in traded_orders]
    result.order_types = dict(Counter(o["type"] for o in orders))
    result.client_ids = dict(Counter(client_id_pattern(o.get("clientOrderId", "")) for o in orders))
    return result


def _fills(trades: list[tuple[str, dict[str, Any]]], market: dict[str, SymbolMarket]) -> dict[str, dict[str, float]]:
    by_symbol: dict[str, tuple[list[float], list[float]]] = {}
    for symbol, trade in trades:
        reference = market[symbol].reference(trade["time"]) if symbol in market else None
        if reference is None:
            continue
        deviations, scores = by_symbol.setdefault(symbol, ([], []))
        deviations.append(abs(float(trade["price"]) / reference.price - 1))
        scores.append(adverse(trade, reference) / reference.scale)
    return {
        symbol: {
            "median_deviation": round(statistics.median(deviations), 6),
            "adverse_z_p99": round(_quantile(sorted(scores), 0.99), 2),
        }
        for symbol, (deviations, scores) in sorted(by_symbol.items())
    }


def _quantile(values: list[float] | list[int], share: float) -> float:
    if len(values) == 1:
        return float(values[0])
    return round(statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1], 2)
