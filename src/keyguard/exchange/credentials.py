"""A Binance API credential, read from the environment, a private-key file or a prompt — never argv.

Binance API keys and HMAC secrets are 64 letters and digits (binance-api.md §1.1); an Ed25519 or RSA
private key comes only from a PEM file. Anything else is refused with a message that never repeats the value.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from keyguard.model import redact

TOKEN = re.compile(r"[A-Za-z0-9]{64}")
PROMPT_ATTEMPTS = 3
PEM_ONLY = "an Ed25519/RSA private key is read only from a PEM file: set BINANCE_PRIVATE_KEY_FILE to its path"


class CredentialError(ValueError):
    """No usable credential was given."""


@dataclass(frozen=True)
class Credential:
    api_key: str = field(repr=False)  # shown redacted by __str__ and __repr__
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

    __repr__ = __str__


def _token_problem(value: str, what: str) -> str | None:
    """Why `value` is not a Binance key or HMAC secret (64 of [A-Za-z0-9]), without repeating it; None if it is."""
    if TOKEN.fullmatch(value):
        return None
    if not value:
        return f"the {what} is empty"
    if "PRIVATE KEY" in value or value.startswith("-----BEGIN"):
        return PEM_ONLY
    others = sorted(
        {"a space" if c.isspace() else "other characters" for c in value if not c.isascii() or not c.isalnum()}
    )
    found = f"{len(value)} characters" + (f", with {' and '.join(others)}" if others else "")
    return f"the {what} must be exactly 64 letters and digits (A-Z, a-z, 0-9); this one has {found}"


def check_api_key(value: str) -> str:
    """The key, stripped, or CredentialError saying why it is not a Binance API key."""
    value = value.strip()
    problem = _token_problem(value, "API key")
    if problem == PEM_ONLY:
        problem = "the API key cannot be a PEM private key: give the 64-character API key Binance issued for it"
    if problem:
        raise CredentialError(problem)
    return value


def check_hmac_secret(value: str) -> str:
    """The secret, stripped, or CredentialError saying why it is not a Binance HMAC secret."""
    value = value.strip()
    problem = _token_problem(value, "API secret")
    if problem:
        raise CredentialError(problem)
    return value


def check_private_key_pem(pem: str, source: str) -> str:
    """The PEM text if it holds an unencrypted Ed25519 or RSA private key, else CredentialError."""
    if "PRIVATE KEY" not in pem:
        raise CredentialError(f"{source} holds no PEM private key")
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except TypeError:
        raise CredentialError(f"{source} is encrypted with a passphrase: Binance clients need it unencrypted") from None
    except ValueError:
        raise CredentialError(f"{source} is not a readable PEM private key") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey):
        raise CredentialError(f"{source} holds a {type(key).__name__}: Binance accepts Ed25519 or RSA keys")
    return pem


def from_environment(environ: dict[str, str] | None = None) -> Credential | None:
    """BINANCE_API_KEY with BINANCE_API_SECRET, or with BINANCE_PRIVATE_KEY_FILE (Ed25519/RSA PEM)."""
    env = os.environ if environ is None else environ
    api_key = env.get("BINANCE_API_KEY", "").strip()
    if not api_key:
        return None
    try:
        api_key = check_api_key(api_key)
    except CredentialError as error:
        raise CredentialError(f"BINANCE_API_KEY: {error}") from None
    if env.get("BINANCE_PRIVATE_KEY_FILE"):
        path = Path(env["BINANCE_PRIVATE_KEY_FILE"]).expanduser()
        try:
            pem = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else "not a text file"
            raise CredentialError(f"BINANCE_PRIVATE_KEY_FILE {path}: {reason}") from None
        return Credential(api_key, check_private_key_pem(pem, f"BINANCE_PRIVATE_KEY_FILE {path}"))
    secret = env.get("BINANCE_API_SECRET", "").strip()
    if not secret:
        raise CredentialError("BINANCE_API_KEY is set but neither BINANCE_API_SECRET nor BINANCE_PRIVATE_KEY_FILE is")
    try:
        return Credential(api_key, check_hmac_secret(secret))
    except CredentialError as error:
        raise CredentialError(f"BINANCE_API_SECRET: {error}") from None


def ask_valid(
    prompt: str,
    check: Callable[[str], str],
    ask: Callable[[str], str] = getpass.getpass,
    attempts: int = PROMPT_ATTEMPTS,
) -> str:
    """Asks until `check` accepts the answer, saying why each refused one was refused; CredentialError
    after `attempts` refusals."""
    last = CredentialError("nothing was asked")
    for attempt in range(1, attempts + 1):
        try:
            return check(ask(prompt))
        except CredentialError as error:
            left = attempts - attempt
            print(
                f"refused: {error}" + (f"; {left} more {'try' if left == 1 else 'tries'}" if left else ""),
                file=sys.stderr,
            )
            last = error
    raise CredentialError(f"{last} (refused {attempts} times)")


def from_prompt(ask: Callable[[str], str] = getpass.getpass) -> Credential:
    """Asks without echo for an API key and its HMAC secret, each up to three times; refuses when there is no
    terminal to ask on. Ed25519/RSA keys are not typed: BINANCE_PRIVATE_KEY_FILE names their PEM file."""
    if not sys.stdin.isatty():
        raise CredentialError("no credential: set BINANCE_API_KEY and BINANCE_API_SECRET (or BINANCE_PRIVATE_KEY_FILE)")
    api_key = ask_valid("Binance API key (hidden): ", check_api_key, ask)
    secret = ask_valid("Binance API secret (HMAC, hidden): ", check_hmac_secret, ask)
    return Credential(api_key, secret)
