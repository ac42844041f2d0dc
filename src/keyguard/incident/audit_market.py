"""Trading history for the audit: the symbols the account touched, their trades, orders and hourly klines,
and the hourly {ASSET}USDT klines that value withdrawals, transfers and non-USD quotes at their time.

Weight is spent in proportion to what the account touched: symbols come from balances, snapshots and wallet
history (not from the ~2,000 listed symbols). Trades: the first 24-hour window with trades is found, then
trades are paged by id (one call per 1,000 trades) instead of one call per symbol per day.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from keyguard.incident.audit_rules import (
    DAY_MS,
    KLINES_LIMIT,
    ORDERS_LIMIT,
    TRADES_LIMIT,
    TRADES_SPAN_MS,
    USD_STABLECOINS,
    days,
    windows,
)

if TYPE_CHECKING:
    from keyguard.incident.audit import AuditData, Auditor

QUOTES = ("USDT", "FDUSD", "USDC", "BTC", "BNB", "ETH")
BASELINE_ORDER_PAGES = 3
KLINES_BEFORE_MS = DAY_MS  # the market before the window, for reference prices at its start


def listed(auditor: Auditor) -> dict[str, tuple[str, str]]:
    info = auditor.read("public_get_exchangeinfo", {}, "listed symbols") or {}
    return {s["symbol"]: (s["baseAsset"], s["quoteAsset"]) for s in info.get("symbols", [])}


def touched_symbols(data: AuditData, symbols: dict[str, tuple[str, str]]) -> list[str]:
    assets = set(data.balances)
    for snapshot in data.snapshots:
        assets |= {b["asset"] for b in snapshot.get("data", {}).get("balances", [])}
    assets |= {d["coin"] for d in data.deposits} | {w["coin"] for w in data.withdrawals}
    assets |= {t["asset"] for t in data.transfers + data.sub_transfers + data.sub_user_transfers}
    return sorted(s for s, (base, quote) in symbols.items() if base in assets and quote in assets | set(QUOTES))


def trades(auditor: Auditor, symbol: str) -> list[dict[str, Any]]:
    """The first 24-hour window with trades ([a, a + 24 h - 1], none overlapping), then pages by trade id."""
    data = auditor.data
    found: dict[int, dict[str, Any]] = {}
    first = data.start if data.baseline_start is None else data.baseline_start
    for lo, hi in windows(first, data.end, TRADES_SPAN_MS):
        page = auditor.read(
            "private_get_mytrades",
            {"symbol": symbol, "startTime": lo, "endTime": hi, "limit": TRADES_LIMIT},
            f"trades on {symbol} {days(lo, hi)}",
        )
        if page is None:
            return []
        if page:
            found.update((t["id"], t) for t in page)
            break
    while found:
        next_id = max(found) + 1
        page = auditor.read(
            "private_get_mytrades",
            {"symbol": symbol, "fromId": next_id, "limit": TRADES_LIMIT},
            f"trades on {symbol} from trade id {next_id}",
        )
        if page is None:
            break
        found.update((t["id"], t) for t in page if first <= t["time"] <= data.end)
        if len(page) < TRADES_LIMIT or page[-1]["time"] > data.end:
            break
    return [found[i] for i in sorted(found)]


def orders_read(auditor: Auditor, symbol: str, trades: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every order from the first one that traded in the window on; before the window (the baseline period) a
    sample of BASELINE_ORDER_PAGES pages from its first traded order — enough to learn the account's client-id
    families and order types, at a bounded cost on a market maker that places and cancels thousands a day."""
    window = next((t["orderId"] for t in trades if t["time"] >= auditor.data.start), None)
    found: dict[int, dict[str, Any]] = {}
    if trades[0]["orderId"] != window:
        before = orders(auditor, symbol, trades[0]["orderId"], BASELINE_ORDER_PAGES)
        found.update((o["orderId"], o) for o in before if window is None or o["orderId"] < window)
    if window is not None:
        found.update((o["orderId"], o) for o in orders(auditor, symbol, window))
    return [found[i] for i in sorted(found)]


def orders(auditor: Auditor, symbol: str, first_order: int, pages: int | None = None) -> list[dict[str, Any]]:
    """Orders from `first_order` on, paged by order id (at most `pages` pages)."""
    found: dict[int, dict[str, Any]] = {}
    next_id = first_order
    while pages is None or pages > 0:
        pages = None if pages is None else pages - 1
        page = auditor.read(
            "private_get_allorders",
            {"symbol": symbol, "orderId": next_id, "limit": ORDERS_LIMIT},
            f"orders on {symbol} from order id {next_id}",
        )
        if page is None:
            break
        found.update((o["orderId"], o) for o in page)
        if len(page) < ORDERS_LIMIT:
            break
        next_id = page[-1]["orderId"] + 1
    return [found[i] for i in sorted(found)]


def klines(auditor: Auditor, symbol: str) -> list[list[Any]]:
    """Hourly klines from a day before the window (before the baseline period, when the audit reads one) to its
    end: the market every trade read is judged against."""
    data = auditor.data
    found: dict[int, list[Any]] = {}
    start = klines_start(data)
    while start <= data.end:
        page = auditor.read(
            "public_get_klines",
            {"symbol": symbol, "interval": "1h", "startTime": start, "endTime": data.end, "limit": KLINES_LIMIT},
            f"hourly prices of {symbol} {days(start, data.end)}",
        )
        if not page:
            break
        found.update((row[0], row) for row in page)
        if len(page) < KLINES_LIMIT:
            break
        start = page[-1][0] + 1
    return [found[t] for t in sorted(found)]


def klines_start(data: AuditData) -> int:
    return (data.start if data.baseline_start is None else data.baseline_start) - KLINES_BEFORE_MS


def _withdraw_time(withdrawal: dict[str, Any]) -> int:
    applied = datetime.strptime(withdrawal["applyTime"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return int(applied.timestamp() * 1000)


def valuation(auditor: Auditor, symbols: dict[str, tuple[str, str]]) -> None:
    """{ASSET}USDT hourly klines for every asset withdrawn or moved between accounts in the window, and every
    non-USD quote asset of a traded symbol; a symbol already fetched is not fetched again."""
    data = auditor.data
    assets = {w["coin"] for w in data.withdrawals if data.start <= _withdraw_time(w) <= data.end}
    assets |= {t["asset"] for t in data.sub_transfers if data.start <= t["createTimeStamp"] <= data.end}
    assets |= {t["asset"] for t in data.sub_user_transfers if data.start <= t["time"] <= data.end}
    assets |= {symbols[s][1] for s, rows in data.trades.items() if rows and s in symbols}
    wanted = sorted(
        f"{a}USDT" for a in assets - USD_STABLECOINS if f"{a}USDT" in symbols and f"{a}USDT" not in data.klines
    )
    for number, symbol in enumerate(wanted, start=1):
        auditor.progress("prices", number, len(wanted))
        data.klines[symbol] = klines(auditor, symbol)
