"""What several commands share: the one-line failure, reading a key pair safely."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.markup import escape

from keyguard.exchange.credentials import ask_valid, check_api_key, check_hmac_secret, check_private_key_pem


def fail(message: str) -> typer.Exit:
    """One red line on stderr; the caller raises the returned Exit (code 2)."""
    Console(stderr=True).print(f"[red]keyguard: {escape(message)}[/red]")
    return typer.Exit(2)


def read_pair() -> tuple[str, str]:
    """Key and secret from a prompt without echo (asked again when malformed), or from two lines (a PEM: the
    rest) on stdin; both checked to be what Binance issues (CredentialError says why not, never the value)."""
    if sys.stdin.isatty():
        return ask_valid("API key (hidden): ", check_api_key), ask_valid("Secret (hidden): ", check_hmac_secret)
    lines = sys.stdin.read().splitlines()
    if len(lines) < 2:
        raise ValueError("give the API key on the first line of stdin and the secret (or PEM) after it")
    secret = "\n".join(lines[1:]).strip()
    if "PRIVATE KEY" in secret:
        return check_api_key(lines[0]), check_private_key_pem(secret, "stdin")
    return check_api_key(lines[0]), check_hmac_secret(secret)
