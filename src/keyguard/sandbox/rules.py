"""Binance's documented parameter rules shared by the sandbox endpoints: bounded integers, time windows, paging.

Facts and sources: /tmp/notes/binance-rules.md (binance-api-swagger spot_api.yaml, binance-spot-api-docs, the
binance-connector-python SDK docstrings). Time bounds are inclusive at both ends everywhere (spot-api-docs
CHANGELOG: "all API requests that accept `startTime` and `endTime` allow the parameters to be equal").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from keyguard.sandbox.errors import BinanceError
from keyguard.sandbox.gateway import Call

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
T = TypeVar("T")


def lookup_too_big() -> BinanceError:
    # errors.md -1127 MORE_THAN_XX_HOURS, generic message; Binance documents no code for /sapi window overruns.
    return BinanceError(-1127, "Lookup interval is too big.", 400)


def bad_combination() -> BinanceError:
    return BinanceError(-1128, "Combination of optional parameters invalid.", 400)


def master_only() -> BinanceError:
    # The sapi Error Codes page's -4006 CAPITAL_ONLY_SUPPORT_PRIMARY_ACCOUNT; Binance does not say per endpoint
    # what a sub-account key gets (binance-connector-php#9 reports 100001002 "Unsupported operation").
    return BinanceError(-4006, "Support main account only.", 400)


def capital_interval() -> BinanceError:
    # The sapi Error Codes page's -4047 CAPITAL_DATE_INTERVAL_LIMIT (also in ccxt's binance exceptions map).
    return BinanceError(-4047, "Time interval must be within 0-90 days", 400)


def bounded(call: Call, name: str, default: int, low: int, high: int) -> int:
    """An integer parameter with a documented default and range; out of range is rejected, not clamped.

    Binance documents the ranges but not the error code; -1100 with the legal range follows errors.md's wording.
    """
    value = call.integer(name, default)
    assert value is not None
    if not low <= value <= high:
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'; legal range is '{low}-{high}'.")
    return value


def window(
    call: Call,
    *,
    default_ms: int,
    max_ms: int | None = None,
    strict: bool = True,
    horizon_ms: int | None = None,
    too_long: Callable[[], BinanceError] = lookup_too_big,
) -> tuple[int, int]:
    """The inclusive [start, end] a /sapi history call covers.

    No dates: the documented default (the last `default_ms`). Only startTime: up to now. Only endTime: `default_ms`
    back from it. When a date was sent, the span end - start must be below `max_ms` ("less than N days"), or at
    most `max_ms` when not `strict`. Rows older than `horizon_ms` ("support query within the last ... only") are
    never returned.
    """
    start, end = call.integer("startTime"), call.integer("endTime")
    if start is None and end is None:
        start, end = call.now - default_ms, call.now
    else:
        if end is None:
            end = call.now
        elif start is None:
            start = end - default_ms
        assert start is not None
        if max_ms is not None and (end - start >= max_ms if strict else end - start > max_ms):
            raise too_long()
    if horizon_ms is not None:
        start = max(start, call.now - horizon_ms)
    return start, end


def page(rows: Sequence[T], number: int, size: int) -> list[T]:
    """Page `number` (from 1) of `size` rows."""
    return list(rows[(number - 1) * size : number * size])
