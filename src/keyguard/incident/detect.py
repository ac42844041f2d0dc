"""Theft detection over an audit: trades far from the market price, an outsized share of a symbol's volume,
symbols never traded before, bursts, buy-high-then-sell-low round trips; withdrawals to new addresses and
transfers out. Every flag carries reasons a person can read, and losses are estimated per symbol."""

from __future__ import annotations

import bisect
import statistics
from dataclasses import dataclass, field
from typing import Any

from keyguard.incident.audit import AuditData
from keyguard.incident.transfers import account_transfers

HOUR_MS = 3_600_000
PRICE_DEVIATION = 0.30  # a trade 30% away from the market is not an ordinary fill
VOLUME_SHARE = 0.5
BURST_WINDOW_MS = 10 * 60_000
BURST_TRADES = 5


@dataclass
class Flag:
    kind: str  # trade | withdrawal | transfer
    ref: dict[str, Any]  # symbol and id, or the record's id
    reasons: list[str]
    time: int
    loss_usdt: float = 0.0
    market_price: float | None = None  # the reference the trade was compared with (quote units per base)
    deviation: float | None = None  # price / market_price - 1


@dataclass
class Detection:
    flags: list[Flag] = field(default_factory=list)
    loss_by_symbol: dict[str, float] = field(default_factory=dict)

    def flagged_trade_ids(self) -> set[tuple[str, int]]:
        return {(f.ref["symbol"], f.ref["id"]) for f in self.flags if f.kind == "trade"}

    def flagged_withdrawal_ids(self) -> set[str]:
        return {f.ref["id"] for f in self.flags if f.kind == "withdrawal"}


def _reference(klines: list[list[Any]], opens: list[int], time: int, skip: set[int]) -> float | None:
    """Median close of the hourly klines near the trade, leaving out every hour in which the account itself
    traded the symbol (on an illiquid coin those hours are the attack's own prices): within 6 hours, else
    2 days, else a week (illiquid coins trade rarely)."""
    own = time - time % HOUR_MS
    for hours in (6, 48, 168):
        lo, hi = bisect.bisect_left(opens, own - hours * HOUR_MS), bisect.bisect_right(opens, own + hours * HOUR_MS)
        closes = [float(k[4]) for k in klines[lo:hi] if k[0] not in skip]
        if closes:
            return statistics.median(closes)
    return None


def _burst_times(trades: list[dict[str, Any]]) -> set[int]:
    times = sorted(t["time"] for t in trades)
    in_burst = set()
    for i, start in enumerate(times):
        j = bisect.bisect_right(times, start + BURST_WINDOW_MS)
        if j - i >= BURST_TRADES:
            in_burst.update(times[i:j])
    return in_burst


def detect(data: AuditData, window_start: int) -> Detection:
    result = Detection()
    every_trade = [t for trades in data.trades.values() for t in trades]
    bursts = _burst_times([t for t in every_trade if t["time"] >= window_start])
    earlier = [s for s in data.snapshots if s.get("updateTime", 0) < window_start]
    snapshots_before = bool(earlier)
    held_before = {
        b["asset"]
        for s in earlier
        for b in s.get("data", {}).get("balances", [])
        if float(b.get("free", 0)) + float(b.get("locked", 0)) > 0
    }
    for symbol, trades in sorted(data.trades.items()):
        klines = data.klines.get(symbol, [])
        opens = [k[0] for k in klines]
        before = [t for t in trades if t["time"] < window_start]
        quote_is_usd = symbol.endswith(("USDT", "FDUSD", "USDC"))
        bought_high = False
        in_window = [t for t in trades if t["time"] >= window_start]
        own_hours = {t["time"] - t["time"] % HOUR_MS for t in in_window}
        for trade in in_window:
            reasons = []
            price, qty = float(trade["price"]), float(trade["qty"])
            reference = _reference(klines, opens, trade["time"], own_hours)
            loss = 0.0
            deviation = None
            if reference:
                deviation = price / reference - 1
                side = "bought" if trade["isBuyer"] else "sold"
                worse = deviation > PRICE_DEVIATION if trade["isBuyer"] else deviation < -PRICE_DEVIATION
                if worse:
                    reasons.append(f"{side} at {price:g}, {deviation:+.0%} against the market price {reference:g}")
                    loss = abs(price - reference) * qty if quote_is_usd else 0.0
                    bought_high = bought_high or trade["isBuyer"]
                elif bought_high and not trade["isBuyer"] and deviation < 0:
                    reasons.append("sold back below the market after buying far above it (round trip)")
            if trade["time"] in bursts:
                reasons.append(f"part of a burst: {BURST_TRADES}+ trades within {BURST_WINDOW_MS // 60_000} minutes")
            if reasons:  # context that strengthens a flag, never a flag alone (ordinary trades show it too)
                hour = trade["time"] - trade["time"] % HOUR_MS
                row = klines[bisect.bisect_left(opens, hour)] if hour in opens else None
                if row and float(row[5]) and qty / float(row[5]) > VOLUME_SHARE:
                    reasons.append(f"{qty / float(row[5]):.0%} of {symbol}'s volume in that hour")
                looked_before = data.start < window_start or (data.baseline_start or window_start) < window_start
                if not before and looked_before:  # only said when the audit looked before the window
                    reasons.append(f"{symbol} was never traded before the window")
                elif snapshots_before and _base(symbol) not in held_before:
                    reasons.append(f"{_base(symbol)} was never held in the daily snapshots before the window")
            if reasons:
                result.flags.append(
                    Flag(
                        "trade",
                        {"symbol": symbol, "id": trade["id"]},
                        reasons,
                        trade["time"],
                        loss,
                        reference,
                        deviation,
                    )
                )
                result.loss_by_symbol[symbol] = result.loss_by_symbol.get(symbol, 0.0) + loss
    known = {w["address"] for w in data.withdrawals if _withdraw_time(w) < window_start}
    known |= {d["address"] for d in data.deposits if d.get("insertTime", 0) < window_start}
    for withdrawal in data.withdrawals:
        when = _withdraw_time(withdrawal)
        if when >= window_start and withdrawal["address"] not in known:
            result.flags.append(
                Flag(
                    "withdrawal",
                    {"id": withdrawal["id"]},
                    [
                        f"{withdrawal['amount']} {withdrawal['coin']} to {withdrawal['address']}, "
                        "an address never used before the window"
                    ],
                    when,
                )
            )
    for transfer in account_transfers(data):
        if transfer.outgoing and transfer.time >= window_start:
            result.flags.append(
                Flag(
                    "transfer",
                    {"id": transfer.id},
                    [f"{transfer.amount:g} {transfer.asset} moved from {transfer.source} to {transfer.target}"],
                    transfer.time,
                )
            )
    result.flags.sort(key=lambda f: f.time)
    return result


def _base(symbol: str) -> str:
    for quote in ("USDT", "FDUSD", "USDC", "BTC", "BNB", "ETH"):
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)]
    return symbol


def _withdraw_time(withdrawal: dict[str, Any]) -> int:
    from datetime import UTC, datetime

    applied = datetime.strptime(withdrawal["applyTime"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return int(applied.timestamp() * 1000)
