"""`keyguard run`: start a tool with its key in the environment (never in argv), forward signals, return its
exit code. The tool gets none of keyguard's own variables (the vault passphrase above all); with
`mask_output` its stdout and stderr pass through a mask that hides the key and secret, as `op run` does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import BinaryIO

from keyguard.exchange.credentials import Credential
from keyguard.vault.redact import Masker, StreamMasker

ENV_STYLES = {
    "binance": ("BINANCE_API_KEY", "BINANCE_API_SECRET"),
    "freqtrade": ("FREQTRADE__EXCHANGE__KEY", "FREQTRADE__EXCHANGE__SECRET"),
    "ccxt": ("BINANCE_APIKEY", "BINANCE_SECRET"),
}
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)
OWN_PREFIX = "KEYGUARD_"  # the vault passphrase, audit and master keys, keyguard's settings
READ_BYTES = 65536


def env_names(style: str) -> tuple[str, str]:
    """A named style, or `KEY_VAR,SECRET_VAR` for a tool with its own names."""
    if style in ENV_STYLES:
        return ENV_STYLES[style]
    names = [n.strip() for n in style.split(",")]
    if len(names) != 2 or not all(n.replace("_", "").isalnum() for n in names):
        raise ValueError(f"env style {style!r}: use one of {', '.join(ENV_STYLES)} or KEY_VAR,SECRET_VAR")
    return names[0], names[1]


def child_env(credential: Credential, style: str, parent: Mapping[str, str]) -> dict[str, str]:
    """The parent's environment without keyguard's own variables, with the key and secret added."""
    key_name, secret_name = env_names(style)
    env = {name: value for name, value in parent.items() if not name.upper().startswith(OWN_PREFIX)}
    return {**env, key_name: credential.api_key, secret_name: credential.secret}


def _pump(source: BinaryIO, target: BinaryIO, masker: Masker) -> None:
    """Copies the child's output as it comes, masked; stops reading when the reader has gone (`| head`), so
    the child meets a closed pipe as it would without keyguard."""
    stream = StreamMasker(masker)
    try:
        while data := os.read(source.fileno(), READ_BYTES):
            target.write(stream.feed(data))
            target.flush()
        target.write(stream.finish())
        target.flush()
    except OSError:
        pass
    finally:
        source.close()


def _masked_threads(child: subprocess.Popen[bytes], credential: Credential) -> list[threading.Thread]:
    masker = Masker([credential.api_key.encode(), credential.secret.encode()])
    pairs = ((child.stdout, sys.stdout.buffer), (child.stderr, sys.stderr.buffer))
    threads = [threading.Thread(target=_pump, args=(source, target, masker), daemon=True) for source, target in pairs]
    for thread in threads:
        thread.start()
    return threads


def run_with_key(
    credential: Credential, command: Sequence[str], style: str = "binance", mask_output: bool = False
) -> int:
    env = child_env(credential, style, os.environ)
    pipe = subprocess.PIPE if mask_output else None
    child = subprocess.Popen(list(command), env=env, stdout=pipe, stderr=pipe)
    threads = _masked_threads(child, credential) if mask_output else []
    previous = {sig: signal.signal(sig, lambda number, _frame: child.send_signal(number)) for sig in FORWARDED}
    try:
        code = child.wait()
        for thread in threads:
            thread.join()
        return code
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
