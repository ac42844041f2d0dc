"""`keyguard watch`: watch a key's account live, alert on what its owner would not do, optionally contain."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
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
    from keyguard.watch.contain import Master
    from keyguard.watch.judge import Alert, Judge
    from keyguard.watch.log import EventLog

DAY_MS = 86_400_000
SHOWN_STREAM_KINDS = frozenset(
    {"stream.connected", "stream.disconnected", "stream.subscribe_failed", "stream.rejected", "stream.restored"}
)
MONEY_KINDS = frozenset({"money-out", "withdrawal", "transfer"})
SWEEP_ECHO_SECONDS = 300  # the spot wallet's fall after keyguard's own sweep is no theft
HEARTBEAT_SECONDS = 86_400.0
STREAM_LOST_SECONDS = 60.0
INCIDENT_WAIT_DEAD_SECONDS = 3600  # the person has an hour to delete the key on Binance's website


class ServiceManager(StrEnum):
    systemd = "systemd"
    launchd = "launchd"


def default_manager() -> str:
    return "launchd" if sys.platform == "darwin" else "systemd"


def watch_command(
    key: Annotated[str, typer.Option("--key", help="The key to watch, by its vault label.")],
    notify: Annotated[
        list[str] | None,
        typer.Option("--notify", help="Where alerts go: an apprise URL (tgram://, mailto://, ntfy://…); repeatable."),
    ] = None,
    contain: Annotated[
        str | None,
        typer.Option(
            "--contain", help="On the first critical alert: cancel-orders,sweep-to-funding,lock-sub-account (any)."
        ),
    ] = None,
    guardian_key: Annotated[
        str | None,
        typer.Option("--guardian-key", help="Vault label of a key with only universal transfer and an IP whitelist."),
    ] = None,
    master_key: Annotated[
        str | None,
        typer.Option("--master-key", help="lock-sub-account: vault label of the master account's key."),
    ] = None,
    sub_account: Annotated[
        str | None,
        typer.Option("--sub-account", help="lock-sub-account: the e-mail of the sub-account the watched key is of."),
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
    heartbeat: Annotated[
        float, typer.Option("--heartbeat", min=1, help="Seconds between 'still watching' messages (a day).")
    ] = HEARTBEAT_SECONDS,
    stream_lost_after: Annotated[
        float,
        typer.Option("--stream-lost-after", min=1, help="Say the stream is lost after this many seconds down."),
    ] = STREAM_LOST_SECONDS,
    incident_out: Annotated[
        Path | None,
        typer.Option(
            "--incident-out",
            help="After containing, start keyguard incident with this case folder (it waits for the key's deletion).",
        ),
    ] = None,
    install_service: Annotated[
        bool,
        typer.Option("--install-service", help="Install this watch as a service that restarts (systemd, launchd)."),
    ] = False,
    service_manager: Annotated[
        ServiceManager | None,
        typer.Option("--service-manager", help="With --install-service: systemd or launchd (default: this system's)."),
    ] = None,
) -> None:
    """Watch a key's account live: Binance's user data stream and periodic polls, each event judged against the
    account's normal over the last --baseline-days, each alert sent to every --notify URL and printed.

    With --contain, the first critical alert cancels every open order (cancel-orders), moves every free spot
    balance to the Funding wallet (sweep-to-funding, with --guardian-key) and, for a sub-account's key, makes it
    usable from nowhere through the master account (lock-sub-account, with --master-key and --sub-account), then
    sends the steps to delete the key. A heartbeat comes once a day (--heartbeat), a message when the stream is
    lost for a minute (--stream-lost-after), and one when watching stops.

    --install-service checks everything as for a watch, then installs it as a systemd user unit (launchd agent on
    macOS) that starts at login and restarts after a crash.

    Exit 0 when watching ends (--duration, Ctrl-C or SIGTERM); 1 when it failed; 2 for a usage
    error or a key that cannot be watched.

    Examples:\n
      keyguard watch --key quant-bot --notify tgram://TOKEN/CHAT --contain cancel-orders\n
      keyguard watch --key quant-bot --contain cancel-orders,sweep-to-funding --guardian-key guardian\n
      keyguard watch --key quant-bot --notify ntfy://mytopic --install-service
    """
    from keyguard.exchange.client import BinanceClient, ExchangeError
    from keyguard.vault.store import VaultError, credential_from_vault
    from keyguard.watch.alerts import Notifier, NotifyError
    from keyguard.watch.contain import ContainError, Master, guardian_problems, master_problems, needs_of, parse_actions
    from keyguard.watch.judge import Judge
    from keyguard.watch.log import EventLog

    try:
        actions = parse_actions(contain) if contain else []
        notifier = Notifier(notify or [])
        credential = credential_from_vault(key)
        guardian_credential = credential_from_vault(guardian_key) if guardian_key else None
        master_credential = credential_from_vault(master_key) if master_key else None
        if (master_key is None) != (sub_account is None):
            raise ContainError("--master-key and --sub-account go together")
        url = base_url or os.environ.get("KEYGUARD_BINANCE_URL")
        guardian = BinanceClient(guardian_credential, url) if guardian_credential else None
        master = (
            Master(BinanceClient(master_credential, url), sub_account) if master_credential and sub_account else None
        )
        needs_of(actions, guardian, master)
    except (ContainError, NotifyError, VaultError) as error:
        raise fail(str(error)) from None
    watched = BinanceClient(credential, url)
    if guardian is not None and (problems := guardian_problems(guardian)):
        raise fail(f"the guardian key {guardian_key} is unfit: {'; '.join(problems)}")
    if master is not None and (problems := master_problems(master, credential.api_key)):
        raise fail(f"the master key {master_key} is unfit: {'; '.join(problems)}")
    try:
        watched.api_restrictions()
    except ExchangeError as error:
        raise fail(f"the key {key} cannot be watched: {error}") from None
    if install_service:
        given = {
            "key": key,
            "notify": notify,
            "contain": contain,
            "guardian_key": guardian_key,
            "master_key": master_key,
            "sub_account": sub_account,
            "log": log,
            "store": store,
            "base_url": base_url,
            "baseline_days": baseline_days,
            "heartbeat": heartbeat,
            "stream_lost_after": stream_lost_after,
            "incident_out": incident_out,
        }
        arguments = _service_arguments(given)
        _install(key, arguments, (service_manager or ServiceManager(default_manager())).value)
        return

    typer.echo(f"keyguard: reading {baseline_days} days of the account's history for its normal…")
    data = _baseline(watched, baseline_days)
    judge = Judge.from_audit(data, public=BinanceClient.public_data(url), key_label=key)
    credentials = [guardian_credential] if guardian_credential else []
    with EventLog(log, store, credentials=credentials, key=credential) as event_log:
        watch = Watch(key, url, credential, judge, notifier, event_log, actions, guardian, data, master)
        watch.heartbeat_seconds, watch.stream_lost_after = heartbeat, stream_lost_after
        watch.incident = IncidentRequest(incident_out.resolve(), guardian_key) if incident_out else None
        reason = asyncio.run(watch.run(duration))
        notifier.stopped(key, reason)
        typer.echo(f"{_now()} watching stopped ({reason}): {watch.events} events, {watch.alerts} alerts")
    if reason.startswith("error"):
        raise typer.Exit(1)


def _service_arguments(given: dict[str, Any]) -> list[str]:
    """The watch's own options, as the service will run it (paths made absolute; no --duration)."""
    words = ["--key", given["key"]]
    for url in given["notify"] or []:
        words += ["--notify", url]
    named = {
        "--contain": given["contain"],
        "--guardian-key": given["guardian_key"],
        "--master-key": given["master_key"],
        "--sub-account": given["sub_account"],
        "--log": given["log"] and str(Path(given["log"]).resolve()),
        "--store": given["store"] and str(Path(given["store"]).resolve()),
        "--base-url": given["base_url"],
        "--incident-out": given["incident_out"] and str(Path(given["incident_out"]).resolve()),
    }
    for option, value in named.items():
        if value:
            words += [option, str(value)]
    if given["baseline_days"] != 7:
        words += ["--baseline-days", str(given["baseline_days"])]
    if given["heartbeat"] != HEARTBEAT_SECONDS:
        words += ["--heartbeat", f"{given['heartbeat']:g}"]
    if given["stream_lost_after"] != STREAM_LOST_SECONDS:
        words += ["--stream-lost-after", f"{given['stream_lost_after']:g}"]
    return words


def _install(key: str, arguments: list[str], manager: str) -> None:
    from keyguard.watch.service import ServiceError, install

    try:
        installed = install(key, arguments, manager)
    except ServiceError as error:
        raise fail(str(error)) from None
    typer.echo(f"keyguard: wrote {installed.path}")
    if installed.backup is not None:
        typer.echo(f"  the previous one is kept as {installed.backup}")
    if installed.environment_file is not None:
        typer.echo(
            f"  a file vault's passphrase goes in {installed.environment_file} (KEYGUARD_VAULT_PASSPHRASE=…, "
            "chmod 600); the OS keychain needs none"
        )
    if installed.started:
        typer.echo(f"  started; it restarts after a crash and at every login. {installed.manager_output}".rstrip())
        return
    typer.echo(f"  not started ({installed.manager_output or 'the service manager refused'}); start it with:")
    for command in installed.commands:
        typer.echo(f"    {command}")


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


@dataclass(frozen=True)
class IncidentRequest:
    """`keyguard incident` to start once containment is done: its case folder, and the key that finishes the
    audit after the watched key is deleted (the guardian's reading permission)."""

    out: Path
    audit_key: str | None

    def command(self, key_label: str, base_url: str | None) -> list[str]:
        command = [sys.executable, "-m", "keyguard", "incident", "--key", key_label, "--yes"]
        command += ["--out", str(self.out), "--wait-dead", str(INCIDENT_WAIT_DEAD_SECONDS)]
        command += ["--audit-key", self.audit_key] if self.audit_key else []
        return command + (["--base-url", base_url] if base_url else [])

    def start(self, key_label: str, base_url: str | None) -> tuple[int, Path]:
        """Starts it apart from the watch (it outlives it); (its pid, the file its output goes to)."""
        output = self.out.with_name(f"{self.out.name}.log")
        with output.open("ab") as sink:
            process = subprocess.Popen(
                self.command(key_label, base_url),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return process.pid, output


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
    master: Master | None = None
    heartbeat_seconds: float = HEARTBEAT_SECONDS
    stream_lost_after: float = STREAM_LOST_SECONDS
    incident: IncidentRequest | None = None
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

        settings = {
            "symbols": set(self.data.trades),
            "since_ms": self.data.end,
            "lost_after_seconds": self.stream_lost_after,
        }
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
        result = contain(
            self.actions, watched, actions_log, self.key_label, self.guardian, self.money_left, self.master
        )
        self.swept, self.swept_at = result.swept, time.monotonic()
        for action in actions_log.actions:
            mark = "" if action.ok else " (FAILED)"
            typer.echo(f"  {action.time} {action.action}: {action.result}{mark}")
            record = {"kind": "containment", "action": action.action, "result": action.result, "ok": action.ok}
            self.log.write({**record, "at": action.time}, "containment")
        typer.echo("Now delete the key:")
        for number, step in enumerate(result.steps, start=1):
            typer.echo(f"  {number}. {step}")
        steps = steps_text(result.steps)
        if self.incident is not None:
            try:
                pid, output = self.incident.start(self.key_label, self.base_url)
            except OSError as error:
                typer.echo(f"  keyguard incident could not start: {error.strerror or error}")
            else:
                said = f"keyguard incident started (pid {pid}): case folder {self.incident.out}, its output in {output}"
                typer.echo(f"  {said}; it waits for the key's deletion, then audits")
                self.log.write({"kind": "incident.started", "pid": pid, "out": str(self.incident.out)}, "containment")
                steps += f" {said}."
        self.notifier.send_text(f"keyguard: delete the key {self.key_label} now", steps, "critical")

    async def _heartbeats(self) -> None:
        since = datetime.now(UTC)
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            await asyncio.to_thread(
                self.notifier.heartbeat, self.key_label, self.events, self.alerts, since, self.heartbeat_seconds
            )


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
