"""Audit collection: balances, snapshots, trades, orders, deposits, withdrawals and transfers over a window.

Every request follows Binance's documented window and paging rules (audit_rules.py) and its parameters are
a pure function of (start, end) and earlier answers, never of the current time. Every answer, and every
definite refusal, is checkpointed to SQLite in the case folder: a rerun over the same window reads them back
and makes no call for them. Without a client the audit works from the checkpoint alone and lists what it
would have read (`AuditData.missing`). A refused call makes the auditor ask whether the key itself is dead:
then `collect` stops with `KeyRejected` instead of collecting dozens of errors.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keyguard.exchange.client import BinanceClient, ExchangeError
from keyguard.incident import audit_market, audit_wallet
from keyguard.incident.audit_rules import DAY_MS

__all__ = ["DAY_MS", "AuditData", "Auditor", "Checkpoint", "KeyRejected", "Progress"]

Progress = Callable[[str, int, int], None]
_ABSENT = object()


COVERAGE = (
    "coverage: trades were read on the {symbols} symbols of coins the account holds, held at a daily snapshot, or "
    "moved in or out; Binance has no trade history across all symbols, so a coin bought and sold entirely since "
    "the last daily snapshot (up to a day) leaves nothing the audit can ask for"
)
BAD_SIGNATURE = -1022  # the secret does not match the key: about the person's input, not about the request


class KeyRejected(Exception):
    """Binance refuses the key itself (deleted, disabled, or not allowed from this IP): the audit cannot go on."""

    def __init__(self, code: int | None) -> None:
        super().__init__(f"Binance refuses this key from this machine ({code}): the audit cannot go on with it")
        self.code = code


class Checkpoint:
    """Raw answers by (endpoint, parameters): a rerun reads them back instead of calling Binance again.

    Definite refusals (a permission Binance denied, an error it answered) are kept apart, per key: a rerun
    with the same key repeats the note instead of the call, another key tries again, and an offline run
    repeats any key's refusal. Timeouts and rate limits are not kept. Usable from any thread."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False)
        with self._lock, self._db:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS answers (method TEXT, params TEXT, answer TEXT, "
                "PRIMARY KEY (method, params))"
            )
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS refusals (method TEXT, params TEXT, key TEXT, kind TEXT, text TEXT, "
                "PRIMARY KEY (method, params, key))"
            )
        self.hits = 0

    @staticmethod
    def _key(params: dict[str, Any]) -> str:
        return json.dumps(params, sort_keys=True)

    def lookup(self, method: str, params: dict[str, Any]) -> Any:
        """The stored answer, or `_ABSENT`."""
        with self._lock:
            row = self._db.execute(
                "SELECT answer FROM answers WHERE method = ? AND params = ?", (method, self._key(params))
            ).fetchone()
            if row is None:
                return _ABSENT
            self.hits += 1
        return json.loads(row[0])

    def get(self, method: str, params: dict[str, Any]) -> Any:
        answer = self.lookup(method, params)
        return None if answer is _ABSENT else answer

    def put(self, method: str, params: dict[str, Any], answer: Any) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO answers VALUES (?, ?, ?)", (method, self._key(params), json.dumps(answer))
            )

    def refusal(self, method: str, params: dict[str, Any], key: str | None) -> tuple[str, str] | None:
        """(kind, text) of a refusal stored for this key (None: for any key); kind `note` or `error`."""
        query = "SELECT kind, text FROM refusals WHERE method = ? AND params = ?"
        args: tuple[str, ...] = (method, self._key(params))
        if key is not None:
            query, args = query + " AND key = ?", (*args, key)
        with self._lock:
            row = self._db.execute(query + " ORDER BY rowid LIMIT 1", args).fetchone()
        return (row[0], row[1]) if row else None

    def refuse(self, method: str, params: dict[str, Any], key: str, kind: str, text: str) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO refusals VALUES (?, ?, ?, ?, ?)", (method, self._key(params), key, kind, text)
            )

    def all(self) -> list[tuple[str, dict[str, Any], Any]]:
        with self._lock:
            rows = self._db.execute("SELECT method, params, answer FROM answers ORDER BY rowid").fetchall()
        return [(m, json.loads(p), json.loads(a)) for m, p, a in rows]

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()


@dataclass
class AuditData:
    start: int
    end: int
    baseline_start: int | None = None  # trades are also read from here: the account's normal before the window
    balances: dict[str, float] = field(default_factory=dict)
    snapshots: list[dict[str, Any]] = field(default_factory=list)  # daily SPOT snapshots (snapshotVos)
    wallets: dict[str, Any] = field(default_factory=dict)  # funding, futures, earn, other snapshots: as received
    trades: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    orders: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    klines: dict[str, list[list[Any]]] = field(default_factory=dict)  # traded symbols and {ASSET}USDT valuation
    deposits: list[dict[str, Any]] = field(default_factory=list)
    withdrawals: list[dict[str, Any]] = field(default_factory=list)
    address_book: list[dict[str, Any]] = field(default_factory=list)  # saved withdrawal addresses, whiteStatus
    transfers: list[dict[str, Any]] = field(default_factory=list)  # /sapi/v1/asset/transfer rows, every type
    sub_transfers: list[dict[str, Any]] = field(default_factory=list)  # master key: universalTransfer rows
    sub_user_transfers: list[dict[str, Any]] = field(default_factory=list)  # sub-account key: subUserHistory rows
    sub_account_emails: list[str] = field(default_factory=list)  # a master key: its sub-accounts
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what this key may not read (futures without permission)
    missing: list[str] = field(default_factory=list)  # offline: what the audit would have read
    calls: int = 0  # requests sent to Binance in this run

    @property
    def complete(self) -> bool:
        return not self.missing and not self.errors


class Auditor:
    def __init__(
        self,
        client: BinanceClient | None,
        checkpoint: Checkpoint,
        progress: Progress | None = None,
        public: BinanceClient | None = None,
    ) -> None:
        """`public`: a client for Binance's public market data (prices need no key), used when `client` is
        None — so what left the account can still be valued after the key is gone."""
        self.client = client
        self.public = public
        self.checkpoint = checkpoint
        self.progress = progress or (lambda stage, done, total: None)
        self.data = AuditData(0, 0)

    def collect(self, start: int, end: int, baseline_start: int | None = None) -> AuditData:
        """Reads what shows theft first (balances, snapshots, withdrawals, sub-account transfers, trades), so a
        key that dies midway leaves the most telling answers captured; then the other wallets and transfers."""
        data = self.data = AuditData(start, end, baseline_start)
        account = self.read("private_get_account", {}, "spot balances") or {}
        for row in account.get("balances", []):
            total = float(row["free"]) + float(row["locked"])
            if total:
                data.balances[row["asset"]] = total
        audit_wallet.snapshots(self, "SPOT")
        audit_wallet.deposits_and_withdrawals(self)
        audit_wallet.address_book(self)
        audit_wallet.sub_account_transfers(self)
        listed = audit_market.listed(self)
        self._trading(listed)
        for name, method, what in (
            ("wallets", "sapi_get_asset_wallet_balance", "wallet balances"),
            ("futures", "fapiprivatev2_get_account", "USD-M futures account"),
            ("earn_flexible", "sapi_get_simple_earn_flexible_position", "Simple Earn flexible positions"),
            ("earn_locked", "sapi_get_simple_earn_locked_position", "Simple Earn locked positions"),
        ):
            params = {"size": 100} if name.startswith("earn") else {}
            data.wallets[name] = self.read(method, params, what, optional=True)
        if data.wallets["futures"] is not None:
            audit_wallet.snapshots(self, "FUTURES")
        audit_wallet.asset_transfers(self)
        self._trading(listed)  # symbols whose coins only moved between wallets
        audit_market.valuation(self, listed)
        data.notes.append(COVERAGE.format(symbols=len(data.trades)))
        return data

    def _trading(self, listed: dict[str, tuple[str, str]]) -> None:
        data = self.data
        symbols = [s for s in audit_market.touched_symbols(data, listed) if s not in data.trades]
        for number, symbol in enumerate(symbols, start=1):
            self.progress("trades", number, len(symbols))
            data.trades[symbol] = audit_market.trades(self, symbol)
            if data.trades[symbol]:
                data.klines[symbol] = audit_market.klines(self, symbol)
                data.orders[symbol] = audit_market.orders_read(self, symbol, data.trades[symbol])

    # --- the one way to an answer -----------------------------------------------------------------
    def read(self, method: str, params: dict[str, Any], what: str, optional: bool = False) -> Any:
        """The answer from the checkpoint, else from Binance (then kept); None when there is none.

        `what` says in words what the call reads: it names a missing answer offline and a refusal."""
        answer = self.checkpoint.lookup(method, params)
        if answer is not _ABSENT:
            return answer
        key = self.client.credential.fingerprint if self.client else None
        stored = self.checkpoint.refusal(method, params, key)
        if stored:
            (self.data.notes if stored[0] == "note" else self.data.errors).append(stored[1])
            return None
        if self.client is None and not (self.public is not None and method.startswith("public_")):
            self.data.missing.append(what)
            return None
        self.data.calls += 1
        try:
            answer = (self.client or self.public).call(method, dict(params))  # type: ignore[union-attr]
        except ExchangeError as error:
            if self.client is None:
                self.data.missing.append(f"{what} (public market data: {error})")
            else:
                self._refused(method, params, what, error, optional)
            return None
        self.checkpoint.put(method, params, answer)
        return answer

    def _refused(self, method: str, params: dict[str, Any], what: str, error: ExchangeError, optional: bool) -> None:
        if error.kind == "rejected":
            if not self._key_alive():
                self.data.errors.append(f"{what}: {error}")
                return
            kind, text = "note", f"{what}: not readable with this key ({error.code})"
        elif error.kind == "error" and error.code != BAD_SIGNATURE:
            kind, text = ("note" if optional else "error"), f"{what}: {error}"
        else:  # timeouts, rate limits, clock, a wrong secret: a later run may get the answer, so nothing is kept
            self.data.errors.append(f"{what} ({method} {params}): {error}")
            return
        assert self.client is not None
        self.checkpoint.refuse(method, params, self.client.credential.fingerprint, kind, text)
        (self.data.notes if kind == "note" else self.data.errors).append(text)

    def _key_alive(self) -> bool:
        """After a refusal: True when the key still works (the refusal was a permission), False when unknown.

        Raises KeyRejected when Binance refuses the key itself."""
        assert self.client is not None
        self.data.calls += 1
        try:
            self.client.api_restrictions()
        except ExchangeError as error:
            if error.kind == "rejected":
                raise KeyRejected(error.code) from None
            return False
        return True
