"""Spot account and orders (binance-api.md §2.2): account, myTrades, allOrders, openOrders, order."""

from __future__ import annotations

from keyguard.sandbox import errors, rules
from keyguard.sandbox.exchange import SandboxExchange
from keyguard.sandbox.gateway import SIGNED, Call, Endpoint
from keyguard.sandbox.ledger import fmt

DAY_MS = 86_400_000
READ = "enableReading"
TRADE = "enableSpotAndMarginTrading"
# myTrades: "These are the supported combinations of all parameters" (rest-api.md); others give -1128.
MY_TRADES_COMBINATIONS = {
    frozenset(),
    frozenset({"orderId"}),
    frozenset({"startTime"}),
    frozenset({"endTime"}),
    frozenset({"fromId"}),
    frozenset({"startTime", "endTime"}),
    frozenset({"orderId", "fromId"}),
}


def _window(call: Call, max_ms: int, hours: int) -> tuple[int | None, int | None]:
    """ "The time between startTime and endTime can't be longer than 24 hours": equal to 24 h is allowed."""
    start, end = call.integer("startTime"), call.integer("endTime")
    if start is not None and end is not None and end - start > max_ms:
        raise errors.too_many_hours(hours)
    return start, end


def _limit(call: Call) -> int:
    """ "Default: 500; Maximum: 1000." """
    return rules.bounded(call, "limit", 500, 1, 1000)


def endpoints(exchange: SandboxExchange) -> list[Endpoint]:
    ledger = exchange.ledger

    def symbol_of(call: Call) -> str:
        name = call.required("symbol")
        if name not in ledger.symbols:
            raise errors.bad_symbol()
        return name

    def account(call: Call) -> dict:
        assert call.key
        acct = exchange.account_of(call.key)
        balances = [
            {"asset": asset, "free": fmt(b.free), "locked": fmt(b.locked)}
            for asset, b in sorted(acct.balances.items())
            if not (call.flag("omitZeroBalances") and b.free == 0 and b.locked == 0)
        ]
        return {
            "makerCommission": 10,
            "takerCommission": 10,
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {
                "maker": "0.00100000",
                "taker": "0.00100000",
                "buyer": "0.00000000",
                "seller": "0.00000000",
            },
            "canTrade": call.key.allows(TRADE),
            "canWithdraw": call.key.allows("enableWithdrawals"),
            "canDeposit": True,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": call.now,
            "accountType": "SPOT",
            "balances": balances,
            "permissions": ["SPOT"],
            "uid": acct.uid,
        }

    def my_trades(call: Call) -> list:
        assert call.key
        symbol = symbol_of(call)
        sent = frozenset(n for n in ("orderId", "startTime", "endTime", "fromId") if call.get(n) is not None)
        if sent not in MY_TRADES_COMBINATIONS:
            raise rules.bad_combination()
        start, end = _window(call, DAY_MS, 24)
        order_id, from_id, limit = call.integer("orderId"), call.integer("fromId"), _limit(call)
        if start is not None and end is None:
            end = start + DAY_MS
        elif end is not None and start is None:
            start = end - DAY_MS
        name = call.key.account
        rows = []
        base, quote = ledger.symbols[symbol].base, ledger.symbols[symbol].quote
        for trade in ledger.trades[symbol]:
            if name not in (trade.buyer, trade.seller):
                continue
            if start is not None and not start <= trade.time <= end:  # type: ignore[operator]
                continue
            if from_id is not None and trade.id < from_id:
                continue
            row = trade.for_account(name, base, quote)
            if order_id is not None and row["orderId"] != order_id:
                continue
            rows.append(row)
        if start is None and from_id is None:
            return rows[-limit:]
        return rows[:limit]

    def all_orders(call: Call) -> list:
        assert call.key
        symbol = symbol_of(call)
        start, end = _window(call, DAY_MS, 24)
        order_id, limit = call.integer("orderId"), _limit(call)
        rows = [
            o
            for o in ledger.orders.values()
            if o.account == call.key.account
            and o.symbol == symbol
            and (order_id is None or o.order_id >= order_id)
            and (start is None or o.time >= start)
            and (end is None or o.time <= end)
        ]
        rows.sort(key=lambda o: o.order_id)
        chosen = rows[:limit] if order_id is not None or start is not None else rows[-limit:]
        return [o.to_json() for o in chosen]

    def open_orders(call: Call) -> list:
        assert call.key
        symbol = symbol_of(call) if call.get("symbol") else None
        return [o.to_json() for o in ledger.open_orders(call.key.account, symbol)]

    def cancel_open_orders(call: Call) -> list:
        assert call.key
        symbol = symbol_of(call)
        orders = ledger.open_orders(call.key.account, symbol)
        if not orders:
            raise errors.unknown_order()
        return [_cancel_report(ledger.cancel(call.key.account, symbol, o.order_id, None, call.now)) for o in orders]

    def new_order(call: Call) -> dict:
        assert call.key
        symbol = symbol_of(call)
        side, order_type = call.required("side").upper(), call.required("type").upper()
        if side not in ("BUY", "SELL"):
            raise errors.BinanceError(-1100, "Illegal characters found in parameter 'side'.")
        if order_type not in ("LIMIT", "MARKET"):
            raise errors.BinanceError(-1116, "Invalid orderType.")
        quantity = call.decimal("quantity")
        if quantity is None:
            raise errors.mandatory("quantity")
        price = call.decimal("price") if order_type == "LIMIT" else None
        if order_type == "LIMIT":
            if price is None:
                raise errors.mandatory("price")
            call.required("timeInForce")
        order = ledger.place_order(
            call.key.account,
            symbol,
            side,
            order_type,
            quantity,
            price,
            call.get("timeInForce", "GTC") or "GTC",
            call.now,
            call.get("newClientOrderId"),
        )
        body = order.to_json()
        body["transactTime"] = call.now
        body["fills"] = [
            {
                "price": t["price"],
                "qty": t["qty"],
                "commission": t["commission"],
                "commissionAsset": t["commissionAsset"],
                "tradeId": t["id"],
            }
            for t in (
                trade.for_account(call.key.account, ledger.symbols[symbol].base, ledger.symbols[symbol].quote)
                for trade in ledger.trades[symbol][-50:]
                if order.order_id in (trade.buy_order, trade.sell_order)
            )
        ]
        return body

    def cancel_order(call: Call) -> dict:
        assert call.key
        symbol = symbol_of(call)
        order_id, client_id = call.integer("orderId"), call.get("origClientOrderId")
        if order_id is None and client_id is None:
            raise errors.BinanceError(
                -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
            )
        return _cancel_report(ledger.cancel(call.key.account, symbol, order_id, client_id, call.now))

    return [
        Endpoint("GET", "/api/v3/account", SIGNED, 20, account, READ),
        Endpoint("GET", "/api/v3/myTrades", SIGNED, 20, my_trades, READ, required=("symbol",)),
        Endpoint("GET", "/api/v3/allOrders", SIGNED, 20, all_orders, READ, required=("symbol",)),
        Endpoint("GET", "/api/v3/openOrders", SIGNED, 6, open_orders, READ),
        Endpoint("DELETE", "/api/v3/openOrders", SIGNED, 1, cancel_open_orders, TRADE, required=("symbol",)),
        Endpoint("POST", "/api/v3/order", SIGNED, 1, new_order, TRADE, required=("symbol", "side", "type")),
        Endpoint("DELETE", "/api/v3/order", SIGNED, 1, cancel_order, TRADE, required=("symbol",)),
    ]


def _cancel_report(order) -> dict:
    body = order.to_json()
    body["origClientOrderId"] = body["clientOrderId"]
    body["transactTime"] = order.update_time
    for name in ("time", "updateTime", "isWorking", "workingTime", "stopPrice", "icebergQty"):
        body.pop(name, None)
    return body
