"""The sandbox enforces Binance's documented parameter rules (facts and sources: /tmp/notes/binance-rules.md).

Each test goes through real HTTP to a sandbox built from the withdrawal-theft scenario (plus a second sub-account)
and would fail on a sandbox that accepted anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from keyguard.sandbox.scenario import build_scenario, load_spec
from keyguard.sandbox.server import SandboxServer

from .conftest import Sandbox, call, signed_query

HOUR = 3_600_000
DAY = 86_400_000


@contextmanager
def theft_sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """withdrawal-theft with a second sub-account, and victim-bot allowed to read futures."""
    spec = {k: v for k, v in load_spec("withdrawal-theft").items() if not k.startswith("__")}
    spec["accounts"].append(
        {"name": "victim-sub2", "role": "other", "master": "victim", "email": "victim-sub2@sandbox.invalid"}
    )
    bot = next(k for k in spec["keys"] if k["label"] == "victim-bot")
    bot["permissions"] = [*bot["permissions"], "futures"]
    path = tmp_path / "theft.yaml"
    path.write_text(yaml.safe_dump(_plain(spec)))
    built = build_scenario(str(path))
    with SandboxServer(built.exchange).running() as server:
        creds = {entry["label"]: entry for entry in built.credentials}
        sandbox = Sandbox(server.base_url, server.ws_url, built.exchange, creds, built.truth)
        sandbox.admin("faults", {"enforce_limits": False})  # weights are not what these tests are about
        yield sandbox


@pytest.fixture
def theft(tmp_path: Path) -> Iterator[Sandbox]:
    with theft_sandbox(tmp_path) as sandbox:
        yield sandbox


def _plain(value):
    """The loaded spec without the loader's line markers."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def signed(sandbox: Sandbox, path: str, label: str, params: dict | None = None, method: str = "GET"):
    entry = sandbox.credentials[label]
    return call(sandbox, path, entry, signed_query(sandbox, entry, params), method=method)


def ok(response) -> object:
    assert response.status_code == 200, response.text
    return response.json()


def rejected(response, code: int, msg: str | None = None) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["code"] == code
    if msg is not None:
        assert response.json()["msg"] == msg


def now(sandbox: Sandbox) -> int:
    return sandbox.exchange.clock.now_ms()


def victim_trade_time(sandbox: Sandbox, symbol: str = "BTCUSDT") -> int:
    return next(t.time for t in sandbox.exchange.ledger.trades[symbol] if "victim" in (t.buyer, t.seller))


# --- /api/v3 ------------------------------------------------------------------------------------------


def test_my_trades_window_is_at_most_24_hours(theft):
    t = victim_trade_time(theft)
    rows = ok(
        signed(theft, "/api/v3/myTrades", "victim-bot", {"symbol": "BTCUSDT", "startTime": t - DAY, "endTime": t})
    )
    assert t in {r["time"] for r in rows}
    too_long = {"symbol": "BTCUSDT", "startTime": t - DAY - 1, "endTime": t}
    rejected(
        signed(theft, "/api/v3/myTrades", "victim-bot", too_long),
        -1127,
        "More than 24 hours between startTime and endTime.",
    )


def test_my_trades_only_documented_parameter_combinations(theft):
    t = victim_trade_time(theft)
    for bad in ({"fromId": 1, "startTime": t}, {"orderId": 1, "startTime": t}, {"orderId": 1, "endTime": t}):
        response = signed(theft, "/api/v3/myTrades", "victim-bot", {"symbol": "BTCUSDT", **bad})
        rejected(response, -1128, "Combination of optional parameters invalid.")
    ok(signed(theft, "/api/v3/myTrades", "victim-bot", {"symbol": "BTCUSDT", "orderId": 1, "fromId": 1}))


def test_my_trades_limit_default_500_max_1000(theft):
    total = sum(1 for t in theft.exchange.ledger.trades["ETHUSDT"] if "victim" in (t.buyer, t.seller))
    assert total > 500
    assert len(ok(signed(theft, "/api/v3/myTrades", "victim-bot", {"symbol": "ETHUSDT", "fromId": 0}))) == 500
    rejected(signed(theft, "/api/v3/myTrades", "victim-bot", {"symbol": "ETHUSDT", "limit": 1001}), -1100)


def test_start_and_end_time_are_both_inclusive(theft):
    t = victim_trade_time(theft)
    same_ms = ok(signed(theft, "/api/v3/myTrades", "victim-bot", {"symbol": "BTCUSDT", "startTime": t, "endTime": t}))
    assert [r["time"] for r in same_ms] == [t]
    after = ok(
        signed(theft, "/api/v3/myTrades", "victim-bot", {"symbol": "BTCUSDT", "startTime": t + 1, "endTime": t + 1})
    )
    assert after == []
    deposit = min(r.time for r in theft.exchange.ledger.wallet if r.kind == "deposit")
    on_edge = ok(
        signed(theft, "/sapi/v1/capital/deposit/hisrec", "victim-bot", {"startTime": deposit, "endTime": deposit})
    )
    assert [d["insertTime"] for d in on_edge] == [deposit]


def test_all_orders_window_is_at_most_24_hours(theft):
    t = victim_trade_time(theft)
    ok(signed(theft, "/api/v3/allOrders", "victim-bot", {"symbol": "BTCUSDT", "startTime": t - DAY, "endTime": t}))
    too_long = {"symbol": "BTCUSDT", "startTime": t - DAY - 1, "endTime": t}
    rejected(
        signed(theft, "/api/v3/allOrders", "victim-bot", too_long),
        -1127,
        "More than 24 hours between startTime and endTime.",
    )


def test_cancel_all_open_orders_needs_a_symbol(theft):
    response = signed(theft, "/api/v3/openOrders", "victim-bot", method="DELETE")
    rejected(response, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")


def test_klines_interval_enum_and_limit(theft):
    rejected(call(theft, "/api/v3/klines", query="symbol=BTCUSDT&interval=2m"), -1120, "Invalid interval.")
    rejected(call(theft, "/api/v3/klines", query="symbol=BTCUSDT&interval=1h&limit=1001"), -1100)
    assert len(ok(call(theft, "/api/v3/klines", query="symbol=BTCUSDT&interval=1h"))) == 500


# --- daily account snapshot ---------------------------------------------------------------------------


def test_snapshot_without_dates_gives_the_last_7_days_only(theft):
    days = ok(signed(theft, "/sapi/v1/accountSnapshot", "victim-bot", {"type": "SPOT", "limit": 30}))["snapshotVos"]
    assert len(days) == 7 and min(d["updateTime"] for d in days) >= now(theft) - 7 * DAY


def test_snapshot_limit_is_7_to_30(theft):
    for limit in (6, 31):
        rejected(signed(theft, "/sapi/v1/accountSnapshot", "victim-bot", {"type": "SPOT", "limit": limit}), -1100)
    month = {"type": "SPOT", "startTime": now(theft) - 29 * DAY, "endTime": now(theft)}
    assert len(ok(signed(theft, "/sapi/v1/accountSnapshot", "victim-bot", month))["snapshotVos"]) == 7  # default limit
    assert len(ok(signed(theft, "/sapi/v1/accountSnapshot", "victim-bot", {**month, "limit": 30}))["snapshotVos"]) == 29


def test_snapshot_window_less_than_30_days_within_the_last_month(theft):
    end = now(theft)
    too_long = {"type": "SPOT", "limit": 30, "startTime": end - 30 * DAY, "endTime": end}
    rejected(signed(theft, "/sapi/v1/accountSnapshot", "victim-bot", too_long), -1127)
    ok(signed(theft, "/sapi/v1/accountSnapshot", "victim-bot", {**too_long, "startTime": end - 30 * DAY + 1}))
    old = {"type": "SPOT", "limit": 30, "startTime": end - 60 * DAY, "endTime": end - 31 * DAY}
    assert ok(signed(theft, "/sapi/v1/accountSnapshot", "victim-bot", old))["snapshotVos"] == []


def test_snapshot_type_is_required_and_an_enum(theft):
    rejected(signed(theft, "/sapi/v1/accountSnapshot", "victim-bot"), -1102)
    rejected(signed(theft, "/sapi/v1/accountSnapshot", "victim-bot", {"type": "OPTIONS"}), -1100)


# --- deposits and withdrawals -------------------------------------------------------------------------


def test_deposit_and_withdrawal_windows_are_less_than_90_days(theft):
    end = now(theft)
    for path in ("/sapi/v1/capital/deposit/hisrec", "/sapi/v1/capital/withdraw/history"):
        too_long = signed(theft, path, "victim-bot", {"startTime": end - 90 * DAY, "endTime": end})
        rejected(too_long, -4047, "Time interval must be within 0-90 days")
        ok(signed(theft, path, "victim-bot", {"startTime": end - 90 * DAY + 1, "endTime": end}))
        rejected(signed(theft, path, "victim-bot", {"startTime": end - 91 * DAY}), -4047)  # endTime defaults to now


def test_deposit_history_pages_with_offset_and_limit(theft):
    everything = ok(signed(theft, "/sapi/v1/capital/deposit/hisrec", "victim-bot"))
    assert len(everything) == 6
    pages = [
        ok(signed(theft, "/sapi/v1/capital/deposit/hisrec", "victim-bot", {"limit": 4, "offset": o})) for o in (0, 4)
    ]
    assert [len(p) for p in pages] == [4, 2] and pages[0] + pages[1] == everything
    rejected(signed(theft, "/sapi/v1/capital/deposit/hisrec", "victim-bot", {"limit": 1001}), -1100)


def test_withdrawal_history_with_withdraw_order_id_and_id_list(theft):
    end = now(theft)
    week = {"withdrawOrderId": "x", "startTime": end - 7 * DAY, "endTime": end}
    rejected(signed(theft, "/sapi/v1/capital/withdraw/history", "victim-bot", week), -4047)
    ok(signed(theft, "/sapi/v1/capital/withdraw/history", "victim-bot", {**week, "startTime": end - 7 * DAY + 1}))
    ids = ",".join(f"id{i}" for i in range(46))
    rejected(signed(theft, "/sapi/v1/capital/withdraw/history", "victim-bot", {"idList": ids}), -1100)
    theft_ids = theft.truth["withdrawal_ids"]
    found = ok(signed(theft, "/sapi/v1/capital/withdraw/history", "victim-bot", {"idList": ",".join(theft_ids)}))
    assert sorted(w["id"] for w in found) == sorted(theft_ids)


# --- universal transfers ------------------------------------------------------------------------------


def test_asset_transfer_type_is_required_and_pages_by_current_and_size(theft):
    rejected(signed(theft, "/sapi/v1/asset/transfer", "victim-bot"), -1102)
    rejected(signed(theft, "/sapi/v1/asset/transfer", "victim-bot", {"type": "MAIN_SPOT"}), -1100)
    rejected(signed(theft, "/sapi/v1/asset/transfer", "victim-bot", {"type": "ISOLATEDMARGIN_MARGIN"}), -1102)
    for _ in range(12):
        move = {"type": "MAIN_FUNDING", "asset": "USDT", "amount": "1"}
        ok(signed(theft, "/sapi/v1/asset/transfer", "victim-withdraw", move, method="POST"))
    first = ok(signed(theft, "/sapi/v1/asset/transfer", "victim-bot", {"type": "MAIN_FUNDING"}))
    assert first["total"] == 12 and len(first["rows"]) == 10  # size defaults to 10
    second = ok(signed(theft, "/sapi/v1/asset/transfer", "victim-bot", {"type": "MAIN_FUNDING", "current": 2}))
    assert len(second["rows"]) == 2
    rejected(signed(theft, "/sapi/v1/asset/transfer", "victim-bot", {"type": "MAIN_FUNDING", "size": 101}), -1100)


def test_asset_transfer_defaults_to_the_last_7_days(theft):
    ok(
        signed(
            theft,
            "/sapi/v1/asset/transfer",
            "victim-withdraw",
            {"type": "MAIN_FUNDING", "asset": "USDT", "amount": "1"},
            "POST",
        )
    )
    made = now(theft)
    theft.admin("clock/advance", {"ms": 8 * DAY})
    assert ok(signed(theft, "/sapi/v1/asset/transfer", "victim-bot", {"type": "MAIN_FUNDING"}))["total"] == 0
    dated = {"type": "MAIN_FUNDING", "startTime": made - DAY, "endTime": now(theft)}
    assert ok(signed(theft, "/sapi/v1/asset/transfer", "victim-bot", dated))["total"] == 1


def sub_to_master(sandbox: Sandbox) -> None:
    move = {
        "fromEmail": "victim-sub@sandbox.invalid",
        "fromAccountType": "SPOT",
        "toAccountType": "SPOT",
        "asset": "USDT",
        "amount": "100",
    }
    ok(signed(sandbox, "/sapi/v1/sub-account/universalTransfer", "victim-withdraw", move, "POST"))


def test_sub_account_transfer_history_shows_transfers_from_the_master_unless_an_email_is_given(theft):
    sub_to_master(theft)
    path = "/sapi/v1/sub-account/universalTransfer"
    default = ok(signed(theft, path, "victim-bot"))["result"]
    assert {(t["fromEmail"], t["toEmail"]) for t in default} == {
        ("victim@sandbox.invalid", "victim-sub@sandbox.invalid")
    }
    incoming = ok(signed(theft, path, "victim-bot", {"fromEmail": "victim-sub@sandbox.invalid"}))["result"]
    assert [(t["fromEmail"], t["toEmail"]) for t in incoming] == [
        ("victim-sub@sandbox.invalid", "victim@sandbox.invalid")
    ]
    both = {"fromEmail": "victim-sub@sandbox.invalid", "toEmail": "victim@sandbox.invalid"}
    rejected(signed(theft, path, "victim-bot", both), -1128)


def test_sub_account_transfer_history_window_is_less_than_7_days(theft):
    path, end = "/sapi/v1/sub-account/universalTransfer", now(theft)
    rejected(signed(theft, path, "victim-bot", {"startTime": end - 7 * DAY, "endTime": end}), -1127)
    assert ok(signed(theft, path, "victim-bot", {"startTime": end - 7 * DAY + 1, "endTime": end}))["totalCount"] == 1
    theft.admin("clock/advance", {"ms": 7 * DAY + HOUR})
    assert ok(signed(theft, path, "victim-bot"))["totalCount"] == 0  # the default is the last 7 days


def test_sub_account_transfer_history_pages_with_at_most_500(theft):
    path = "/sapi/v1/sub-account/universalTransfer"
    rejected(signed(theft, path, "victim-bot", {"limit": 501}), -1100)
    assert ok(signed(theft, path, "victim-bot", {"page": 2}))["result"] == []


def test_master_only_endpoints_refuse_a_sub_account_key(theft):
    for path, params in (
        ("/sapi/v1/sub-account/universalTransfer", {}),
        ("/sapi/v1/sub-account/list", {}),
        ("/sapi/v1/sub-account/subAccountApi/ipRestriction", {"email": "x@y", "subAccountApiKey": "k"}),
    ):
        rejected(signed(theft, path, "victim-sub-key", params), -4006, "Support main account only.")
    rejected(signed(theft, "/sapi/v1/sub-account/transfer/subUserHistory", "victim-bot"), -4006)


def test_sub_account_list_returns_one_per_page_by_default(theft):
    path = "/sapi/v1/sub-account/list"
    assert len(ok(signed(theft, path, "victim-bot"))["subAccounts"]) == 1
    every = ok(signed(theft, path, "victim-bot", {"limit": 200}))["subAccounts"]
    assert sorted(s["email"] for s in every) == ["victim-sub2@sandbox.invalid", "victim-sub@sandbox.invalid"]
    second = ok(signed(theft, path, "victim-bot", {"page": 2}))["subAccounts"]
    assert [s["email"] for s in second] == ["victim-sub2@sandbox.invalid"]
    rejected(signed(theft, path, "victim-bot", {"limit": 201}), -1100)


def test_sub_user_history_defaults_to_transfers_out(theft):
    path = "/sapi/v1/sub-account/transfer/subUserHistory"
    assert ok(signed(theft, path, "victim-sub-key")) == []  # the master's transfer IN is type 1
    incoming = ok(signed(theft, path, "victim-sub-key", {"type": 1}))
    assert [(t["counterParty"], t["email"], t["type"]) for t in incoming] == [("master", "victim@sandbox.invalid", 1)]
    sub_to_master(theft)
    out = ok(signed(theft, path, "victim-sub-key"))
    assert [(t["email"], t["qty"]) for t in out] == [("victim@sandbox.invalid", "100.00000000")]
    theft.admin("clock/advance", {"ms": 31 * DAY})
    assert ok(signed(theft, path, "victim-sub-key", {"type": 1})) == []  # the default is the last 30 days


# --- sub-account key IP restriction -------------------------------------------------------------------


def test_ip_restriction_post_adds_to_the_list_and_delete_removes(theft):
    sub_key = theft.credentials["victim-sub-key"]["api_key"]
    who = {"email": "victim-sub@sandbox.invalid", "subAccountApiKey": sub_key}
    v2 = "/sapi/v2/sub-account/subAccountApi/ipRestriction"
    v1 = "/sapi/v1/sub-account/subAccountApi/ipRestriction"
    ok(signed(theft, v2, "victim-bot", {**who, "status": "2", "ipAddress": "10.0.0.1"}, "POST"))
    added = ok(signed(theft, v2, "victim-bot", {**who, "status": "2", "ipAddress": "10.0.0.2"}, "POST"))
    assert sorted(added["ipList"]) == ["10.0.0.1", "10.0.0.2"] and added["status"] == "2"
    left = ok(signed(theft, v1 + "/ipList", "victim-bot", {**who, "ipAddress": "10.0.0.1"}, "DELETE"))
    assert left["ipList"] == ["10.0.0.2"] and left["ipRestrict"] == "true"
    assert ok(signed(theft, v1, "victim-bot", who))["ipList"] == ["10.0.0.2"]
    rejected(signed(theft, v1 + "/ipList", "victim-bot", who, "DELETE"), -1102)  # ipAddress is mandatory


def test_ip_restriction_changes_need_the_trading_permission(theft):
    sub_key = theft.credentials["victim-sub-key"]["api_key"]
    who = {"email": "victim-sub@sandbox.invalid", "subAccountApiKey": sub_key, "status": "2", "ipAddress": "10.0.0.1"}
    response = signed(theft, "/sapi/v2/sub-account/subAccountApi/ipRestriction", "victim-withdraw", who, "POST")
    assert (response.status_code, response.json()["code"]) == (401, -2015)


# --- Simple Earn --------------------------------------------------------------------------------------


def test_earn_positions_page_with_size_at_most_100(theft):
    for path in ("/sapi/v1/simple-earn/flexible/position", "/sapi/v1/simple-earn/locked/position"):
        assert ok(signed(theft, path, "victim-bot", {"size": 100}))["total"] == 1
        rejected(signed(theft, path, "victim-bot", {"size": 101}), -1100)
        assert ok(signed(theft, path, "victim-bot", {"current": 2}))["rows"] == []


def test_isolated_margin_account_takes_at_most_5_symbols(theft):
    path = "/sapi/v1/margin/isolated/account"
    assert ok(signed(theft, path, "victim-bot", {"symbols": "BTCUSDT,ETHUSDT"}))["assets"] == []
    rejected(signed(theft, path, "victim-bot", {"symbols": "A,B,C,D,E,F"}), -1100)
