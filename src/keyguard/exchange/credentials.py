"""A Binance API credential, read from the environment, a private-key file or a prompt — never argv."""

from __future__ import annotations

import getpass
import hashlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from keyguard.detect.findings import redact


class CredentialError(ValueError):
    """No usable credential was given."""


@dataclass(frozen=True)
class Credential:
    api_key: str
    secret: str = field(repr=False)  # HMAC secret, or an Ed25519/RSA private key in PEM

    @property
    def key_type(self) -> str:
        if "PRIVATE KEY" not in self.secret:
            return "hmac"
        return "rsa" if len(self.secret) > 120 else "ed25519"  # ccxt's own rule, binance-api.md §4

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the API key: how keyguard names a key everywhere (never the secret)."""
        return hashlib.sha256(self.api_key.encode()).hexdigest()

    @property
    def redacted_key(self) -> str:
        return redact(self.api_key.encode())

    def __str__(self) -> str:
        return f"Credential({self.key_type} {self.redacted_key})"


def from_environment(environ: dict[str, str] | None = None) -> Credential | None:
    """BINANCE_API_KEY with BINANCE_API_SECRET, or with BINANCE_PRIVATE_KEY_FILE (Ed25519/RSA PEM)."""
    env = os.environ if environ is None else environ
    api_key = env.get("BINANCE_API_KEY", "").strip()
    if not api_key:
        return None
    if env.get("BINANCE_PRIVATE_KEY_FILE"):
        path = Path(env["BINANCE_PRIVATE_KEY_FILE"]).expanduser()
        try:
            pem = path.read_text("utf-8")
        except OSError as error:
            raise CredentialError(f"BINANCE_PRIVATE_KEY_FILE {path}: {error.strerror or error}") from None
        if "PRIVATE KEY" not in pem:
            raise CredentialError(f"BINANCE_PRIVATE_KEY_FILE {path} holds no PEM private key")
        return Credential(api_key, pem)
    secret = env.get("BINANCE_API_SECRET", "").strip()
    if not secret:
        raise CredentialError("BINANCE_API_KEY is set but neither BINANCE_API_SECRET nor BINANCE_PRIVATE_KEY_FILE is")
    return Credential(api_key, secret)


def from_prompt() -> Credential:
    """Asks without echo; refuses when there is no terminal to ask on."""
    if not sys.stdin.isatty():
        raise CredentialError("no credential: set BINANCE_API_KEY and BINANCE_API_SECRET (or BINANCE_PRIVATE_KEY_FILE)")
    api_key = getpass.getpass("Binance API key (hidden): ").strip()
    secret = getpass.getpass("Binance API secret (hidden): ").strip()
    if not api_key or not secret:
        raise CredentialError("an API key and a secret are both needed")
    return Credential(api_key, secret)
