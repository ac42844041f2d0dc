"""Alerts delivered for real through apprise's json:// to a local HTTP server."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from keyguard.incident.baseline import Baseline
from keyguard.watch.alerts import Notifier, NotifyError, stopped_text, stream_lost_text
from keyguard.watch.judge import Judge

PASSWORD = "hunter2-webhook-pass"


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.path, json.loads(body)))  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _url(server: ThreadingHTTPServer, path: str) -> str:
    return f"json://watch:{PASSWORD}@127.0.0.1:{server.server_address[1]}/{path}"


def test_an_alert_reaches_every_notify_url(receiver):
    judge = Judge(Baseline(0, 0), key_label="quant-trading")
    [alert] = judge.judge({"kind": "ip_whitelist_removed"})
    notifier = Notifier([_url(receiver, "phone"), _url(receiver, "team")])
    assert notifier.send(alert)
    assert sorted(path for path, _ in receiver.received) == ["/phone", "/team"]
    for _, body in receiver.received:
        assert body["title"] == "keyguard critical: whitelist"
        assert body["message"] == alert.message()
        assert body["message"].startswith("The key quant-trading's IP whitelist was removed — the key now works")
        assert "keyguard incident --key quant-trading" in body["message"]
        assert body["type"] == "failure"
        assert PASSWORD not in json.dumps(body)


def test_heartbeat_stopped_and_stream_lost_messages(receiver):
    notifier = Notifier([_url(receiver, "hook")])
    since = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert notifier.heartbeat("quant-trading", events=1234, alerts=0, since=since)
    assert notifier.stream_lost("quant-trading", 75)
    assert notifier.stopped("quant-trading", "interrupted")
    heartbeat, lost, stopped = (body for _, body in receiver.received)
    assert heartbeat["type"] == "info" and "1234 events and 0 alerts since 2026-03-01 08:00 UTC" in heartbeat["message"]
    assert lost["title"] == "keyguard: stream lost" and "for 75 s" in lost["message"]
    assert stopped["type"] == "failure" and "keyguard watch --key quant-trading" in stopped["message"]
    assert stream_lost_text("k", 61).startswith("keyguard has had no live stream")
    assert "(signal)" in stopped_text("k", "signal")


def test_an_unreachable_url_fails_without_raising():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once closed
    notifier = Notifier([f"json://127.0.0.1:{port}/hook"])
    [alert] = Judge(Baseline(0, 0)).judge({"kind": "key_rejected", "code": -2015})
    assert notifier.send(alert) is False


def test_a_url_apprise_does_not_know_is_refused_without_its_token():
    with pytest.raises(NotifyError) as error:
        Notifier(["nosuchscheme://TOKEN-123456/chat"])
    assert "nosuchscheme://…" in str(error.value) and "TOKEN-123456" not in str(error.value)
