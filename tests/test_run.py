"""`keyguard run`: the child gets the key and nothing of keyguard's own; its output can be masked."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import time

import pytest

from conftest import decode, isolated_env, run_keyguard
from keyguard.model import redact as masked

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def vault(tmp_path, monkeypatch, canaries):
    """A vault holding `bot` (key and HMAC secret) and `ed` (key and Ed25519 private key)."""
    env = isolated_env(tmp_path, KEYGUARD_VAULT_PASSPHRASE=PASSPHRASE, KEYGUARD_AUDIT_API_SECRET=canaries.hex64)
    for name in set(os.environ) - set(env):
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for label, secret in (("bot", canaries.secret), ("ed", canaries.ed25519_pem)):
        added = run_keyguard("vault", "add", label, cwd=tmp_path, stdin=f"{canaries.key}\n{secret}\n".encode())
        assert added.returncode == 0, added.stderr
    return tmp_path


def label(value: str) -> str:
    return f"[REDACTED {masked(value.encode())}]"


def script(tmp_path, name: str, code: str) -> str:
    path = tmp_path / name
    path.write_text(code)
    return str(path)


def test_the_child_gets_the_key_and_nothing_of_keyguards_own(vault, canaries):
    probe = script(vault, "env.py", "import json, os, sys\njson.dump(dict(os.environ), open(sys.argv[1], 'w'))\n")
    done = run_keyguard("run", "--key", "bot", "--", sys.executable, probe, str(vault / "env.json"), cwd=vault)
    assert done.returncode == 0, done.stderr
    env = json.loads((vault / "env.json").read_text())
    assert env["BINANCE_API_KEY"] == canaries.key and env["BINANCE_API_SECRET"] == canaries.secret
    assert [name for name in env if name.startswith("KEYGUARD_")] == []
    assert PASSPHRASE not in env.values() and canaries.hex64 not in env.values()
    assert env["PATH"] == os.environ["PATH"]  # the rest of the environment is passed on


PRINTS = """import os, sys, time
key, secret = os.environ["BINANCE_API_KEY"], os.environ["BINANCE_API_SECRET"]
print("key=" + key, flush=True)
print("secret=" + secret, file=sys.stderr, flush=True)
for part in (secret[:20], secret[20:50], secret[50:] + " end"):  # one value over three reads
    sys.stdout.write(part)
    sys.stdout.flush()
    time.sleep(0.2)
print(flush=True)
sys.exit(7)
"""


def test_mask_output_hides_the_key_and_secret_even_split_across_reads(vault, canaries):
    child = script(vault, "prints.py", PRINTS)
    done = run_keyguard("run", "--key", "bot", "--mask-output", "--", sys.executable, child, cwd=vault)
    out, err = decode(done)
    assert done.returncode == 7  # the child's exit code
    assert out == f"key={label(canaries.key)}\n{label(canaries.secret)} end\n", err
    assert err == f"secret={label(canaries.secret)}\n"
    assert canaries.secret[:20] not in out + err


def test_mask_output_hides_a_private_key_printed_whole_or_line_by_line(vault, canaries):
    child = script(
        vault,
        "pem.py",
        "import os\npem = os.environ['BINANCE_API_SECRET']\nprint(pem)\nprint(pem.replace('\\n', '\\r\\n'))\n",
    )
    done = run_keyguard("run", "--key", "ed", "--mask-output", "--", sys.executable, child, cwd=vault)
    out, err = decode(done)
    body = canaries.ed25519_pem.splitlines()[1]
    assert done.returncode == 0 and body not in out, err
    assert out.startswith(f"{label(canaries.ed25519_pem)}\n-----BEGIN PRIVATE KEY-----\r\n")


def test_output_is_masked_by_default_at_a_terminal_only(vault, canaries):
    child = script(vault, "key.py", "import os\nprint('key=' + os.environ['BINANCE_API_KEY'])\n")
    command = [sys.executable, "-m", "keyguard", "run", "--key", "bot", "--", sys.executable, child]
    primary, terminal = pty.openpty()
    started = subprocess.Popen(command, stdout=terminal, stderr=subprocess.PIPE, cwd=vault)
    os.close(terminal)
    shown = b""
    while True:
        try:
            data = os.read(primary, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not data:
            break
        shown += data
    os.close(primary)
    assert started.wait(timeout=30) == 0, started.stderr.read() if started.stderr else ""
    assert shown.decode() == f"key={label(canaries.key)}\r\n"
    piped = run_keyguard("run", "--key", "bot", "--", sys.executable, child, cwd=vault)
    assert decode(piped)[0] == f"key={canaries.key}\n"  # a pipe gets the bytes as they are, unless asked
    unmasked = run_keyguard("run", "--key", "bot", "--no-mask-output", "--", sys.executable, child, cwd=vault)
    assert decode(unmasked)[0] == f"key={canaries.key}\n"


def test_signals_pass_through_while_output_is_masked(vault):
    child = script(
        vault,
        "wait.py",
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(42))\n"
        "print('ready', flush=True)\n"
        "time.sleep(30)\n",
    )
    started = subprocess.Popen(
        [sys.executable, "-m", "keyguard", "run", "--key", "bot", "--mask-output", "--", sys.executable, child],
        stdout=subprocess.PIPE,
        cwd=vault,
    )
    assert started.stdout is not None
    assert started.stdout.readline() == b"ready\n"  # passed on as it comes, not when the child ends
    time.sleep(0.2)
    started.send_signal(signal.SIGTERM)
    assert started.wait(timeout=10) == 42
