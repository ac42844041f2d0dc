"""USD-M futures account and trades (binance-api.md §2.5), and sub-account key IP restriction (§3)."""

from __future__ import annotations

from decimal import Decimal

from keyguard.sandbox import errors
from keyguard.sandbox.exchange import SandboxExchange
from keyguard.sandbox.gateway import SIGNED, Call, Endpoint
from keyguard.sandbox.ledger import fmt

WEEK_MS = 7 * 86_400_000
TRADE = "enableSpotAndMarginTrading"


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

    def sub_account_key(call: Call):
        assert call.key
        master = exchange.account_of(call.key)
        email, api_key = call.required("email"), call.required("subAccountApiKey")
        sub = next((a for a in ledger.accounts.values() if a.email == email and a.master == master.name), None)
        key = exchange.keys.get(api_key)
        if sub is None or key is None or key.account != sub.name:
            raise errors.BinanceError(-12022, "The sub-account API key does not exist.")
        return key

    def ip_body(key) -> dict:
        return {
            "ipRestrict": "true" if key.ip_whitelist else "false",
            "ipList": list(key.ip_whitelist),
            "updateTime": exchange.clock.now_ms(),
            "apiKey": key.api_key,
        }

    def get_ip(call: Call) -> dict:
        return ip_body(sub_account_key(call))

    def set_ip(call: Call) -> dict:
        key = sub_account_key(call)
        status = call.required("status")
        if status not in ("1", "2", "3"):
            raise errors.BinanceError(-1100, "Illegal characters found in parameter 'status'.")
        addresses = [a.strip() for a in (call.get("ipAddress") or "").split(",") if a.strip()]
        key.ip_whitelist = [] if status == "1" else sorted(set(key.ip_whitelist) | set(addresses))
        body = ip_body(key)
        body["status"] = status
        del body["ipRestrict"]
        return body

    def delete_ip(call: Call) -> dict:
        key = sub_account_key(call)
        removed = {a.strip() for a in call.required("ipAddress").split(",")}
        key.ip_whitelist = [a for a in key.ip_whitelist if a not in removed]
        return ip_body(key)

    sub = "/sapi/v1/sub-account/subAccountApi/ipRestriction"
    return [
        Endpoint("GET", "/fapi/v2/account", SIGNED, 5, lambda call: futures_account(call, 2)),
        Endpoint("GET", "/fapi/v3/account", SIGNED, 5, lambda call: futures_account(call, 3)),
        Endpoint("GET", "/fapi/v1/userTrades", SIGNED, 5, user_trades, required=("symbol",)),
        Endpoint("GET", sub, SIGNED, 0, get_ip, uid_weight=3000, required=("email", "subAccountApiKey")),
        Endpoint(
            "POST",
            "/sapi/v2/sub-account/subAccountApi/ipRestriction",
            SIGNED,
            0,
            set_ip,
            TRADE,
            uid_weight=3000,
            required=("email", "subAccountApiKey", "status"),
        ),
        Endpoint(
            "DELETE",
            sub + "/ipList",
            SIGNED,
            0,
            delete_ip,
            TRADE,
            uid_weight=3000,
            required=("email", "subAccountApiKey", "ipAddress"),
        ),
    ]
