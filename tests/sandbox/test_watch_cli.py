"""`keyguard watch` as a user runs it, against the real sandbox: a live wash-trade theft with the watched key is
alerted to a local notification endpoint, its orders cancelled and the account's funds moved to Funding by the
guardian key; the event log holds the events and no secret. Bad input: one line, exit 2."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import isolated_env
from keyguard.watch.log import read_jsonl, read_store

WASH = {"type": "wash-trade-theft", "key": "victim-bot", "symbol": "KGTUSDT", "markup": 8, "liquidate": []}


@pytest.fixture
def inbox() -> Iterator[tuple[str, list[dict]]]:
    """A local HTTP endpoint that keeps what apprise's json:// posts to it."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"json://127.0.0.1:{server.server_port}/", received
    server.shutdown()
    server.server_close()


def _keyguard(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keyguard", *args], input=stdin, capture_output=True, text=True, env=env, timeout=60
    )


def _vault(tmp_path: Path, sandbox, labels: dict[str, str]) -> dict[str, str]:
    """An isolated environment whose file vault holds the sandbox's keys under the given labels."""
    env = isolated_env(tmp_path, NO_COLOR="1")
    for label, name in labels.items():
        entry = sandbox.credentials[name]
        added = _keyguard(env, "vault", "add", label, stdin=f"{entry['api_key']}\n{entry['secret']}\n")
        assert added.returncode == 0, added.stderr
    return env


def _wait_for_line(path: Path, kind: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        if path.exists() and any(record["kind"] == kind for record in read_jsonl(path)):
            return
        time.sleep(0.1)
    raise AssertionError(f"no {kind} in the log; exit {process.poll()}")


def test_watch_alerts_contains_and_logs_a_live_theft(sandbox, inbox, tmp_path):
    url, received = inbox
    sandbox.admin("keys/victim-withdraw", {"permissions": ["universal_transfer"], "ip_whitelist": ["127.0.0.1"]})
    env = _vault(tmp_path, sandbox, {"victim": "victim-bot", "guardian": "victim-withdraw"})
    log = tmp_path / "events.jsonl"
    victim = sandbox.exchange.ledger.accounts["victim"]
    funding_before = victim.funding.get("USDT", Decimal(0))
    command = ["watch", "--key", "victim", "--notify", url, "--contain", "cancel-orders,sweep-to-funding"]
    command += ["--guardian-key", "guardian", "--base-url", sandbox.base_url, "--duration", "20", "--log", str(log)]
    process = subprocess.Popen(
        [sys.executable, "-m", "keyguard", *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        _wait_for_line(log, "stream.connected", process)
        sandbox.admin("live/attack", {**WASH, "rounds": 6, "step_seconds": 0.3})
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    sandbox.admin("live/stop")

    assert process.returncode == 0, err
    assert " CRITICAL " in out and "containing: cancel-orders, sweep-to-funding" in out
    assert "move USDT to Funding" in out and "API Management" in out
    titles = [message["title"] for message in received]
    assert any(title.startswith("keyguard critical") for title in titles), titles
    assert any("delete the key victim now" in title for title in titles)
    assert titles[-1] == "keyguard: watching stopped"
    assert "keyguard critical: money out" not in titles  # the sweep's own transfers are no theft
    assert "(keyguard's own sweep, not sent) money-out: " in out
    assert victim.funding["USDT"] > funding_before + 10_000 and victim.balance("USDT").free < 1
    assert sandbox.exchange.ledger.open_orders("victim") == []

    records = read_jsonl(log)
    kinds = {record["kind"] for record in records}
    assert "executionReport" in kinds and "containment" in kinds and any(k.startswith("alert.") for k in kinds)
    everything = log.read_text() + out + err + json.dumps(received)
    for name in ("victim-bot", "victim-withdraw"):
        entry = sandbox.credentials[name]
        assert entry["api_key"] not in everything and entry["secret"] not in everything


def test_bad_input_is_one_line_and_exit_2(sandbox, tmp_path):
    env = _vault(tmp_path, sandbox, {"victim": "victim-bot", "unfit": "victim-bot"})
    base = ["watch", "--base-url", sandbox.base_url, "--duration", "1"]
    cases = {
        "no nobody in the vault": [*base, "--key", "nobody"],
        "not a notification URL apprise knows: nonsense://…": [*base, "--key", "victim", "--notify", "nonsense://x"],
        "unknown containment action sell-all": [*base, "--key", "victim", "--contain", "sell-all"],
        "sweep-to-funding needs a guardian key": [*base, "--key", "victim", "--contain", "sweep-to-funding"],
        "the guardian key unfit is unfit: it lacks the universal-transfer": [
            *[*base, "--key", "victim", "--guardian-key", "unfit"],
        ],
    }
    for expected, args in cases.items():
        done = _keyguard(env, *args)
        assert (done.returncode, done.stdout) == (2, ""), (expected, done.stdout, done.stderr)
        assert expected in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_ctrl_c_stops_the_watch_with_a_message(sandbox, inbox, tmp_path):
    url, received = inbox
    env = _vault(tmp_path, sandbox, {"victim": "victim-bot"})
    log, store = tmp_path / "events.jsonl", tmp_path / "events.sqlite"
    command = ["watch", "--key", "victim", "--notify", url, "--base-url", sandbox.base_url, "--log", str(log)]
    process = subprocess.Popen(
        [sys.executable, "-m", "keyguard", *command, "--store", str(store)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        _wait_for_line(log, "stream.connected", process)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "watching stopped (Ctrl-C)" in out
    [stopped] = received
    assert stopped["title"] == "keyguard: watching stopped" and "(Ctrl-C)" in stopped["message"]
    assert [record["kind"] for record in read_store(store)][:1] == ["stream.connected"]
