"""The sandbox's HTTP and WebSocket server (FastAPI), answering as Binance does (binance-api.md §6)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException

from keyguard.sandbox import api_futures, api_market, api_spot, api_subaccount, api_wallet
from keyguard.sandbox.admin import admin_router
from keyguard.sandbox.errors import BinanceError
from keyguard.sandbox.exchange import Faults, SandboxExchange
from keyguard.sandbox.gateway import Call, Endpoint, authenticate, parse_params, signature_payload
from keyguard.sandbox.live import LiveTrading
from keyguard.sandbox.stream import StreamHub, user_data_stream

INTERNAL_ERROR = {"code": -1001, "msg": "Internal error; unable to process your request. Please try again."}
AVOID_BANS = "Please use WebSocket Streams for live updates to avoid bans."
PROXY_401_PAGE = (
    "<html><head><title>401 Authorization Required</title></head><body><h1>401 Authorization Required</h1>"
    "<hr>nginx</body></html>"
)
SERVER_ERROR_PAGE = (
    "<html><head><title>{status}</title></head><body><h1>{status} Service Unavailable</h1></body></html>"
)


def _endpoints(exchange: SandboxExchange) -> list[Endpoint]:
    return [
        *api_market.endpoints(exchange),
        *api_spot.endpoints(exchange),
        *api_wallet.endpoints(exchange),
        *api_futures.endpoints(exchange),
        *api_subaccount.endpoints(exchange),
    ]


def _injected_fault(faults: Faults, family: str, now_ms: int) -> Response | None:
    """The answer an injected fault gives instead of the endpoint's, in the order a request meets them:
    a proxy in front, then an IP ban (on /api only, binance-api.md §1.5), then a Binance-side 5xx."""
    if faults.proxy_401 > 0:
        faults.proxy_401 -= 1
        return HTMLResponse(PROXY_401_PAGE, status_code=401, headers={"WWW-Authenticate": 'Basic realm="proxy"'})
    if faults.burst_418 > 0 and family == "api":
        faults.burst_418 -= 1
        until = now_ms + faults.ban_seconds * 1000
        msg = f"Way too much request weight used; IP banned until {until}. {AVOID_BANS}"
        return JSONResponse(
            {"code": -1003, "msg": msg}, status_code=418, headers={"Retry-After": str(faults.ban_seconds)}
        )
    if faults.error_rate and faults.rng.random() < faults.error_rate:
        if faults.error_body == "none":
            return HTMLResponse(SERVER_ERROR_PAGE.format(status=faults.error_status), status_code=faults.error_status)
        return JSONResponse(INTERNAL_ERROR, status_code=faults.error_status)
    return None


def _weight(endpoint: Endpoint, call: Call) -> int:
    if endpoint.path == "/api/v3/openOrders" and endpoint.method == "GET" and not call.get("symbol"):
        return 80
    if endpoint.path == "/api/v3/myTrades" and call.get("orderId"):
        return 5
    if endpoint.path == "/api/v3/ticker/price" and not call.get("symbol"):
        return 4
    return endpoint.weight


def create_app(exchange: SandboxExchange) -> FastAPI:
    app = FastAPI(
        title="keyguard sandbox exchange",
        docs_url="/_sandbox/docs",
        redoc_url=None,
        openapi_url="/_sandbox/openapi.json",
    )
    app.state.exchange = exchange

    def make_handler(endpoint: Endpoint):
        async def handler(request: Request) -> JSONResponse:
            faults = exchange.faults
            if faults.latency_ms:
                await asyncio.sleep(faults.latency_ms / 1000)
            if faults.timeout_rate and faults.rng.random() < faults.timeout_rate:
                await asyncio.sleep(faults.timeout_ms / 1000)
            injected = _injected_fault(faults, endpoint.family, exchange.clock.now_ms())
            if injected is not None:
                return injected
            ip = request.client.host if request.client else "127.0.0.1"
            raw_query = request.scope.get("query_string", b"")
            content_type = request.headers.get("content-type", "")
            length = int(request.headers.get("content-length") or 0)
            headers: dict[str, str] = {}
            try:
                if length > 64 * 1024:
                    raise BinanceError(-1000, "Request body too large.", 413)
                body = await request.body()
                params = parse_params(raw_query, body, content_type)
                call = Call(params, ip, exchange.clock.now_ms())
                weight = _weight(endpoint, call)
                if weight:
                    headers.update(exchange.limiter.charge(endpoint.family, ip, weight, call.now))
                payload, signature = signature_payload(raw_query, b"" if "json" in content_type else body)
                call.key = authenticate(
                    endpoint,
                    call,
                    request.headers.get("x-mbx-apikey"),
                    exchange.keys,
                    payload,
                    signature,
                    exchange.account_disabled,
                )
                if endpoint.uid_weight and call.key:
                    uid = exchange.account_of(call.key).uid
                    headers.update(exchange.limiter.charge_uid(uid, endpoint.uid_weight, call.now))
                answer = endpoint.handler(call)
                if faults.lost_answers and endpoint.method in ("POST", "DELETE") and call.key:
                    faults.lost_answers -= 1
                    return JSONResponse(INTERNAL_ERROR, status_code=503)
                return JSONResponse(answer, headers=headers)
            except BinanceError as error:
                return JSONResponse(error.body(), status_code=error.status, headers={**headers, **error.headers})

        handler.__name__ = f"{endpoint.method.lower()}_{endpoint.path.strip('/').replace('/', '_')}"
        return handler

    for endpoint in _endpoints(exchange):
        app.add_api_route(
            endpoint.path,
            make_handler(endpoint),
            methods=[endpoint.method],
            summary=f"{endpoint.security}, weight {endpoint.weight or endpoint.uid_weight}",
        )

    streams = StreamHub()
    app.state.streams = streams
    app.include_router(admin_router(exchange, streams, LiveTrading(exchange)))

    @app.websocket("/ws-api/v3")
    async def websocket_api(websocket: WebSocket) -> None:
        await user_data_stream(exchange, streams, websocket)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        if error.status_code == 405:
            return JSONResponse({"code": -1000, "msg": "Method not allowed for this endpoint."}, status_code=405)
        if request.url.path.startswith("/_sandbox/"):  # the admin API says what was wrong
            return JSONResponse({"detail": error.detail}, status_code=error.status_code)
        return JSONResponse({"code": -1000, "msg": "Unknown endpoint."}, status_code=error.status_code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        return JSONResponse(INTERNAL_ERROR, status_code=500)

    return app


class SandboxServer:
    """A running sandbox on a loopback socket, in a background thread (tests) or the foreground (CLI)."""

    def __init__(
        self,
        exchange: SandboxExchange,
        host: str = "127.0.0.1",
        port: int = 0,
        ws_ping_interval: float = 20.0,
        ws_ping_timeout: float = 60.0,
    ) -> None:
        """The WebSocket API pings every `ws_ping_interval` seconds and drops a client that sends no pong within
        `ws_ping_timeout` (Binance: 20 s and a minute, web-socket-api.md)."""
        self.exchange = exchange
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind((host, port))
        self.socket.listen(2048)  # clients queue from now on, before uvicorn starts accepting
        self.host, self.port = self.socket.getsockname()[:2]
        config = uvicorn.Config(
            create_app(exchange),
            log_level="warning",
            access_log=False,
            ws="websockets-sansio",
            ws_ping_interval=ws_ping_interval,
            ws_ping_timeout=ws_ping_timeout,
        )
        self.server = uvicorn.Server(config)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws-api/v3"

    def run(self) -> None:
        self.server.run(sockets=[self.socket])

    @contextmanager
    def running(self) -> Iterator[SandboxServer]:
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        while not self.server.started:
            if not thread.is_alive():
                raise RuntimeError("the sandbox server failed to start")
            threading.Event().wait(0.01)
        try:
            yield self
        finally:
            self.server.should_exit = True
            thread.join(timeout=10)
