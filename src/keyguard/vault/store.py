"""Vault backends: the OS keychain through `keyring`, else an encrypted file (scrypt + AES-GCM, mode 0600); a
KeePass database when chosen (keepass.py).

Every write happens under a file lock and is atomic (temporary file, fsync, rename), so concurrent keyguard
processes never lose each other's entries and a crash never leaves a half-written vault. `edit()` is how a
command changes the vault (load, change, save under one lock); `save()` after `load()` refuses when another
process wrote in between. The file is re-encrypted with the passphrase that opened it, asked once per process.
Whatever is stored is first checked to be a Binance credential.
"""

from __future__ import annotations

import base64
import fcntl
import getpass
import glob
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from keyguard.exchange.credentials import (
    Credential,
    CredentialError,
    check_api_key,
    check_hmac_secret,
    check_private_key_pem,
)

SCRYPT = {"n": 2**15, "r": 8, "p": 1}
KDF = {"name": "scrypt", **SCRYPT}
CIPHER = "AES-256-GCM"
AAD = b"keyguard-vault"
SALT_BYTES, NONCE_BYTES, TAG_BYTES = 16, 12, 16
LOCK_TIMEOUT = 60.0  # seconds a writer waits for another one before giving up (nothing written)
RESERVED_LABELS = {"_index"}  # the keychain backend's own index


class VaultError(Exception):
    """The vault cannot be opened or written; the message says why, and nothing was lost."""


class EntryRefused(VaultError, ValueError):
    """What was to be stored is not a Binance credential; the message never repeats the value."""


@dataclass
class Entry:
    label: str
    api_key: str
    secret: str  # HMAC secret or a PEM private key
    created: str

    @property
    def credential(self) -> Credential:
        return Credential(self.api_key, self.secret)


def check_label(label: str) -> str:
    if not label.strip() or not label.isprintable() or label in RESERVED_LABELS:
        raise EntryRefused(f"{label!r} cannot be a vault label: give printable text other than _index")
    return label


def check_entry(entry: Entry) -> Entry:
    """The entry (its key and HMAC secret trimmed), or EntryRefused: the key must be Binance's 64 letters and
    digits, the secret a 64-character HMAC secret or an unencrypted Ed25519/RSA private key in PEM."""
    check_label(entry.label)
    trimmed = entry.secret.strip()
    try:
        api_key = check_api_key(entry.api_key)
        if "PRIVATE KEY" in trimmed or trimmed.startswith("-----BEGIN"):
            secret = check_private_key_pem(entry.secret, "the private key")  # kept as given, line breaks and all
        else:
            secret = check_hmac_secret(entry.secret)
    except CredentialError as error:
        raise EntryRefused(f"{entry.label}: {error}; nothing was stored") from None
    return replace(entry, api_key=api_key, secret=secret)


def new_entry(label: str, api_key: str, secret: str) -> Entry:
    """A checked entry (EntryRefused when the key or secret is not what Binance issues)."""
    return check_entry(Entry(label, api_key, secret, datetime.now(UTC).isoformat(timespec="seconds")))


class Backend(Protocol):
    name: str
    keeps_history: bool  # a changed entry keeps its old values itself (KeePass); else `rotate` keeps LABEL.old
    skipped: dict[str, str]  # entries meant as keys that could not be read (a password manager's): why

    def unlock(self, create: bool = False) -> None: ...

    def load(self) -> dict[str, Entry]: ...

    def save(self, entries: dict[str, Entry]) -> None: ...

    def edit(self) -> AbstractContextManager[dict[str, Entry]]: ...


def default_file() -> Path:
    if os.environ.get("KEYGUARD_VAULT_FILE"):
        return Path(os.environ["KEYGUARD_VAULT_FILE"])
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data / "keyguard" / "vault.enc"


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive flock on `path` (created 0600), waited for up to LOCK_TIMEOUT seconds."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        raise VaultError(f"cannot lock {path}: {error.strerror}; nothing was written") from None
    try:
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise VaultError(
                        f"another keyguard has held {path} for {LOCK_TIMEOUT:.0f} s; nothing was written, try again"
                    ) from None
                time.sleep(0.02)
        yield
    finally:
        os.close(descriptor)  # releases the lock


class LockedStore:
    """Load, check, save under a lock; a save refuses when the store changed since this object read it."""

    name = "vault"
    keeps_history = False
    other_writers = "another keyguard"  # who else may change the store
    lock_path: Path

    def __init__(self) -> None:
        self.skipped: dict[str, str] = {}
        self._seen: object = None  # the store as this object last read or wrote it (None: empty)
        self._loaded: dict[str, Entry] = {}
        self._depth = 0

    def _read(self) -> object:
        raise NotImplementedError

    def _parse(self, raw: object) -> dict[str, Entry]:
        raise NotImplementedError

    def _write(self, entries: dict[str, Entry]) -> object:
        """Writes the entries; returns the store as now written."""
        raise NotImplementedError

    def unlock(self, create: bool = False) -> None:
        """Asks what opening the store needs (a passphrase) before anything else is asked."""

    def load(self) -> dict[str, Entry]:
        raw = self._read()
        entries = {} if raw is None else self._parse(raw)
        self._seen, self._loaded = raw, {label: replace(e) for label, e in entries.items()}
        return entries

    def save(self, entries: dict[str, Entry]) -> None:
        with self._lock():
            self._write_unchanged(entries)

    @contextmanager
    def edit(self) -> Iterator[dict[str, Entry]]:
        """The entries to change in place; saved when the block ends normally, all under one lock."""
        self.unlock()
        with self._lock():
            entries = self.load()
            yield entries
            if entries != self._loaded:
                self._write_unchanged(entries)

    @contextmanager
    def _lock(self) -> Iterator[None]:
        if self._depth:
            yield
            return
        with _file_lock(self.lock_path):
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1

    def _checked(self, label: str, entry: Entry) -> Entry:
        """A new or changed entry checked; one as loaded (perhaps stored before the checks) kept as it is."""
        if label in self._loaded and entry == self._loaded[label]:
            return entry
        check_label(label)
        return entry if entry in self._loaded.values() else check_entry(entry)

    def _write_unchanged(self, entries: dict[str, Entry]) -> None:
        if self._read() != self._seen:
            raise VaultError(
                f"the {self.name} was changed by {self.other_writers} since it was read; nothing was written, "
                "run the command again"
            )
        checked = {label: self._checked(label, entry) for label, entry in entries.items()}
        self._seen = self._write(checked)
        self._loaded = {label: replace(e) for label, e in checked.items()}


_PASSPHRASES: dict[str, str] = {}  # vault file -> the passphrase that opened or created it in this process


def _ask_passphrase(create: bool) -> str:
    if not sys.stdin.isatty():
        raise VaultError("the vault file needs a passphrase: set KEYGUARD_VAULT_PASSPHRASE or run in a terminal")
    if not create:
        return getpass.getpass("Vault passphrase: ")
    first = getpass.getpass("New vault passphrase: ")
    if not first:
        raise VaultError("the passphrase is empty; nothing was stored")
    if getpass.getpass("Again: ") != first:
        raise VaultError("the passphrases differ; nothing was stored")
    return first


def _derive(passphrase: str, salt: bytes) -> AESGCM:
    return AESGCM(Scrypt(salt=salt, length=32, **SCRYPT).derive(passphrase.encode()))


def _damaged(path: Path, why: object) -> VaultError:
    return VaultError(f"{path} is damaged or not a keyguard vault ({why}); it was left as it is")


def _envelope(raw: bytes, path: Path) -> tuple[bytes, bytes, bytes]:
    """Salt, nonce and ciphertext of a vault file, or the "damaged" VaultError."""
    try:
        envelope = json.loads(raw)
        if not isinstance(envelope, dict):
            raise ValueError(f"a JSON {type(envelope).__name__}, not an object")
        if envelope.get("version") != 1 or envelope.get("cipher") != CIPHER or envelope.get("kdf") != KDF:
            raise ValueError("unknown version, cipher or key derivation")
        salt, nonce, ciphertext = (
            base64.b64decode(envelope[k], validate=True) for k in ("salt", "nonce", "ciphertext")
        )
    except KeyError as error:
        raise _damaged(path, f"no {error}") from None
    except (ValueError, TypeError, RecursionError) as error:
        raise _damaged(path, error) from None
    if len(salt) != SALT_BYTES or len(nonce) != NONCE_BYTES or len(ciphertext) < TAG_BYTES:
        raise _damaged(path, "salt, nonce or ciphertext of the wrong length")
    return salt, nonce, ciphertext


def _entries(plain: bytes, path: Path) -> dict[str, Entry]:
    try:
        stored = json.loads(plain)["entries"]
        entries = {label: Entry(**fields) for label, fields in stored.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise _damaged(path, f"entries unreadable: {type(error).__name__}") from None
    if not all(isinstance(value, str) for e in entries.values() for value in asdict(e).values()):
        raise _damaged(path, "entries unreadable")
    return entries


class FileBackend(LockedStore):
    name = "encrypted file"

    def __init__(self, path: Path | None = None) -> None:
        super().__init__()
        self.path = path or default_file()
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._where = os.path.abspath(self.path)
        self._cipher: tuple[bytes, AESGCM] | None = None  # salt, and the key the passphrase gave with it

    def unlock(self, create: bool = False) -> None:
        """Asks the passphrase (once per process) and checks it opens the vault; with `create`, asks a new
        one (twice) when there is no vault yet."""
        if self.path.exists():
            self.load()
        elif create and self._cipher is None:
            self._passphrase(create=True)

    def _passphrase(self, create: bool) -> str:
        """KEYGUARD_VAULT_PASSPHRASE, else the one this process already used for this vault, else asked."""
        known = os.environ.get("KEYGUARD_VAULT_PASSPHRASE") or _PASSPHRASES.get(self._where)
        if known:
            return known
        passphrase = _ask_passphrase(create)
        if create:  # typed twice: it is the one the new vault gets
            _PASSPHRASES[self._where] = passphrase
        return passphrase

    def _read(self) -> bytes | None:
        return read_stored(self.path)

    def _parse(self, raw: object) -> dict[str, Entry]:
        assert isinstance(raw, bytes)
        salt, nonce, ciphertext = _envelope(raw, self.path)
        if self._cipher is not None and self._cipher[0] == salt:
            cipher, passphrase = self._cipher[1], None
        else:
            passphrase = self._passphrase(create=False)
            cipher = _derive(passphrase, salt)
        try:
            plain = cipher.decrypt(nonce, ciphertext, AAD)
        except InvalidTag:
            raise VaultError(f"wrong passphrase for {self.path}, or the file was altered; nothing changed") from None
        entries = _entries(plain, self.path)
        if passphrase is not None:
            _PASSPHRASES[self._where] = passphrase
        self._cipher = (salt, cipher)
        return entries

    def _write(self, entries: dict[str, Entry]) -> bytes:
        if self._cipher is None:
            salt = os.urandom(SALT_BYTES)
            self._cipher = (salt, _derive(self._passphrase(create=True), salt))
        salt, cipher = self._cipher
        nonce = os.urandom(NONCE_BYTES)
        plain = json.dumps({"entries": {label: asdict(e) for label, e in entries.items()}}).encode()
        envelope = {
            "version": 1,
            "kdf": KDF,
            "cipher": CIPHER,
            "salt": base64.b64encode(salt).decode(),
            "nonce": base64.b64encode(nonce).decode(),
            "ciphertext": base64.b64encode(cipher.encrypt(nonce, plain, AAD)).decode(),
        }
        data = json.dumps(envelope).encode()
        atomic_write(self.path, data)
        return data


def read_stored(path: Path) -> bytes | None:
    """The bytes of a vault file; None when there is none yet."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise VaultError(f"cannot read {path} ({error.strerror}); it was left as it is") from None


def atomic_write(path: Path, data: bytes, mode: int = 0o600, prefix: str = ".vault-") -> None:
    """`data` in `path` (with `mode`) or, on any failure, the old file untouched and no leftover."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=prefix)
    try:
        os.fchmod(handle, mode)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)  # atomic: the old vault stays whole until this instant
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself survives a power cut
    finally:
        os.close(folder)


def remove_leftovers(folder: Path, prefix: str) -> None:
    """Temporary files named `prefix`* that a writer killed midway left (call it holding the lock)."""
    for leftover in folder.glob(f"{glob.escape(prefix)}*"):
        leftover.unlink(missing_ok=True)


class KeyringBackend(LockedStore):
    name = "OS keychain"
    SERVICE = "keyguard"

    def __init__(self) -> None:
        import keyring

        super().__init__()
        self._keyring = keyring
        self._refused = keyring.errors.KeyringError
        self.lock_path = default_file().with_name("keyring.lock")

    def _call(self, method: str, *args: str) -> str | None:
        try:
            return getattr(self._keyring, method)(self.SERVICE, *args)
        except self._refused as error:
            raise VaultError(f"the OS keychain refused ({type(error).__name__}); nothing changed") from None

    def _read(self) -> dict[str, str | None] | None:
        index = self._call("get_password", "_index")
        if index is None:
            return None
        try:
            labels = json.loads(index)
            return {"_index": index, **{label: self._call("get_password", label) for label in labels}}
        except (ValueError, TypeError) as error:
            raise VaultError(f"the keyguard index in the OS keychain is damaged ({error}); nothing changed") from None

    def _parse(self, raw: object) -> dict[str, Entry]:
        assert isinstance(raw, dict)
        try:
            return {label: Entry(**json.loads(text)) for label, text in raw.items() if label != "_index" and text}
        except (ValueError, TypeError) as error:
            raise VaultError(f"a keyguard entry in the OS keychain is damaged ({error}); nothing changed") from None

    def _write(self, entries: dict[str, Entry]) -> dict[str, str | None] | None:
        for label, entry in entries.items():
            self._call("set_password", label, json.dumps(asdict(entry)))
        old = json.loads(self._call("get_password", "_index") or "[]")
        for label in set(old) - set(entries):
            self._call("delete_password", label)
        self._call("set_password", "_index", json.dumps(sorted(entries)))
        return self._read()


def open_backend(name: str | None = None) -> Backend:
    """The vault `name` names, else KEYGUARD_VAULT's (also set by `keyguard --vault`), else
    KEYGUARD_VAULT_BACKEND's: `keyring`, `file`, `file:PATH`, `keepass:PATH[?keyfile=KEYFILE]` or `auto`
    (the default: the OS keychain when a usable one exists, else the encrypted file)."""
    choice = name or os.environ.get("KEYGUARD_VAULT") or os.environ.get("KEYGUARD_VAULT_BACKEND", "auto")
    kind, colon, where = choice.partition(":")
    if kind == "keepass" and colon:
        from keyguard.vault.keepass import KeePassBackend  # pykeepass and lxml load only for a KeePass vault

        return KeePassBackend.from_spec(where)
    if kind == "file" and where:
        return FileBackend(Path(where).expanduser())
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
    raise VaultError(f"unknown vault {choice!r} (keyring, file, file:PATH or keepass:PATH)")


def credential_from_vault(label: str) -> Credential:
    """The credential stored under `label`; VaultError when there is none."""
    entry = open_backend().load().get(label)
    if entry is None:
        raise VaultError(f"no {label} in the vault (keyguard vault add {label})")
    return entry.credential
