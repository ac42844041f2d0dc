"""Theft detection over an audit, judged against the market and against the account's own normal.

A trade is flagged when its price is far worse than the market for its symbol (market.py: others' prices, the
symbol's own volatility) and further from the market than the account's own fills usually are, and the account's
normal (baseline.py) finds it out of character: a symbol never traded, a thinly traded coin, a client-id family
never used, a size far above its own. Bursts, round trips and a large share of the hour's volume only strengthen
a flag: a busy bot shows them every hour. Market sells that raised the money just before flagged purchases are
flagged with them. Withdrawals to addresses never used before the window and transfers out are flagged as
before. Every flag carries a score and the reasons behind it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from keyguard.incident.audit import AuditData
from keyguard.incident.baseline import Baseline, account_baseline, client_id_pattern
from keyguard.incident.holdings import Holdings
from keyguard.incident.market import Reference, SymbolMarket, adverse, markets
from keyguard.incident.symbols import split_symbol
from keyguard.incident.transfers import account_transfers

HOUR_MS = 3_600_000
USD_QUOTES = ("USDT", "FDUSD", "USDC")
DAY_MS = 86_400_000
FLAG_SCORE = 3.0
# how far worse than the market, in units of the symbol's scale, and the points it earns
PRICE_POINTS = ((6.0, 3.0), (3.0, 2.0), (2.0, 1.0))
OWN_MARGIN = 1.5  # no further from the market than 1.5x the account's own 99th percentile is its normal
SIZE_FACTOR = 5.0  # a trade this many times the account's 90th-percentile size is outsized
MIN_ORDERS_FOR_IDS = 20  # fewer orders than this say too little about the account's client ids
STRENGTHEN = 0.5
BURST_TRADES = 5
VOLUME_SHARE = 0.5
FUNDING_WINDOW_MS = 2 * HOUR_MS
FUNDING_SHARE = 0.1
EMPTIED_SHARE = 0.5  # a sale of half or more of what the account held
FUNDING_ORDER_FACTOR = 3.0  # or an order this many times the account's 90th-percentile order in that symbol


@dataclass
class Flag:
    kind: str  # trade | withdrawal | transfer
    ref: dict[str, Any]  # symbol and id, or the record's id
    reasons: list[str]
    time: int
    loss_usdt: float = 0.0
    market_price: float | None = None  # the reference the trade was compared with (quote units per base)
    deviation: float | None = None  # price / market_price - 1
    score: float = FLAG_SCORE


@dataclass
class Detection:
    flags: list[Flag] = field(default_factory=list)
    loss_by_symbol: dict[str, float] = field(default_factory=dict)
    baseline: Baseline | None = None

    def flagged_trade_ids(self) -> set[tuple[str, int]]:
        return {(f.ref["symbol"], f.ref["id"]) for f in self.flags if f.kind == "trade"}

    def flagged_withdrawal_ids(self) -> set[str]:
        return {f.ref["id"] for f in self.flags if f.kind == "withdrawal"}


@dataclass
class _Account:
    """What the account's normal says, ready to look up per trade."""

    baseline: Baseline
    window_start: int
    looked_from: int | None  # the audit read trades from here, before the window; None: it did not look
    traded_before: set[str]
    held_before: set[str] | None  # assets in the daily snapshots before the window; None: no snapshots
    orders: dict[tuple[str, int], dict[str, Any]]
    hour_counts: Counter[tuple[str, int]]

    @classmethod
    def of(cls, data: AuditData, window_start: int, baseline: Baseline) -> _Account:
        looked_from = min(data.start, data.baseline_start or data.start)
        earlier = [s for s in data.snapshots if s.get("updateTime", 0) < window_start]
        held = {
            b["asset"]
            for s in earlier
            for b in s.get("data", {}).get("balances", [])
            if float(b.get("free", 0)) + float(b.get("locked", 0)) > 0
        }
        return cls(
            baseline,
            window_start,
            looked_from if looked_from < window_start else None,
            {s for s, rows in data.trades.items() if any(t["time"] < window_start for t in rows)},
            held if earlier else None,
            {(s, o["orderId"]): o for s, rows in data.orders.items() for o in rows},
            Counter((s, t["time"] // HOUR_MS) for s, rows in data.trades.items() for t in rows),
        )


def detect(data: AuditData, window_start: int, baseline: Baseline | None = None) -> Detection:
    market = markets(data)
    if baseline is None:
        start = data.baseline_start if data.baseline_start is not None else window_start
        baseline = account_baseline(data, start, window_start - 1, market)
    account = _Account.of(data, window_start, baseline)
    result = Detection(baseline=baseline)
    for symbol, trades in sorted(data.trades.items()):
        if symbol in market:
            result.flags.extend(_judge_symbol(symbol, trades, market[symbol], account))
    result.flags.extend(_funding_sales(data, result.flags, account))
    for flag in result.flags:
        if flag.kind == "trade":
            result.loss_by_symbol[flag.ref["symbol"]] = result.loss_by_symbol.get(flag.ref["symbol"], 0.0) + (
                flag.loss_usdt
            )
    result.flags.extend(_wallet_flags(data, window_start))
    result.flags.sort(key=lambda f: f.time)
    return result


def _judge_symbol(symbol: str, trades: list[dict[str, Any]], market: SymbolMarket, account: _Account) -> list[Flag]:
    flags = []
    bought_high = False
    for trade in trades:
        if trade["time"] < account.window_start:
            continue
        reference = market.reference(trade["time"])
        if reference is None:
            continue
        points, price_reason = _price_evidence(trade, reference, account.baseline.fills.get(symbol))
        if not points:
            continue
        evidence = [(points, price_reason), *_character(symbol, trade, market, account)]
        evidence += _strengtheners(symbol, trade, market, bought_high, account)
        score = sum(p for p, _ in evidence)
        bought_high = bought_high or bool(trade["isBuyer"])
        if score < FLAG_SCORE:
            continue
        price, qty = float(trade["price"]), float(trade["qty"])
        loss = max(0.0, adverse(trade, reference)) * reference.price * qty if symbol.endswith(USD_QUOTES) else 0.0
        flags.append(
            Flag(
                "trade",
                {"symbol": symbol, "id": trade["id"]},
                [reason for _, reason in evidence],
                trade["time"],
                loss,
                reference.price,
                price / reference.price - 1,
                round(score, 1),
            )
        )
    return flags


def _price_evidence(trade: dict[str, Any], reference: Reference, normal: dict[str, float] | None) -> tuple[float, str]:
    worse = adverse(trade, reference)
    scale = worse / reference.scale
    if normal is not None and scale <= OWN_MARGIN * max(normal["adverse_z_p99"], 1.0):
        return 0.0, ""
    points = next((p for limit, p in PRICE_POINTS if scale >= limit), 0.0)
    if not points:
        return 0.0, ""
    price = float(trade["price"])
    side = "bought" if trade["isBuyer"] else "sold"
    return points, (
        f"{side} at {price:g}, {price / reference.price - 1:+.0%} against the market price {reference.price:.6g} "
        f"({scale:.0f}x the symbol's usual deviation; market: {reference.how})"
    )


def _character(symbol: str, trade: dict[str, Any], market: SymbolMarket, account: _Account) -> list[tuple[float, str]]:
    """Evidence that the trade is not what this account does."""
    out: list[tuple[float, str]] = []
    baseline = account.baseline
    base = split_symbol(symbol)[0]
    new_symbol = False
    if account.looked_from is not None and symbol not in account.traded_before:
        since = _day(account.looked_from)
        out.append((1.0, f"{symbol} was never traded before the window (the audit read from {since})"))
        new_symbol = True
    elif account.looked_from is None and account.held_before is not None and base not in account.held_before:
        out.append((1.0, f"{base} was never held in the daily snapshots before the window"))
        new_symbol = True
    if new_symbol and market.thin:
        out.append((1.0, f"{symbol} is thinly traded: others traded it in {market.coverage:.0%} of the hours"))
    order = account.orders.get((symbol, trade["orderId"]))
    known_ids = sum(baseline.client_ids.values())
    if order is not None and known_ids >= MIN_ORDERS_FOR_IDS:
        pattern = client_id_pattern(order.get("clientOrderId", ""))
        if pattern not in baseline.client_ids:
            usual = max(baseline.client_ids, key=lambda k: baseline.client_ids[k])
            out.append((1.0, f"client id of a kind this account never used: {pattern} (it uses {usual})"))
    size = float(trade["quoteQty"])
    usual_size = baseline.quote_size.get("p90")
    if usual_size and size >= SIZE_FACTOR * usual_size:
        out.append((1.0, f"{size:,.0f} in one trade, {size / usual_size:.0f}x the account's usual size"))
    return out


def _strengtheners(
    symbol: str, trade: dict[str, Any], market: SymbolMarket, bought_high: bool, account: _Account
) -> list[tuple[float, str]]:
    """Context that strengthens a flag and is never one alone: busy bots show it every hour."""
    out: list[tuple[float, str]] = []
    hour = trade["time"] // HOUR_MS
    count = account.hour_counts[(symbol, hour)]
    busiest = account.baseline.busiest_hour.get(symbol, 0)
    if count >= BURST_TRADES and count > busiest:
        said = f"{count} trades of {symbol} in that hour (the account's busiest hour before: {busiest})"
        out.append((STRENGTHEN, said))
    baseline = account.baseline
    hour_of_day = hour % 24
    if baseline.trades >= MIN_ORDERS_FOR_IDS and not baseline.hours_of_day[hour_of_day]:
        out.append((STRENGTHEN, f"at {hour_of_day:02d}:00 UTC, an hour of the day this account never traded in"))
    if bought_high and not trade["isBuyer"]:
        out.append((STRENGTHEN, "sold back below the market after buying far above it (round trip)"))
    volume = market.volume.get(hour * HOUR_MS)
    if volume and float(trade["qty"]) / volume > VOLUME_SHARE:
        out.append((STRENGTHEN, f"{float(trade['qty']) / volume:.0%} of {symbol}'s volume in that hour"))
    return out


def _funding_sales(data: AuditData, flags: list[Flag], account: _Account) -> list[Flag]:
    """Market sells of other coins in the two hours before flagged purchases that together paid for a good part of
    them: the attacker's first step is to turn the victim's coins into the quote asset. Only orders that sold half
    or more of what the account held, or were far larger than its usual orders in that symbol, count (any size
    in a symbol it never traded before)."""
    if not flags:
        return []  # nothing was bought far above the market: no index of every trade needed
    bought: dict[str, tuple[int, float]] = {}
    trades = {(s, t["id"]): t for s, rows in data.trades.items() for t in rows}
    for flag in flags:
        trade = trades[(flag.ref["symbol"], flag.ref["id"])]
        if trade["isBuyer"]:
            first, total = bought.get(flag.ref["symbol"], (flag.time, 0.0))
            bought[flag.ref["symbol"]] = (min(first, flag.time), total + float(trade["quoteQty"]))
    flagged = {(f.ref["symbol"], f.ref["id"]) for f in flags}
    holdings = Holdings(data) if bought else None
    out = []
    for target, (first, total) in bought.items():
        sales: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for symbol, rows in data.trades.items():
            for trade in rows:
                if (
                    symbol != target
                    and first - FUNDING_WINDOW_MS <= trade["time"] < first
                    and not trade["isBuyer"]
                    and not trade["isMaker"]
                    and (symbol, trade["id"]) not in flagged
                ):
                    sales.setdefault((symbol, trade["orderId"]), []).append(trade)
        large = {
            (symbol, order): fills
            for (symbol, order), fills in sales.items()
            if symbol not in account.baseline.symbols or _unusual_sale(holdings, account.baseline, symbol, fills)
        }
        raised = sum(float(t["quoteQty"]) for fills in large.values() for t in fills)
        if raised < FUNDING_SHARE * total:
            continue
        for (symbol, _), fills in large.items():
            proceeds = sum(float(t["quoteQty"]) for t in fills)
            minutes = (first - fills[0]["time"]) // 60_000
            reason = (
                f"sold {symbol} at market for {proceeds:,.0f}, {minutes} min before the account bought {target} far "
                f"above the market (these sales raised {raised:,.0f} of the {total:,.0f} spent on it)"
            )
            out += [Flag("trade", {"symbol": symbol, "id": t["id"]}, [reason], t["time"]) for t in fills]
            flagged |= {(symbol, t["id"]) for t in fills}
    return out


def _unusual_sale(holdings: Holdings | None, baseline: Baseline, symbol: str, fills: list[dict[str, Any]]) -> bool:
    """Half or more of what the account held, or an order far larger than its usual ones in that symbol."""
    sold = sum(float(t["qty"]) for t in fills)
    held = holdings.before(split_symbol(symbol)[0], fills[0]["time"]) if holdings else 0.0
    proceeds = sum(float(t["quoteQty"]) for t in fills)
    usual = baseline.order_size.get(symbol)
    return (held > 0 and sold >= EMPTIED_SHARE * held) or bool(usual and proceeds >= FUNDING_ORDER_FACTOR * usual)


def _wallet_flags(data: AuditData, window_start: int) -> list[Flag]:
    out = []
    known = {w["address"] for w in data.withdrawals if _withdraw_time(w) < window_start}
    known |= {d["address"] for d in data.deposits if d.get("insertTime", 0) < window_start}
    whitelisted = {e["address"] for e in data.address_book if e.get("whiteStatus")}
    saved = {e["address"] for e in data.address_book} - whitelisted
    for withdrawal in data.withdrawals:
        when = _withdraw_time(withdrawal)
        address = withdrawal["address"]
        if when >= window_start and address not in known and address not in whitelisted:
            amount = f"{withdrawal['amount']} {withdrawal['coin']}"
            reason = f"{amount} to {address}, an address never used before the window"
            if address in saved:
                reason += " (saved in the address book, not whitelisted: an API withdrawal with a name saves it)"
            elif data.address_book:
                reason += " and not in the address book"
            out.append(Flag("withdrawal", {"id": withdrawal["id"]}, [reason], when))
    for transfer in account_transfers(data):
        if transfer.outgoing and transfer.time >= window_start:
            out.append(
                Flag(
                    "transfer",
                    {"id": transfer.id},
                    [f"{transfer.amount:g} {transfer.asset} moved from {transfer.source} to {transfer.target}"],
                    transfer.time,
                )
            )
    return out


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def _withdraw_time(withdrawal: dict[str, Any]) -> int:
    applied = datetime.strptime(withdrawal["applyTime"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return int(applied.timestamp() * 1000)
