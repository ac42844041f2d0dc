"""Binance's rules at the door: weights and limits, error precedence, bad input answered as Binance does."""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlencode

import requests


def _signed(sandbox, entry: dict, params: dict | None = None, **overrides) -> str:
    """Signed query string, stamped with the sandbox's own clock (tests move it)."""
    query = urlencode({**(params or {}), "timestamp": sandbox.exchange.clock.now_ms(), **overrides})
    signature = hmac.new(entry["secret"].encode(), query.encode(), hashlib.sha256).hexdigest()
    return f"{query}&signature={signature}"


def _get(sandbox, path: str, entry: dict | None = None, query: str = "", method: str = "GET", **kwargs):
    headers = {"X-MBX-APIKEY": entry["api_key"]} if entry else {}
    return requests.request(method, f"{sandbox.base_url}{path}?{query}", headers=headers, timeout=10, **kwargs)


def test_weight_headers_count_per_minute(sandbox):
    _start_of_a_minute(sandbox)
    first = _get(sandbox, "/api/v3/exchangeInfo")
    second = _get(sandbox, "/api/v3/exchangeInfo")
    assert int(second.headers["X-MBX-USED-WEIGHT-1M"]) - int(first.headers["X-MBX-USED-WEIGHT-1M"]) == 20
    entry = sandbox.credentials["victim-bot"]
    sapi = _get(sandbox, "/sapi/v1/account/apiRestrictions", entry, _signed(sandbox, entry))
    assert sapi.status_code == 200 and "X-SAPI-USED-IP-WEIGHT-1M" in sapi.headers
    history = _get(sandbox, "/sapi/v1/capital/withdraw/history", entry, _signed(sandbox, entry))
    assert history.headers["X-SAPI-USED-UID-WEIGHT-1M"] == "18000"


def _start_of_a_minute(sandbox) -> None:
    """Moves the sandbox clock just past a minute boundary: the next requests share one weight window."""
    now = _get(sandbox, "/api/v3/time").json()["serverTime"]
    sandbox.admin("clock/advance", {"ms": 60_000 - now % 60_000 + 200})
    sandbox.admin("faults", {"reset_limits": True})


def test_over_the_limit_is_429_then_418(sandbox):
    _start_of_a_minute(sandbox)
    statuses = [_get(sandbox, "/api/v3/exchangeInfo").status_code for _ in range(301)]
    assert statuses[:300] == [200] * 300 and statuses[300] == 429
    refused = _get(sandbox, "/api/v3/ping")
    assert refused.status_code == 429 and refused.json()["code"] == -1003 and int(refused.headers["Retry-After"]) > 0
    for _ in range(3):
        last = _get(sandbox, "/api/v3/ping")
    assert last.status_code == 418 and "banned" in last.json()["msg"]


def test_forced_429_burst_and_server_errors(sandbox):
    sandbox.admin("faults", {"burst_429": 2})
    assert [_get(sandbox, "/sapi/v1/system/status").status_code for _ in range(3)] == [429, 429, 200]
    sandbox.admin("faults", {"error_rate": 1.0})
    failed = _get(sandbox, "/api/v3/time")
    assert failed.status_code == 503 and failed.json()["code"] == -1001
    sandbox.admin("faults", {"error_rate": 0.0, "latency_ms": 150})
    started = time.monotonic()
    assert _get(sandbox, "/api/v3/time").status_code == 200
    assert time.monotonic() - started >= 0.15


def test_error_precedence_on_signed_calls(sandbox):
    entry = sandbox.credentials["victim-bot"]
    no_header = _get(sandbox, "/api/v3/account", None, _signed(sandbox, entry))
    assert (no_header.status_code, no_header.json()["code"]) == (401, -2014)
    unknown = _get(sandbox, "/api/v3/account", dict(entry, api_key="Q" * 64), _signed(sandbox, entry))
    assert (unknown.status_code, unknown.json()["code"]) == (401, -2015)
    missing = _get(sandbox, "/api/v3/account", entry, "recvWindow=5000")
    assert missing.json() == {
        "code": -1102,
        "msg": "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
    }
    stale = _get(
        sandbox, "/api/v3/account", entry, _signed(sandbox, entry, timestamp=sandbox.exchange.clock.now_ms() - 20_000)
    )
    assert stale.json()["code"] == -1021
    too_wide = _get(sandbox, "/api/v3/account", entry, _signed(sandbox, entry, recvWindow=70_000))
    assert too_wide.json()["code"] == -1131
    tampered = _get(sandbox, "/api/v3/account", entry, _signed(sandbox, entry) + "0")
    assert (tampered.status_code, tampered.json()["code"]) == (400, -1022)


def test_bad_input_gets_binance_errors_not_stack_traces(sandbox):
    entry = sandbox.credentials["victim-bot"]
    cases = [
        (_get(sandbox, "/api/v3/klines", query="symbol=NOPEUSDT&interval=1h"), 400, -1121),
        (_get(sandbox, "/api/v3/klines", query="symbol=BTCUSDT&interval=7m"), 400, -1120),
        (_get(sandbox, "/api/v3/klines", query="symbol=BTCUSDT&interval=1h&limit=abc"), 400, -1100),
        (_get(sandbox, "/api/v3/ticker/price", query="symbol=A&symbol=B"), 400, -1101),
        (
            _get(
                sandbox,
                "/api/v3/myTrades",
                entry,
                _signed(sandbox, entry, {"symbol": "BTCUSDT", "startTime": 0, "endTime": 90_000_000}),
            ),
            400,
            -1127,
        ),
        (_get(sandbox, "/sapi/v1/asset/transfer", entry, _signed(sandbox, entry)), 400, -1102),
        (
            _get(sandbox, "/api/v3/openOrders", entry, _signed(sandbox, entry, {"symbol": "BTCUSDT"}), method="DELETE"),
            400,
            -2011,
        ),
        (_get(sandbox, "/api/v3/time", method="PATCH"), 405, -1000),
        (_get(sandbox, "/api/v3/nothing-here"), 404, -1000),
        (_get(sandbox, "/api/v3/order", entry, method="POST", data=b"x" * 100_000), 413, -1000),
    ]
    for response, status, code in cases:
        assert response.headers["content-type"] == "application/json", response.text
        assert (response.status_code, response.json()["code"]) == (status, code), response.text


def test_admin_changes_what_a_key_may_do(sandbox):
    entry = sandbox.credentials["victim-bot"]
    order = {"symbol": "BNBUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.1"}
    assert _get(sandbox, "/api/v3/order", entry, _signed(sandbox, entry, order), method="POST").status_code == 200
    sandbox.admin(f"keys/{entry['label']}", {"permissions": ["reading"]})
    refused = _get(sandbox, "/api/v3/order", entry, _signed(sandbox, entry, order), method="POST")
    assert refused.json()["code"] == -2015
    restrictions = _get(sandbox, "/sapi/v1/account/apiRestrictions", entry, _signed(sandbox, entry)).json()
    assert restrictions["enableSpotAndMarginTrading"] is False and restrictions["enableReading"] is True
    sandbox.admin("accounts/victim/disable")
    assert _get(sandbox, "/api/v3/account", entry, _signed(sandbox, entry)).json()["code"] == -2015
