"""The vault, `keyguard run` and redaction: secrets only in the vault, never in argv, output or logs."""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import logging
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from conftest import make_canaries
from keyguard.vault.redact import install, redact_text
from keyguard.vault.store import Entry, EntryRefused, FileBackend, VaultError, new_entry


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
        FileBackend(tmp_path / "vault.enc").load()
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
    assert _leftovers(tmp_path) == []  # no half-written leftovers


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


def test_keyring_backend_with_a_keychain(canaries, monkeypatch, tmp_path):
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
        monkeypatch.setenv("KEYGUARD_VAULT_FILE", str(tmp_path / "vault.enc"))  # its lock file goes beside it
        from keyguard.vault.store import KeyringBackend, open_backend

        backend = open_backend()
        assert isinstance(backend, KeyringBackend)
        backend.save({"a": new_entry("a", canaries.key, canaries.secret), "b": new_entry("b", "k" * 64, "s" * 64)})
        backend.save({"a": backend.load()["a"]})
        assert list(backend.load()) == ["a"] and backend.load()["a"].secret == canaries.secret
        assert ("keyguard", "b") not in keychain.items
        other = open_backend()
        other.load()
        backend.save({**backend.load(), "c": new_entry("c", "c" * 64, "d" * 64)})
        with pytest.raises(VaultError, match="changed by another keyguard"):
            other.save({})  # would have deleted a and c
        assert sorted(open_backend().load()) == ["a", "c"]
    finally:
        keyring.set_keyring(previous)


# --- issue 14: the vault under concurrent writers, at a terminal, damaged, and given what is not a key ---

PASSPHRASE = "correct horse battery staple"
PROMPTS = ("New vault passphrase:", "Vault passphrase:", "Again:", "API key (hidden):", "Secret (hidden):")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _envelope(plain: bytes, passphrase: str = PASSPHRASE, nonce: bytes | None = None) -> bytes:
    """A vault file written by hand, as the documented format (and keyguard 0.1.0) writes it."""
    salt, real_nonce = os.urandom(16), os.urandom(12)
    key = Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase.encode())
    ciphertext = AESGCM(key).encrypt(real_nonce, plain, b"keyguard-vault")
    fields = {"salt": salt, "nonce": nonce or real_nonce, "ciphertext": ciphertext}
    envelope = {"version": 1, "kdf": {"name": "scrypt", "n": 2**15, "r": 8, "p": 1}, "cipher": "AES-256-GCM"}
    return json.dumps(envelope | {k: base64.b64encode(v).decode() for k, v in fields.items()}).encode()


def _raw_entries(**entries: tuple[str, str]) -> bytes:
    stored = {
        label: {"label": label, "api_key": key, "secret": secret, "created": "2026-01-02T03:04:05+00:00"}
        for label, (key, secret) in entries.items()
    }
    return json.dumps({"entries": stored}).encode()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in ("vault.enc", "vault.enc.lock"))


def _next_prompt(shown: bytes, start: int) -> tuple[int, str] | None:
    """The first prompt shown at or after `start`: where it ends, and which it is."""
    found = [(shown.find(p.encode(), start), p) for p in PROMPTS if p.encode() in shown[start:]]
    if not found:
        return None
    at, prompt = min(found)
    return at + len(prompt), prompt


def _at_terminal(env: dict[str, str], *args: str, answers: dict[str, list[str]]) -> tuple[int, list[str], str]:
    """Runs keyguard on a real pseudo-terminal and types the answer to each prompt as it appears; returns the
    exit code, the prompts in the order asked, and everything shown on the terminal."""
    pid, terminal = pty.fork()
    if pid == 0:
        try:
            os.execve(sys.executable, [sys.executable, "-m", "keyguard", *args], env)
        finally:
            os._exit(127)
    queues = {prompt: list(replies) for prompt, replies in answers.items()}
    asked: list[str] = []
    shown, answered_up_to = b"", 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not select.select([terminal], [], [], 0.5)[0]:
            continue
        try:
            chunk = os.read(terminal, 4096)
        except OSError:  # EIO: the child has exited and closed the terminal
            break
        if not chunk:
            break
        shown += chunk
        while prompt := _next_prompt(shown, answered_up_to):
            answered_up_to, asked_now = prompt
            asked.append(asked_now)
            reply = queues[asked_now].pop(0) if queues.get(asked_now) else ""
            os.write(terminal, reply.encode() + b"\n")
    else:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(terminal)
    return os.waitstatus_to_exitcode(status), asked, ANSI.sub("", shown.decode("utf-8", "replace"))


def _terminal_env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "KEYGUARD_VAULT_BACKEND": "file", "KEYGUARD_VAULT_FILE": str(tmp_path / "vault.enc")}
    env.pop("KEYGUARD_VAULT_PASSPHRASE", None)
    return env | {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}


def test_at_a_terminal_the_passphrase_is_asked_once_and_is_the_one_written_with(tmp_path, canaries, monkeypatch):
    """Issue 14: `vault add` asked twice and re-encrypted the vault with whatever was typed second."""
    env = _terminal_env(tmp_path)
    other = make_canaries(14)
    created = _at_terminal(
        env,
        *("vault", "add", "first"),
        answers={
            "New vault passphrase:": [PASSPHRASE],
            "Vault passphrase:": [PASSPHRASE],
            "Again:": [PASSPHRASE],
            "API key (hidden):": [canaries.key],
            "Secret (hidden):": [canaries.secret],
        },
    )
    assert created[0] == 0 and "stored first" in created[2], created
    code, asked, shown = _at_terminal(
        env,
        *("vault", "add", "second"),
        answers={
            "Vault passphrase:": [PASSPHRASE, "typed differently the second time"],
            "API key (hidden):": [other.key],
            "Secret (hidden):": [other.secret],
        },
    )
    assert code == 0 and "stored second" in shown, shown
    assert asked.count("Vault passphrase:") == 1
    assert asked == ["Vault passphrase:", "API key (hidden):", "Secret (hidden):"]  # before the key
    monkeypatch.setenv("KEYGUARD_VAULT_PASSPHRASE", PASSPHRASE)
    entries = FileBackend(tmp_path / "vault.enc").load()  # still opens with the passphrase that opened it
    assert sorted(entries) == ["first", "second"] and entries["second"].secret == other.secret
    assert created[1] == ["New vault passphrase:", "Again:", "API key (hidden):", "Secret (hidden):"]
    for secret in (canaries.key, canaries.secret, other.key, other.secret, PASSPHRASE):
        assert secret not in created[2] + shown  # nothing typed is echoed


def test_at_a_terminal_a_wrong_passphrase_fails_before_the_key_is_asked(tmp_path, canaries):
    (tmp_path / "vault.enc").write_bytes(_envelope(_raw_entries(a=(canaries.key, canaries.secret))))
    before = (tmp_path / "vault.enc").read_bytes()
    code, asked, shown = _at_terminal(
        _terminal_env(tmp_path),
        *("vault", "add", "b"),
        answers={"Vault passphrase:": ["not it"], "API key (hidden):": ["x" * 64], "Secret (hidden):": ["y" * 64]},
    )
    assert code == 2 and "wrong passphrase" in shown and "Traceback" not in shown, shown
    assert asked == ["Vault passphrase:"]
    assert (tmp_path / "vault.enc").read_bytes() == before


def _damaged(good: bytes) -> dict[str, bytes]:
    envelope = json.loads(good)
    flipped = bytearray(base64.b64decode(envelope["ciphertext"]))
    flipped[0] ^= 1
    return {
        "a JSON list": b'[{"version": 1, "salt": "AAAA"}]',
        "truncated": good[: len(good) // 2],
        "a short nonce": _envelope(_raw_entries(), nonce=b"\0\0\0\0"),
        "garbage": bytes(range(256)) * 3,
        "empty": b"",
        "entries that are not a mapping": _envelope(b'{"entries": [1, 2]}'),
        "altered ciphertext": json.dumps(envelope | {"ciphertext": base64.b64encode(flipped).decode()}).encode(),
        "a wrong passphrase": good,
    }


@pytest.mark.parametrize(
    "case",
    [
        "a JSON list",
        "truncated",
        "a short nonce",
        "garbage",
        "empty",
        "entries that are not a mapping",
        "altered ciphertext",
        "a wrong passphrase",
    ],
)
def test_a_damaged_vault_gets_one_line_exit_2_and_stays_byte_for_byte(vault_env, tmp_path, canaries, case):
    """Issue 14: a damaged vault file (a JSON list, a short nonce) gave a traceback."""
    good = _envelope(_raw_entries(a=(canaries.key, canaries.secret)))
    content = _damaged(good)[case]
    (tmp_path / "vault.enc").write_bytes(content)
    env = {**vault_env, "KEYGUARD_VAULT_PASSPHRASE": "not it"} if case == "a wrong passphrase" else vault_env
    pair = f"{canaries.key[::-1]}\n{canaries.secret[::-1]}\n"
    expected = "wrong passphrase" if case in ("altered ciphertext", "a wrong passphrase") else "damaged"
    for args, stdin in ((("vault", "add", "b"), pair), (("vault", "list"), None), (("vault", "remove", "a"), None)):
        done = _keyguard(env, *args, stdin=stdin)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert expected in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)
        assert done.stderr.startswith("keyguard: ") and canaries.secret not in done.stdout + done.stderr
        assert (tmp_path / "vault.enc").read_bytes() == content, args
    assert _leftovers(tmp_path) == []


def test_every_path_into_the_vault_checks_the_binance_shape(vault_env, tmp_path, canaries):
    """Issue 14: `vault add` accepted "abc"/"def"; migrate's and rotate's entries come through new_entry and
    save, which check them too."""
    public_pem = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    ec_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    refused = [
        ("abc", "def"),
        (canaries.key, "def"),
        ("abc", canaries.secret),
        (canaries.key, canaries.secret[:63] + "!"),
        (canaries.key, public_pem),
        (canaries.key, ec_pem),
        (canaries.key, canaries.encrypted_pem),
        (canaries.ed25519_pem, canaries.secret),
    ]
    for api_key, secret in refused:
        with pytest.raises(EntryRefused) as refusal:
            new_entry("bot", api_key, secret)
        assert isinstance(refusal.value, ValueError) and "nothing was stored" in str(refusal.value)
        assert api_key not in str(refusal.value) and secret not in str(refusal.value)
    for label in ("", "  ", "_index", "line\nbreak"):
        with pytest.raises(EntryRefused):
            new_entry(label, canaries.key, canaries.secret)
    backend = FileBackend(tmp_path / "vault.enc")
    backend.load()
    with pytest.raises(EntryRefused):  # an Entry made by hand does not get past save either
        backend.save({"bad": Entry("bad", "abc", "def", "2026-01-02T03:04:05+00:00")})
    assert not (tmp_path / "vault.enc").exists()
    stored = {
        "hmac": new_entry("hmac", f" {canaries.key}\n", f"{canaries.secret}\n"),
        "ed": new_entry("ed", canaries.key[::-1], canaries.ed25519_pem + "\n"),
        "rsa": new_entry("rsa", canaries.secret[::-1], canaries.rsa_pem),
    }
    backend.save(stored)
    entries = FileBackend(tmp_path / "vault.enc").load()
    assert entries["hmac"].api_key == canaries.key and entries["hmac"].secret == canaries.secret  # trimmed
    assert [entries[k].credential.key_type for k in ("hmac", "ed", "rsa")] == ["hmac", "ed25519", "rsa"]


def test_a_vault_from_before_the_checks_opens_and_its_bad_entry_can_be_removed(vault_env, tmp_path, canaries):
    (tmp_path / "vault.enc").write_bytes(
        _envelope(_raw_entries(good=(canaries.key, canaries.secret), bad=("abc", "def")))
    )
    listing = _keyguard(vault_env, "vault", "list")
    assert listing.returncode == 0 and "good" in listing.stdout and "bad" in listing.stdout
    removed = _keyguard(vault_env, "vault", "remove", "bad")
    assert removed.returncode == 0, removed.stderr
    assert sorted(FileBackend(tmp_path / "vault.enc").load()) == ["good"]


def test_a_save_after_another_process_wrote_is_refused_not_lost(vault_env, tmp_path, canaries):
    """load() then save() (as migrate and rotate do): a writer in between is never silently overwritten."""
    path = tmp_path / "vault.enc"
    first, second = FileBackend(path), FileBackend(path)
    assert first.load() == second.load() == {}
    first.save({"a": new_entry("a", canaries.key, canaries.secret)})
    with pytest.raises(VaultError, match="changed by another keyguard"):
        second.save({"b": new_entry("b", canaries.key[::-1], canaries.secret[::-1])})
    with pytest.raises(VaultError, match="changed by another keyguard"):
        FileBackend(path).save({})  # saving over a vault it never read
    assert sorted(FileBackend(path).load()) == ["a"]
    with FileBackend(path).edit() as entries:
        entries["b"] = new_entry("b", canaries.key[::-1], canaries.secret[::-1])
    assert sorted(FileBackend(path).load()) == ["a", "b"]
    assert oct(path.stat().st_mode & 0o777) == "0o600" and _leftovers(tmp_path) == []


def test_a_writer_waits_for_the_vault_lock(vault_env, tmp_path, canaries):
    lock = os.open(tmp_path / "vault.enc.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        writer = subprocess.Popen(
            [sys.executable, "-m", "keyguard", "vault", "add", "waits"],
            env={**vault_env, "COLUMNS": "200"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        writer.stdin.write(f"{canaries.key}\n{canaries.secret}\n")
        writer.stdin.close()
        time.sleep(3)
        assert writer.poll() is None and not (tmp_path / "vault.enc").exists()  # waiting, nothing written
    finally:
        os.close(lock)
    assert writer.wait(timeout=60) == 0, writer.stderr.read()
    assert "stored waits" in writer.stdout.read()
    assert list(FileBackend(tmp_path / "vault.enc").load()) == ["waits"]
