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

from conftest import isolated_env, keyguard_in
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


def _vault(tmp_path: Path, sandbox, labels: dict[str, str]) -> dict[str, str]:
    """An isolated environment whose file vault holds the sandbox's keys under the given labels."""
    env = isolated_env(tmp_path, NO_COLOR="1")
    for label, name in labels.items():
        entry = sandbox.credentials[name]
        added = keyguard_in(env, "vault", "add", label, stdin=f"{entry['api_key']}\n{entry['secret']}\n")
        assert added.returncode == 0, added.stderr
    return env


def _running(pid: int) -> bool:
    """The process is alive (an exited one that nobody reaped yet, a zombie, is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


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
    command += ["--incident-out", str(tmp_path / "case")]
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

    # keyguard incident was started with the case folder and waits for the key's deletion on the website
    assert "keyguard incident started (pid " in out and str(tmp_path / "case") in out
    assert "incident.started" in kinds
    everything = log.read_text() + out + err + json.dumps(received)
    sandbox.admin(f"keys/{sandbox.credentials['victim-bot']['api_key']}/delete")
    pid = int(out.split("keyguard incident started (pid ", 1)[1].split(")", 1)[0])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _running(pid):
        time.sleep(0.5)
    incident_output = (tmp_path / "case.log").read_text()
    assert (tmp_path / "case" / "report.html").exists(), incident_output
    everything += incident_output + (tmp_path / "case" / "support-ticket.md").read_text()
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
        done = keyguard_in(env, *args)
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


def test_heartbeats_and_a_lost_stream_reach_the_notification_urls(sandbox, inbox, tmp_path):
    """The stream is refused for 6 s: after --stream-lost-after 2 the person hears it once, heartbeats keep coming,
    and the stream comes back by itself when the outage ends."""
    url, received = inbox
    env = _vault(tmp_path, sandbox, {"victim": "victim-bot"})
    log = tmp_path / "events.jsonl"
    command = ["watch", "--key", "victim", "--notify", url, "--base-url", sandbox.base_url, "--log", str(log)]
    command += ["--heartbeat", "2", "--stream-lost-after", "2", "--duration", "16"]
    process = subprocess.Popen(
        [sys.executable, "-m", "keyguard", *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        _wait_for_line(log, "stream.connected", process)
        dropped = sandbox.admin("stream/drop", {"outage_seconds": 6})
        assert dropped["dropped"] == 1
        _wait_for_line(log, "stream.lost", process)
        _wait_for_line(log, "stream.restored", process, seconds=40)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, err
    titles = [message["title"] for message in received]
    assert titles.count("keyguard: stream lost") == 1, titles
    lost = next(message for message in received if message["title"] == "keyguard: stream lost")
    assert lost["type"] == "warning" and "no live stream from Binance for the key victim" in lost["message"]
    beats = [message for message in received if message["title"] == "keyguard: still watching"]
    assert len(beats) >= 3 and "This message comes every 2 seconds" in beats[0]["message"]
    assert titles[-1] == "keyguard: watching stopped"
    assert "stream lost for" in out


def test_install_service_writes_a_unit_that_runs_the_same_watch(sandbox, inbox, tmp_path):
    import plistlib
    import shlex
    import shutil

    url, _ = inbox
    env = _vault(tmp_path, sandbox, {"victim": "victim-bot"})
    env.update(HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=str(tmp_path / "config"))
    args = ["watch", "--key", "victim", "--notify", url, "--base-url", sandbox.base_url, "--log", "events.jsonl"]
    installed = keyguard_in(env, *args, "--install-service", cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr
    unit = tmp_path / "config" / "systemd" / "user" / "keyguard-watch-victim.service"
    assert f"wrote {unit}" in installed.stdout and (unit.stat().st_mode & 0o777) == 0o600
    assert "started" in installed.stdout  # started, or not started with the commands to start it
    text = unit.read_text()
    assert "Restart=always" in text and "RestartPreventExitStatus=2" in text and "WantedBy=default.target" in text
    assert "KEYGUARD_VAULT_PASSPHRASE" not in text.replace("KEYGUARD_VAULT_PASSPHRASE=…", "")
    assert env["KEYGUARD_VAULT_PASSPHRASE"] + "\n" not in text and "--install-service" not in text
    if shutil.which("systemd-analyze"):
        checked = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
        assert checked.returncode == 0 and "Unknown" not in checked.stderr, checked.stderr
    [exec_line] = [line for line in text.splitlines() if line.startswith("ExecStart=")]
    argv = shlex.split(exec_line.removeprefix("ExecStart="))
    assert argv[:4] == [sys.executable, "-m", "keyguard", "watch"]
    assert argv[argv.index("--log") + 1] == str(tmp_path / "events.jsonl")  # absolute: a service has no cwd

    service_env = {name: value for name, value in env.items() if name != "KEYGUARD_VAULT_PASSPHRASE"}
    (tmp_path / "config" / "keyguard").mkdir(exist_ok=True)
    environment_file = tmp_path / "config" / "keyguard" / "keyguard-watch-victim.env"
    assert f"EnvironmentFile=-{environment_file}" in text
    environment_file.write_text(f"KEYGUARD_VAULT_PASSPHRASE={env['KEYGUARD_VAULT_PASSPHRASE']}\n")
    service_env["KEYGUARD_VAULT_PASSPHRASE"] = environment_file.read_text().strip().split("=", 1)[1]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=service_env)
    try:
        _wait_for_line(tmp_path / "events.jsonl", "stream.connected", process)
        process.send_signal(signal.SIGTERM)  # how systemctl stop ends it
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0 and "watching stopped (SIGTERM)" in out, err

    again = keyguard_in(env, *args, "--heartbeat", "3600", "--install-service", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    [backup] = unit.parent.glob("keyguard-watch-victim.service.*.bak")
    assert backup.read_text() == text and "--heartbeat" in unit.read_text()  # the earlier unit is kept

    mac = keyguard_in(env, *args, "--install-service", "--service-manager", "launchd", cwd=tmp_path)
    assert mac.returncode == 0, mac.stderr
    plist = tmp_path / "home" / "Library" / "LaunchAgents" / "io.keyguard.watch.victim.plist"
    agent = plistlib.loads(plist.read_bytes())
    assert agent["ProgramArguments"] == argv and agent["RunAtLoad"] is True
    assert agent["KeepAlive"] == {"SuccessfulExit": False, "Crashed": True}
    assert agent["EnvironmentVariables"]["KEYGUARD_VAULT_FILE"] == env["KEYGUARD_VAULT_FILE"]
    assert "launchctl bootstrap" in mac.stdout


def test_a_sub_account_key_under_attack_is_locked_through_the_master(sandbox, inbox, tmp_path):
    url, received = inbox
    env = _vault(tmp_path, sandbox, {"sub": "victim-sub-key", "master": "victim-bot"})
    log = tmp_path / "events.jsonl"
    leaked = sandbox.credentials["victim-sub-key"]["api_key"]
    command = ["watch", "--key", "sub", "--notify", url, "--contain", "cancel-orders,lock-sub-account"]
    command += ["--master-key", "master", "--sub-account", "victim-sub@sandbox.invalid"]
    command += ["--base-url", sandbox.base_url, "--duration", "15", "--log", str(log)]
    process = subprocess.Popen(
        [sys.executable, "-m", "keyguard", *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        _wait_for_line(log, "stream.connected", process)
        attack = {**WASH, "key": "victim-sub-key", "markup": 3, "rounds": 20, "step_seconds": 0.4}
        sandbox.admin("live/attack", attack)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    sandbox.admin("live/stop")
    assert process.returncode == 0, err
    assert "containing: cancel-orders, lock-sub-account" in out
    assert "lock sub-account key: IP list was [], now [192.0.2.1]: usable from nowhere" in out
    assert sandbox.exchange.keys[leaked].ip_whitelist == ["192.0.2.1"]
    done = sandbox.exchange.truth["live_attack"]["trades"]
    assert 0 < len(done) < 20  # the lock stopped the attack's later rounds
    assert leaked not in out + err + log.read_text() + json.dumps(received)
