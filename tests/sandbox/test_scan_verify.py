"""scan --verify: pairs found in files are checked live against the sandbox, never elsewhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def _scan(tmp_path, *args: str) -> tuple[dict, str]:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("KEYGUARD_BINANCE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "keyguard", "scan", "-f", "json", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout), done.stdout + done.stderr


def test_scan_verify_marks_live_and_dead_pairs(sandbox, tmp_path):
    live, dead, pem = (sandbox.credentials[k] for k in ("victim-withdraw", "victim-bot", "victim-ed25519"))
    (tmp_path / "live.env").write_text(f"BINANCE_API_KEY={live['api_key']}\nBINANCE_API_SECRET={live['secret']}\n")
    (tmp_path / "old.env").write_text(f"BINANCE_API_KEY={dead['api_key']}\nBINANCE_API_SECRET={dead['secret']}\n")
    (tmp_path / "binance_ed25519.txt").write_text(f"BINANCE_API_KEY={pem['api_key']}\n{pem['private_key_pem']}\n")
    sandbox.admin("keys/victim-bot/delete")
    report, text = _scan(tmp_path, "--verify", "--base-url", sandbox.base_url)
    by_path = {}
    for finding in report["findings"]:
        by_path.setdefault(finding["path"], []).append(finding)
    assert {f["verified"] for f in by_path["live.env"]} == {"live"}
    assert {f["severity"] for f in by_path["live.env"]} == {"critical"}
    assert "enableWithdrawals" in by_path["live.env"][0]["permissions"]
    assert {(f["verified"], f["severity"]) for f in by_path["old.env"]} == {("dead", "low")}
    assert {f["verified"] for f in by_path["binance_ed25519.txt"]} == {"live"}
    assert report["stats"]["verified_pairs"] == 3
    for entry in (live, dead, pem):
        assert entry["api_key"] not in text and (entry.get("secret") or entry["private_key_pem"][40:80]) not in text


def test_without_verify_nothing_is_sent(sandbox, tmp_path):
    entry = sandbox.credentials["victim-bot"]
    (tmp_path / ".env").write_text(f"BINANCE_API_KEY={entry['api_key']}\nBINANCE_API_SECRET={entry['secret']}\n")
    before = sandbox.exchange.limiter._windows.copy()
    report, _ = _scan(tmp_path)
    assert {f["verified"] for f in report["findings"]} == {None} and report["stats"]["verified_pairs"] == 0
    assert sandbox.exchange.limiter._windows == before
