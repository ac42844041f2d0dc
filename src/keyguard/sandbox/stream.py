"""The user data stream over the WebSocket API: `userDataStream.subscribe.signature` (binance-api.md §2.7)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect

from keyguard.sandbox import errors
from keyguard.sandbox.errors import BinanceError
from keyguard.sandbox.exchange import SandboxExchange
from keyguard.sandbox.gateway import Call, check_timestamp


def _signed_payload(params: dict[str, Any]) -> bytes:
    """WebSocket API signing: every parameter but the signature, sorted by name, joined as k=v&..."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "signature").encode()


async def user_data_stream(exchange: SandboxExchange, websocket: WebSocket) -> None:
    await websocket.accept()
    ip = websocket.client.host if websocket.client else "127.0.0.1"
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    subscriptions: dict[int, str] = {}  # subscription id -> api key

    def on_event(account: str, event: dict[str, Any]) -> None:
        for sub_id, api_key in subscriptions.items():
            key = exchange.keys[api_key]
            if key.account == account and not key.deleted:
                outbox.put_nowait({"subscriptionId": sub_id, "event": event})

    def on_invalid(api_key: str) -> None:
        if api_key in subscriptions.values():
            outbox.put_nowait({"id": None, "status": 401, "error": errors.rejected_key().body()})

    exchange.ledger.listeners.append(on_event)
    exchange.invalidation_listeners.append(on_invalid)

    async def sender() -> None:
        while True:
            await websocket.send_text(json.dumps(await outbox.get()))

    sending = asyncio.create_task(sender())
    try:
        while True:
            try:
                request = json.loads(await websocket.receive_text())
                request_id = request.get("id")
                reply = _answer(exchange, request, ip, subscriptions)
                outbox.put_nowait({"id": request_id, "status": 200, "result": reply})
            except BinanceError as error:
                outbox.put_nowait(
                    {
                        "id": request.get("id") if isinstance(request, dict) else None,
                        "status": error.status,
                        "error": error.body(),
                    }
                )
            except (ValueError, AttributeError):
                outbox.put_nowait({"id": None, "status": 400, "error": {"code": -1100, "msg": "Malformed request."}})
    except WebSocketDisconnect:
        pass
    finally:
        sending.cancel()
        exchange.ledger.listeners.remove(on_event)
        exchange.invalidation_listeners.remove(on_invalid)


def _answer(exchange: SandboxExchange, request: dict[str, Any], ip: str, subscriptions: dict[int, str]) -> Any:
    method = request.get("method")
    params = request.get("params") or {}
    now = exchange.clock.now_ms()
    if method == "ping":
        return {}
    if method == "time":
        return {"serverTime": now}
    if method == "session.subscriptions":
        return [{"subscriptionId": s} for s in subscriptions]
    if method == "userDataStream.unsubscribe":
        sub_id = params.get("subscriptionId")
        for existing in [s for s in subscriptions if sub_id is None or s == sub_id]:
            del subscriptions[existing]
        return {}
    if method != "userDataStream.subscribe.signature":
        raise BinanceError(-1000, f"Unknown method {method!r}.")
    api_key = str(params.get("apiKey", ""))
    key = exchange.keys.get(api_key)
    if key is None or key.deleted or exchange.account_disabled(key):
        raise errors.rejected_key()
    call = Call({k: str(v) for k, v in params.items()}, ip, now, key)
    call.required("timestamp")
    call.required("signature")
    check_timestamp(call)
    if not key.verify(_signed_payload(params), str(params["signature"])):
        raise errors.invalid_signature()
    if not key.ip_allowed(ip):
        raise errors.rejected_key()
    if api_key in subscriptions.values():
        raise BinanceError(-1210, "This account is already subscribed on this connection.")
    sub_id = max(subscriptions, default=-1) + 1
    subscriptions[sub_id] = api_key
    return {"subscriptionId": sub_id}
