"""Scenarios: built-in ones build consistent worlds with ground truth; bad files get a clear message."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal

import pytest
import requests

from keyguard.sandbox.errors import ScenarioError
from keyguard.sandbox.scenario import BUILT_IN, build_scenario
from keyguard.sandbox.server import SandboxServer

from .conftest import ccxt_client


@pytest.mark.parametrize("name", BUILT_IN)
def test_built_in_scenarios_build(name):
    built = build_scenario(name)
    assert {c["role"] for c in built.credentials} >= {"victim", "attacker"}
    assert built.truth["scenario"] == name
    victim = built.exchange.ledger.accounts["victim"]
    assert all(b.free >= 0 and b.locked >= 0 for b in victim.balances.values())
    assert (built.truth["attack"] is None) == (name == "clean")


def test_wash_trade_truth_matches_what_the_api_shows():
    built = build_scenario("wash-trade-theft")
    truth = built.truth
    attack = truth["attack"]
    with SandboxServer(built.exchange).running() as server:
        sandbox = type("S", (), {"base_url": server.base_url})
        entry = next(c for c in built.credentials if c["label"] == "victim-bot")
        exchange = ccxt_client(sandbox, entry["api_key"], entry["secret"])
        seen = {}
        for symbol in ("KGT/USDT", "BTC/USDT", "ETH/USDT"):
            for trade in exchange.fetch_my_trades(symbol, since=attack["start"] - 1000, limit=1000):
                seen[(trade["info"]["symbol"], int(trade["id"]))] = trade
        wanted = {(t["symbol"], t["id"]) for t in truth["trade_ids"]}
        assert wanted and wanted <= set(seen)
        kgt = [seen[key] for key in wanted if key[0] == "KGTUSDT"]
        assert kgt and all(attack["start"] <= t["timestamp"] <= attack["end"] for t in kgt)
        hourly = requests.get(
            f"{server.base_url}/api/v3/klines",
            params={"symbol": "KGTUSDT", "interval": "1h", "startTime": attack["start"] - 3_600_000},
            timeout=10,
        ).json()
        market = built.exchange.ledger.symbols  # the attack's inflated prices show up in the klines
        assert market and max(Decimal(row[2]) for row in hourly) > 5 * Decimal("0.05")


def test_withdrawal_theft_truth_names_new_address_withdrawals():
    built = build_scenario("withdrawal-theft")
    stolen = [r for r in built.exchange.ledger.wallet if r.id in built.truth["withdrawal_ids"]]
    assert {r.asset for r in stolen} == {"USDT", "BTC"}
    earlier = {
        r.extra["address"]
        for r in built.exchange.ledger.wallet
        if r.kind in ("deposit", "withdrawal") and r.id not in built.truth["withdrawal_ids"]
    }
    assert all(r.extra["address"] not in earlier for r in stolen)


def test_same_seed_same_world():
    first, second = (
        build_scenario("clean", seed=3, now_ms=1_790_000_000_000),
        build_scenario("clean", seed=3, now_ms=1_790_000_000_000),
    )
    assert first.credentials == second.credentials
    assert [t.id for t in first.exchange.ledger.trades["BTCUSDT"]] == [
        t.id for t in second.exchange.ledger.trades["BTCUSDT"]
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("symbols: [\n", "not valid YAML"),
        ("symbols: []\naccounts:\n  - name: v\n    role: thief\n", ":3: field 'role' must be one of"),
        (
            "symbols: []\naccounts: []\nkeys:\n  - {label: k, account: nobody}\n",
            ":4: field 'account' names no account",
        ),
        ("symbols:\n  - {symbol: X, base: X}\n", ":2: missing field 'quote'"),
        ("seed: abc\nsymbols: []\n", "field 'seed' must be int"),
    ],
)
def test_malformed_scenario_names_line_and_field(tmp_path, text, message):
    path = tmp_path / "mine.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=message):
        build_scenario(str(path))


def test_cli_serve_writes_credentials_and_truth(tmp_path):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "keyguard",
            "sandbox",
            "serve",
            "--port",
            "0",
            "--scenario",
            "leaked-readonly",
            "--write-credentials",
            "creds.json",
            "--write-truth",
            "truth.json",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        line = proc.stdout.readline()
        url = line.split(" on ")[1].split()[0]
        assert requests.get(f"{url}/api/v3/ping", timeout=10).json() == {}
        creds = json.loads((tmp_path / "creds.json").read_text())
        assert {"label", "api_key", "key_type", "permissions", "ip_whitelist", "role"} <= set(creds[0])
        assert any("private_key_pem" in c for c in creds) and any("secret" in c for c in creds)
        assert json.loads((tmp_path / "truth.json").read_text())["attack"]["type"] == "leaked-readonly"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)


def test_cli_rejects_a_bad_scenario(tmp_path):
    (tmp_path / "bad.yaml").write_text("symbols: 3\n")
    done = subprocess.run(
        [sys.executable, "-m", "keyguard", "sandbox", "serve", "--scenario", "bad.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "field 'symbols' must be list" in done.stdout + done.stderr
    time.sleep(0)


def test_withdrawal_theft_moves_funds_to_a_sub_account_visible_to_the_master():
    built = build_scenario("withdrawal-theft")
    [tran_id] = built.truth["transfer_ids"]
    with SandboxServer(built.exchange).running() as server:
        entry = next(c for c in built.credentials if c["label"] == "victim-withdraw")
        sandbox = type("S", (), {"base_url": server.base_url})
        history = ccxt_client(sandbox, entry["api_key"], entry["secret"]).sapi_get_sub_account_universaltransfer()
    [row] = [r for r in history["result"] if str(r["tranId"]) == tran_id]
    assert (row["fromEmail"], row["toEmail"], row["asset"]) == (
        "victim@sandbox.invalid",
        "victim-sub@sandbox.invalid",
        "BNB",
    )
