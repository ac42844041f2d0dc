"""`keyguard watch`: watch a key's account live, alert on what its owner would not do, optionally contain."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:  # the watch's modules load only when the command runs (keyguard's other commands stay fast)
    from keyguard.exchange.client import BinanceClient
    from keyguard.exchange.credentials import Credential
    from keyguard.incident.audit import AuditData
    from keyguard.watch.alerts import Notifier
    from keyguard.watch.judge import Alert, Judge
    from keyguard.watch.log import EventLog

DAY_MS = 86_400_000
SHOWN_STREAM_KINDS = frozenset(
    {"stream.connected", "stream.disconnected", "stream.subscribe_failed", "stream.rejected", "stream.restored"}
)
MONEY_KINDS = frozenset({"money-out", "withdrawal", "transfer"})
SWEEP_ECHO_SECONDS = 300  # the spot wallet's fall after keyguard's own sweep is no theft


def watch_command(
    key: Annotated[str, typer.Option("--key", help="The key to watch, by its vault label.")],
    notify: Annotated[
        list[str] | None,
        typer.Option("--notify", help="Where alerts go: an apprise URL (tgram://, mailto://, ntfy://…); repeatable."),
    ] = None,
    contain: Annotated[
        str | None,
        typer.Option("--contain", help="On the first critical alert: cancel-orders, sweep-to-funding, or both."),
    ] = None,
    guardian_key: Annotated[
        str | None,
        typer.Option("--guardian-key", help="Vault label of a key with only universal transfer and an IP whitelist."),
    ] = None,
    log: Annotated[Path | None, typer.Option("--log", help="Append every event to this JSONL file.")] = None,
    store: Annotated[Path | None, typer.Option("--store", help="Also keep every event in this SQLite file.")] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="Binance API base URL (default: KEYGUARD_BINANCE_URL).")
    ] = None,
    baseline_days: Annotated[
        int, typer.Option("--baseline-days", min=1, max=90, help="Days of history that make the account's normal.")
    ] = 7,
    duration: Annotated[
        float, typer.Option("--duration", min=0, help="Stop after this many seconds (0: watch until stopped).")
    ] = 0,
) -> None:
    """Watch a key's account live: Binance's user data stream and periodic polls, each event judged against the
    account's normal over the last --baseline-days, each alert sent to every --notify URL and printed.

    With --contain, the first critical alert cancels every open order (cancel-orders) and moves every free spot
    balance to the Funding wallet (sweep-to-funding, with --guardian-key), then sends the steps to delete the key.
    A heartbeat comes once a day, a message when the stream is lost for a minute, and one when watching stops.

    Exit 0 when watching ends (--duration, Ctrl-C or SIGTERM); 1 when it failed; 2 for a usage
    error or a key that cannot be watched.

    Example: keyguard watch --key quant-bot --notify tgram://TOKEN/CHAT --contain cancel-orders
    """
    from keyguard.exchange.client import BinanceClient, ExchangeError
    from keyguard.vault.store import VaultError, credential_from_vault
    from keyguard.watch.alerts import Notifier, NotifyError
    from keyguard.watch.contain import ContainError, guardian_problems, parse_actions
    from keyguard.watch.judge import Judge
    from keyguard.watch.log import EventLog

    try:
        actions = parse_actions(contain) if contain else []
        notifier = Notifier(notify or [])
        credential = credential_from_vault(key)
        guardian_credential = credential_from_vault(guardian_key) if guardian_key else None
        if "sweep-to-funding" in actions and guardian_credential is None:
            raise ContainError("sweep-to-funding needs a guardian key (--guardian-key LABEL)")
    except (ContainError, NotifyError, VaultError) as error:
        raise fail(str(error)) from None
    url = base_url or os.environ.get("KEYGUARD_BINANCE_URL")
    watched = BinanceClient(credential, url)
    guardian = BinanceClient(guardian_credential, url) if guardian_credential else None
    if guardian is not None and (problems := guardian_problems(guardian)):
        raise fail(f"the guardian key {guardian_key} is unfit: {'; '.join(problems)}")
    try:
        watched.api_restrictions()
    except ExchangeError as error:
        raise fail(f"the key {key} cannot be watched: {error}") from None

    typer.echo(f"keyguard: reading {baseline_days} days of the account's history for its normal…")
    data = _baseline(watched, baseline_days)
    judge = Judge.from_audit(data, public=BinanceClient.public_data(url), key_label=key)
    credentials = [guardian_credential] if guardian_credential else []
    with EventLog(log, store, credentials=credentials, key=credential) as event_log:
        watch = Watch(key, url, credential, judge, notifier, event_log, actions, guardian, data)
        reason = asyncio.run(watch.run(duration))
        notifier.stopped(key, reason)
        typer.echo(f"{_now()} watching stopped ({reason}): {watch.events} events, {watch.alerts} alerts")
    if reason.startswith("error"):
        raise typer.Exit(1)


def fail(message: str) -> typer.Exit:
    """One red line on stderr, never wrapped (a guardian's problems can be long); the caller raises the Exit."""
    Console(stderr=True, soft_wrap=True).print(Text(f"keyguard: {message}", style="red"))
    return typer.Exit(2)


def _baseline(client: BinanceClient, days: int) -> AuditData:
    """The account's audit over the last `days` days: its normal, as `keyguard incident` reads it."""
    from keyguard.incident.audit import Auditor, Checkpoint

    end = int(time.time() * 1000)
    with tempfile.TemporaryDirectory(prefix="keyguard-watch-") as folder:
        checkpoint = Checkpoint(Path(folder) / "baseline.sqlite")
        try:
            return Auditor(client, checkpoint).collect(end - days * DAY_MS, end)
        finally:
            checkpoint.close()


def _now() -> str:
    return datetime.now(UTC).strftime("%H:%M:%S UTC")


@dataclass
class Watch:
    key_label: str
    base_url: str | None
    credential: Credential
    judge: Judge
    notifier: Notifier
    log: EventLog
    actions: list[str]
    guardian: BinanceClient | None
    data: AuditData
    events: int = 0
    alerts: int = 0
    contained: bool = False
    money_left: bool = False
    swept: dict[str, str] = field(default_factory=dict)
    swept_at: float | None = None

    async def run(self, duration: float) -> str:
        """Watches until `duration` seconds pass (0: forever) or a signal stops it; the reason it stopped."""
        stop = asyncio.Event()
        reason = {"why": f"--duration {duration:g} s reached"}
        _on_signals(lambda name: (reason.update(why=name), stop.set()))
        queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        tasks = [asyncio.create_task(_pump(source, events, queue)) for source, events in self._sources()]
        tasks.append(asyncio.create_task(self._heartbeats()))
        consumer = asyncio.create_task(self._consume(queue))
        timer = [asyncio.create_task(asyncio.sleep(duration))] if duration else []
        stopper = asyncio.create_task(stop.wait())
        typer.echo(f"{_now()} watching the key {self.key_label} ({self.credential.redacted_key})")
        await asyncio.wait([stopper, consumer, *timer], return_when=asyncio.FIRST_COMPLETED)
        for task in [*tasks, consumer, stopper, *timer]:
            task.cancel()
        await asyncio.gather(*tasks, consumer, stopper, *timer, return_exceptions=True)
        if not consumer.cancelled() and consumer.exception() is not None:
            error = consumer.exception()
            reason["why"] = f"error: {type(error).__name__}"
        return reason["why"]

    def _sources(self) -> list[tuple[str, AsyncIterator[dict[str, Any]]]]:
        from keyguard.exchange.client import BinanceClient
        from keyguard.watch.polls import AccountPoller
        from keyguard.watch.stream import UserDataStream, stream_for

        settings = {"symbols": set(self.data.trades), "since_ms": self.data.end}
        stream = (
            stream_for(self.credential, self.base_url, **settings)
            if self.base_url
            else UserDataStream(self.credential, **settings)
        )
        poller = AccountPoller(BinanceClient(self.credential, self.base_url))
        return [("stream", stream.events()), ("poll", poller.events())]

    async def _consume(self, queue: asyncio.Queue[tuple[str, dict[str, Any]]]) -> None:
        while True:
            source, event = await queue.get()
            await self._handle(source, event)

    async def _handle(self, source: str, event: dict[str, Any]) -> None:
        self.events += 1
        self.log.write(event, source)
        kind = str(event.get("kind", ""))
        if kind in SHOWN_STREAM_KINDS:
            typer.echo(f"{_now()} {kind} {self.log.scrub(_detail(event))}".rstrip())
        if kind == "stream.lost":
            typer.echo(f"{_now()} stream lost for {event.get('down_seconds', 0):.0f} s; reconnecting")
            await asyncio.to_thread(self.notifier.stream_lost, self.key_label, float(event.get("down_seconds", 0)))
        for alert in self.judge.judge(event):
            if self._own_sweep(alert, event):
                self.log.write({**alert.to_dict(), "kind": f"alert.{alert.kind}", "own_sweep": True}, "alert")
                typer.echo(f"{_now()} (keyguard's own sweep, not sent) {alert.kind}: {alert.what}")
            else:
                await self._alert(alert)

    def _own_sweep(self, alert: Alert, event: dict[str, Any]) -> bool:
        """An alert raised by keyguard's own move to Funding: the spot value's fall, or the swept amount leaving."""
        if self.swept_at is None or time.monotonic() - self.swept_at > SWEEP_ECHO_SECONDS:
            return False
        if alert.kind == "balance-drop":
            return True
        if alert.kind != "money-out" or event.get("e") != "balanceUpdate" or event.get("a") not in self.swept:
            return False
        try:
            return Decimal(str(event.get("d"))) == -Decimal(self.swept[event["a"]])
        except InvalidOperation:
            return False

    async def _alert(self, alert: Alert) -> None:
        self.alerts += 1
        self.money_left = self.money_left or alert.kind in MONEY_KINDS
        self.log.write({**alert.to_dict(), "kind": f"alert.{alert.kind}"}, "alert")
        typer.echo(f"{_now()} {alert.severity.upper()} {alert.kind}: {alert.message()}")
        await asyncio.to_thread(self.notifier.send, alert)
        if alert.severity == "critical" and self.actions and not self.contained:
            self.contained = True
            await asyncio.to_thread(self._contain)

    def _contain(self) -> None:
        from keyguard.exchange.client import BinanceClient
        from keyguard.incident.actions import ActionLog
        from keyguard.watch.contain import contain, steps_text

        actions_log = ActionLog()
        typer.echo(f"{_now()} containing: {', '.join(self.actions)}")
        watched = BinanceClient(self.credential, self.base_url)
        result = contain(self.actions, watched, actions_log, self.key_label, self.guardian, self.money_left)
        self.swept, self.swept_at = result.swept, time.monotonic()
        for action in actions_log.actions:
            mark = "" if action.ok else " (FAILED)"
            typer.echo(f"  {action.time} {action.action}: {action.result}{mark}")
            record = {"kind": "containment", "action": action.action, "result": action.result, "ok": action.ok}
            self.log.write({**record, "at": action.time}, "containment")
        typer.echo("Now delete the key:")
        for number, step in enumerate(result.steps, start=1):
            typer.echo(f"  {number}. {step}")
        self.notifier.send_text(f"keyguard: delete the key {self.key_label} now", steps_text(result.steps), "critical")

    async def _heartbeats(self) -> None:
        from keyguard.watch.alerts import HEARTBEAT_SECONDS

        since = datetime.now(UTC)
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            await asyncio.to_thread(self.notifier.heartbeat, self.key_label, self.events, self.alerts, since)


async def _pump(source: str, events: AsyncIterator[dict[str, Any]], queue: asyncio.Queue) -> None:
    try:
        async for event in events:
            await queue.put((source, event))
    finally:
        with contextlib.suppress(Exception):
            await events.aclose()  # type: ignore[attr-defined]


def _on_signals(stop: Any) -> None:
    """Ctrl-C and a service manager's SIGTERM end the watch cleanly (the 'stopped' message still goes out)."""
    loop = asyncio.get_running_loop()
    for number, name in ((signal.SIGINT, "Ctrl-C"), (signal.SIGTERM, "SIGTERM")):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows has no loop signal handlers
            loop.add_signal_handler(number, stop, name)


def _detail(event: dict[str, Any]) -> str:
    return " ".join(f"{name}={value}" for name, value in event.items() if name not in ("kind", "time"))
