"""Public market data: ping, time, exchangeInfo, klines, ticker price (binance-api.md §2.6)."""

from __future__ import annotations

import json

from keyguard.sandbox import errors, rules
from keyguard.sandbox.exchange import SandboxExchange
from keyguard.sandbox.gateway import NONE, Call, Endpoint
from keyguard.sandbox.ledger import INTERVALS_MS, Symbol, fmt

ORDER_TYPES = [
    "LIMIT",
    "LIMIT_MAKER",
    "MARKET",
    "STOP_LOSS",
    "STOP_LOSS_LIMIT",
    "TAKE_PROFIT",
    "TAKE_PROFIT_LIMIT",
]


def symbol_info(symbol: Symbol) -> dict:
    return {
        "symbol": symbol.name,
        "status": symbol.status,
        "baseAsset": symbol.base,
        "baseAssetPrecision": 8,
        "quoteAsset": symbol.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ORDER_TYPES,
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "opoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "amendAllowed": False,
        "pegInstructionsAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": "0.00000001",
                "maxPrice": "1000000.00000000",
                "tickSize": "0.00000001",
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": "0.00000001",
                "maxQty": "9000000.00000000",
                "stepSize": "0.00000001",
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "NONE",
        "allowedSelfTradePreventionModes": ["NONE"],
    }


def endpoints(exchange: SandboxExchange) -> list[Endpoint]:
    ledger = exchange.ledger

    def known_symbol(name: str) -> Symbol:
        if name not in ledger.symbols:
            raise errors.bad_symbol()
        return ledger.symbols[name]

    def exchange_info(call: Call) -> dict:
        names: list[str] | None = None
        if call.get("symbol"):
            names = [call.required("symbol")]
        elif call.get("symbols"):
            try:
                names = json.loads(call.required("symbols"))
            except ValueError:
                raise errors.mandatory("symbols") from None
            if not isinstance(names, list):
                raise errors.mandatory("symbols")
        chosen = [known_symbol(n) for n in names] if names else list(ledger.symbols.values())
        return {
            "timezone": "UTC",
            "serverTime": call.now,
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 50},
                {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
            ],
            "exchangeFilters": [],
            "symbols": [symbol_info(s) for s in chosen],
        }

    def klines(call: Call) -> list:
        symbol = known_symbol(call.required("symbol"))
        interval = call.required("interval")
        if interval not in INTERVALS_MS:
            raise errors.BinanceError(-1120, "Invalid interval.", 400)
        limit = rules.bounded(call, "limit", 500, 1, 1000)  # "Default: 500; Maximum: 1000."
        return ledger.klines(
            symbol.name, INTERVALS_MS[interval], call.integer("startTime"), call.integer("endTime"), limit
        )

    def price(name: str) -> dict:
        last = ledger.last_price(name)
        return {"symbol": name, "price": fmt(last) if last is not None else "0.00000000"}

    def ticker_price(call: Call) -> object:
        if call.get("symbol"):
            return price(known_symbol(call.required("symbol")).name)
        return [price(name) for name in ledger.symbols]

    def futures_exchange_info(call: Call) -> dict:
        return {
            "timezone": "UTC",
            "serverTime": call.now,
            "rateLimits": [],
            "exchangeFilters": [],
            "assets": [],
            "symbols": [],
        }

    return [
        Endpoint("GET", "/api/v3/ping", NONE, 1, lambda call: {}),
        Endpoint("GET", "/api/v3/time", NONE, 1, lambda call: {"serverTime": call.now}),
        Endpoint("GET", "/api/v3/exchangeInfo", NONE, 20, exchange_info),
        Endpoint("GET", "/api/v3/klines", NONE, 2, klines, required=("symbol", "interval")),
        Endpoint("GET", "/api/v3/ticker/price", NONE, 2, ticker_price),
        Endpoint("GET", "/sapi/v1/system/status", NONE, 1, lambda call: {"status": 0, "msg": "normal"}),
        Endpoint("GET", "/fapi/v1/ping", NONE, 1, lambda call: {}),
        Endpoint("GET", "/fapi/v1/time", NONE, 1, lambda call: {"serverTime": call.now}),
        Endpoint("GET", "/fapi/v1/exchangeInfo", NONE, 1, futures_exchange_info),
    ]
