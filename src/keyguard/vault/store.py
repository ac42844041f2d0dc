"""Vault backends: the OS keychain through `keyring`, else an encrypted file (scrypt + AES-GCM, mode 0600,
atomic writes: a crash never leaves a half-written vault)."""

from __future__ import annotations

import base64
import getpass
import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from keyguard.exchange.credentials import Credential

SCRYPT = {"n": 2**15, "r": 8, "p": 1}


class VaultError(Exception):
    """The vault cannot be opened or written; the message says why, and nothing was lost."""


@dataclass
class Entry:
    label: str
    api_key: str
    secret: str  # HMAC secret or a PEM private key
    created: str

    @property
    def credential(self) -> Credential:
        return Credential(self.api_key, self.secret)


def new_entry(label: str, api_key: str, secret: str) -> Entry:
    return Entry(label, api_key, secret, datetime.now(UTC).isoformat(timespec="seconds"))


class Backend(Protocol):
    name: str

    def load(self) -> dict[str, Entry]: ...

    def save(self, entries: dict[str, Entry]) -> None: ...


def default_file() -> Path:
    if os.environ.get("KEYGUARD_VAULT_FILE"):
        return Path(os.environ["KEYGUARD_VAULT_FILE"])
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data / "keyguard" / "vault.enc"


def _passphrase(confirm: bool) -> str:
    if os.environ.get("KEYGUARD_VAULT_PASSPHRASE"):
        return os.environ["KEYGUARD_VAULT_PASSPHRASE"]
    if not sys.stdin.isatty():
        raise VaultError("the vault file needs a passphrase: set KEYGUARD_VAULT_PASSPHRASE or run in a terminal")
    first = getpass.getpass("Vault passphrase: ")
    if confirm and getpass.getpass("Again: ") != first:
        raise VaultError("the passphrases differ")
    return first


class FileBackend:
    name = "encrypted file"

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_file()

    def _key(self, passphrase: str, salt: bytes) -> bytes:
        return Scrypt(salt=salt, length=32, **SCRYPT).derive(passphrase.encode())

    def load(self) -> dict[str, Entry]:
        if not self.path.exists():
            return {}
        try:
            envelope = json.loads(self.path.read_text("utf-8"))
            salt, nonce = base64.b64decode(envelope["salt"]), base64.b64decode(envelope["nonce"])
            ciphertext = base64.b64decode(envelope["ciphertext"])
        except (OSError, ValueError, KeyError) as error:
            raise VaultError(
                f"{self.path} is not a keyguard vault or is damaged ({error}); it was left as it is"
            ) from None
        try:
            plain = AESGCM(self._key(_passphrase(confirm=False), salt)).decrypt(nonce, ciphertext, b"keyguard-vault")
        except InvalidTag:
            raise VaultError(f"wrong passphrase for {self.path}, or the file was altered; nothing changed") from None
        return {label: Entry(**raw) for label, raw in json.loads(plain)["entries"].items()}

    def save(self, entries: dict[str, Entry]) -> None:
        salt, nonce = os.urandom(16), os.urandom(12)
        plain = json.dumps({"entries": {label: asdict(e) for label, e in entries.items()}}).encode()
        ciphertext = AESGCM(self._key(_passphrase(confirm=not self.path.exists()), salt)).encrypt(
            nonce, plain, b"keyguard-vault"
        )
        envelope = {
            "version": 1,
            "kdf": {"name": "scrypt", **SCRYPT},
            "cipher": "AES-256-GCM",
            "salt": base64.b64encode(salt).decode(),
            "nonce": base64.b64encode(nonce).decode(),
            "ciphertext": base64.b64encode(ciphertext).decode(),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".vault-")
        try:
            os.fchmod(handle, 0o600)
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(envelope, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)  # atomic: the old vault stays whole until this instant
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise


class KeyringBackend:
    name = "OS keychain"
    SERVICE = "keyguard"

    def __init__(self) -> None:
        import keyring

        self._keyring = keyring

    def load(self) -> dict[str, Entry]:
        index = json.loads(self._keyring.get_password(self.SERVICE, "_index") or "[]")
        entries = {}
        for label in index:
            raw = self._keyring.get_password(self.SERVICE, label)
            if raw:
                entries[label] = Entry(**json.loads(raw))
        return entries

    def save(self, entries: dict[str, Entry]) -> None:
        for label, entry in entries.items():
            self._keyring.set_password(self.SERVICE, label, json.dumps(asdict(entry)))
        old = json.loads(self._keyring.get_password(self.SERVICE, "_index") or "[]")
        for label in set(old) - set(entries):
            self._keyring.delete_password(self.SERVICE, label)
        self._keyring.set_password(self.SERVICE, "_index", json.dumps(sorted(entries)))


def open_backend(name: str | None = None) -> Backend:
    """`keyring` or `file`; by default the OS keychain when a usable one exists, else the encrypted file."""
    choice = name or os.environ.get("KEYGUARD_VAULT_BACKEND", "auto")
    if choice == "file":
        return FileBackend()
    if choice in ("auto", "keyring"):
        try:
            import keyring
            from keyring.backends.fail import Keyring as NoKeyring

            if not isinstance(keyring.get_keyring(), NoKeyring) and keyring.get_keyring().priority > 0:
                return KeyringBackend()
        except Exception:  # noqa: BLE001 - any keychain trouble means: use the file
            if choice == "keyring":
                raise VaultError("no usable OS keychain here; use KEYGUARD_VAULT_BACKEND=file") from None
        if choice == "keyring":
            raise VaultError("no usable OS keychain here; use KEYGUARD_VAULT_BACKEND=file")
        return FileBackend()
    raise VaultError(f"unknown vault backend {choice!r} (keyring or file)")


def credential_from_vault(label: str) -> Credential:
    """The credential stored under `label`; VaultError when there is none."""
    entry = open_backend().load().get(label)
    if entry is None:
        raise VaultError(f"no {label} in the vault (keyguard vault add {label})")
    return entry.credential
