"""Periodic polls of what the user data stream does not say: the key's permissions and IP restriction, the
account's status, balances, deposits, withdrawals and open orders. Each change is an event, a dict with a
`kind` and `time` (ms), `source: "poll"`.

Weight budget at the default intervals (binance-api.md §1.5 and §2; limits per minute):

  check             endpoint                                     weight        every   per minute
  api_restrictions  GET /sapi/v1/account/apiRestrictions          1 (sapi IP)   10 s    6
  account_status    GET /sapi/v1/account/status                   1 (sapi IP)   30 s    2
  balances          GET /api/v3/account                          20 (api IP)    30 s    40
  open_orders       GET /api/v3/openOrders (all symbols)         80 (api IP)    30 s    160
  deposits          GET /sapi/v1/capital/deposit/hisrec           1 (sapi IP)   60 s    1
  withdrawals       GET /sapi/v1/capital/withdraw/history     18,000 (sapi UID) 60 s    18,000

  /api  200 of 6,000 per IP (3 %); /sapi IP 9 of 12,000 (0.1 %); /sapi UID 18,000 of 180,000 (10 %; the
  withdraw history also allows at most 10 requests a second). Other tools on the same IP share the /api budget.

Events: permissions_changed (`enabled`, `disabled`, `changes`), ip_whitelist_removed, ip_whitelist_added,
account_status_changed, balance_changed (`asset`, `old`, `new`, `delta`), deposit, withdrawal,
withdrawal_status_changed, open_order_added, open_order_removed, key_rejected (once, while Binance refuses the
key), poll_failed (once per check and outage), poll_recovered. The first poll of a check records the state
and emits nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from keyguard.exchange.client import BinanceClient, ExchangeError


@dataclass(frozen=True)
class Check:
    name: str
    method: str
    params: tuple[tuple[str, Any], ...]
    interval_seconds: float
    weight: int
    budget: str  # which Binance limit the weight counts against


CHECKS = (
    Check("api_restrictions", "sapi_get_account_apirestrictions", (), 10, 1, "sapi-ip"),
    Check("account_status", "sapi_get_account_status", (), 30, 1, "sapi-ip"),
    Check("balances", "private_get_account", (("omitZeroBalances", "true"),), 30, 20, "api-ip"),
    Check("open_orders", "private_get_openorders", (), 30, 80, "api-ip"),
    Check("deposits", "sapi_get_capital_deposit_hisrec", (), 60, 1, "sapi-ip"),
    Check("withdrawals", "sapi_get_capital_withdraw_history", (), 60, 18_000, "sapi-uid"),
)
BUDGETS = {"api-ip": 6_000, "sapi-ip": 12_000, "sapi-uid": 180_000}
QUIET_FIELDS = ("createTime", "tradingAuthorityExpirationTime")


def _event(kind: str, check: str, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "time": int(time.time() * 1000), "source": "poll", "check": check, **fields}


class AccountPoller:
    """Runs the checks at their intervals through one BinanceClient (sync calls, run in a thread).

    intervals: seconds per check name, overriding the defaults; checks: the names to run (all by default).
    """

    def __init__(
        self,
        client: BinanceClient,
        *,
        intervals: dict[str, float] | None = None,
        checks: Iterable[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        wanted = set(checks) if checks is not None else {c.name for c in CHECKS}
        unknown = wanted - {c.name for c in CHECKS}
        if unknown:
            raise ValueError(f"unknown checks: {', '.join(sorted(unknown))}")
        self.client = client
        self.checks = [
            Check(c.name, c.method, c.params, (intervals or {}).get(c.name, c.interval_seconds), c.weight, c.budget)
            for c in CHECKS
            if c.name in wanted
        ]
        self.state: dict[str, Any] = {}
        self._clock = clock
        self._next: dict[str, float] = {}
        self._failing: set[str] = set()
        self._rejected = False

    def weight_per_minute(self) -> dict[str, dict[str, float]]:
        """Weight each Binance limit gets from these checks at their intervals, and that limit."""
        used: dict[str, float] = {}
        for check in self.checks:
            used[check.budget] = used.get(check.budget, 0) + check.weight * 60 / check.interval_seconds
        return {budget: {"used": round(weight, 1), "limit": BUDGETS[budget]} for budget, weight in used.items()}

    def due(self) -> list[str]:
        now = self._clock()
        return [c.name for c in self.checks if self._next.get(c.name, 0) <= now]

    def poll(self, name: str) -> list[dict[str, Any]]:
        """Runs one check now; the changes since its last run as events."""
        check = next(c for c in self.checks if c.name == name)
        self._next[name] = self._clock() + check.interval_seconds
        try:
            answer = self.client.call(check.method, dict(check.params))
        except ExchangeError as error:
            return self._failed(check, error)
        events = self._recovered(check)
        diff = getattr(self, f"_diff_{name}")
        current = diff(self.state.get(name), answer)
        self.state[name] = current[0]
        return events + current[1]

    def poll_due(self) -> list[dict[str, Any]]:
        return [event for name in self.due() for event in self.poll(name)]

    async def events(self, tick_seconds: float = 1.0) -> AsyncIterator[dict[str, Any]]:
        """Yields change events forever, running each check when due."""
        while True:
            for event in await asyncio.to_thread(self.poll_due):
                yield event
            wake = min(self._next.values(), default=self._clock())
            await asyncio.sleep(max(0.0, min(tick_seconds, wake - self._clock())))

    # --- failures --------------------------------------------------------------------------------
    def _failed(self, check: Check, error: ExchangeError) -> list[dict[str, Any]]:
        if error.kind == "rejected":
            if self._rejected:
                return []
            self._rejected = True
            return [_event("key_rejected", check.name, code=error.code, error=str(error))]
        if check.name in self._failing:
            return []
        self._failing.add(check.name)
        return [_event("poll_failed", check.name, error_kind=error.kind, code=error.code, error=str(error))]

    def _recovered(self, check: Check) -> list[dict[str, Any]]:
        self._rejected = False
        if check.name not in self._failing:
            return []
        self._failing.discard(check.name)
        return [_event("poll_recovered", check.name)]

    # --- one diff per check: (new state, events) -------------------------------------------------
    def _diff_api_restrictions(self, old: dict | None, answer: dict) -> tuple[dict, list]:
        new = {k: v for k, v in answer.items() if k not in QUIET_FIELDS}
        if old is None:
            return new, []
        events = []
        if old.get("ipRestrict") and not new.get("ipRestrict"):
            events.append(_event("ip_whitelist_removed", "api_restrictions"))
        elif new.get("ipRestrict") and not old.get("ipRestrict"):
            events.append(_event("ip_whitelist_added", "api_restrictions"))
        changes = {
            name: {"old": old.get(name), "new": new.get(name)}
            for name in sorted(set(old) | set(new))
            if name != "ipRestrict" and old.get(name) != new.get(name)
        }
        if changes:
            events.append(
                _event(
                    "permissions_changed",
                    "api_restrictions",
                    enabled=[n for n, c in changes.items() if c["new"] is True],
                    disabled=[n for n, c in changes.items() if c["old"] is True and not c["new"]],
                    changes=changes,
                )
            )
        return new, events

    def _diff_account_status(self, old: str | None, answer: dict) -> tuple[str, list]:
        new = str(answer.get("data"))
        if old is None or old == new:
            return new, []
        return new, [_event("account_status_changed", "account_status", old=old, new=new)]

    def _diff_balances(self, old: dict | None, answer: dict) -> tuple[dict, list]:
        new = {b["asset"]: {"free": b["free"], "locked": b["locked"]} for b in answer.get("balances", [])}
        if old is None:
            return new, []
        zero = {"free": "0", "locked": "0"}
        events = []
        for asset in sorted(set(old) | set(new)):
            before, after = old.get(asset, zero), new.get(asset, zero)
            if before != after:
                delta = str(_total(after) - _total(before))
                events.append(_event("balance_changed", "balances", asset=asset, old=before, new=after, delta=delta))
        return new, events

    def _diff_open_orders(self, old: dict | None, answer: list) -> tuple[dict, list]:
        new = {(o["symbol"], o["orderId"]): o for o in answer}
        if old is None:
            return new, []
        added = [_event("open_order_added", "open_orders", order=new[k]) for k in sorted(set(new) - set(old))]
        removed = [
            _event("open_order_removed", "open_orders", symbol=k[0], orderId=k[1], order=old[k])
            for k in sorted(set(old) - set(new))
        ]
        return new, added + removed

    def _diff_deposits(self, old: dict | None, answer: list) -> tuple[dict, list]:
        new = {_row_id(row): row for row in answer}
        if old is None:
            return new, []
        return new, [_event("deposit", "deposits", deposit=new[k]) for k in new if k not in old]

    def _diff_withdrawals(self, old: dict | None, answer: list) -> tuple[dict, list]:
        new = {_row_id(row): row for row in answer}
        if old is None:
            return new, []
        events = []
        for key, row in new.items():
            if key not in old:
                events.append(_event("withdrawal", "withdrawals", withdrawal=row))
            elif old[key].get("status") != row.get("status"):
                events.append(
                    _event(
                        "withdrawal_status_changed",
                        "withdrawals",
                        withdrawal=row,
                        old_status=old[key].get("status"),
                        new_status=row.get("status"),
                    )
                )
        return new, events


def _total(balance: dict[str, str]) -> Decimal:
    return Decimal(balance["free"]) + Decimal(balance["locked"])


def _row_id(row: dict[str, Any]) -> str:
    return str(row.get("id") or row.get("txId") or (row.get("coin"), row.get("insertTime"), row.get("amount")))
