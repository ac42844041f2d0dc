"""`keyguard run`: start a tool with its key in the environment (never in argv), forward signals, return its
exit code."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Sequence

from keyguard.exchange.credentials import Credential

ENV_STYLES = {
    "binance": ("BINANCE_API_KEY", "BINANCE_API_SECRET"),
    "freqtrade": ("FREQTRADE__EXCHANGE__KEY", "FREQTRADE__EXCHANGE__SECRET"),
    "ccxt": ("BINANCE_APIKEY", "BINANCE_SECRET"),
}
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)


def env_names(style: str) -> tuple[str, str]:
    """A named style, or `KEY_VAR,SECRET_VAR` for a tool with its own names."""
    if style in ENV_STYLES:
        return ENV_STYLES[style]
    names = [n.strip() for n in style.split(",")]
    if len(names) != 2 or not all(n.replace("_", "").isalnum() for n in names):
        raise ValueError(f"env style {style!r}: use one of {', '.join(ENV_STYLES)} or KEY_VAR,SECRET_VAR")
    return names[0], names[1]


def run_with_key(credential: Credential, command: Sequence[str], style: str = "binance") -> int:
    key_name, secret_name = env_names(style)
    env = {**os.environ, key_name: credential.api_key, secret_name: credential.secret}
    child = subprocess.Popen(list(command), env=env)
    previous = {sig: signal.signal(sig, lambda number, _frame: child.send_signal(number)) for sig in FORWARDED}
    try:
        return child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
