"""Binance's documented limits on the history endpoints the audit reads, and the windows that respect them.

Sources: binance/binance-api-swagger spot_api.yaml v1.22.0, binance-sdk-wallet 13.8.0 docstrings and enums,
developers.binance.com (sub_account "Query Universal Transfer History", "Sub-account Transfer History"),
binance/binance-spot-api-docs rest-api.md. startTime and endTime are both inclusive, so consecutive windows
are [a, b - 1], [b, c - 1], ...
"""

from __future__ import annotations

from datetime import UTC, datetime

HOUR_MS = 3_600_000
DAY_MS = 86_400_000

# myTrades: "The time between startTime and endTime can't be longer than 24 hours"; symbol + fromId is a
# supported combination (trades >= fromId, no time bounds).
TRADES_SPAN_MS = DAY_MS
TRADES_LIMIT = 1000
ORDERS_LIMIT = 1000
KLINES_LIMIT = 1000
# deposit/withdraw history: "time between startTime and endTime must be less than 90 days"; limit max 1000.
WALLET_HISTORY_SPAN_MS = 90 * DAY_MS
WALLET_HISTORY_LIMIT = 1000
# accountSnapshot: "The query time period must be less than 30 days", "Support query within the last one
# month only", "If startTime and endTime not sent, return records of the last 7 days"; limit 7..30.
SNAPSHOT_SPAN_MS = 30 * DAY_MS
SNAPSHOT_LIMIT = 30
SNAPSHOT_MARGIN_MS = HOUR_MS  # the request reaches Binance after `end`: stay inside "the last month" then too
# asset/transfer: "Support query within the last 6 months only"; no span limit documented; size max 100.
ASSET_TRANSFER_HISTORY_MS = 180 * DAY_MS
ASSET_TRANSFER_SIZE = 100
# sub-account/universalTransfer: "The query time range must be less than 7 days" (developers.binance.com;
# the 2024 OpenAPI file still said 30); limit max 500; without fromEmail/toEmail only transfers from the master.
SUB_TRANSFER_SPAN_MS = 7 * DAY_MS
SUB_TRANSFER_LIMIT = 500
SUB_ACCOUNT_LIST_LIMIT = 200
# sub-account/transfer/subUserHistory (a sub-account's own key): no paging parameter; default 30 days.
SUB_USER_HISTORY_SPAN_MS = 30 * DAY_MS
SUB_USER_HISTORY_LIMIT = 500

# GET /sapi/v1/asset/transfer `type`: binance-sdk-wallet 13.8.0 UserUniversalTransferTypeEnum (31 values, 2026) and
# spot_api.yaml v1.22.0 (28 values, 2024; its C2C, MINING and PAY wallets are absent from the SDK, so an error
# answered for them is a note, not an audit error). The three isolated-margin types need fromSymbol and/or
# toSymbol and are read per isolated pair.
ISOLATED_TRANSFER_TYPES = ("ISOLATEDMARGIN_MARGIN", "MARGIN_ISOLATEDMARGIN", "ISOLATEDMARGIN_ISOLATEDMARGIN")
TRANSFER_TYPES = (
    "MAIN_UMFUTURE",
    "MAIN_CMFUTURE",
    "MAIN_MARGIN",
    "UMFUTURE_MAIN",
    "UMFUTURE_MARGIN",
    "CMFUTURE_MAIN",
    "CMFUTURE_MARGIN",
    "MARGIN_MAIN",
    "MARGIN_UMFUTURE",
    "MARGIN_CMFUTURE",
    "MAIN_FUNDING",
    "FUNDING_MAIN",
    "FUNDING_UMFUTURE",
    "UMFUTURE_FUNDING",
    "MARGIN_FUNDING",
    "FUNDING_MARGIN",
    "FUNDING_CMFUTURE",
    "CMFUTURE_FUNDING",
    "MAIN_OPTION",
    "OPTION_MAIN",
    "UMFUTURE_OPTION",
    "OPTION_UMFUTURE",
    "MARGIN_OPTION",
    "OPTION_MARGIN",
    "FUNDING_OPTION",
    "OPTION_FUNDING",
    "MAIN_PORTFOLIO_MARGIN",
    "PORTFOLIO_MARGIN_MAIN",
)
LEGACY_TRANSFER_TYPES = (
    "MAIN_C2C",
    "C2C_MAIN",
    "C2C_UMFUTURE",
    "C2C_MARGIN",
    "UMFUTURE_C2C",
    "MARGIN_C2C",
    "MAIN_MINING",
    "C2C_MINING",
    "MARGIN_MINING",
    "MINING_MAIN",
    "MINING_UMFUTURE",
    "MINING_C2C",
    "MINING_MARGIN",
    "MAIN_PAY",
    "PAY_MAIN",
)

USD_STABLECOINS = frozenset({"USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USDP", "DAI"})


def windows(start: int, end: int, span_ms: int) -> list[tuple[int, int]]:
    """Consecutive inclusive windows [a, b] covering [start, end], each with b - a < span_ms, none overlapping."""
    result = []
    while start <= end:
        last = min(start + span_ms - 1, end)
        result.append((start, last))
        start = last + 1
    return result


def day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def days(start: int, end: int) -> str:
    """A readable window: one date when it lies within a day, else 'first – last'."""
    return day(start) if day(start) == day(end) else f"{day(start)} – {day(end)}"
