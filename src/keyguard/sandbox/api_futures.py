"""USD-M futures account and trades (binance-api.md §2.5)."""

from __future__ import annotations

from decimal import Decimal

from keyguard.sandbox import errors
from keyguard.sandbox.exchange import SandboxExchange
from keyguard.sandbox.gateway import SIGNED, Call, Endpoint
from keyguard.sandbox.ledger import fmt

WEEK_MS = 7 * 86_400_000
FUTURES = "enableFutures"  # a key made before the futures account existed cannot read it


def endpoints(exchange: SandboxExchange) -> list[Endpoint]:
    ledger = exchange.ledger

    def futures_account(call: Call, version: int) -> dict:
        assert call.key
        acct = exchange.account_of(call.key)
        total = sum(acct.futures.values(), Decimal(0))
        assets = [
            {
                "asset": a,
                "walletBalance": fmt(v),
                "unrealizedProfit": "0.00000000",
                "marginBalance": fmt(v),
                "maintMargin": "0.00000000",
                "initialMargin": "0.00000000",
                "positionInitialMargin": "0.00000000",
                "openOrderInitialMargin": "0.00000000",
                "crossWalletBalance": fmt(v),
                "crossUnPnl": "0.00000000",
                "availableBalance": fmt(v),
                "maxWithdrawAmount": fmt(v),
                "updateTime": call.now,
            }
            for a, v in sorted(acct.futures.items())
        ]
        if version == 2:  # v2 rows say whether the asset may be used as margin (multi-assets mode); v3 dropped it
            for row in assets:
                row["marginAvailable"] = True
        body = {
            "totalInitialMargin": "0.00000000",
            "totalMaintMargin": "0.00000000",
            "totalWalletBalance": fmt(total),
            "totalUnrealizedProfit": "0.00000000",
            "totalMarginBalance": fmt(total),
            "totalPositionInitialMargin": "0.00000000",
            "totalOpenOrderInitialMargin": "0.00000000",
            "totalCrossWalletBalance": fmt(total),
            "totalCrossUnPnl": "0.00000000",
            "availableBalance": fmt(total),
            "maxWithdrawAmount": fmt(total),
            "assets": assets,
            "positions": [],
        }
        if version == 2:
            body.update(
                {
                    "feeTier": 0,
                    "feeBurn": False,
                    "canTrade": call.key.allows("enableFutures"),
                    "canDeposit": True,
                    "canWithdraw": call.key.allows("enableWithdrawals"),
                    "updateTime": 0,
                    "multiAssetsMargin": False,
                    "tradeGroupId": -1,
                }
            )
        return body

    def user_trades(call: Call) -> list:
        assert call.key
        symbol = call.required("symbol")
        start, end = call.integer("startTime"), call.integer("endTime")
        if start is not None and end is not None and end - start > WEEK_MS:
            raise errors.BinanceError(-4166, "Search window is restricted to recent 90 days only.")
        if call.get("fromId") and (start is not None or end is not None):
            raise errors.BinanceError(-4134, "fromId cannot be sent with startTime or endTime.")
        if start is None and end is None:
            start, end = call.now - WEEK_MS, call.now
        start = start if start is not None else end - WEEK_MS  # type: ignore[operator]
        end = end if end is not None else start + WEEK_MS
        limit = min(call.integer("limit", 500) or 500, 1000)
        return [
            t
            for t in ledger.futures_trades
            if t["account"] == call.key.account and t["symbol"] == symbol and start <= t["time"] <= end
        ][:limit]

    return [
        Endpoint("GET", "/fapi/v2/account", SIGNED, 5, lambda call: futures_account(call, 2), FUTURES),
        Endpoint("GET", "/fapi/v3/account", SIGNED, 5, lambda call: futures_account(call, 3), FUTURES),
        Endpoint("GET", "/fapi/v1/userTrades", SIGNED, 5, user_trades, FUTURES, required=("symbol",)),
    ]
