"""`keyguard verify` and the exchange layer, against the real sandbox server."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

from keyguard.exchange.client import BinanceClient
from keyguard.exchange.credentials import Credential
from keyguard.posture.verify import verify

from .conftest import session_from


def _client(sandbox, label: str, **kwargs) -> BinanceClient:
    entry = sandbox.credentials[label]
    secret = entry.get("secret") or entry["private_key_pem"]
    return BinanceClient(Credential(entry["api_key"], secret), sandbox.base_url, sleep=lambda s: None, **kwargs)


def test_trading_key_without_ip_whitelist_is_critical(sandbox):
    result = verify(_client(sandbox, "victim-bot"))
    assert (result.status, result.live, result.severity, result.ip_restricted) == ("live", True, "critical", False)
    assert result.permissions["enableSpotAndMarginTrading"] and not result.permissions["enableWithdrawals"]
    assert 119 <= result.age_days <= 121
    assert result.reasons[0].startswith("trading (enableSpotAndMarginTrading) from any IP")
    assert any("rotate" in r for r in result.reasons) and result.account_status == "Normal"


def test_whitelisted_ed25519_key_is_ok_and_withdrawal_key_is_critical(sandbox):
    assert verify(_client(sandbox, "victim-ed25519")).severity == "ok"
    withdrawing = verify(_client(sandbox, "victim-withdraw"))
    assert withdrawing.severity == "critical" and withdrawing.reasons[0].startswith("enableWithdrawals is on")
    assert verify(_client(sandbox, "victim-rsa")).severity == "medium"  # read-only, no whitelist


def test_deleted_and_ip_refused_keys_are_dead_not_unknown(sandbox):
    sandbox.admin("keys/victim-bot/delete")
    deleted = verify(_client(sandbox, "victim-bot"))
    assert deleted.status == "dead"
    other_ip = _client(sandbox, "victim-ed25519")
    other_ip._exchange.session = session_from("127.0.0.2")
    refused = verify(other_ip)
    assert refused.status == "dead"
    wording = "Binance rejects this key from this machine; confirm in API Management that it is gone"
    assert deleted.reasons[0] == refused.reasons[0] == wording


def test_rate_limit_storm_clock_skew_and_outage(sandbox):
    client = _client(sandbox, "victim-bot")
    sandbox.admin("faults", {"burst_429": 3, "skew_ms": 30_000})
    assert verify(client).status == "live"
    assert client.stats.retries >= 3
    sandbox.admin("faults", {"skew_ms": 0, "error_rate": 1.0})
    outage = verify(_client(sandbox, "victim-bot", max_retries=2))
    assert outage.status == "unknown" and outage.live is None and "could not verify" in outage.reasons[0]


def test_no_secret_in_logs_or_errors_with_debug_logging(sandbox, caplog):
    entry = sandbox.credentials["victim-bot"]
    caplog.set_level(logging.DEBUG)
    client = _client(sandbox, "victim-bot")
    verify(client)
    wrong = BinanceClient(Credential(entry["api_key"], entry["secret"][::-1]), sandbox.base_url, sleep=lambda s: None)
    bad = verify(wrong)
    sandbox.admin("faults", {"error_rate": 1.0})
    down = verify(_client(sandbox, "victim-bot", max_retries=1))
    everything = caplog.text + json.dumps(bad.to_dict()) + json.dumps(down.to_dict())
    assert bad.status == "unknown" and "-1022" in bad.reasons[0]
    for secret in (entry["secret"], entry["secret"][::-1], entry["api_key"]):
        assert secret not in everything


def test_cli_verify_json(sandbox, tmp_path):
    entry = sandbox.credentials["victim-withdraw"]
    env = {
        **os.environ,
        "BINANCE_API_KEY": entry["api_key"],
        "BINANCE_API_SECRET": entry["secret"],
        "KEYGUARD_BINANCE_URL": sandbox.base_url,
    }
    done = subprocess.run(
        [sys.executable, "-m", "keyguard", "verify", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert (report["live"], report["severity"], report["ip_restricted"]) == (True, "critical", True)
    assert entry["secret"] not in done.stdout + done.stderr and entry["api_key"] not in done.stdout
    pem = sandbox.credentials["victim-ed25519"]
    (tmp_path / "key.pem").write_text(pem["private_key_pem"])
    env.update({"BINANCE_API_KEY": pem["api_key"], "BINANCE_PRIVATE_KEY_FILE": str(tmp_path / "key.pem")})
    env.pop("BINANCE_API_SECRET")
    ok = subprocess.run(
        [sys.executable, "-m", "keyguard", "verify"], env=env, capture_output=True, text=True, timeout=60
    )
    assert ok.returncode == 0 and "live" in ok.stdout and "verdict ok" in ok.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "keyguard", "verify"],
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert missing.returncode == 2 and "BINANCE_API_KEY" in missing.stderr
