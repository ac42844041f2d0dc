"""Alerts delivered through apprise: one URL scheme for Telegram (tgram://), Slack, Discord, e-mail (mailto://),
ntfy, desktop and 100+ more; `--notify URL` may be given several times. Besides the alerts: a heartbeat once a
day, and a message when watching stops or the stream is lost for more than a minute, so silence never means
"all is well" when nothing is watching."""

from __future__ import annotations

from datetime import UTC, datetime

import apprise

from keyguard.watch.judge import Alert

DAY_SECONDS = 86_400.0
SEVERITY_TYPES = {
    "critical": apprise.NotifyType.FAILURE,
    "warning": apprise.NotifyType.WARNING,
    "info": apprise.NotifyType.INFO,
}


class NotifyError(ValueError):
    """A --notify URL apprise does not understand; the text names only its scheme (URLs carry tokens)."""


def scheme_of(url: str) -> str:
    return url.split("://", 1)[0] + "://…" if "://" in url else "(no scheme)"


class Notifier:
    def __init__(self, urls: list[str]) -> None:
        self._apprise = apprise.Apprise()
        for url in urls:
            if not self._apprise.add(url):
                raise NotifyError(f"not a notification URL apprise knows: {scheme_of(url)} (see apprise's wiki)")
        self.urls = len(urls)

    def send(self, alert: Alert) -> bool:
        """True when every URL took the alert; a failed delivery never stops the watch."""
        return self.send_text(alert.title(), alert.message(), alert.severity)

    def send_text(self, title: str, body: str, severity: str = "info") -> bool:
        if not self.urls:
            return True
        return bool(self._apprise.notify(body=body, title=title, notify_type=SEVERITY_TYPES[severity]))

    def heartbeat(
        self, key_label: str, events: int, alerts: int, since: datetime, every_seconds: float = DAY_SECONDS
    ) -> bool:
        text = heartbeat_text(key_label, events, alerts, since, every_seconds)
        return self.send_text("keyguard: still watching", text)

    def stopped(self, key_label: str, reason: str) -> bool:
        return self.send_text("keyguard: watching stopped", stopped_text(key_label, reason), "critical")

    def stream_lost(self, key_label: str, seconds: float) -> bool:
        return self.send_text("keyguard: stream lost", stream_lost_text(key_label, seconds), "warning")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _every(seconds: float) -> str:
    if seconds == DAY_SECONDS:
        return "once a day"
    if seconds % 3600 == 0:
        return f"every {seconds / 3600:g} hours"
    return f"every {seconds / 60:g} minutes" if seconds % 60 == 0 else f"every {seconds:g} seconds"


def heartbeat_text(
    key_label: str, events: int, alerts: int, since: datetime, every_seconds: float = DAY_SECONDS
) -> str:
    return (
        f"keyguard is watching the key {key_label}: {events} events and {alerts} alerts since {_utc(since)}. "
        f"This message comes {_every(every_seconds)}; if it stops coming, the watch has stopped."
    )


def stopped_text(key_label: str, reason: str, now: datetime | None = None) -> str:
    return (
        f"keyguard stopped watching the key {key_label} at {_utc(now or datetime.now(UTC))} ({reason}): "
        f"an attack on it is no longer seen. Start it again (keyguard watch --key {key_label}) or check its service."
    )


def stream_lost_text(key_label: str, seconds: float) -> str:
    return (
        f"keyguard has had no live stream from Binance for the key {key_label} for {seconds:.0f} s and keeps "
        "reconnecting: trades meanwhile are read back when it returns, but no alert can come until then."
    )
