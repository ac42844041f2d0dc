"""The vault, `keyguard run` and redaction: secrets only in the vault, never in argv, output or logs."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import make_canaries
from keyguard.vault.redact import install, redact_text
from keyguard.vault.store import FileBackend, VaultError, new_entry


@pytest.fixture
def vault_env(tmp_path, monkeypatch):
    env = {
        "KEYGUARD_VAULT_BACKEND": "file",
        "KEYGUARD_VAULT_FILE": str(tmp_path / "vault.enc"),
        "KEYGUARD_VAULT_PASSPHRASE": "correct horse battery staple",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return {**os.environ, **env}


def _keyguard(env, *args, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keyguard", *args],
        env={**env, "COLUMNS": "200"},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_vault_add_list_and_file_format(vault_env, tmp_path, canaries):
    done = _keyguard(vault_env, "vault", "add", "quant", stdin=f"{canaries.key}\n{canaries.secret}\n")
    assert done.returncode == 0, done.stderr
    pem = _keyguard(vault_env, "vault", "add", "ed", stdin=f"{canaries.key[::-1]}\n{canaries.ed25519_pem}\n")
    assert pem.returncode == 0
    listing = _keyguard(vault_env, "vault", "list")
    assert "quant" in listing.stdout and "ed25519" in listing.stdout
    raw = (tmp_path / "vault.enc").read_text()
    for text in (raw, done.stdout, listing.stdout):
        assert canaries.secret not in text and canaries.key not in text
    assert oct(os.stat(tmp_path / "vault.enc").st_mode & 0o777) == "0o600"
    assert json.loads(raw)["cipher"] == "AES-256-GCM"
    entries = FileBackend(tmp_path / "vault.enc").load()
    assert entries["ed"].secret.startswith("-----BEGIN PRIVATE KEY-----")


def test_vault_add_refuses_what_is_not_a_binance_key(vault_env, tmp_path, canaries):
    for pair in ("abc\ndef\n", f"{canaries.key}\nshort\n", f"{canaries.key[:63]}\n{canaries.secret}\n"):
        done = _keyguard(vault_env, "vault", "add", "bad", stdin=pair)
        assert done.returncode == 2 and "64" in done.stderr, done.stderr
        assert "abc" not in done.stderr and "short" not in done.stderr  # the value is never repeated
    assert not (tmp_path / "vault.enc").exists()


def test_wrong_passphrase_and_damaged_file_lose_nothing(vault_env, tmp_path, canaries, monkeypatch):
    backend = FileBackend(tmp_path / "vault.enc")
    backend.save({"a": new_entry("a", canaries.key, canaries.secret)})
    before = (tmp_path / "vault.enc").read_bytes()
    monkeypatch.setenv("KEYGUARD_VAULT_PASSPHRASE", "wrong")
    with pytest.raises(VaultError, match="wrong passphrase"):
        backend.load()
    pair = f"{canaries.key[::-1]}\n{canaries.secret[::-1]}\n"
    wrong = _keyguard({**vault_env, "KEYGUARD_VAULT_PASSPHRASE": "wrong"}, "vault", "add", "b", stdin=pair)
    assert wrong.returncode == 2 and "wrong passphrase" in wrong.stderr
    assert (tmp_path / "vault.enc").read_bytes() == before
    (tmp_path / "vault.enc").write_text("{not json")
    with pytest.raises(VaultError, match="damaged"):
        FileBackend(tmp_path / "vault.enc").load()


def test_a_crash_in_the_middle_of_a_write_leaves_the_old_vault(vault_env, tmp_path, canaries, monkeypatch):
    backend = FileBackend(tmp_path / "vault.enc")
    backend.save({"a": new_entry("a", canaries.key, canaries.secret)})
    before = (tmp_path / "vault.enc").read_bytes()
    import keyguard.vault.store as store

    def crash(*_args):
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(store.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        backend.save({"a": new_entry("a", "x" * 64, "y" * 64), "b": new_entry("b", "z" * 64, "w" * 64)})
    assert (tmp_path / "vault.enc").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["vault.enc"]  # no half-written leftovers


def test_run_passes_the_key_in_the_environment_not_argv(vault_env, tmp_path, canaries):
    _keyguard(vault_env, "vault", "add", "bot", stdin=f"{canaries.key}\n{canaries.secret}\n")
    expected = hashlib.sha256(canaries.secret.encode()).hexdigest()
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import hashlib, os, sys\n"
        "secret = os.environ['FREQTRADE__EXCHANGE__SECRET']\n"
        "argv = open(f'/proc/{os.getppid()}/cmdline').read() + open(f'/proc/{os.getpid()}/cmdline').read()\n"
        f"print(hashlib.sha256(secret.encode()).hexdigest() == '{expected}', secret in argv)\n"
        "sys.exit(7)\n"
    )
    done = _keyguard(vault_env, "run", "--key", "bot", "--env-style", "freqtrade", "--", sys.executable, str(probe))
    assert done.returncode == 7  # the child's exit code
    assert done.stdout.strip() == "True False"  # the secret is in its environment, in no argv
    assert canaries.secret not in done.stdout + done.stderr


def test_run_forwards_signals(vault_env, tmp_path, canaries):
    _keyguard(vault_env, "vault", "add", "bot", stdin=f"{canaries.key}\n{canaries.secret}\n")
    script = tmp_path / "wait.py"
    script.write_text(
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(42))\n"
        "print('ready', flush=True)\n"
        "time.sleep(30)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "keyguard", "run", "--key", "bot", "--", sys.executable, str(script)],
        env=vault_env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 42


def test_redact_masks_keys_secrets_pems_and_signatures(tmp_path, canaries):
    log = (
        f"GET /api/v3/account?timestamp=1&signature={'ab12' * 16} headers {{'X-MBX-APIKEY': '{canaries.key}'}}\n"
        f"BINANCE_API_SECRET={canaries.secret}\n# binance\n{canaries.ed25519_pem}\n"
    )
    (tmp_path / "bot.log").write_text(log)
    done = subprocess.run(
        [sys.executable, "-m", "keyguard", "redact", str(tmp_path / "bot.log")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    for secret in canaries.secrets()[:3]:
        assert secret not in done.stdout
    assert "ab12ab12ab12" not in done.stdout and "[REDACTED" in done.stdout
    assert done.stdout.count("\n") == log.count("\n") - canaries.ed25519_pem.count("\n")


def test_logging_filter_redacts_a_bots_own_logs(canaries):
    other = make_canaries(61)
    stream = __import__("io").StringIO()
    logger = logging.getLogger("test.bot")
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    install(logger)
    logger.debug("request headers %s", {"X-MBX-APIKEY": canaries.key})
    logger.info("secret=%s", other.secret)
    assert canaries.key not in stream.getvalue() and other.secret not in stream.getvalue()
    assert redact_text("nothing secret here") == "nothing secret here"


def test_keyring_backend_with_a_keychain(canaries, monkeypatch):
    """The OS-keychain backend against a real `keyring` backend class (in memory, as a keychain would be)."""
    import keyring
    from keyring.backend import KeyringBackend as Base

    class MemoryKeychain(Base):
        priority = 10

        def __init__(self) -> None:
            super().__init__()
            self.items: dict[tuple[str, str], str] = {}

        def get_password(self, service, username):
            return self.items.get((service, username))

        def set_password(self, service, username, password):
            self.items[(service, username)] = password

        def delete_password(self, service, username):
            self.items.pop((service, username))

    keychain = MemoryKeychain()
    previous = keyring.get_keyring()
    keyring.set_keyring(keychain)
    try:
        monkeypatch.setenv("KEYGUARD_VAULT_BACKEND", "auto")
        from keyguard.vault.store import KeyringBackend, open_backend

        backend = open_backend()
        assert isinstance(backend, KeyringBackend)
        backend.save({"a": new_entry("a", canaries.key, canaries.secret), "b": new_entry("b", "k" * 64, "s" * 64)})
        backend.save({"a": backend.load()["a"]})
        assert list(backend.load()) == ["a"] and backend.load()["a"].secret == canaries.secret
        assert ("keyguard", "b") not in keychain.items
    finally:
        keyring.set_keyring(previous)
