"""The market price an account's trade is judged against, from the symbol's public hourly klines with the
account's own trades taken out: a kline's volume and quote volume minus the account's fills in that hour leave
the volume-weighted price of everyone else's trades, exactly.

A liquid symbol (others trade it in most hours) is judged against others' average price in the trade's own hour.
A thin one is judged against others' last price before the run of the account's trades the trade belongs to (the
kline's close where only others traded, else others' average): on a thin coin the attacker's own orders, clearing
the book just before, make the tape of the hours the account trades in. How far a fair trade may
stray from its reference — the scale — is the symbol's own hourly volatility, widened with the square root of the
hours between the trade and its reference.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from keyguard.incident.audit import AuditData

HOUR_MS = 3_600_000
MIN_SCALE = 0.002  # a spread and a little slippage: no fill is judged against a finer scale than 0.2 %
THIN_COVERAGE = 0.5  # others trade a thin symbol in fewer than half of the hours
NEAR_HOURS = 6  # a liquid symbol's reference comes from the trade's hour, else from this many hours around it
MAD_TO_SIGMA = 1.4826
CLUSTER_GAP_MS = 30 * 60_000  # the account's trades this close together are one run (a wash takes minutes)
CLUSTER_SPAN_MS = 6 * HOUR_MS


@dataclass(frozen=True)
class Reference:
    price: float
    scale: float  # one standard deviation of a fair fill against this reference, relative to the price
    how: str  # how the reference was chosen, for the report


class SymbolMarket:
    """Others' prices in one symbol, hour by hour; `reference(time)` answers for one of the account's trades."""

    def __init__(self, klines: list[list[Any]], own_trades: Iterable[dict[str, Any]], start: int, end: int) -> None:
        """`start`, `end`: the period the account's trades were read for (hours before it are left out: the
        account's share of them is unknown); a symbol listed later counts from its first kline."""
        own: dict[int, list[float]] = {}
        own_trades = list(own_trades)
        for trade in own_trades:
            row = own.setdefault(trade["time"] - trade["time"] % HOUR_MS, [0, 0.0, 0.0])
            row[0] += 1
            row[1] += float(trade["qty"])
            row[2] += float(trade["quoteQty"])
        self.own_hours = own
        self.hours: list[int] = []  # hours in which others traded
        self.prices: list[float] = []  # others' volume-weighted price in that hour
        # others' first and last price of the hour: the kline's open and close where only others traded, else
        # (the order within the hour unknown) their average
        self.first_last: list[tuple[float, float]] = []
        self.volume: dict[int, float] = {}  # every trade's base volume, per hour
        for kline in klines:
            hour, count = int(kline[0]), int(kline[8])
            if hour < start:
                continue
            self.volume[hour] = float(kline[5])
            trades, base, quote = own.get(hour, (0, 0.0, 0.0))
            if count - trades <= 0:
                continue
            volume, quote_volume = float(kline[5]), float(kline[7])
            others = volume - base
            if others <= volume * 1e-9:
                continue
            price = (quote_volume - quote) / others
            if price <= 0:
                continue
            self.hours.append(hour)
            self.prices.append(price)
            self.first_last.append((float(kline[1]), float(kline[4])) if not trades else (price, price))
        first = max(start, int(klines[0][0])) if klines else start
        self.coverage = len(self.hours) / max(1, (end - first) // HOUR_MS)
        self.thin = self.coverage < THIN_COVERAGE
        self.volatility = max(MIN_SCALE, _hourly_volatility(self.hours, self.prices))
        self.own_times, self.cluster_starts = _clusters(sorted(t["time"] for t in own_trades))

    def reference(self, time: int) -> Reference | None:
        return self._thin_reference(time) if self.thin else self._liquid_reference(time)

    def _scale(self, hours_apart: float) -> float:
        return max(MIN_SCALE, self.volatility * math.sqrt(max(1.0, hours_apart)))

    def _liquid_reference(self, time: int) -> Reference | None:
        hour = time - time % HOUR_MS
        at = bisect.bisect_left(self.hours, hour)
        if at < len(self.hours) and self.hours[at] == hour:
            return Reference(
                self.prices[at], max(self._scale(1), self._local_move(at)), "others' average price in the same hour"
            )
        near = [i for i in (at - 1, at) if 0 <= i < len(self.hours)]
        if not near:
            return None
        best = min(near, key=lambda i: abs(self.hours[i] - hour))
        apart = abs(self.hours[best] - hour) / HOUR_MS
        if apart > NEAR_HOURS:
            return None
        return Reference(self.prices[best], self._scale(apart + 1), f"others' average price {apart:.0f} h away")

    def _local_move(self, at: int) -> float:
        """How fast others' price moved around this hour (a pump, a crash): a fair fill may lag it."""
        moves = [
            abs(math.log(self.prices[i] / self.prices[i - 1]))
            for i in (at, at + 1)
            if 0 < i < len(self.hours) and self.hours[i] - self.hours[i - 1] == HOUR_MS
        ]
        return max(moves, default=0.0)

    def _thin_reference(self, time: int) -> Reference | None:
        """Others' last price before the run of the account's trades this one belongs to: on a thin coin the
        attacker's own orders (clearing the book first) make the tape of the hours in which the account trades."""
        at = bisect.bisect_right(self.own_times, time) - 1
        begins = self.cluster_starts[at] if at >= 0 and self.own_times[at] == time else time
        boundary = begins - begins % HOUR_MS
        at = bisect.bisect_left(self.hours, boundary)
        if at > 0:
            apart = (time - self.hours[at - 1] - HOUR_MS) / HOUR_MS
            return Reference(
                self.first_last[at - 1][1],
                self._scale(apart + 1),
                f"others' last price before it ({max(apart, 0):.0f} h earlier; a thinly traded coin)",
            )
        hour = time - time % HOUR_MS
        at = bisect.bisect_right(self.hours, hour)
        if at < len(self.hours):
            apart = (self.hours[at] - time) / HOUR_MS
            return Reference(
                self.first_last[at][0],
                self._scale(apart + 1),
                f"others' first price after it ({apart:.0f} h later; a thinly traded coin)",
            )
        return None


def _clusters(times: list[int]) -> tuple[list[int], list[int]]:
    """Each of the account's trades with the start of its run: trades less than CLUSTER_GAP_MS apart, a run
    reaching back at most CLUSTER_SPAN_MS."""
    starts: list[int] = []
    for i, time in enumerate(times):
        joined = i > 0 and time - times[i - 1] < CLUSTER_GAP_MS and time - starts[-1] <= CLUSTER_SPAN_MS
        starts.append(starts[-1] if joined else time)
    return times, starts


def _hourly_volatility(hours: list[int], prices: list[float]) -> float:
    """A robust hourly volatility: the median absolute log move between successive prices, per square-root
    hour, scaled to a standard deviation."""
    moves = [
        abs(math.log(prices[i] / prices[i - 1])) / math.sqrt((hours[i] - hours[i - 1]) / HOUR_MS)
        for i in range(1, len(hours))
    ]
    return MAD_TO_SIGMA * statistics.median(moves) if moves else 0.0


def markets(data: AuditData) -> dict[str, SymbolMarket]:
    """Every traded symbol's market from the audit's klines and the account's own trades."""
    trades_from = data.start if data.baseline_start is None else min(data.start, data.baseline_start)
    return {
        symbol: SymbolMarket(data.klines.get(symbol, []), trades, trades_from, data.end)
        for symbol, trades in data.trades.items()
        if trades
    }


def adverse(trade: dict[str, Any], reference: Reference) -> float:
    """How much worse than the reference the account's price was: above it for a buy, below it for a sell."""
    deviation = float(trade["price"]) / reference.price - 1
    return deviation if trade["isBuyer"] else -deviation
