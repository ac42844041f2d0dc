"""The user data stream over the WebSocket API reports trades and transfers as they happen."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from websockets.sync.client import connect

from .conftest import ccxt_client


def _subscribe_params(entry: dict) -> dict:
    params = {"apiKey": entry["api_key"], "timestamp": int(time.time() * 1000)}
    payload = "&".join(f"{k}={params[k]}" for k in sorted(params)).encode()
    params["signature"] = hmac.new(entry["secret"].encode(), payload, hashlib.sha256).hexdigest()
    return params


def _receive_until(ws, predicate, limit: int = 50) -> list[dict]:
    seen = []
    for _ in range(limit):
        message = json.loads(ws.recv(timeout=5))
        seen.append(message)
        if predicate(message):
            return seen
    raise AssertionError(f"not received; got {seen}")


def test_user_data_stream_reports_trades_and_transfers(sandbox):
    trader = sandbox.credentials["victim-bot"]
    with connect(sandbox.ws_url) as ws:
        ws.send(
            json.dumps(
                {
                    "id": "sub-1",
                    "method": "userDataStream.subscribe.signature",
                    "params": _subscribe_params(trader),
                }
            )
        )
        reply = json.loads(ws.recv(timeout=5))
        assert reply == {"id": "sub-1", "status": 200, "result": {"subscriptionId": 0}}
        exchange = ccxt_client(sandbox, trader["api_key"], trader["secret"])
        exchange.create_order("BNB/USDT", "market", "buy", 0.5)
        events = _receive_until(ws, lambda m: m.get("event", {}).get("e") == "outboundAccountPosition")
        reports = [m["event"] for m in events if m.get("event", {}).get("e") == "executionReport"]
        assert [r["x"] for r in reports][:2] == ["NEW", "TRADE"]
        assert all(m["subscriptionId"] == 0 for m in events)
        mover = sandbox.credentials["victim-withdraw"]
        ccxt_client(sandbox, mover["api_key"], mover["secret"]).sapi_post_asset_transfer(
            {"type": "MAIN_FUNDING", "asset": "USDT", "amount": "10"}
        )
        [update] = [
            m["event"]
            for m in _receive_until(ws, lambda m: m.get("event", {}).get("e") == "balanceUpdate")
            if m.get("event", {}).get("e") == "balanceUpdate"
        ]
        assert (update["a"], update["d"]) == ("USDT", "-10.00000000")
        sandbox.admin(f"keys/{trader['label']}/delete")
        invalid = json.loads(ws.recv(timeout=5))
        assert invalid == {
            "id": None,
            "status": 401,
            "error": {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."},
        }


def test_stream_subscription_needs_a_valid_signature(sandbox):
    trader = sandbox.credentials["victim-bot"]
    params = _subscribe_params(trader)
    params["signature"] = "0" * 64
    with connect(sandbox.ws_url) as ws:
        ws.send(json.dumps({"id": 7, "method": "userDataStream.subscribe.signature", "params": params}))
        reply = json.loads(ws.recv(timeout=5))
    assert reply["status"] == 400 and reply["error"]["code"] == -1022
