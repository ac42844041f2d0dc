"""keyguard migrate: plaintext pairs go into the vault and no secret stays in the migrated files."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import git, isolated_env, make_canaries
from keyguard.vault.store import FileBackend


def _keyguard(env, cwd, *args) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keyguard", *args],
        env={**env, "COLUMNS": "200"},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_migrate_dry_run_then_apply(tmp_path, canaries, monkeypatch):
    monkeypatch.setenv("KEYGUARD_VAULT_PASSPHRASE", "pass")
    env = isolated_env(tmp_path)
    bot = tmp_path / "grid"
    bot.mkdir()
    git("init", "-q", cwd=bot)
    other = make_canaries(71)
    (bot / ".env").write_text(
        f"# keys\nBINANCE_API_KEY={canaries.key}\nBINANCE_API_SECRET={canaries.secret}\nDEBUG=1\n"
    )
    config = {"max_open_trades": 3, "exchange": {"name": "binance", "key": other.key, "secret": other.secret}}
    (bot / "config.json").write_text(json.dumps(config, indent=4))
    (bot / ".gitignore").write_text(".env\n")
    before = {p.name: p.read_text() for p in bot.iterdir() if p.is_file()}
    dry = _keyguard(env, tmp_path, "migrate", "grid")
    assert dry.returncode == 0 and "dry run" in dry.stdout and "grid-1" in dry.stdout
    assert {p.name: p.read_text() for p in bot.iterdir() if p.is_file()} == before
    done = _keyguard(env, tmp_path, "migrate", "grid", "--apply")
    assert done.returncode == 0, done.stderr
    assert "keyguard run --key grid-" in done.stdout and "--env-style freqtrade" in done.stdout
    assert "config.json is not git-ignored" in done.stdout and ".env is not git-ignored" not in done.stdout
    assert (bot / ".env").read_text() == "# keys\nDEBUG=1\n"
    migrated = json.loads((bot / "config.json").read_text())
    assert migrated["exchange"] == {"name": "binance", "key": "", "secret": ""}
    assert migrated["max_open_trades"] == 3
    for path in tmp_path.rglob("*"):  # no plaintext copy anywhere, the vault file is encrypted
        if path.is_file() and ".git" not in path.parts:
            text = path.read_text(errors="replace")
            for secret in (canaries.secret, other.secret, canaries.key, other.key):
                assert secret not in text, path
    entries = FileBackend(tmp_path / "vault.enc").load()
    assert sorted((e.api_key, e.secret) for e in entries.values()) == sorted(
        [(canaries.key, canaries.secret), (other.key, other.secret)]
    )
    for text in (dry.stdout, done.stdout, done.stderr):
        assert canaries.secret not in text and other.secret not in text
    assert _keyguard(env, tmp_path, "scan", "grid", "--no-history").returncode == 0  # nothing left to find
