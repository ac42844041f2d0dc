"""Request-weight accounting per binance-api.md §1.5: per-minute windows, headers, 429, then 418 on /api."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from keyguard.sandbox.errors import BinanceError

API_WEIGHT_LIMIT = 6000
SAPI_IP_LIMIT = 12000
SAPI_UID_LIMIT = 180000
FAPI_WEIGHT_LIMIT = 2400
BAN_AFTER_VIOLATIONS = 3
BAN_MS = 120_000


@dataclass
class Window:
    minute: int = -1
    used: int = 0


class RateLimiter:
    def __init__(self) -> None:
        self._windows: dict[tuple[str, str], Window] = defaultdict(Window)
        self._violations: dict[str, int] = defaultdict(int)
        self._banned_until: dict[str, int] = {}
        self.forced_429 = 0  # fault injection: the next N requests are refused
        self.enforced = True  # load tests switch limits off (the headers are still sent)
        self.refused = 0  # 429 and 418 answers given, for benchmarks that promise none
        self.weight_charged = 0  # total request weight charged, IP and UID

    def _add(self, bucket: tuple[str, str], weight: int, now: int) -> int:
        window = self._windows[bucket]
        minute = now // 60_000
        if window.minute != minute:
            window.minute, window.used = minute, 0
        window.used += weight
        return window.used

    def charge(self, family: str, ip: str, weight: int, now: int) -> dict[str, str]:
        """Charges an IP-weighted request; returns the headers to send. Raises 429/418 past the limit."""
        retry_after = str(60 - (now // 1000) % 60)
        if family == "api" and self.enforced and self._banned_until.get(ip, 0) > now:
            self.refused += 1
            until = self._banned_until[ip]
            raise BinanceError(
                -1003,
                f"Way too much request weight used; IP banned until {until}. Please use "
                "WebSocket Streams for live updates to avoid bans.",
                418,
                {"Retry-After": str((until - now) // 1000 + 1)},
            )
        limit = {"api": API_WEIGHT_LIMIT, "sapi": SAPI_IP_LIMIT, "fapi": FAPI_WEIGHT_LIMIT}[family]
        used = self._add((family, ip), weight, now)
        self.weight_charged += weight
        header = "X-SAPI-USED-IP-WEIGHT-1M" if family == "sapi" else "X-MBX-USED-WEIGHT-1M"
        headers = {header: str(used)}
        if self.forced_429 > 0:  # an injected burst: short, so drills and tests do not wait a minute
            self.forced_429 -= 1
            self.refused += 1
            raise BinanceError(
                -1003,
                f"Too much request weight used; current limit is {limit} request weight per 1 MINUTE.",
                429,
                {**headers, "Retry-After": "1"},
            )
        if used > limit and self.enforced:
            self.refused += 1
            if family == "api":
                self._violations[ip] += 1
                if self._violations[ip] > BAN_AFTER_VIOLATIONS:
                    self._banned_until[ip] = now + BAN_MS
            raise BinanceError(
                -1003,
                f"Too much request weight used; current limit is {limit} request weight "
                "per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the "
                "API.",
                429,
                {**headers, "Retry-After": retry_after},
            )
        return headers

    def charge_uid(self, uid: int, weight: int, now: int) -> dict[str, str]:
        used = self._add(("uid", str(uid)), weight, now)
        self.weight_charged += weight
        headers = {"X-SAPI-USED-UID-WEIGHT-1M": str(used)}
        if used > SAPI_UID_LIMIT and self.enforced:
            self.refused += 1
            raise BinanceError(
                -1003,
                f"Too much request weight used; current limit is {SAPI_UID_LIMIT} request weight per 1 MINUTE.",
                429,
                {**headers, "Retry-After": str(60 - (now // 1000) % 60)},
            )
        return headers

    def reset(self) -> None:
        self._windows.clear()
        self._violations.clear()
        self._banned_until.clear()
