"""The live sandbox: a key's bot and an attack trading in real time, seen on the WebSocket user data stream; the
stream's connections dropped on demand, at the end of their lifetime and without pongs; funds moved to the
Funding wallet stop the attack."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import socket
import time
from decimal import Decimal

import pytest
import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from keyguard.sandbox.scenario import build_scenario
from keyguard.sandbox.server import SandboxServer

from .conftest import call, signed_query

WASH = {"type": "wash-trade-theft", "key": "victim-bot", "symbol": "KGTUSDT", "markup": 8, "liquidate": []}


def _subscribe(ws, entry: dict, request_id: str = "sub") -> dict:
    params = {"apiKey": entry["api_key"], "timestamp": int(time.time() * 1000)}
    payload = "&".join(f"{k}={params[k]}" for k in sorted(params)).encode()
    params["signature"] = hmac.new(entry["secret"].encode(), payload, hashlib.sha256).hexdigest()
    ws.send(json.dumps({"id": request_id, "method": "userDataStream.subscribe.signature", "params": params}))
    return json.loads(ws.recv(timeout=5))


def _receive_until(ws, predicate, seconds: float = 10) -> list[dict]:
    seen, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        message = json.loads(ws.recv(timeout=max(deadline - time.monotonic(), 0.01)))
        seen.append(message)
        if predicate(message):
            return seen
    raise AssertionError(f"not received; got {seen[-5:]}")


def _closed(ws, seconds: float = 5) -> ConnectionClosed:
    deadline = time.monotonic() + seconds
    with pytest.raises(ConnectionClosed) as closed:
        while time.monotonic() < deadline:
            ws.recv(timeout=seconds)
    return closed.value


def _truth(sandbox) -> dict:
    response = requests.get(f"{sandbox.base_url}/_sandbox/truth", timeout=10)
    response.raise_for_status()
    return response.json()


def _wait_for(sandbox, predicate, seconds: float = 15) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        truth = _truth(sandbox)
        if predicate(truth):
            return truth
        time.sleep(0.05)
    raise AssertionError(f"truth never matched: {truth.get('live_attack')}")


def test_live_bot_fills_arrive_on_the_user_data_stream(sandbox):
    trader = sandbox.credentials["victim-bot"]
    with connect(sandbox.ws_url) as ws:
        assert _subscribe(ws, trader)["result"] == {"subscriptionId": 0}
        bot = sandbox.admin("live/bot", {"key": "victim-bot", "trades_per_minute": 240, "symbols": ["BTCUSDT"]})
        assert (bot["id"], bot["running"], bot["client_ids"]) == ("bot-1", True, "binance")
        events = _receive_until(ws, lambda m: m.get("event", {}).get("x") == "TRADE")
    fill = events[-1]["event"]
    assert fill["s"] == "BTCUSDT" and fill["t"] > 0 and Decimal(fill["l"]) > 0
    query = signed_query(sandbox, trader, {"symbol": "BTCUSDT", "fromId": fill["t"]})
    mine = call(sandbox, "/api/v3/myTrades", trader, query).json()
    assert mine[0]["id"] == fill["t"] and mine[0]["orderId"] == fill["i"]
    assert sandbox.admin("live/stop") == {"stopped": ["bot-1"]}
    [record] = _truth(sandbox)["live_bots"]
    assert record["running"] is False and record["trades"] >= 1 and record["rejected"] == 0


def test_live_bot_stops_trading_when_its_key_is_deleted(sandbox):
    sandbox.admin("live/bot", {"key": "victim-bot", "trades_per_minute": 600, "symbols": ["BTCUSDT", "ETHUSDT"]})
    sandbox.admin("keys/victim-bot/delete")
    time.sleep(0.6)
    orders = len(sandbox.exchange.ledger.orders)
    time.sleep(0.6)
    assert len(sandbox.exchange.ledger.orders) == orders
    assert _truth(sandbox)["live_bots"][0]["rejected"] > 0
    sandbox.admin("live/stop")


def test_drop_closes_the_connections_of_one_key_then_all(sandbox):
    with connect(sandbox.ws_url) as victim_ws, connect(sandbox.ws_url) as attacker_ws:
        _subscribe(victim_ws, sandbox.credentials["victim-bot"])
        _subscribe(attacker_ws, sandbox.credentials["attacker"])
        assert sandbox.admin("stream/drop", {"key": "victim-bot", "server_shutdown": True}) == {"dropped": 1}
        shutdown = json.loads(victim_ws.recv(timeout=5))
        assert shutdown["event"]["e"] == "serverShutdown" and "subscriptionId" not in shutdown
        assert _closed(victim_ws).rcvd.code == 1001
        attacker_ws.send(json.dumps({"id": 2, "method": "ping"}))
        assert json.loads(attacker_ws.recv(timeout=5)) == {"id": 2, "status": 200, "result": {}}
        assert sandbox.admin("stream/drop") == {"dropped": 1}
        assert _closed(attacker_ws).rcvd.code == 1001


def test_connection_lifetime_is_a_setting(sandbox):
    assert sandbox.admin("stream", {"max_connection_seconds": 0.5})["max_connection_seconds"] == 0.5
    with connect(sandbox.ws_url) as ws:
        _subscribe(ws, sandbox.credentials["victim-bot"])
        opened = time.monotonic()
        closed = _closed(ws)
    assert closed.rcvd.code == 1000 and 0.4 < time.monotonic() - opened < 3
    response = requests.post(f"{sandbox.base_url}/_sandbox/stream", json={"max_connection_seconds": 0}, timeout=5)
    assert response.status_code == 400


def test_unsubscribe_ends_the_stream_with_event_stream_terminated(sandbox):
    with connect(sandbox.ws_url) as ws:
        _subscribe(ws, sandbox.credentials["victim-bot"])
        ws.send(json.dumps({"id": "u", "method": "userDataStream.unsubscribe"}))
        assert json.loads(ws.recv(timeout=5)) == {"id": "u", "status": 200, "result": {}}
        ended = json.loads(ws.recv(timeout=5))
        assert ended["subscriptionId"] == 0 and ended["event"]["e"] == "eventStreamTerminated"


def _raw_websocket(host: str, port: int) -> socket.socket:
    """A WebSocket client that never answers the server's pings."""
    raw = socket.create_connection((host, port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    raw.sendall(
        f"GET /ws-api/v3 HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    assert raw.recv(4096).startswith(b"HTTP/1.1 101")
    return raw


def test_a_client_that_sends_no_pong_is_disconnected():
    server = SandboxServer(build_scenario("clean").exchange, ws_ping_interval=0.2, ws_ping_timeout=0.3)
    with server.running():
        raw = _raw_websocket(server.host, server.port)
        received = b""
        while chunk := raw.recv(4096):
            received += chunk
        raw.close()
    frames = _server_frames(received)
    assert frames[0][0] == 0x89  # a ping frame
    [close] = [payload for opcode, payload in frames if opcode == 0x88]
    assert int.from_bytes(close[:2]) == 1011  # keepalive ping timeout


def _server_frames(data: bytes) -> list[tuple[int, bytes]]:
    """(first byte, payload) of each unmasked server frame; control frames are short (length < 126)."""
    frames, at = [], 0
    while at + 2 <= len(data):
        length = data[at + 1] & 0x7F
        assert length < 126, "the test expects only short control frames"
        frames.append((data[at], data[at + 2 : at + 2 + length]))
        at += 2 + length
    return frames


def test_live_attack_trades_are_in_truth(sandbox):
    started = sandbox.admin("live/attack", {**WASH, "rounds": 2, "step_seconds": 0.02})
    assert started["running"] and started["planned_theft_usdt"] > 0
    truth = _wait_for(sandbox, lambda t: not t["live_attack"]["running"])
    attack = truth["live_attack"]
    trades = {t.id: t for t in sandbox.exchange.ledger.trades["KGTUSDT"]}
    assert len(attack["trades"]) == 4 and attack["rejected"] == []
    assert attack["first_trade_ms"] == min(t["time"] for t in attack["trades"])
    for ref in attack["trades"]:
        trade = trades[ref["id"]]
        assert (trade.buyer, trade.seller, ref["symbol"]) == ("victim", "attacker", "KGTUSDT")
        assert trade.price > Decimal("0.3")  # about 8 times the market of about 0.047
    assert 0.9 * attack["planned_theft_usdt"] < attack["theft_usdt"] <= attack["planned_theft_usdt"] * 1.06


def _move_spot_usdt_to_funding(sandbox) -> None:
    """The guardian's containment: all free spot USDT to the Funding wallet with a universal transfer."""
    mover = sandbox.credentials["victim-withdraw"]
    for _ in range(3):  # an attack order may lock funds between the read and the transfer
        balances = call(sandbox, "/api/v3/account", mover, signed_query(sandbox, mover)).json()["balances"]
        free = next(b["free"] for b in balances if b["asset"] == "USDT")
        params = {"type": "MAIN_FUNDING", "asset": "USDT", "amount": free}
        moved = call(sandbox, "/sapi/v1/asset/transfer", mover, signed_query(sandbox, mover, params), "POST")
        if moved.status_code == 200:
            return
    raise AssertionError(moved.text)


def test_moving_funds_to_funding_makes_the_attack_fail(sandbox):
    victim = sandbox.exchange.ledger.accounts["victim"]
    funding_before = victim.funding.get("USDT", Decimal(0))
    sandbox.admin("live/attack", {**WASH, "rounds": 6, "step_seconds": 0.3})
    _wait_for(sandbox, lambda t: t["live_attack"]["first_trade_ms"] is not None)
    moving_at = sandbox.exchange.clock.now_ms()
    _move_spot_usdt_to_funding(sandbox)
    moved_at = sandbox.exchange.clock.now_ms()
    assert victim.balance("USDT").free < 1 and victim.funding["USDT"] > funding_before + 10_000
    truth = _wait_for(sandbox, lambda t: len(t["live_attack"]["rejected"]) >= 2)
    sandbox.admin("live/stop")
    attack = truth["live_attack"]
    assert {(r["code"], r["side"]) for r in attack["rejected"]} == {(-2010, "BUY")}
    assert all(r["time"] >= moving_at for r in attack["rejected"])
    assert all(o["time"] <= moved_at for o in attack["victim_orders"])
    assert attack["theft_usdt"] < attack["planned_theft_usdt"] / 2


def test_live_withdrawal_theft_in_parts_and_what_stops_it(sandbox):
    """A thief on the bot's own server (its whitelisted IP) withdraws USDT in 4 parts; the parts after the funds
    went to Funding fail (-4026), each part taken is a withdrawal the account's history and stream show."""
    victim = sandbox.exchange.ledger.accounts["victim"]
    usdt = victim.balance("USDT").free
    spec = {"type": "withdrawal-theft", "key": "victim-withdraw", "ip": "127.0.0.1", "rounds": 4, "step_seconds": 0.4}
    started = sandbox.admin("live/attack", spec)
    assert started["planned_theft_usdt"] == pytest.approx(float(usdt) * 0.97, rel=1e-6)
    _wait_for(sandbox, lambda t: len(t["live_attack"]["withdrawals"]) >= 1)
    _move_spot_usdt_to_funding(sandbox)
    truth = _wait_for(sandbox, lambda t: not t["live_attack"]["running"])
    attack = truth["live_attack"]
    taken = attack["withdrawals"]
    assert 1 <= len(taken) < 4 and len(taken) + len(attack["rejected"]) == 4
    assert {r["code"] for r in attack["rejected"]} == {-4026}
    assert attack["first_trade_ms"] == taken[0]["time"]
    assert attack["theft_usdt"] == pytest.approx(attack["planned_theft_usdt"] * len(taken) / 4, rel=1e-6)
    mover = sandbox.credentials["victim-withdraw"]
    history = call(sandbox, "/sapi/v1/capital/withdraw/history", mover, signed_query(sandbox, mover)).json()
    assert {row["id"] for row in history} >= {w["id"] for w in taken}

    refused = sandbox.admin("live/attack", {**spec, "ip": "198.51.100.23", "rounds": 1, "assets": ["BTC"]})
    assert refused["planned_theft_usdt"] > 0  # BTC is still in spot, but this thief is not on a whitelisted IP
    truth = _wait_for(sandbox, lambda t: not t["live_attack"]["running"])
    assert truth["live_attack"]["withdrawals"] == [] and truth["live_attack"]["rejected"][0]["code"] == -2015
