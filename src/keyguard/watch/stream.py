"""The account's user data stream, live: Binance's WebSocket API with `userDataStream.subscribe.signature`
(binance-api.md §2.7; the REST listenKey endpoints were retired on 2026-02-20), kept alive across drops.

`UserDataStream.events()` yields Binance's own event objects as they come (executionReport,
outboundAccountPosition, balanceUpdate, listStatus, eventStreamTerminated…: the `event` of each
`{"subscriptionId", "event"}` message) and keyguard's own stream events, dicts with a `kind`:

  stream.connected      subscribed (`connection`: 1 for the first, then counting reconnects and rollovers)
  stream.disconnected   the connection closed or failed (`reason`)
  stream.subscribe_failed  Binance refused the subscription (`code`, `msg`: -2015 for a deleted key)
  stream.rejected       Binance said in-stream that the key is no longer valid (`code`)
  stream.lost           no stream for more than `lost_after_seconds` (`down_seconds`), once per outage
  stream.restored       subscribed again after a drop (`down_seconds`)
  stream.rollover       a planned fresh connection, no backoff (`reason`): before Binance's 24-hour connection
                        limit, or after a `serverShutdown` event (the server is about to close the connection)
  stream.gap_filled     the REST gap fill after a reconnect ran (`since_ms`, `symbols`, `events`, `weight`)
  stream.gap_fill_failed  the REST gap fill could not run (`error`, scrubbed)

After every reconnect (and rollover) the orders and fills made while no stream was there are read by REST
(GET /api/v3/myTrades and /api/v3/allOrders, weight 20 each, per symbol seen) and yielded as executionReport
events in Binance's shape with `"keyguard_source": "rest"`; events already delivered are never yielded twice.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import ccxt
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from keyguard.exchange.client import BinanceClient, ExchangeError
from keyguard.exchange.credentials import Credential

DEFAULT_WS_URL = "wss://ws-api.binance.com:443/ws-api/v3"
CONNECTION_LIMIT_SECONDS = 24 * 3600  # Binance closes a WebSocket API connection after 24 hours
ROLLOVER_SECONDS = CONNECTION_LIMIT_SECONDS - 15 * 60
LOST_AFTER_SECONDS = 60.0
SINCE_MARGIN_MS = 2_000  # the gap fill starts this much before the last event (clock skew); duplicates are dropped
DAY_MS = 86_400_000  # myTrades and allOrders: "the time between startTime and endTime can't be longer than 24 hours"
PAGE_LIMIT = 1000
REST_WEIGHT = {"myTrades": 20, "allOrders": 20}  # binance-api.md §2.2
CLOCK_CODE = -1021
SEEN_LIMIT = 100_000
TERMINAL_EXECUTION = {"CANCELED": "CANCELED", "EXPIRED": "EXPIRED", "REJECTED": "REJECTED"}
TERMINAL_EXECUTION["EXPIRED_IN_MATCH"] = "TRADE_PREVENTION"
CONNECT_FAILURES = (OSError, TimeoutError, InvalidHandshake, InvalidURI, ConnectionClosed)


class SubscribeError(Exception):
    def __init__(self, code: int | None, msg: str) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg


def sign(credential: Credential, payload: bytes) -> str:
    """The signature Binance expects for `payload`, by ccxt's own signing (as BinanceClient's requests are):
    hex HMAC-SHA256 for an HMAC secret, base64 RSA PKCS#1 v1.5 SHA-256 or Ed25519 for a PEM private key."""
    if credential.key_type == "hmac":
        return ccxt.Exchange.hmac(payload, credential.secret.encode())
    if credential.key_type == "rsa":
        return ccxt.Exchange.rsa(payload.decode(), credential.secret, "sha256")
    return ccxt.Exchange.eddsa(payload, credential.secret, "ed25519")


def subscribe_params(credential: Credential, timestamp_ms: int, recv_window_ms: int | None = None) -> dict[str, Any]:
    """Parameters of `userDataStream.subscribe.signature`: every parameter but the signature, sorted by name and
    joined as k=v&…, is the signed payload (WebSocket API "SIGNED request security")."""
    params: dict[str, Any] = {"apiKey": credential.api_key, "timestamp": timestamp_ms}
    if recv_window_ms is not None:
        params["recvWindow"] = recv_window_ms
    payload = "&".join(f"{name}={params[name]}" for name in sorted(params)).encode()
    params["signature"] = sign(credential, payload)
    return params


@dataclass
class StreamStats:
    connections: int = 0
    reconnects: int = 0
    rollovers: int = 0
    gap_fills: int = 0
    gap_events: int = 0
    gap_weight: int = 0
    duplicates_dropped: int = 0
    last_event_ms: int | None = None


class _Seen:
    """Execution reports already yielded, by (symbol, orderId, execution type, trade id); the oldest forgotten."""

    def __init__(self, limit: int = SEEN_LIMIT) -> None:
        self._keys: OrderedDict[tuple, None] = OrderedDict()
        self._limit = limit

    def add(self, event: dict[str, Any]) -> bool:
        """True when the report is new (and now remembered)."""
        key = (event.get("s"), event.get("i"), event.get("x"), event.get("t"))
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self._limit:
            self._keys.popitem(last=False)
        return True


@dataclass
class _Outage:
    """The current outage: failed attempts since the last subscription, when it began, whether it was reported."""

    failures: int = 0
    since: float | None = None
    lost_reported: bool = False

    def failed(self) -> bool:
        """Counts a failure; True when it begins an outage."""
        self.failures += 1
        if self.since is None:
            self.since = time.monotonic()
            return True
        return False

    def ended(self) -> None:
        self.failures, self.since, self.lost_reported = 0, None, False


class UserDataStream:
    """One account's user data stream, reconnected with exponential backoff and jitter, re-subscribed, rolled
    over before the 24-hour limit, with REST gap fills after each reconnect.

    credential: the watched key (HMAC, RSA or Ed25519). rest: the client for the gap fill (by default a
    BinanceClient for the same key at `rest_base_url`). symbols: symbols to gap-fill beyond those seen in events
    (the baseline's symbols: a fill on a symbol never seen on the stream is found only if it is listed here).
    The delay before reconnect attempt n is min(backoff_max, backoff_initial * 2**(n-1)) times a random
    factor in [1 - jitter, 1].
    """

    def __init__(
        self,
        credential: Credential,
        *,
        ws_url: str = DEFAULT_WS_URL,
        rest: BinanceClient | None = None,
        rest_base_url: str | None = None,
        symbols: Iterable[str] = (),
        rollover_seconds: float = ROLLOVER_SECONDS,
        backoff_initial_seconds: float = 1.0,
        backoff_max_seconds: float = 60.0,
        jitter: float = 0.5,
        lost_after_seconds: float = LOST_AFTER_SECONDS,
        open_timeout_seconds: float = 10.0,
        since_ms: int | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.credential = credential
        self.ws_url = ws_url
        self.rest = rest or BinanceClient(credential, rest_base_url)
        self.symbols: set[str] = set(symbols)
        self.rollover_seconds = rollover_seconds
        self.backoff_initial_seconds = backoff_initial_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self.jitter = jitter
        self.lost_after_seconds = lost_after_seconds
        self.open_timeout_seconds = open_timeout_seconds
        self.stats = StreamStats(last_event_ms=since_ms)
        self._rng = rng or random.Random()
        self._seen = _Seen()
        self._clock_offset_ms = 0
        self._request_id = 0
        self._rolled_over = False

    # --- the event stream ------------------------------------------------------------------------
    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """Yields events until the consumer stops iterating (aclose() closes the connection)."""
        outage = _Outage()
        while True:
            if outage.failures:
                async for event in self._wait_before_retry(outage):
                    yield event
            async for event in self._session(outage):
                yield event

    async def _session(self, outage: _Outage) -> AsyncIterator[dict[str, Any]]:
        """One connection: connect, subscribe, gap-fill, read until it ends; `outage` says how it ended."""
        try:
            websocket = await connect(
                self.ws_url, open_timeout=self.open_timeout_seconds, max_size=2**22, user_agent_header=None
            )
        except CONNECT_FAILURES as error:
            if outage.failed():
                yield _own("stream.disconnected", reason=f"connect failed: {type(error).__name__}")
            return
        try:
            try:
                await self._subscribe(websocket)
            except SubscribeError as refused:
                outage.failed()
                yield _own("stream.subscribe_failed", code=refused.code, msg=refused.msg)
                return
            except CONNECT_FAILURES as error:
                if outage.failed():
                    yield _own("stream.disconnected", reason=f"subscribe failed: {type(error).__name__}")
                return
            self.stats.connections += 1
            yield _own("stream.connected", connection=self.stats.connections)
            if outage.since is not None:
                yield _own("stream.restored", down_seconds=round(time.monotonic() - outage.since, 3))
            outage.ended()
            if self.stats.last_event_ms is None:
                self.stats.last_event_ms = self._now_ms()
            else:
                async for event in self._gap_fill():
                    yield event
            async for event in self._read(websocket):
                yield event
            if self._rolled_over:
                self.stats.rollovers += 1
            else:
                self.stats.reconnects += 1
                outage.failed()
        finally:
            await websocket.close()

    async def _wait_before_retry(self, outage: _Outage) -> AsyncIterator[dict[str, Any]]:
        """Sleeps the backoff delay; yields stream.lost if the outage passes `lost_after_seconds` meanwhile."""
        base = min(self.backoff_max_seconds, self.backoff_initial_seconds * 2 ** (outage.failures - 1))
        wake = time.monotonic() + base * (1 - self.jitter * self._rng.random())
        while (left := wake - time.monotonic()) > 0:
            if outage.since is not None and not outage.lost_reported:
                lost_in = outage.since + self.lost_after_seconds - time.monotonic()
                if lost_in <= 0:
                    outage.lost_reported = True
                    yield _own("stream.lost", down_seconds=round(time.monotonic() - outage.since, 3))
                    continue
                left = min(left, lost_in)
            await asyncio.sleep(left)

    async def _read(self, websocket: ClientConnection) -> AsyncIterator[dict[str, Any]]:
        """Events of one connection until it closes, Binance ends the subscription, or the rollover is due."""
        self._rolled_over = False
        deadline = time.monotonic() + self.rollover_seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                async with asyncio.timeout(left):
                    raw = await websocket.recv()
            except TimeoutError:
                break
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None
                yield _own("stream.disconnected", reason="connection closed", code=code)
                return
            message = json.loads(raw)
            event = message.get("event") if isinstance(message, dict) else None
            if isinstance(event, dict):
                if self._keep(event):
                    yield event
                if event.get("e") == "eventStreamTerminated":
                    yield _own("stream.disconnected", reason="eventStreamTerminated")
                    return
                if event.get("e") == "serverShutdown":  # the server goes away: reconnect now, elsewhere
                    self._rolled_over = True
                    yield _own("stream.rollover", reason="serverShutdown")
                    return
            elif isinstance(message, dict) and message.get("status") in (401, 403):
                error = message.get("error") or {}
                yield _own("stream.rejected", code=error.get("code"), msg=error.get("msg"))
                yield _own("stream.disconnected", reason="key rejected")
                return
        self._rolled_over = True
        yield _own("stream.rollover", reason="connection age", after_seconds=self.rollover_seconds)

    def _keep(self, event: dict[str, Any]) -> bool:
        """Records the event (time, symbol); False for an execution report already yielded."""
        if isinstance(event.get("E"), int):
            self.stats.last_event_ms = max(self.stats.last_event_ms or 0, event["E"])
        if event.get("e") != "executionReport":
            return True
        if isinstance(event.get("s"), str):
            self.symbols.add(event["s"])
        if self._seen.add(event):
            return True
        self.stats.duplicates_dropped += 1
        return False

    # --- subscription ----------------------------------------------------------------------------
    async def _subscribe(self, websocket: ClientConnection) -> int:
        """Subscribes with the key's signature; on -1021 syncs with the server's time and tries once more."""
        try:
            return await self._subscribe_once(websocket)
        except SubscribeError as refused:
            if refused.code != CLOCK_CODE:
                raise
        server_ms = (await self._request(websocket, "time", {}))["serverTime"]
        self._clock_offset_ms = int(server_ms) - int(time.time() * 1000)
        return await self._subscribe_once(websocket)

    async def _subscribe_once(self, websocket: ClientConnection) -> int:
        params = subscribe_params(self.credential, self._now_ms())
        return int((await self._request(websocket, "userDataStream.subscribe.signature", params))["subscriptionId"])

    async def _request(self, websocket: ClientConnection, method: str, params: dict[str, Any]) -> Any:
        self._request_id += 1
        request_id = f"keyguard-{self._request_id}"
        await websocket.send(json.dumps({"id": request_id, "method": method, "params": params}))
        async with asyncio.timeout(self.open_timeout_seconds):
            while True:
                reply = json.loads(await websocket.recv())
                if isinstance(reply, dict) and reply.get("id") == request_id:
                    break
        if reply.get("status") != 200:
            error = reply.get("error") or {}
            raise SubscribeError(error.get("code"), str(error.get("msg", "no message")))
        return reply.get("result") or {}

    def _now_ms(self) -> int:
        return int(time.time() * 1000) + self._clock_offset_ms

    # --- the REST gap fill -----------------------------------------------------------------------
    async def _gap_fill(self) -> AsyncIterator[dict[str, Any]]:
        since = (self.stats.last_event_ms or self._now_ms()) - SINCE_MARGIN_MS
        weight_before = self.stats.gap_weight
        try:
            reports = await asyncio.to_thread(self.missed_reports, since, self._now_ms())
        except ExchangeError as error:
            yield _own("stream.gap_fill_failed", since_ms=since, error=str(error), error_kind=error.kind)
            return
        fresh = [report for report in reports if self._keep(report)]
        self.stats.gap_fills += 1
        self.stats.gap_events += len(fresh)
        for report in fresh:
            yield report
        yield _own(
            "stream.gap_filled",
            since_ms=since,
            symbols=sorted(self.symbols),
            events=len(fresh),
            weight=self.stats.gap_weight - weight_before,
        )

    def missed_reports(self, since_ms: int, until_ms: int) -> list[dict[str, Any]]:
        """Execution reports rebuilt from REST for every known symbol between the two times, oldest first:
        NEW for orders placed, TRADE for each fill, CANCELED/EXPIRED/REJECTED for orders ended. Weight: 40 per
        symbol and 24 hours (more when a window holds over 1,000 rows); BinanceClient paces by the weight headers."""
        reports: list[dict[str, Any]] = []
        for symbol in sorted(self.symbols):
            trades = self._windowed("private_get_mytrades", symbol, since_ms, until_ms, "myTrades")
            orders = {o["orderId"]: o for o in self._windowed("private_get_allorders", symbol, since_ms, until_ms)}
            missing = {t["orderId"] for t in trades} - set(orders)
            if missing:
                self.stats.gap_weight += REST_WEIGHT["allOrders"]
                rows = self.rest.call("private_get_allorders", {"symbol": symbol, "orderId": min(missing)})
                orders.update({o["orderId"]: o for o in rows if o["orderId"] in missing})
            reports.extend(_reports(symbol, orders, trades, since_ms))
        return sorted(reports, key=lambda r: (r["E"], r["i"], r["t"]))

    def _windowed(
        self, method: str, symbol: str, since_ms: int, until_ms: int, name: str = "allOrders"
    ) -> list[dict[str, Any]]:
        rows: dict[Any, dict[str, Any]] = {}
        start = since_ms
        while start <= until_ms:
            end = min(start + DAY_MS - 1, until_ms)
            params = {"symbol": symbol, "startTime": start, "endTime": end, "limit": PAGE_LIMIT}
            page = self.rest.call(method, params)
            self.stats.gap_weight += REST_WEIGHT[name]
            rows.update({row.get("id", row.get("orderId")): row for row in page})
            if len(page) >= PAGE_LIMIT:
                start = max(row["time"] for row in page)  # the same millisecond again: duplicates merge by id
                continue
            start = end + 1
        return list(rows.values())


def _reports(
    symbol: str, orders: dict[int, dict[str, Any]], trades: list[dict[str, Any]], since_ms: int
) -> list[dict[str, Any]]:
    reports = []
    for order in orders.values():
        if order["time"] >= since_ms:
            reports.append(_report(order, "NEW", "NEW", order["time"]))
        execution = TERMINAL_EXECUTION.get(order["status"])
        if execution and order["updateTime"] >= since_ms:
            reports.append(_report(order, execution, order["status"], order["updateTime"]))
    by_order: dict[int, list[dict[str, Any]]] = {}
    for trade in sorted(trades, key=lambda t: t["id"]):
        by_order.setdefault(trade["orderId"], []).append(trade)
    for order_id, fills in by_order.items():
        order = orders.get(order_id)
        if order is None:
            continue
        executed = Decimal(order["executedQty"])
        later = sum((Decimal(t["qty"]) for t in fills), Decimal(0))
        for trade in fills:
            later -= Decimal(trade["qty"])
            cumulative = executed - later
            status = "FILLED" if cumulative >= Decimal(order["origQty"]) else "PARTIALLY_FILLED"
            reports.append(_report(order, "TRADE", status, trade["time"], trade, cumulative))
    return reports


def _report(
    order: dict[str, Any],
    execution: str,
    status: str,
    at_ms: int,
    trade: dict[str, Any] | None = None,
    cumulative: Decimal | None = None,
) -> dict[str, Any]:
    """An executionReport in Binance's shape (binance-api.md §2.7) from REST rows."""
    last_qty = Decimal(trade["qty"]) if trade else Decimal(0)
    last_price = Decimal(trade["price"]) if trade else Decimal(0)
    executed = cumulative if cumulative is not None else Decimal(order["executedQty"] if execution != "NEW" else 0)
    return {
        "e": "executionReport",
        "E": at_ms,
        "s": order["symbol"],
        "c": order["clientOrderId"],
        "S": order["side"],
        "o": order["type"],
        "f": order.get("timeInForce", "GTC"),
        "q": order["origQty"],
        "p": order["price"],
        "x": execution,
        "X": status,
        "r": "NONE",
        "i": order["orderId"],
        "l": _fmt(last_qty),
        "z": _fmt(executed),
        "L": _fmt(last_price),
        "n": trade["commission"] if trade else "0",
        "N": trade["commissionAsset"] if trade else None,
        "T": at_ms,
        "t": trade["id"] if trade else -1,
        "m": bool(trade and trade.get("isMaker")),
        "O": order["time"],
        "Z": order["cummulativeQuoteQty"] if execution != "NEW" else "0.00000000",
        "Y": _fmt(last_qty * last_price),
        "keyguard_source": "rest",
    }


def _fmt(value: Decimal) -> str:
    return f"{value:.8f}"


def _own(kind: str, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "time": int(time.time() * 1000), **fields}


def stream_for(credential: Credential, base_url: str, **settings: Any) -> UserDataStream:
    """A stream against a Binance-compatible host given by its REST base URL (the sandbox: http://HOST:PORT)."""
    ws_url = base_url.rstrip("/").replace("https://", "wss://").replace("http://", "ws://") + "/ws-api/v3"
    return UserDataStream(credential, ws_url=ws_url, rest_base_url=base_url, **settings)
