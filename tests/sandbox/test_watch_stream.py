"""keyguard.watch's live input against the real sandbox: the user data stream over the WebSocket API with
each key type, a server-side drop and the REST gap fill, the rollover before the 24-hour limit, the polls,
and an event log without secrets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from keyguard.exchange.client import BinanceClient
from keyguard.exchange.credentials import Credential
from keyguard.sandbox.scenario import build_scenario
from keyguard.sandbox.server import SandboxServer
from keyguard.watch.log import EventLog, read_jsonl, read_store
from keyguard.watch.polls import AccountPoller
from keyguard.watch.stream import stream_for, subscribe_params

from .conftest import Sandbox, ccxt_client

WAIT_SECONDS = 15


class RestartableSandbox(Sandbox):
    """The clean scenario on a fixed loopback port, whose server can be stopped and started again: stopping
    closes every WebSocket connection from the server's side (close code 1012, service restart)."""

    def start(self) -> None:
        server = SandboxServer(self.exchange, port=self.port)
        self._running = ExitStack()
        self._running.enter_context(server.running())

    def stop(self) -> None:
        self._running.close()

    def credential(self, label: str) -> Credential:
        entry = self.credentials[label]
        return Credential(entry["api_key"], entry.get("private_key_pem") or entry["secret"])

    def trader(self, label: str = "victim-bot"):
        entry = self.credentials[label]
        return ccxt_client(self, entry["api_key"], entry["secret"])


@pytest.fixture
def live() -> Iterator[RestartableSandbox]:
    built = build_scenario("clean")
    first = SandboxServer(built.exchange)
    port = first.port
    first.socket.close()  # only to learn a free port; start() binds it again
    sandbox = RestartableSandbox(
        f"http://127.0.0.1:{port}",
        f"ws://127.0.0.1:{port}/ws-api/v3",
        built.exchange,
        {entry["label"]: entry for entry in built.credentials},
        built.truth,
    )
    sandbox.port = port
    sandbox.start()
    yield sandbox
    sandbox.stop()


class Reader:
    """Reads a UserDataStream's events, writing each to the event log, until one matches."""

    def __init__(self, events: AsyncIterator[dict[str, Any]], log: EventLog | None = None) -> None:
        self.events = events
        self.log = log
        self.seen: list[dict[str, Any]] = []

    async def until(self, predicate: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        start = len(self.seen)
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                event = await anext(self.events)
                self.seen.append(event)
                if self.log is not None:
                    self.log.write(event)
                if predicate(event):
                    return self.seen[start:]


def kind(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda event: event.get("kind") == name


def fill_of(order_id: int) -> Callable[[dict[str, Any]], bool]:
    return lambda event: event.get("e") == "executionReport" and event["x"] == "TRADE" and event["i"] == order_id


def fills(events: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {e["i"]: e for e in events if e.get("e") == "executionReport" and e["x"] == "TRADE"}


def test_stream_survives_a_server_drop_and_fills_the_gap_by_rest(live: RestartableSandbox, tmp_path: Path) -> None:
    credential = live.credential("victim-bot")
    jsonl, store = tmp_path / "events.jsonl", tmp_path / "events.sqlite"

    async def watch() -> tuple[Reader, dict[str, Any]]:
        stream = stream_for(credential, live.base_url, backoff_initial_seconds=4, jitter=0.25, lost_after_seconds=2)
        with EventLog(jsonl, store, key=credential) as log:
            log.write({"kind": "test.subscribe_params", "params": subscribe_params(credential, 1)}, source="test")
            reader = Reader(stream.events(), log)
            await reader.until(kind("stream.connected"))
            before = await asyncio.to_thread(live.trader().create_order, "BNB/USDT", "market", "buy", 0.5)
            live_fill = fills(await reader.until(fill_of(int(before["id"]))))[int(before["id"])]
            assert "keyguard_source" not in live_fill

            def drop_and_trade() -> list[dict[str, Any]]:
                live.stop()
                live.start()
                trader = live.trader()
                return [
                    trader.create_order("BNB/USDT", "market", "buy", 0.3),
                    trader.create_order("BNB/USDT", "market", "sell", 0.2),
                ]

            during = await asyncio.to_thread(drop_and_trade)
            gap = await reader.until(kind("stream.gap_filled"))
            after = await asyncio.to_thread(live.trader().create_order, "BNB/USDT", "market", "buy", 0.1)
            await reader.until(fill_of(int(after["id"])))
            await reader.events.aclose()
        return reader, {"gap": gap, "during": during, "before": before, "after": after, "stats": stream.stats}

    reader, seen = asyncio.run(watch())
    kinds = [e.get("kind") for e in seen["gap"] if e.get("kind")]
    assert kinds == ["stream.disconnected", "stream.lost", "stream.connected", "stream.restored", "stream.gap_filled"]
    assert next(e for e in seen["gap"] if e.get("kind") == "stream.disconnected")["code"] == 1012  # by the server
    lost = next(e for e in seen["gap"] if e.get("kind") == "stream.lost")
    assert lost["down_seconds"] >= 2
    gap_fills = fills(seen["gap"])
    for order in seen["during"]:
        report = gap_fills[int(order["id"])]
        assert report["keyguard_source"] == "rest" and report["X"] == "FILLED"
        assert (report["S"], report["z"]) == (order["side"].upper(), f"{float(order['filled']):.8f}")
    assert int(seen["before"]["id"]) not in gap_fills  # delivered live before the drop: not repeated
    assert seen["gap"][-1]["events"] == 4 and seen["gap"][-1]["weight"] == 40  # NEW + TRADE each, one symbol
    assert "keyguard_source" not in fills(reader.seen)[int(seen["after"]["id"])]
    assert (seen["stats"].connections, seen["stats"].reconnects, seen["stats"].gap_fills) == (2, 1, 1)

    written = jsonl.read_bytes() + store.read_bytes()
    entry = live.credentials["victim-bot"]
    for secret in (entry["api_key"], entry["secret"]):
        assert secret.encode() not in written
    records = read_jsonl(jsonl)
    assert len(records) == len(reader.seen) + 1
    assert {r["key"]["fingerprint"] for r in records} == {credential.fingerprint}
    stored = read_store(store, kind="executionReport")
    assert {r["event"]["i"] for r in stored} >= {int(o["id"]) for o in seen["during"]}
    assert records[0]["event"]["params"]["apiKey"] == credential.redacted_key


def test_stream_rolls_over_to_a_fresh_connection_without_losing_fills(live: RestartableSandbox) -> None:
    async def watch() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        stream = stream_for(live.credential("victim-bot"), live.base_url, rollover_seconds=1.5)
        reader = Reader(stream.events())
        await reader.until(kind("stream.connected"))
        await reader.until(kind("stream.rollover"))
        await reader.until(kind("stream.gap_filled"))
        order = await asyncio.to_thread(live.trader().create_order, "BNB/USDT", "market", "buy", 0.2)
        await reader.until(fill_of(int(order["id"])))
        await reader.events.aclose()
        return reader.seen, order

    seen, order = asyncio.run(watch())
    kinds = [e.get("kind") for e in seen if e.get("kind")]
    assert kinds[:4] == ["stream.connected", "stream.rollover", "stream.connected", "stream.gap_filled"]
    assert "stream.disconnected" not in kinds and "stream.restored" not in kinds
    assert fills(seen)[int(order["id"])]["z"] == "0.20000000"


@pytest.mark.parametrize("label", ["victim-ed25519", "victim-rsa"])
def test_stream_subscribes_with_ed25519_and_rsa_keys(live: RestartableSandbox, label: str) -> None:
    async def watch() -> list[dict[str, Any]]:
        reader = Reader(stream_for(live.credential(label), live.base_url).events())
        await reader.until(kind("stream.connected"))
        order = await asyncio.to_thread(live.trader().create_order, "BNB/USDT", "market", "sell", 0.1)
        seen = await reader.until(fill_of(int(order["id"])))
        await reader.events.aclose()
        return seen

    assert any(e.get("e") == "executionReport" for e in asyncio.run(watch()))


def test_stream_reports_a_refused_subscription(live: RestartableSandbox) -> None:
    live.admin("keys/victim-rsa/delete")

    async def watch() -> list[dict[str, Any]]:
        reader = Reader(stream_for(live.credential("victim-rsa"), live.base_url, backoff_initial_seconds=30).events())
        seen = await reader.until(kind("stream.subscribe_failed"))
        await reader.events.aclose()
        return seen

    [refused] = asyncio.run(watch())
    assert refused["code"] == -2015


def test_polls_report_permission_whitelist_order_balance_and_withdrawal_changes(live: RestartableSandbox) -> None:
    poller = AccountPoller(BinanceClient(live.credential("victim-bot"), live.base_url))
    assert poller.poll_due() == []  # the first poll of each check records the state
    assert poller.due() == []
    live.admin("keys/victim-withdraw", {"ip_whitelist": []})
    live.admin("keys/victim-bot", {"ip_whitelist": ["127.0.0.1"], "permissions": ["reading", "spot", "margin"]})
    order = live.trader().create_order("BNB/USDT", "limit", "buy", 0.5, 1.0)
    withdraw = live.credentials["victim-withdraw"]
    mover = ccxt_client(live, withdraw["api_key"], withdraw["secret"])
    mover.sapi_post_capital_withdraw_apply({"coin": "USDT", "address": "0xfeed" + "0" * 36, "amount": "25"})

    events = [e for name in [c.name for c in poller.checks] for e in poller.poll(name)]
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_kind.setdefault(event["kind"], []).append(event)
    assert sorted(by_kind) == [
        "balance_changed",
        "ip_whitelist_added",
        "open_order_added",
        "permissions_changed",
        "withdrawal",
    ]
    assert by_kind["permissions_changed"][0]["enabled"] == ["enableMargin"]
    assert by_kind["open_order_added"][0]["order"]["orderId"] == int(order["id"])
    assert by_kind["withdrawal"][0]["withdrawal"]["amount"] == "25.00000000"
    usdt = next(e for e in by_kind["balance_changed"] if e["asset"] == "USDT")
    assert usdt["delta"].startswith("-25")

    live.admin("keys/victim-bot", {"ip_whitelist": []})
    live.trader().cancel_order(order["id"], "BNB/USDT")
    kinds = sorted(e["kind"] for name in ("api_restrictions", "open_orders") for e in poller.poll(name))
    assert kinds == ["ip_whitelist_removed", "open_order_removed"]
    assert poller.weight_per_minute()["api-ip"] == {"used": 200.0, "limit": 6000}


def test_polls_report_a_deleted_key_once(live: RestartableSandbox) -> None:
    poller = AccountPoller(BinanceClient(live.credential("victim-rsa"), live.base_url), checks=["api_restrictions"])
    assert poller.poll("api_restrictions") == []
    live.admin("keys/victim-rsa/delete")
    [rejected] = poller.poll("api_restrictions")
    assert rejected["kind"] == "key_rejected" and rejected["code"] == -2015
    assert poller.poll("api_restrictions") == []


def test_event_log_scrubs_secrets_inside_any_field(tmp_path: Path) -> None:
    credential = Credential("A" * 20 + "k3y" + "B" * 41, "S" * 30 + "s3cr3t" + "T" * 28)
    with EventLog(tmp_path / "log.jsonl", tmp_path / "log.sqlite", key=credential) as log:
        log.write({"kind": "x", "note": f"url ?apiKey={credential.api_key}&x={credential.secret}"})
        log.write({"e": "executionReport", "E": 5, "nested": [{"signature": "abcdef0123456789abcdef"}]})
    written = (tmp_path / "log.jsonl").read_bytes() + (tmp_path / "log.sqlite").read_bytes()
    assert b"executionReport" in written and b"url ?apiKey=" in written
    assert credential.api_key.encode() not in written and credential.secret.encode() not in written
    assert b"abcdef0123456789abcdef" not in written
    assert [r["kind"] for r in read_store(tmp_path / "log.sqlite")] == ["x", "executionReport"]
    assert read_store(tmp_path / "log.sqlite", since_ms=5)[0]["time_ms"] == 5
