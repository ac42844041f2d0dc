"""Audit collection: balances, snapshots, trades, orders, deposits, withdrawals and transfers over a window.

Weight is spent in proportion to what the account touched: symbols come from balances, snapshots,
deposits and withdrawals (not from the ~2,000 listed symbols), and trades are paged by id after finding the
first day with trades, instead of one call per symbol per day. Every answer is checkpointed to SQLite in
the case folder, so an interrupted audit resumes where it stopped.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keyguard.exchange.client import BinanceClient, ExchangeError

DAY_MS = 86_400_000
QUOTES = ("USDT", "FDUSD", "USDC", "BTC", "BNB", "ETH")
TRANSFER_TYPES = ("MAIN_UMFUTURE", "UMFUTURE_MAIN", "MAIN_FUNDING", "FUNDING_MAIN", "MAIN_MARGIN", "MARGIN_MAIN")
Progress = Callable[[str, int, int], None]


class Checkpoint:
    """Raw answers by (endpoint, parameters): a rerun reads them back instead of calling Binance again."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS answers (method TEXT, params TEXT, answer TEXT, PRIMARY KEY (method, params))"
        )
        self.hits = 0

    def get(self, method: str, params: dict[str, Any]) -> Any:
        row = self._db.execute(
            "SELECT answer FROM answers WHERE method = ? AND params = ?", (method, json.dumps(params, sort_keys=True))
        ).fetchone()
        if row is None:
            return None
        self.hits += 1
        return json.loads(row[0])

    def put(self, method: str, params: dict[str, Any], answer: Any) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO answers VALUES (?, ?, ?)",
                (method, json.dumps(params, sort_keys=True), json.dumps(answer)),
            )

    def all(self) -> list[tuple[str, dict[str, Any], Any]]:
        rows = self._db.execute("SELECT method, params, answer FROM answers ORDER BY rowid").fetchall()
        return [(m, json.loads(p), json.loads(a)) for m, p, a in rows]


@dataclass
class AuditData:
    start: int
    end: int
    balances: dict[str, float] = field(default_factory=dict)
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    wallets: dict[str, Any] = field(default_factory=dict)  # funding, futures, earn: answers as received
    trades: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    orders: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    klines: dict[str, list[list[Any]]] = field(default_factory=dict)
    deposits: list[dict[str, Any]] = field(default_factory=list)
    withdrawals: list[dict[str, Any]] = field(default_factory=list)
    transfers: list[dict[str, Any]] = field(default_factory=list)
    sub_transfers: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what this key may not read (futures without permission)
    calls: int = 0


class Auditor:
    def __init__(self, client: BinanceClient, checkpoint: Checkpoint, progress: Progress | None = None) -> None:
        self.client = client
        self.checkpoint = checkpoint
        self.progress = progress or (lambda stage, done, total: None)

    def _call(self, data: AuditData, method: str, params: dict[str, Any] | None = None, optional: bool = False) -> Any:
        params = params or {}
        saved = self.checkpoint.get(method, params)
        if saved is not None:
            return saved
        try:
            answer = self.client.call(method, dict(params))
        except ExchangeError as error:
            if optional and error.kind == "rejected":
                data.notes.append(f"{method}: not readable with this key ({error.code})")
            else:
                data.errors.append(f"{method} {params}: {error}")
            return None
        data.calls += 1
        self.checkpoint.put(method, params, answer)
        return answer

    def collect(self, start: int, end: int) -> AuditData:
        data = AuditData(start, end)
        account = self._call(data, "private_get_account") or {}
        for row in account.get("balances", []):
            total = float(row["free"]) + float(row["locked"])
            if total:
                data.balances[row["asset"]] = total
        for name, method in (
            ("wallets", "sapi_get_asset_wallet_balance"),
            ("futures", "fapiprivatev2_get_account"),
            ("earn_flexible", "sapi_get_simple_earn_flexible_position"),
            ("earn_locked", "sapi_get_simple_earn_locked_position"),
        ):
            data.wallets[name] = self._call(
                data, method, {"size": 100} if name.startswith("earn") else {}, optional=True
            )
        snapshot = self._call(data, "sapi_get_accountsnapshot", {"type": "SPOT", "limit": 30}) or {}
        data.snapshots = snapshot.get("snapshotVos", [])
        self._wallet_history(data)
        symbols = self._touched_symbols(data)
        for number, symbol in enumerate(symbols, start=1):
            self.progress("trades", number, len(symbols))
            data.trades[symbol] = self._trades(data, symbol)
            if data.trades[symbol]:
                data.klines[symbol] = self._klines(data, symbol)
                data.orders[symbol] = self._orders(data, symbol, data.trades[symbol][0]["orderId"])
        return data

    def _wallet_history(self, data: AuditData) -> None:
        history_start = data.start - 60 * DAY_MS  # addresses used before the window tell new ones apart
        for method, target in (
            ("sapi_get_capital_deposit_hisrec", data.deposits),
            ("sapi_get_capital_withdraw_history", data.withdrawals),
        ):
            for window_start in range(history_start, data.end, 89 * DAY_MS):
                window = {"startTime": window_start, "endTime": min(window_start + 89 * DAY_MS, data.end)}
                target.extend(self._call(data, method, window) or [])
        for transfer_type in TRANSFER_TYPES:
            page = self._call(
                data,
                "sapi_get_asset_transfer",
                {"type": transfer_type, "startTime": data.start, "endTime": data.end, "size": 100},
            )
            data.transfers.extend((page or {}).get("rows", []))
        subs = self._call(
            data, "sapi_get_sub_account_universaltransfer", {"startTime": data.start, "endTime": data.end}
        )
        data.sub_transfers = (subs or {}).get("result", [])

    def _touched_symbols(self, data: AuditData) -> list[str]:
        info = self._call(data, "public_get_exchangeinfo") or {}
        listed = {s["symbol"]: (s["baseAsset"], s["quoteAsset"]) for s in info.get("symbols", [])}
        assets = set(data.balances)
        for snapshot in data.snapshots:
            assets |= {b["asset"] for b in snapshot.get("data", {}).get("balances", [])}
        assets |= {d["coin"] for d in data.deposits} | {w["coin"] for w in data.withdrawals}
        return sorted(s for s, (base, quote) in listed.items() if base in assets and quote in assets | set(QUOTES))

    def _trades(self, data: AuditData, symbol: str) -> list[dict[str, Any]]:
        """Finds the first day with trades, then pages by trade id (one call per 1,000 trades)."""
        first: list[dict[str, Any]] = []
        day = data.start
        while day < data.end and not first:
            first = (
                self._call(
                    data,
                    "private_get_mytrades",
                    {"symbol": symbol, "startTime": day, "endTime": min(day + DAY_MS - 1, data.end), "limit": 1000},
                )
                or []
            )
            day += DAY_MS
        trades = list(first)
        while trades:
            page = (
                self._call(
                    data, "private_get_mytrades", {"symbol": symbol, "fromId": trades[-1]["id"] + 1, "limit": 1000}
                )
                or []
            )
            trades.extend(t for t in page if t["time"] <= data.end)
            if len(page) < 1000 or page[-1]["time"] > data.end:
                break
        return trades

    def _orders(self, data: AuditData, symbol: str, first_order: int) -> list[dict[str, Any]]:
        """Orders from the first one that traded in the window on, paged by order id."""
        orders: list[dict[str, Any]] = []
        next_id = first_order
        while True:
            page = (
                self._call(data, "private_get_allorders", {"symbol": symbol, "orderId": next_id, "limit": 1000}) or []
            )
            orders.extend(page)
            if len(page) < 1000:
                return orders
            next_id = page[-1]["orderId"] + 1

    def _klines(self, data: AuditData, symbol: str) -> list[list[Any]]:
        rows: list[list[Any]] = []
        start = data.start - DAY_MS
        while start < data.end:
            page = (
                self._call(
                    data, "public_get_klines", {"symbol": symbol, "interval": "1h", "startTime": start, "limit": 1000}
                )
                or []
            )
            rows.extend(page)
            if len(page) < 1000:
                break
            start = page[-1][0] + 1
        return rows
