"""/_sandbox/: what only Binance's website can do, and fault injection. Loopback clients only."""

from __future__ import annotations

import ipaddress
from typing import Any

from fastapi import APIRouter, HTTPException, Request

from keyguard.sandbox.exchange import SandboxExchange
from keyguard.sandbox.keys import SandboxKey, permissions_from
from keyguard.sandbox.live import LiveError, LiveTrading
from keyguard.sandbox.stream import StreamHub


def _loopback_only(request: Request) -> None:
    host = request.client.host if request.client else ""
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise HTTPException(403, "the sandbox admin API answers loopback clients only")


def admin_router(exchange: SandboxExchange, streams: StreamHub, live: LiveTrading) -> APIRouter:
    """The routes that touch live connections or start live trading are coroutines: they run on the server's
    event loop, where the WebSocket connections and the live tasks live."""
    router = APIRouter(prefix="/_sandbox", tags=["sandbox admin"])

    def key(api_key_or_label: str) -> SandboxKey:
        found = exchange.keys.get(api_key_or_label)
        if found is None:
            try:
                found = exchange.key_by_label(api_key_or_label)
            except KeyError:
                raise HTTPException(404, f"no key {api_key_or_label!r}") from None
        return found

    @router.post("/keys/{api_key}/delete")
    def delete_key(api_key: str, request: Request) -> dict[str, Any]:
        _loopback_only(request)
        found = key(api_key)
        found.deleted = True
        exchange.notify_key_invalid(found)
        return {"label": found.label, "deleted": True}

    @router.post("/keys/{api_key}")
    def change_key(api_key: str, body: dict[str, Any], request: Request) -> dict[str, Any]:
        _loopback_only(request)
        found = key(api_key)
        if "permissions" in body:
            try:
                found.permissions = {"enableReading": True, **permissions_from(list(body["permissions"]))}
            except ValueError as error:
                raise HTTPException(400, str(error)) from None
        if "ip_whitelist" in body:
            found.ip_whitelist = [str(ip) for ip in body["ip_whitelist"]]
        return found.restrictions()

    @router.post("/accounts/{name}/disable")
    def disable_account(name: str, request: Request) -> dict[str, Any]:
        _loopback_only(request)
        account = exchange.ledger.accounts.get(name)
        if account is None:
            raise HTTPException(404, f"no account {name!r}")
        account.status = "Disabled"
        for found in exchange.keys.values():
            if found.account == name:
                exchange.notify_key_invalid(found)
        return {"account": name, "status": account.status}

    @router.post("/faults")
    def faults(body: dict[str, Any], request: Request) -> dict[str, Any]:
        """latency_ms, error_rate (+ error_status, error_body "binance" | "none"), timeout_rate, timeout_ms,
        burst_429, burst_418 (+ ban_seconds), proxy_401, skew_ms, enforce_limits, reset_limits."""
        _loopback_only(request)
        try:
            exchange.faults.update(body)
        except ValueError as error:
            raise HTTPException(400, str(error)) from None
        if "skew_ms" in body:
            exchange.clock.offset_ms = int(body["skew_ms"])
        if "burst_429" in body:
            exchange.limiter.forced_429 = int(body["burst_429"])
        if "enforce_limits" in body:
            exchange.limiter.enforced = bool(body["enforce_limits"])
        if body.get("reset_limits"):
            exchange.limiter.reset()
        return {
            **exchange.faults.settings(),
            "skew_ms": exchange.clock.offset_ms,
            "burst_429": exchange.limiter.forced_429,
        }

    @router.post("/clock/advance")
    def advance(body: dict[str, Any], request: Request) -> dict[str, Any]:
        _loopback_only(request)
        exchange.clock.advance(int(body.get("ms", 0)))
        return {"serverTime": exchange.clock.now_ms()}

    @router.get("/truth")
    async def truth(request: Request) -> dict[str, Any]:
        _loopback_only(request)
        return exchange.truth

    @router.post("/stream")
    async def stream_settings(body: dict[str, Any], request: Request) -> dict[str, Any]:
        """max_connection_seconds: the lifetime of WebSocket API connections opened from now on (Binance: 24 h)."""
        _loopback_only(request)
        try:
            return streams.configure(body)
        except ValueError as error:
            raise HTTPException(400, str(error)) from None

    @router.post("/stream/drop")
    async def stream_drop(request: Request, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Closes live WebSocket API connections now (close code 1001): all, or those subscribed to `key`;
        `server_shutdown: true` sends the serverShutdown event first; `outage_seconds: N` refuses new connections
        for N seconds (an outage: the handshake fails, as when Binance's WebSocket API is down)."""
        _loopback_only(request)
        body = body or {}
        api_key = key(str(body["key"])).api_key if body.get("key") else None
        try:
            outage = float(body.get("outage_seconds") or 0)
        except (TypeError, ValueError):
            raise HTTPException(400, "outage_seconds must be a number") from None
        if outage < 0:
            raise HTTPException(400, "outage_seconds must be 0 or more")
        streams.refuse_for(outage)
        dropped = {"dropped": streams.drop(api_key, bool(body.get("server_shutdown")))}
        return {**dropped, "outage_seconds": outage} if outage else dropped

    @router.post("/live/bot")
    async def live_bot(body: dict[str, Any], request: Request) -> dict[str, Any]:
        """{"key": LABEL, "trades_per_minute": N, "symbols": [...]} (+ order_quote, client_ids)."""
        _loopback_only(request)
        try:
            return live.start_bot(key(str(body.get("key"))), body)
        except LiveError as error:
            raise HTTPException(400, str(error)) from None

    @router.post("/live/attack")
    async def live_attack(body: dict[str, Any], request: Request) -> dict[str, Any]:
        """An attack spec as in scenario files: type, key, symbol, markup, rounds, liquidate, step_seconds."""
        _loopback_only(request)
        try:
            return live.start_attack(key(str(body.get("key"))), body)
        except LiveError as error:
            raise HTTPException(400, str(error)) from None

    @router.post("/live/stop")
    async def live_stop(request: Request, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Stops every live bot and attack, or the one named `id`."""
        _loopback_only(request)
        name = (body or {}).get("id")
        return {"stopped": await live.stop(str(name) if name else None)}

    return router
