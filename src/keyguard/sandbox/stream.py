"""The user data stream over the WebSocket API: `userDataStream.subscribe.signature` (binance-api.md §2.7).

A connection behaves as Binance's WebSocket API docs (web-socket-api.md, "General API Information") say:
- it is "only valid for 24 hours; expect to be disconnected after the 24-hour mark" (the lifetime is a setting
  here, so a test can use seconds);
- "A `serverShutdown` event will be sent when the server is about to shutdown, resulting in disconnection"
  (`{"event": {"e": "serverShutdown", "E": ...}}`, no subscriptionId);
- `userDataStream.unsubscribe` ends a subscription with `eventStreamTerminated` (user-data-stream.md);
- the server pings every 20 s and disconnects a client that sends no pong within a minute (uvicorn's keepalive,
  set in server.py).
`StreamHub.drop` closes live connections at once, so a client's reconnection can be tested; `refuse_for` makes
new connections fail at the handshake for a while (an outage), so a client's "stream lost" can be tested.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect

from keyguard.sandbox import errors
from keyguard.sandbox.errors import BinanceError
from keyguard.sandbox.exchange import SandboxExchange
from keyguard.sandbox.gateway import Call, check_timestamp

DAY_SECONDS = 86_400.0
NORMAL_CLOSURE = 1000
GOING_AWAY = 1001
TRY_AGAIN_LATER = 1013


@dataclass(frozen=True)
class _Close:
    code: int
    reason: str
    shutdown_event: bool = False  # send serverShutdown first


class Connection:
    """One client's WebSocket API connection: its outbox (replies and events, in order) and subscriptions."""

    def __init__(self, websocket: WebSocket, ip: str) -> None:
        self.websocket = websocket
        self.ip = ip
        self.outbox: asyncio.Queue[dict[str, Any] | _Close] = asyncio.Queue()
        self.subscriptions: dict[int, str] = {}  # subscription id -> api key

    def close(self, code: int, reason: str, shutdown_event: bool = False) -> None:
        self.outbox.put_nowait(_Close(code, reason, shutdown_event))


class StreamHub:
    """The sandbox's open WebSocket API connections: their lifetime, and dropping them on demand."""

    def __init__(self, max_connection_seconds: float = DAY_SECONDS) -> None:
        self.max_connection_seconds = max_connection_seconds
        self.connections: set[Connection] = set()
        self.refused_until = 0.0  # time.monotonic() before which new connections are refused

    def refuse_for(self, seconds: float) -> None:
        self.refused_until = time.monotonic() + seconds if seconds > 0 else 0.0

    def refusing(self) -> bool:
        return time.monotonic() < self.refused_until

    def settings(self) -> dict[str, Any]:
        return {"max_connection_seconds": self.max_connection_seconds, "connections": len(self.connections)}

    def configure(self, body: dict[str, Any]) -> dict[str, Any]:
        """`max_connection_seconds` (> 0): the lifetime of connections opened from now on."""
        if "max_connection_seconds" in body:
            try:
                seconds = float(body["max_connection_seconds"])
            except (TypeError, ValueError):
                raise ValueError("max_connection_seconds must be a number") from None
            if not seconds > 0:
                raise ValueError("max_connection_seconds must be more than 0")
            self.max_connection_seconds = seconds
        return self.settings()

    def drop(self, api_key: str | None = None, shutdown_event: bool = False) -> int:
        """Closes every connection (or those subscribed to `api_key`) now; returns how many."""
        chosen = [c for c in self.connections if api_key is None or api_key in c.subscriptions.values()]
        for connection in chosen:
            connection.close(GOING_AWAY, "Connection dropped by the sandbox.", shutdown_event)
        return len(chosen)


def _signed_payload(params: dict[str, Any]) -> bytes:
    """WebSocket API signing: every parameter but the signature, sorted by name, joined as k=v&..."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "signature").encode()


async def user_data_stream(exchange: SandboxExchange, hub: StreamHub, websocket: WebSocket) -> None:
    if hub.refusing():
        await websocket.close(code=TRY_AGAIN_LATER)  # before accepting: the handshake itself fails (HTTP 403)
        return
    await websocket.accept()
    connection = Connection(websocket, websocket.client.host if websocket.client else "127.0.0.1")

    def on_event(account: str, event: dict[str, Any]) -> None:
        for sub_id, api_key in connection.subscriptions.items():
            key = exchange.keys[api_key]
            if key.account == account and not key.deleted:
                connection.outbox.put_nowait({"subscriptionId": sub_id, "event": event})

    def on_invalid(api_key: str) -> None:
        if api_key in connection.subscriptions.values():
            connection.outbox.put_nowait({"id": None, "status": 401, "error": errors.rejected_key().body()})

    hub.connections.add(connection)
    exchange.ledger.listeners.append(on_event)
    exchange.invalidation_listeners.append(on_invalid)
    expiry = asyncio.get_running_loop().call_later(
        hub.max_connection_seconds, connection.close, NORMAL_CLOSURE, "Connection lifetime reached."
    )
    tasks = {asyncio.create_task(_receive(exchange, connection)), asyncio.create_task(_send(exchange, connection))}
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        expiry.cancel()
        for task in tasks:
            task.cancel()
        hub.connections.discard(connection)
        exchange.ledger.listeners.remove(on_event)
        exchange.invalidation_listeners.remove(on_invalid)


async def _send(exchange: SandboxExchange, connection: Connection) -> None:
    """Sends the outbox in order; a close instruction ends the connection."""
    websocket = connection.websocket
    try:
        while True:
            message = await connection.outbox.get()
            if isinstance(message, _Close):
                if message.shutdown_event:
                    shutdown = {"event": {"e": "serverShutdown", "E": exchange.clock.now_ms()}}
                    await websocket.send_text(json.dumps(shutdown))
                await websocket.close(message.code, message.reason)
                return
            await websocket.send_text(json.dumps(message))
    except (WebSocketDisconnect, RuntimeError, OSError):
        return  # the client is gone


async def _receive(exchange: SandboxExchange, connection: Connection) -> None:
    outbox = connection.outbox
    try:
        while True:
            request: Any = None
            try:
                request = json.loads(await connection.websocket.receive_text())
                for message in _replies(exchange, request, connection):
                    outbox.put_nowait(message)
            except BinanceError as error:
                request_id = request.get("id") if isinstance(request, dict) else None
                outbox.put_nowait({"id": request_id, "status": error.status, "error": error.body()})
            except (ValueError, AttributeError):
                outbox.put_nowait({"id": None, "status": 400, "error": {"code": -1100, "msg": "Malformed request."}})
    except (WebSocketDisconnect, RuntimeError, OSError):
        return


def _replies(exchange: SandboxExchange, request: dict[str, Any], connection: Connection) -> list[dict[str, Any]]:
    """The reply to one request, and for an unsubscribe the eventStreamTerminated of each subscription it ended."""
    request_id = request.get("id")
    if request.get("method") != "userDataStream.unsubscribe":
        return [{"id": request_id, "status": 200, "result": _answer(exchange, request, connection)}]
    ended = _unsubscribe(connection.subscriptions, (request.get("params") or {}).get("subscriptionId"))
    terminated = {"e": "eventStreamTerminated", "E": exchange.clock.now_ms()}
    events = [{"subscriptionId": s, "event": terminated} for s in ended]
    return [{"id": request_id, "status": 200, "result": {}}, *events]


def _answer(exchange: SandboxExchange, request: dict[str, Any], connection: Connection) -> Any:
    method = request.get("method")
    params = request.get("params") or {}
    subscriptions = connection.subscriptions
    now = exchange.clock.now_ms()
    if method == "ping":
        return {}
    if method == "time":
        return {"serverTime": now}
    if method == "session.subscriptions":
        return [{"subscriptionId": s} for s in subscriptions]
    if method != "userDataStream.subscribe.signature":
        raise BinanceError(-1000, f"Unknown method {method!r}.")
    api_key = str(params.get("apiKey", ""))
    key = exchange.keys.get(api_key)
    if key is None or key.deleted or exchange.account_disabled(key):
        raise errors.rejected_key()
    call = Call({k: str(v) for k, v in params.items()}, connection.ip, now, key)
    call.required("timestamp")
    call.required("signature")
    check_timestamp(call)
    if not key.verify(_signed_payload(params), str(params["signature"])):
        raise errors.invalid_signature()
    if not key.ip_allowed(connection.ip):
        raise errors.rejected_key()
    if api_key in subscriptions.values():
        raise BinanceError(-1210, "This account is already subscribed on this connection.")
    sub_id = max(subscriptions, default=-1) + 1
    subscriptions[sub_id] = api_key
    return {"subscriptionId": sub_id}


def _unsubscribe(subscriptions: dict[int, str], sub_id: Any) -> list[int]:
    """No subscriptionId closes all; an unknown one closes nothing. Returns the subscriptions closed, each of
    which then gets eventStreamTerminated, after the reply `{}`."""
    ended = [s for s in subscriptions if sub_id is None or str(s) == str(sub_id)]
    for existing in ended:
        del subscriptions[existing]
    return ended
