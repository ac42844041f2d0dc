"""`keyguard rotate` against the sandbox: the new key's IP whitelist against the profile's IPs, progress
while the old key is awaited (a live line at a terminal, a plain line every 30 s otherwise), and the
reminder to restart the tools that use the key."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import threading
from pathlib import Path

from conftest import isolated_env
from keyguard.exchange.credentials import Credential

EXPECTED_IP = "203.0.113.7"  # documentation range: never this machine


def _rotation(sandbox, tmp_path: Path, ips: str, old_label: str = "victim-bot", profile: str = "spot-trading"):
    """A vault entry and an inventory record `grid` (tool grid-bot, `profile`, `ips`) holding `old_label`'s
    key; returns a function running the real CLI in that environment."""
    env = isolated_env(tmp_path, KEYGUARD_BINANCE_URL=sandbox.base_url)

    def run(*args: str, stdin: str | None = None, extra: dict | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "keyguard", *args],
            env={**env, **(extra or {})},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )

    old = sandbox.credentials[old_label]
    assert run("vault", "add", "grid", stdin=f"{old['api_key']}\n{old['secret']}\n").returncode == 0
    added = run(
        "keys",
        "add",
        "--label",
        "grid",
        "--tool",
        "grid-bot",
        "--profile",
        profile,
        "--ips",
        ips,
        extra={"BINANCE_API_KEY": old["api_key"], "BINANCE_API_SECRET": old["secret"]},
    )
    assert added.returncode == 0, added.stdout + added.stderr
    return run


def _pasted(entry: dict) -> str:
    return f"{entry['api_key']}\n{entry.get('secret') or entry['private_key_pem']}\n"


def _vault_keys(run) -> dict[str, str]:
    """Label -> redacted key, as `keyguard vault list` shows them."""
    rows = [line.split("│")[1:3] for line in run("vault", "list").stdout.splitlines() if line.count("│") > 2]
    return {label.strip(): key.strip() for label, key in rows if label.strip() != "Label"}


def _redacted(entry: dict) -> str:
    return Credential(entry["api_key"], entry.get("secret") or entry["private_key_pem"]).redacted_key


def _no_secret_in(text: str, *entries: dict) -> None:
    for entry in entries:
        assert (entry.get("secret") or entry["private_key_pem"][40:80]) not in text


def test_rotate_refuses_a_key_whitelisted_to_another_address(sandbox, tmp_path):
    old, new = sandbox.credentials["victim-bot"], sandbox.credentials["victim-ed25519"]
    run = _rotation(sandbox, tmp_path, EXPECTED_IP)
    sandbox.admin("keys/victim-ed25519", {"permissions": ["spot"], "ip_whitelist": ["127.0.0.1"]})
    refused = run("rotate", "grid", "--wait-dead", "3", stdin=_pasted(new))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f"whitelisted to 127.0.0.1 (it answers this machine, which calls from there), not only to {EXPECTED_IP}" in (
        refused.stdout
    )
    assert "does not match its profile" in refused.stderr
    assert _vault_keys(run) == {"grid": _redacted(old)}  # nothing switched
    _no_secret_in(refused.stdout + refused.stderr, old, new)


def test_rotate_refuses_a_key_with_no_whitelist_when_ips_are_expected(sandbox, tmp_path):
    """A profile that does not demand a whitelist, but the key was registered with its IPs: they count."""
    new = sandbox.credentials["victim-ed25519"]
    (tmp_path / ".keyguard.toml").write_text('[profiles.relaxed]\nallow = ["reading", "spot"]\nip_whitelist = false\n')
    run = _rotation(sandbox, tmp_path, "127.0.0.1", profile="relaxed")
    sandbox.admin("keys/victim-ed25519", {"permissions": ["spot"], "ip_whitelist": []})
    refused = run("rotate", "grid", "--wait-dead", "3", stdin=_pasted(new))
    assert refused.returncode == 2
    assert "no IP whitelist: Binance accepts the key from any address, not only 127.0.0.1" in refused.stdout


def test_rotate_reads_a_sub_account_keys_ip_list_through_the_master_key(sandbox, tmp_path):
    master, new = sandbox.credentials["victim-bot"], sandbox.credentials["victim-sub-key"]
    run = _rotation(sandbox, tmp_path, "127.0.0.1", old_label="attacker")
    assert run("vault", "add", "master", stdin=_pasted(master)).returncode == 0
    sandbox.admin("keys/victim-sub-key", {"permissions": ["spot"], "ip_whitelist": ["127.0.0.1", "198.51.100.4"]})
    sub = ("--master", "master", "--sub-account", "victim-sub@sandbox.invalid")
    refused = run("rotate", "grid", *sub, "--wait-dead", "3", stdin=_pasted(new))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "also holds 198.51.100.4, which the profile does not list" in refused.stdout
    sandbox.admin("keys/victim-sub-key", {"ip_whitelist": ["127.0.0.1"]})
    threading.Timer(2, lambda: sandbox.admin("keys/attacker/delete")).start()
    done = run("rotate", "grid", *sub, "--wait-dead", "30", stdin=_pasted(new))
    assert done.returncode == 0, done.stdout + done.stderr
    assert _vault_keys(run) == {"grid": _redacted(new), "master": _redacted(master)}
    _no_secret_in(done.stdout + done.stderr + refused.stdout, master, new)


def test_rotate_says_how_long_it_has_waited_and_to_restart_the_tools(sandbox, tmp_path):
    old, new = sandbox.credentials["victim-bot"], sandbox.credentials["victim-ed25519"]
    run = _rotation(sandbox, tmp_path, "127.0.0.1")
    sandbox.admin("keys/victim-ed25519", {"permissions": ["spot"]})
    waited = run("rotate", "grid", "--wait-dead", "32", stdin=_pasted(new))  # the old key is never deleted
    assert waited.returncode == 1, waited.stdout + waited.stderr
    out = waited.stdout
    assert "Restart grid-bot and every other tool that uses grid now" in out
    assert "keyguard run --key grid -- <the tool's command>" in out
    assert out.index("Restart grid-bot") < out.index("waiting up to 32 s")
    [progress] = [line for line in out.splitlines() if "s elapsed" in line]  # one plain line: at 30 s
    assert progress.startswith("waiting for Binance to reject the old key")
    elapsed, left = (int(n) for n in re.search(r"(\d+) s elapsed, (\d+) s left", progress).groups())
    assert 30 <= elapsed <= 31 and 31 <= elapsed + left <= 33
    assert "still answers after 32 s" in out
    assert _vault_keys(run) == {"grid": _redacted(new), "grid.old": _redacted(old)}
    _no_secret_in(out + waited.stderr, old, new)


def test_rotate_at_a_terminal_shows_a_live_waiting_line(sandbox, tmp_path):
    new = sandbox.credentials["victim-ed25519"]
    _rotation(sandbox, tmp_path, "127.0.0.1")
    sandbox.admin("keys/victim-ed25519", {"permissions": ["spot"]})
    threading.Timer(4, lambda: sandbox.admin("keys/victim-bot/delete")).start()
    env = isolated_env(tmp_path, KEYGUARD_BINANCE_URL=sandbox.base_url, TERM="xterm", COLUMNS="200")
    controller, terminal = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "keyguard", "rotate", "grid", "--wait-dead", "30"],
        stdin=subprocess.PIPE,
        stdout=terminal,
        stderr=terminal,
        env=env,
        cwd=tmp_path,
    )
    os.close(terminal)
    child.stdin.write(_pasted(new).encode())
    child.stdin.close()
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    assert child.wait(timeout=60) == 0, shown.decode(errors="replace")
    text = shown.decode(errors="replace")
    assert "waiting for Binance to reject the old key" in text and "s left" in text and "polls" in text
    assert "3 s elapsed" in text  # updated while waiting, not only at the start
    assert "rotation of grid complete" in text
