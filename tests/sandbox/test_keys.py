"""The key inventory end to end: add, verify --label, list, check against profiles, retire."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

from conftest import isolated_env
from keyguard.inventory.store import Inventory
from keyguard.posture.check import check_keys
from keyguard.posture.profiles import load_profiles


def _keyguard(sandbox, tmp_path, label: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = isolated_env(tmp_path, KEYGUARD_BINANCE_URL=sandbox.base_url)
    if label:
        entry = sandbox.credentials[label]
        env["BINANCE_API_KEY"] = entry["api_key"]
        if "secret" in entry:
            env["BINANCE_API_SECRET"] = entry["secret"]
        else:
            (tmp_path / f"{label}.pem").write_text(entry["private_key_pem"])
            env["BINANCE_PRIVATE_KEY_FILE"] = str(tmp_path / f"{label}.pem")
    return subprocess.run(
        [sys.executable, "-m", "keyguard", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_inventory_flow(sandbox, tmp_path):
    add = _keyguard(
        sandbox,
        tmp_path,
        "victim-ed25519",
        "keys",
        "add",
        "--label",
        "quant-trading",
        "--tool",
        "freqtrade",
        "--profile",
        "spot-trading",
        "--ips",
        "127.0.0.1",
    )
    assert add.returncode == 0, add.stderr
    assert (
        _keyguard(
            sandbox,
            tmp_path,
            "victim-bot",
            "keys",
            "add",
            "--label",
            "grid",
            "--tool",
            "grid-bot",
            "--profile",
            "spot-trading",
        ).returncode
        == 0
    )
    same = _keyguard(
        sandbox,
        tmp_path,
        "victim-bot",
        "keys",
        "add",
        "--label",
        "grid-copy",
        "--tool",
        "hummingbot",
        "--profile",
        "read-only",
    )
    assert "give each tool its own key" in same.stdout
    for label, key in (("quant-trading", "victim-ed25519"), ("grid", "victim-bot")):
        _keyguard(sandbox, tmp_path, key, "verify", "--label", label)
    wrong = _keyguard(sandbox, tmp_path, "victim-rsa", "verify", "--label", "grid")
    assert wrong.returncode == 2 and "registered with another key" in wrong.stderr
    listing = _keyguard(sandbox, tmp_path, None, "keys", "list")
    assert "quant-trading" in listing.stdout and "freqtrade" in listing.stdout and "critical" in listing.stdout
    check = _keyguard(sandbox, tmp_path, None, "keys", "check")
    assert check.returncode == 1
    assert "more than profile spot-trading allows: enableFutures" in check.stdout  # the key can trade futures
    assert "no IP whitelist (profile spot-trading requires one)" in check.stdout
    assert "one key per tool" in check.stdout and "never verified" in check.stdout
    retire = _keyguard(sandbox, tmp_path, None, "keys", "retire", "grid")
    assert retire.returncode == 0
    assert "delete me" in _keyguard(sandbox, tmp_path, None, "keys", "list").stdout
    sandbox.admin("keys/victim-bot/delete")
    _keyguard(sandbox, tmp_path, "victim-bot", "verify", "--label", "grid")
    assert "delete me" not in _keyguard(sandbox, tmp_path, None, "keys", "list").stdout
    # the inventory never holds a secret or a full key
    dump = "\n".join(sqlite3.connect(tmp_path / "inventory.sqlite").iterdump())
    for entry in (sandbox.credentials["victim-bot"], sandbox.credentials["victim-ed25519"]):
        assert entry["api_key"] not in dump
        assert (entry.get("secret") or entry["private_key_pem"]) not in dump
    assert oct(os.stat(tmp_path / "inventory.sqlite").st_mode & 0o777) == "0o600"


def test_profile_rules(tmp_path):
    profiles = load_profiles({"scalper": {"allow": ["reading", "spot", "futures"], "rotation_days": 30}})
    assert sorted(profiles) == ["read-only", "scalper", "spot-trading"]
    store = Inventory(tmp_path / "inv.sqlite")
    from keyguard.inventory.store import KeyRecord

    store.add(KeyRecord("a", "bot", "scalper", "f" * 64, "abcd…wxyz", "hmac", "2026-01-01T00:00:00+00:00"))
    store.record_verification(
        "a",
        {
            "status": "live",
            "severity": "ok",
            "key": "abcd…wxyz",
            "fingerprint": "f" * 64,
            "key_type": "hmac",
            "permissions": {"enableReading": True, "enableFutures": True, "enableWithdrawals": True},
            "ip_restricted": True,
            "created": "2026-09-01T00:00:00+00:00",
            "age_days": 40,
        },
    )
    [violations] = check_keys(store.all(), profiles).values()
    assert (violations[0].severity, violations[0].text) == (
        "critical",
        "more than profile scalper allows: enableWithdrawals",
    )
    assert "rotates every 30" in violations[1].text


def _check_blocks(text: str) -> dict[str, str]:
    """`keys check` output by label: its heading line and the indented lines under it."""
    blocks: dict[str, str] = {}
    label = ""
    for line in text.splitlines():
        if not line.startswith(" "):
            label = line.split(" ", 1)[0]
        blocks[label] = blocks.get(label, "") + line + "\n"
    return blocks


def test_keys_check_by_tool(sandbox, tmp_path):
    """Real keys, verified against the sandbox, judged by what their tools need; fixing a key in "API
    Management" (the sandbox admin) clears its violation."""
    for label, key, tool in (
        ("tax", "victim-withdraw", "koinly"),
        ("grid", "victim-bot", "3commas"),
        ("hb", "victim-ed25519", "hummingbot"),
        ("old", "victim-rsa", "cointracker"),
    ):
        added = _keyguard(sandbox, tmp_path, key, "keys", "add", label, "--tool", tool)
        assert added.returncode == 0, added.stderr
        _keyguard(sandbox, tmp_path, key, "verify", "--label", label)
    both = _keyguard(
        sandbox, tmp_path, "victim-ed25519", "keys", "add", "ft", "--tool", "freqtrade", "--allow", "futures"
    )
    assert both.returncode == 0 and "give each tool its own key" in both.stdout
    assert _keyguard(sandbox, tmp_path, None, "keys", "retire", "--tool", "CoinTracker").returncode == 0
    check = _keyguard(sandbox, tmp_path, None, "keys", "check")
    assert check.returncode == 1
    blocks = _check_blocks(check.stdout)
    tax = blocks["tax"]
    beyond = "critical: more than Koinly needs: enableInternalTransfer, enableWithdrawals, permitsUniversalTransfer"
    assert beyond in tax
    assert "https://www.binance.com/en/my/settings/api-management" in tax
    assert "'Enable Withdrawals'" in tax and "'Permits Universal Transfer'" in tax and "press Edit restrictions" in tax
    assert "critical: no IP whitelist, though 3Commas publishes the IPs it calls from" in blocks["grid"]
    assert "Restrict access to trusted IPs only (Recommended)" in blocks["grid"]
    assert "high: more than Hummingbot needs: enableFutures" in blocks["hb"]
    assert "one key per tool: the same key serves freqtrade, hummingbot" in blocks["hb"]
    assert "`keyguard keys retire ft`: freqtrade no longer uses the shared key." in blocks["hb"]
    assert "retired: delete it in Binance API Management; not yet confirmed dead" in blocks["old"]
    assert "and press Delete; confirm with your 2FA" in blocks["old"]
    # the person follows the steps: whitelists grid's key, deletes the retired one
    sandbox.admin("keys/victim-bot", {"ip_whitelist": ["127.0.0.1"]})
    sandbox.admin("keys/victim-rsa/delete")
    _keyguard(sandbox, tmp_path, "victim-bot", "verify", "--label", "grid")
    _keyguard(sandbox, tmp_path, "victim-rsa", "verify", "--label", "old")
    after = _check_blocks(_keyguard(sandbox, tmp_path, None, "keys", "check").stdout)
    assert "no IP whitelist" not in after["grid"] and "days old" in after["grid"]  # still past rotation
    assert after["old"].strip().endswith("as its profile says")


def test_guided_rotation(sandbox, tmp_path):
    import threading

    env = isolated_env(tmp_path, KEYGUARD_BINANCE_URL=sandbox.base_url)
    old, new = sandbox.credentials["victim-bot"], sandbox.credentials["victim-ed25519"]
    run = lambda *args, stdin=None, extra=None: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "keyguard", *args],
        env={**env, **(extra or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    run("vault", "add", "grid", stdin=f"{old['api_key']}\n{old['secret']}\n")
    run(
        "keys",
        "add",
        "--label",
        "grid",
        "--tool",
        "grid-bot",
        "--profile",
        "spot-trading",
        "--ips",
        "127.0.0.1",
        extra={"BINANCE_API_KEY": old["api_key"], "BINANCE_API_SECRET": old["secret"]},
    )
    pasted = f"{new['api_key']}\n{new['private_key_pem']}\n"
    refused = run("rotate", "grid", "--wait-dead", "5", stdin=pasted)  # it can trade futures: beyond the profile
    assert refused.returncode == 2 and "enableFutures" in refused.stdout
    sandbox.admin("keys/victim-ed25519", {"permissions": ["spot"], "ip_whitelist": ["127.0.0.1"]})
    threading.Timer(2, lambda: sandbox.admin("keys/victim-bot/delete")).start()
    done = run("rotate", "grid", "--wait-dead", "30", stdin=pasted)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Self-generated" in done.stdout and "127.0.0.1" in done.stdout and "rotation of grid complete" in done.stdout
    listing = run("vault", "list").stdout
    assert "grid.old" not in listing and "ed25519" in listing
    assert Inventory(tmp_path / "inventory.sqlite").get("grid").key_type == "ed25519"
    for text in (done.stdout, done.stderr, listing):
        assert old["secret"] not in text and new["private_key_pem"][40:80] not in text
