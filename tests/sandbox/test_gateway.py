"""Binance's rules at the door: weights and limits, error precedence, bad input answered as Binance does."""

from __future__ import annotations

import time

import requests

from .conftest import call, signed_query


def _start_of_a_minute(sandbox) -> None:
    """Moves the sandbox clock just past a minute boundary: the next requests share one weight window."""
    now = call(sandbox, "/api/v3/time").json()["serverTime"]
    sandbox.admin("clock/advance", {"ms": 60_000 - now % 60_000 + 200})
    sandbox.admin("faults", {"reset_limits": True})


def test_weight_headers_count_per_minute(sandbox):
    _start_of_a_minute(sandbox)
    first = call(sandbox, "/api/v3/exchangeInfo")
    second = call(sandbox, "/api/v3/exchangeInfo")
    assert int(second.headers["X-MBX-USED-WEIGHT-1M"]) - int(first.headers["X-MBX-USED-WEIGHT-1M"]) == 20
    entry = sandbox.credentials["victim-bot"]
    sapi = call(sandbox, "/sapi/v1/account/apiRestrictions", entry, signed_query(sandbox, entry))
    assert sapi.status_code == 200 and "X-SAPI-USED-IP-WEIGHT-1M" in sapi.headers
    history = call(sandbox, "/sapi/v1/capital/withdraw/history", entry, signed_query(sandbox, entry))
    assert history.headers["X-SAPI-USED-UID-WEIGHT-1M"] == "18000"


def test_over_the_limit_is_429_then_418(sandbox):
    _start_of_a_minute(sandbox)
    statuses = [call(sandbox, "/api/v3/exchangeInfo").status_code for _ in range(301)]
    assert statuses[:300] == [200] * 300 and statuses[300] == 429
    refused = call(sandbox, "/api/v3/ping")
    assert refused.status_code == 429 and refused.json()["code"] == -1003 and int(refused.headers["Retry-After"]) > 0
    for _ in range(3):
        last = call(sandbox, "/api/v3/ping")
    assert last.status_code == 418 and "banned" in last.json()["msg"]


def test_forced_429_burst_and_server_errors(sandbox):
    sandbox.admin("faults", {"burst_429": 2})
    assert [call(sandbox, "/sapi/v1/system/status").status_code for _ in range(3)] == [429, 429, 200]
    sandbox.admin("faults", {"error_rate": 1.0})
    failed = call(sandbox, "/api/v3/time")
    assert failed.status_code == 503 and failed.json()["code"] == -1001
    sandbox.admin("faults", {"error_rate": 0.0, "latency_ms": 150})
    started = time.monotonic()
    assert call(sandbox, "/api/v3/time").status_code == 200
    assert time.monotonic() - started >= 0.15


def test_error_precedence_on_signed_calls(sandbox):
    entry = sandbox.credentials["victim-bot"]
    no_header = call(sandbox, "/api/v3/account", None, signed_query(sandbox, entry))
    assert (no_header.status_code, no_header.json()["code"]) == (401, -2014)
    unknown = call(sandbox, "/api/v3/account", dict(entry, api_key="Q" * 64), signed_query(sandbox, entry))
    assert (unknown.status_code, unknown.json()["code"]) == (401, -2015)
    missing = call(sandbox, "/api/v3/account", entry, "recvWindow=5000")
    assert missing.json() == {
        "code": -1102,
        "msg": "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
    }
    stale = call(
        sandbox,
        "/api/v3/account",
        entry,
        signed_query(sandbox, entry, timestamp=sandbox.exchange.clock.now_ms() - 20_000),
    )
    assert stale.json()["code"] == -1021
    too_wide = call(sandbox, "/api/v3/account", entry, signed_query(sandbox, entry, recvWindow=70_000))
    assert too_wide.json()["code"] == -1131
    tampered = call(sandbox, "/api/v3/account", entry, signed_query(sandbox, entry) + "0")
    assert (tampered.status_code, tampered.json()["code"]) == (400, -1022)


def test_bad_input_gets_binance_errors_not_stack_traces(sandbox):
    entry = sandbox.credentials["victim-bot"]
    cases = [
        (call(sandbox, "/api/v3/klines", query="symbol=NOPEUSDT&interval=1h"), 400, -1121),
        (call(sandbox, "/api/v3/klines", query="symbol=BTCUSDT&interval=7m"), 400, -1120),
        (call(sandbox, "/api/v3/klines", query="symbol=BTCUSDT&interval=1h&limit=abc"), 400, -1100),
        (call(sandbox, "/api/v3/ticker/price", query="symbol=A&symbol=B"), 400, -1101),
        (
            call(
                sandbox,
                "/api/v3/myTrades",
                entry,
                signed_query(sandbox, entry, {"symbol": "BTCUSDT", "startTime": 0, "endTime": 90_000_000}),
            ),
            400,
            -1127,
        ),
        (call(sandbox, "/sapi/v1/asset/transfer", entry, signed_query(sandbox, entry)), 400, -1102),
        (
            call(
                sandbox,
                "/api/v3/openOrders",
                entry,
                signed_query(sandbox, entry, {"symbol": "BTCUSDT"}),
                method="DELETE",
            ),
            400,
            -2011,
        ),
        (call(sandbox, "/api/v3/time", method="PATCH"), 405, -1000),
        (call(sandbox, "/api/v3/nothing-here"), 404, -1000),
        (call(sandbox, "/api/v3/order", entry, method="POST", data=b"x" * 100_000), 413, -1000),
    ]
    for response, status, code in cases:
        assert response.headers["content-type"] == "application/json", response.text
        assert (response.status_code, response.json()["code"]) == (status, code), response.text


def test_admin_changes_what_a_key_may_do(sandbox):
    entry = sandbox.credentials["victim-bot"]
    order = {"symbol": "BNBUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.1"}
    assert call(sandbox, "/api/v3/order", entry, signed_query(sandbox, entry, order), method="POST").status_code == 200
    sandbox.admin(f"keys/{entry['label']}", {"permissions": ["reading"]})
    refused = call(sandbox, "/api/v3/order", entry, signed_query(sandbox, entry, order), method="POST")
    assert refused.json()["code"] == -2015
    restrictions = call(sandbox, "/sapi/v1/account/apiRestrictions", entry, signed_query(sandbox, entry)).json()
    assert restrictions["enableSpotAndMarginTrading"] is False and restrictions["enableReading"] is True
    sandbox.admin("accounts/victim/disable")
    assert call(sandbox, "/api/v3/account", entry, signed_query(sandbox, entry)).json()["code"] == -2015


def test_master_key_pins_a_sub_account_key_to_an_ip(sandbox):
    master, sub = sandbox.credentials["victim-bot"], sandbox.credentials["victim-sub-key"]
    target = {"email": "victim-sub@sandbox.invalid", "subAccountApiKey": sub["api_key"]}
    path = "/sapi/v1/sub-account/subAccountApi/ipRestriction"
    before = call(sandbox, path, master, signed_query(sandbox, master, target)).json()
    assert (before["ipRestrict"], before["ipList"]) == ("false", [])
    assert call(sandbox, "/api/v3/account", sub, signed_query(sandbox, sub)).status_code == 200
    pinned = call(
        sandbox,
        "/sapi/v2/sub-account/subAccountApi/ipRestriction",
        master,
        signed_query(sandbox, master, {**target, "status": "2", "ipAddress": "203.0.113.7"}),
        method="POST",
    )
    assert pinned.json()["ipList"] == ["203.0.113.7"] and pinned.headers["X-SAPI-USED-UID-WEIGHT-1M"] == "6000"
    assert call(sandbox, "/api/v3/account", sub, signed_query(sandbox, sub)).json()["code"] == -2015
    removed = call(
        sandbox,
        path + "/ipList",
        master,
        signed_query(sandbox, master, {**target, "ipAddress": "203.0.113.7"}),
        method="DELETE",
    ).json()
    assert removed["ipList"] == [] and removed["ipRestrict"] == "false"
    other = call(sandbox, path, master, signed_query(sandbox, master, {**target, "email": "nobody@x"})).json()
    assert other["code"] == -12022


def test_timeout_fault_makes_requests_hang(sandbox):
    import pytest
    import requests

    sandbox.admin("faults", {"timeout_rate": 1.0, "timeout_ms": 3000})
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{sandbox.base_url}/api/v3/time", timeout=0.5)
    sandbox.admin("faults", {"timeout_rate": 0.0})
    assert call(sandbox, "/api/v3/time").status_code == 200


def test_account_snapshots_spot_and_futures(sandbox):
    entry = sandbox.credentials["victim-bot"]
    spot = call(sandbox, "/sapi/v1/accountSnapshot", entry, signed_query(sandbox, entry, {"type": "SPOT", "limit": 30}))
    assert len(spot.json()["snapshotVos"]) == 7  # without dates only the last 7 days, whatever the limit
    assert spot.headers["X-SAPI-USED-IP-WEIGHT-1M"] == "2400"
    now = sandbox.exchange.clock.now_ms()
    month = {"type": "SPOT", "limit": 30, "startTime": now - 29 * 86_400_000, "endTime": now}
    spot = call(sandbox, "/sapi/v1/accountSnapshot", entry, signed_query(sandbox, entry, month))
    days = spot.json()["snapshotVos"]
    assert len(days) == 29
    assert [d["updateTime"] for d in days] == sorted(d["updateTime"] for d in days)
    futures = call(sandbox, "/sapi/v1/accountSnapshot", entry, signed_query(sandbox, entry, {"type": "FUTURES"}))
    assert futures.json()["snapshotVos"][-1]["data"]["assets"] == [
        {"asset": "USDT", "marginBalance": "800.00000000", "walletBalance": "800.00000000"}
    ]
    assert call(sandbox, "/sapi/v1/accountSnapshot", entry, signed_query(sandbox, entry)).json()["code"] == -1102


def test_injected_bursts_send_retry_after_and_binance_bodies(sandbox):
    sandbox.admin("faults", {"burst_429": 1})
    limited = call(sandbox, "/sapi/v1/system/status")
    assert (limited.status_code, limited.json()["code"], limited.headers["Retry-After"]) == (429, -1003, "1")
    sandbox.admin("faults", {"burst_418": 2, "ban_seconds": 90})
    assert call(sandbox, "/sapi/v1/system/status").status_code == 200  # the IP ban applies to /api only
    banned = [call(sandbox, "/api/v3/time") for _ in range(3)]
    assert [r.status_code for r in banned] == [418, 418, 200]
    assert banned[0].json()["code"] == -1003 and "IP banned until" in banned[0].json()["msg"]
    assert banned[0].headers["Retry-After"] == "90"


def test_injected_server_errors_with_and_without_binance_body(sandbox):
    sandbox.admin("faults", {"error_rate": 1.0, "error_status": 500})
    binance = call(sandbox, "/api/v3/time")
    assert binance.status_code == 500
    assert binance.json() == {"code": -1001, "msg": "Internal error; unable to process your request. Please try again."}
    sandbox.admin("faults", {"error_body": "none", "error_status": 502})
    bare = call(sandbox, "/api/v3/time")
    assert bare.status_code == 502 and bare.headers["content-type"].startswith("text/html") and "code" not in bare.text


def test_injected_proxy_401_is_bare_html(sandbox):
    entry = sandbox.credentials["victim-bot"]
    sandbox.admin("faults", {"proxy_401": 1})
    proxied = call(sandbox, "/sapi/v1/account/apiRestrictions", entry, signed_query(sandbox, entry))
    assert proxied.status_code == 401 and proxied.headers["content-type"].startswith("text/html")
    assert "<html>" in proxied.text and '"code"' not in proxied.text
    after = call(sandbox, "/sapi/v1/account/apiRestrictions", entry, signed_query(sandbox, entry))
    assert after.status_code == 200


def test_bad_fault_settings_are_refused_whole(sandbox):
    refused = requests.post(
        f"{sandbox.base_url}/_sandbox/faults", json={"proxy_401": 3, "error_body": "xml"}, timeout=10
    )
    assert refused.status_code == 400
    assert sandbox.admin("faults", {})["proxy_401"] == 0


def test_admin_api_errors_say_what_was_wrong(sandbox):
    answer = requests.post(f"{sandbox.base_url}/_sandbox/faults", json={"error_rate": 7}, timeout=10)
    assert answer.status_code == 400 and "error_rate" in answer.json()["detail"]
    missing = requests.post(f"{sandbox.base_url}/_sandbox/keys/no-such-key/delete", timeout=10)
    assert missing.status_code == 404 and "no-such-key" in missing.json()["detail"]
