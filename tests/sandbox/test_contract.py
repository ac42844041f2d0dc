"""The sandbox's answers match Binance's published response schemas (tests/sandbox/binance_schemas.json).

The schemas come from binance/binance-api-swagger's spot_api.yaml and, where it lacks an endpoint or is outdated,
from binance/binance-connector-python's SDK models; the file names the repository, path and commit of each.
Every endpoint is called with data present, so the arrays the schemas describe are not empty.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from .conftest import Sandbox, call
from .test_binance_rules import ok, signed, sub_to_master, theft_sandbox

SCHEMAS = json.loads((Path(__file__).parent / "binance_schemas.json").read_text())["endpoints"]
VALIDATORS = {name: jsonschema.Draft202012Validator(entry["schema"]) for name, entry in SCHEMAS.items()}
SUB_EMAIL = "victim-sub@sandbox.invalid"


@pytest.fixture
def theft(tmp_path: Path) -> Iterator[Sandbox]:
    with theft_sandbox(tmp_path) as sandbox:
        yield sandbox


def check(endpoint: str, body: object) -> None:
    """Every disagreement with the published schema, not just the first."""
    problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATORS[endpoint].iter_errors(body)]
    assert not problems, f"{endpoint}:\n" + "\n".join(problems[:20])


def non_empty(body: object, *path: str) -> object:
    """The answer itself, after checking the array at `path` in it has rows."""
    inner = body
    for name in path:
        inner = inner[name]  # type: ignore[index]
    assert inner, f"{'.'.join(path) or 'answer'} is empty: the schema of its items is not exercised"
    return body


def test_every_audited_endpoint_has_a_schema_naming_its_source():
    assert len(SCHEMAS) == 25
    for endpoint, entry in SCHEMAS.items():
        source = entry["source"]
        assert source["repo"].startswith("binance/") and len(source["commit"]) == 40 and source["path"], endpoint


def test_spot_account_and_history(theft):
    check("GET /api/v3/account", non_empty(ok(signed(theft, "/api/v3/account", "victim-bot")), "balances"))
    trades = ok(signed(theft, "/api/v3/myTrades", "victim-bot", {"symbol": "ETHUSDT", "fromId": 0, "limit": 5}))
    check("GET /api/v3/myTrades", non_empty(trades))
    first = trades[0]["time"]
    orders = ok(
        signed(theft, "/api/v3/allOrders", "victim-bot", {"symbol": "ETHUSDT", "startTime": first, "endTime": first})
    )
    check("GET /api/v3/allOrders", non_empty(orders))


def test_open_orders_and_cancel_all(theft):
    order = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.001",
        "price": "1000",
    }
    ok(signed(theft, "/api/v3/order", "victim-bot", order, "POST"))
    check("GET /api/v3/openOrders", non_empty(ok(signed(theft, "/api/v3/openOrders", "victim-bot"))))
    cancelled = ok(signed(theft, "/api/v3/openOrders", "victim-bot", {"symbol": "BTCUSDT"}, "DELETE"))
    check("DELETE /api/v3/openOrders", non_empty(cancelled))


def test_public_market_data(theft):
    check("GET /api/v3/exchangeInfo", non_empty(ok(call(theft, "/api/v3/exchangeInfo")), "symbols"))
    check(
        "GET /api/v3/klines", non_empty(ok(call(theft, "/api/v3/klines", query="symbol=BTCUSDT&interval=1h&limit=5")))
    )


@pytest.mark.parametrize(
    "path",
    [
        "/sapi/v1/account/apiRestrictions",
        "/sapi/v1/account/status",
        "/sapi/v1/account/apiTradingStatus",
        "/sapi/v1/asset/wallet/balance",
        "/fapi/v2/account",
    ],
)
def test_key_and_account_state(theft, path):
    check(f"GET {path}", ok(signed(theft, path, "victim-bot")))


def test_futures_account_lists_assets(theft):
    non_empty(ok(signed(theft, "/fapi/v2/account", "victim-bot")), "assets")


@pytest.mark.parametrize("path", ["/sapi/v1/simple-earn/flexible/position", "/sapi/v1/simple-earn/locked/position"])
def test_simple_earn_positions(theft, path):
    check(
        f"GET {path}",
        non_empty(ok(signed(theft, path, "victim-bot")), "rows"),
    )


@pytest.mark.parametrize("kind", ["SPOT", "MARGIN", "FUTURES"])
def test_account_snapshot(theft, kind):
    body = ok(signed(theft, "/sapi/v1/accountSnapshot", "victim-bot", {"type": kind}))
    non_empty(body, "snapshotVos")
    check("GET /sapi/v1/accountSnapshot", body)


def test_wallet_history(theft):
    check(
        "GET /sapi/v1/capital/deposit/hisrec",
        non_empty(ok(signed(theft, "/sapi/v1/capital/deposit/hisrec", "victim-bot"))),
    )
    withdrawals = ok(signed(theft, "/sapi/v1/capital/withdraw/history", "victim-bot"))
    check("GET /sapi/v1/capital/withdraw/history", non_empty(withdrawals))
    book = ok(signed(theft, "/sapi/v1/capital/withdraw/address/list", "victim-bot"))
    check("GET /sapi/v1/capital/withdraw/address/list", non_empty(book))
    ok(
        signed(
            theft,
            "/sapi/v1/asset/transfer",
            "victim-withdraw",
            {"type": "MAIN_FUNDING", "asset": "USDT", "amount": "1"},
            "POST",
        )
    )
    transfers = ok(signed(theft, "/sapi/v1/asset/transfer", "victim-bot", {"type": "MAIN_FUNDING"}))
    non_empty(transfers, "rows")
    check("GET /sapi/v1/asset/transfer", transfers)


def test_sub_account_endpoints(theft):
    sub_to_master(theft)
    subs = ok(signed(theft, "/sapi/v1/sub-account/list", "victim-bot", {"limit": 200}))
    non_empty(subs, "subAccounts")
    check("GET /sapi/v1/sub-account/list", subs)
    history = ok(signed(theft, "/sapi/v1/sub-account/universalTransfer", "victim-bot"))
    non_empty(history, "result")
    check("GET /sapi/v1/sub-account/universalTransfer", history)
    own = ok(signed(theft, "/sapi/v1/sub-account/transfer/subUserHistory", "victim-sub-key"))
    check("GET /sapi/v1/sub-account/transfer/subUserHistory", non_empty(own))


def test_sub_account_key_ip_restriction(theft):
    who = {"email": SUB_EMAIL, "subAccountApiKey": theft.credentials["victim-sub-key"]["api_key"]}
    added = ok(
        signed(
            theft,
            "/sapi/v2/sub-account/subAccountApi/ipRestriction",
            "victim-bot",
            {**who, "status": "2", "ipAddress": "10.0.0.1,10.0.0.2"},
            "POST",
        )
    )
    check("POST /sapi/v2/sub-account/subAccountApi/ipRestriction", non_empty(added, "ipList"))
    listed = ok(signed(theft, "/sapi/v1/sub-account/subAccountApi/ipRestriction", "victim-bot", who))
    check("GET /sapi/v1/sub-account/subAccountApi/ipRestriction", non_empty(listed, "ipList"))
    left = ok(
        signed(
            theft,
            "/sapi/v1/sub-account/subAccountApi/ipRestriction/ipList",
            "victim-bot",
            {**who, "ipAddress": "10.0.0.1"},
            "DELETE",
        )
    )
    check("DELETE /sapi/v1/sub-account/subAccountApi/ipRestriction/ipList", non_empty(left, "ipList"))
