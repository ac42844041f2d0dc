"""The incident flow as people respond: the key deleted first or while keyguard captures, with and without a
read-only key, under rate limits and 5xx, killed midway and resumed — against the real sandbox."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from keyguard.evidence.manifest import verify_case
from keyguard.exchange.client import BinanceClient
from keyguard.exchange.credentials import Credential
from keyguard.incident.runbook import Person, run_incident
from keyguard.sandbox.scenario import build_scenario
from keyguard.sandbox.server import SandboxServer

from .conftest import ccxt_client

CONTAINMENT_PATHS = {
    "/sapi/v1/account/apiRestrictions",
    "/sapi/v1/account/status",
    "/sapi/v1/account/apiTradingStatus",
    "/api/v3/openOrders",
}
UNSIGNED = {"timestamp", "signature", "recvWindow"}


@dataclass
class Running:
    base_url: str
    exchange: Any
    credentials: dict[str, dict[str, Any]]
    truth: dict[str, Any]
    reads: list[tuple[str, str, tuple]]  # every audit request: method, path, parameters without the signature

    def admin(self, path: str, body: dict | None = None) -> dict:
        response = requests.post(f"{self.base_url}/_sandbox/{path}", json=body or {}, timeout=10)
        response.raise_for_status()
        return response.json()

    def client(self, label: str) -> BinanceClient:
        entry = self.credentials[label]
        return BinanceClient(Credential(entry["api_key"], entry["secret"]), self.base_url)

    def env(self, label: str, **extra: str) -> dict[str, str]:
        entry = self.credentials[label]
        return {
            **os.environ,
            "BINANCE_API_KEY": entry["api_key"],
            "BINANCE_API_SECRET": entry["secret"],
            "KEYGUARD_BINANCE_URL": self.base_url,
            "COLUMNS": "200",
            **extra,
        }


@contextmanager
def scenario(name: str) -> Iterator[Running]:
    built = build_scenario(name)
    server = SandboxServer(built.exchange)
    reads: list[tuple[str, str, tuple]] = []

    @server.server.config.app.middleware("http")
    async def record(request, call_next):  # type: ignore[no-untyped-def]
        if request.url.path not in CONTAINMENT_PATHS and not request.url.path.startswith("/_sandbox"):
            params = tuple(sorted((k, v) for k, v in request.query_params.items() if k not in UNSIGNED))
            reads.append((request.method, request.url.path, params))
        return await call_next(request)

    with server.running():
        creds = {entry["label"]: entry for entry in built.credentials}
        yield Running(server.base_url, built.exchange, creds, built.truth, reads)


def _attack_trades(truth: dict) -> set[tuple[str, int]]:
    return {(t["symbol"], t["id"]) for t in truth["trade_ids"]}


def _leaked(running: Running) -> str:
    return running.truth["attack"]["key"]


def _run(running: Running, case: Path, *args: str, label: str | None = None, **env: str):
    return subprocess.run(
        [sys.executable, "-m", "keyguard", "incident", "--yes", "--out", str(case), "--since", "7", *args],
        env=running.env(label or _leaked(running), **env),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_key_deleted_first_and_no_other_key_audits_nothing_and_says_so(tmp_path):
    with scenario("wash-trade-theft") as running:
        running.admin(f"keys/{_leaked(running)}/delete")
        done = _run(running, tmp_path / "case", "--wait-dead", "0")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "NOTHING COULD BE AUDITED" in done.stdout and "Traceback" not in done.stderr
    assert "confirm in API Management" in done.stdout  # the steps are shown although Binance already rejects it
    report = (tmp_path / "case" / "report.html").read_text()
    assert "NOTHING COULD BE AUDITED" in report
    assert "0.00 USDT" not in report
    assert json.loads((tmp_path / "case" / "containment.json").read_text())["audit"]["state"] == "none"
    assert verify_case(tmp_path / "case").intact


def test_key_deleted_first_with_a_read_only_key_audits_everything(tmp_path):
    with scenario("wash-trade-theft") as running:
        running.admin(f"keys/{_leaked(running)}/delete")
        reader = next(
            c for c in running.credentials.values() if c["role"] == "victim" and c["permissions"] == ["reading"]
        )
        pem = tmp_path / "audit-key.pem"
        pem.write_text(reader["private_key_pem"])
        done = _run(
            running,
            tmp_path / "case",
            "--wait-dead",
            "0",
            KEYGUARD_AUDIT_API_KEY=reader["api_key"],
            KEYGUARD_AUDIT_PRIVATE_KEY_FILE=str(pem),
        )
        truth = _attack_trades(running.truth)
    assert done.returncode == 0, done.stdout + done.stderr
    flags = json.loads((tmp_path / "case" / "flags.json").read_text())
    flagged = {(f["symbol"], f["id"]) for f in flags["flags"] if f["kind"] == "trade"}
    assert truth <= flagged


def test_evidence_is_captured_while_the_person_deletes_the_key(tmp_path):
    """No second key: the leaked key is deleted 2 s after the steps are shown; what the audit needs was read
    with it meanwhile, and every attack trade is flagged."""
    with scenario("wash-trade-theft") as running:
        label = _leaked(running)
        shown: list[float] = []

        def person_deletes(steps: list[str]) -> None:
            shown.append(time.monotonic())
            threading.Timer(2, lambda: running.admin(f"keys/{label}/delete")).start()

        started = time.monotonic()
        result = run_incident(
            running.client(label),
            tmp_path / "case",
            Person(confirm=lambda question: True, on_guidance=person_deletes),
            since_days=7,
            wait_dead=60,
            poll_seconds=0.5,
        )
        truth = _attack_trades(running.truth)
    assert shown and shown[0] - started < 5  # the guidance is never delayed by the capture
    assert result.containment.confirmed_dead and result.containment.rejected_since
    assert result.audit_state == "complete", result.missing
    assert truth <= result.detection.flagged_trade_ids()


def test_rate_limits_and_5xx_at_the_start_do_not_skip_containment(tmp_path):
    with scenario("wash-trade-theft") as running:
        label = _leaked(running)
        entry = running.credentials[label]
        bot = ccxt_client(running, entry["api_key"], entry["secret"])
        bot.create_order("BTC/USDT", "limit", "buy", 0.01, 1000)  # left open, far below the market
        running.admin("faults", {"burst_429": 5})
        result = run_incident(
            running.client(label),
            tmp_path / "case",
            Person(confirm=lambda question: True),
            since_days=7,
            wait_dead=0,
        )
        assert result.containment.verification.status == "live"
        assert result.containment.cancelled == {"BTCUSDT": 1}
        running.admin("faults", {"error_rate": 0.2})
        again = run_incident(
            running.client(label),
            tmp_path / "case-5xx",
            Person(confirm=lambda question: True),
            since_days=7,
            wait_dead=0,
        )
        running.admin("faults", {"error_rate": 0.0})
        truth = _attack_trades(running.truth)
    assert again.audit_state == "complete", again.missing
    assert truth <= again.detection.flagged_trade_ids()


def test_a_key_whitelisted_to_another_ip_is_not_called_deleted(tmp_path):
    with scenario("wash-trade-theft") as running:
        label = _leaked(running)
        running.admin(f"keys/{label}", {"ip_whitelist": ["203.0.113.9"]})
        shown: list[list[str]] = []
        result = run_incident(
            running.client(label),
            tmp_path / "case",
            Person(confirm=lambda question: True, on_guidance=shown.append),
            since_days=7,
        )
    assert result.containment.verification.status == "dead"
    steps = " ".join(shown[0])
    assert "confirm in API Management" in steps and "whitelist" in steps and "Delete" in steps


def test_killed_midway_and_rerun_resumes_the_same_case(tmp_path):
    case = tmp_path / "case"
    with scenario("wash-trade-theft") as running:
        running.admin("faults", {"latency_ms": 40})
        process = subprocess.Popen(
            [sys.executable, "-m", "keyguard", "incident", "--yes", "--out", str(case), "--since", "7"],
            env=running.env(_leaked(running)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if (case / "audit.sqlite").exists() and _answers(case) >= 15:
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait()
        window = json.loads((case / "case.json").read_text())
        assert not (case / "manifest.json").exists()
        captured_first = _answers(case)
        reads_first = len(running.reads)
        running.admin("faults", {"latency_ms": 0})
        done = _run(running, case, "--wait-dead", "0")
        reads = list(running.reads)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert "resume case" in done.stdout
    state = json.loads((case / "case.json").read_text())
    assert (state["start_ms"], state["end_ms"]) == (window["start_ms"], window["end_ms"]) and state["runs"] == 2
    in_flight = reads[reads_first - 1]  # the request the kill interrupted may be asked again, nothing else
    twice = [read for read, count in Counter(reads).items() if count > 1 and read != in_flight]
    assert twice == [], f"fetched twice: {twice[:3]}"
    assert len(reads) - reads_first < _answers(case)  # the second run read only what the first did not
    assert captured_first >= 15
    raw = [json.loads(p.read_text()) for p in sorted((case / "raw").glob("*.json"))]
    keys = [(r["method"], json.dumps(r["params"], sort_keys=True)) for r in raw]
    assert len(keys) == len(set(keys)) == _answers(case)
    assert verify_case(case).intact


def _answers(case: Path) -> int:
    with sqlite3.connect(f"file:{case / 'audit.sqlite'}?mode=ro", uri=True) as db:
        try:
            return db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def test_an_audit_key_of_another_account_is_refused(tmp_path):
    from keyguard.incident.actions import ActionLog
    from keyguard.incident.audit import Checkpoint
    from keyguard.incident.runbook import _same_account

    with scenario("wash-trade-theft") as running:
        checkpoint = Checkpoint(tmp_path / "audit.sqlite")
        checkpoint.put("private_get_account", {}, running.client(_leaked(running)).spot_account())
        log = ActionLog()
        assert not _same_account(running.client("attacker"), checkpoint, log)
        assert log.actions[-1].result.startswith("refused:") and "belongs to account" in log.actions[-1].result
        reader = next(c for c in running.credentials.values() if c["role"] == "victim" and c.get("secret"))
        assert _same_account(running.client(reader["label"]), checkpoint, log)


def test_a_second_run_on_the_same_case_at_once_is_refused(tmp_path):
    case = tmp_path / "case"
    with scenario("wash-trade-theft") as running:
        running.admin("faults", {"latency_ms": 30})
        first = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "keyguard",
                "incident",
                "--yes",
                "--out",
                str(case),
                "--since",
                "7",
                "--wait-dead",
                "0",
            ],
            env=running.env(_leaked(running)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while not (case / "case.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        second = _run(running, case, "--wait-dead", "0")
        first.wait(timeout=240)
    assert second.returncode == 2 and "another keyguard is working on" in second.stderr, second.stderr
    assert first.returncode in (0, 1)
    assert verify_case(case).intact


def test_the_case_knows_the_accounts_normal_from_the_week_before(tmp_path):
    with scenario("grid-bot") as running:
        label = next(c["label"] for c in running.credentials.values() if c["role"] == "victim" and c.get("secret"))
        result = run_incident(
            running.client(label), tmp_path / "case", Person(confirm=lambda question: False), since_days=1
        )
    baseline = json.loads((tmp_path / "case" / "baseline.json").read_text())
    assert baseline["trades"] > 10_000 and baseline["end"] < baseline["start"] + 7 * 86_400_000
    assert 50 <= baseline["trades_per_hour"]["p50"] <= 250
    report = (tmp_path / "case" / "report.html").read_text()
    assert "normal in the 7 days before the window" in report and "x-TKT5PX2F" in report
    assert result.audit_state == "complete"
