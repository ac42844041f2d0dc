"""The KeePass backend: Binance keys kept in an ordinary KeePass database (KDBX 3.1 or 4), read and written
with pykeepass, laid out as KeePassXC lays out an entry.

An entry is a Binance key when its API key and its secret can be found (see `find_credential`); every other
entry is left alone. The title is the label (its group path when two keys share a title). A changed key is
written into the same entry, the entry as it was kept in its history, as KeePass does. Writes happen under a
lock file beside the database and are atomic (temporary file, fsync, rename): the database is whole, old or
new, at every instant. The database keeps its format, cipher and key derivation.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import io
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

from pykeepass import PyKeePass
from pykeepass.entry import Entry as KeePassEntry
from pykeepass.exceptions import CredentialsError
from pykeepass.group import Group
from pykeepass.kdbx_parsing import KDBX
from pykeepass.kdbx_parsing.common import rotate_seeds
from pykeepass.pykeepass import BLANK_DATABASE_LOCATION, BLANK_DATABASE_PASSWORD

from keyguard.exchange.credentials import CredentialError, check_api_key
from keyguard.vault.aes_kdf import transformed_key
from keyguard.vault.store import (
    Entry,
    EntryRefused,
    LockedStore,
    VaultError,
    atomic_write,
    check_entry,
    read_stored,
    remove_leftovers,
)

PASSWORD_ENV = "KEYGUARD_KEEPASS_PASSWORD"
KEYFILE_ENV = "KEYGUARD_KEEPASS_KEYFILE"
# custom string field names, compared lower-case with everything but letters and digits removed
KEY_NAMES = ("apikey", "binanceapikey", "accesskey")
SECRET_NAMES = ("secret", "secretkey", "apisecret", "apisecretkey", "binancesecret", "binancesecretkey")
PRIVATE_NAMES = ("privatekey", "privatekeypem", "ed25519privatekey", "rsaprivatekey", "ed25519key", "rsakey", "pem")
NEW_SECRET_FIELD = "secret"  # where a new HMAC secret goes when its old place cannot hold it
NEW_PRIVATE_FIELD = "private_key"  # where a new PEM goes (KeePassXC's password field is one line)
TEMPORARY_PREFIX = ".keyguard-"


@dataclass(frozen=True)
class Place:
    """Where in a KeePass entry a value was read: `username`, `password`, a custom `field` or an `attachment`."""

    kind: str
    name: str = ""


@dataclass(frozen=True)
class Found:
    api_key: str
    secret: str
    key_place: Place
    secret_place: Place


def _normalised(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _is_pem(text: str) -> bool:
    return "PRIVATE KEY" in text


def find_credential(entry: KeePassEntry) -> Found | None:
    """The Binance key in a KeePass entry, or None when it holds none.

    The API key: a custom field named like api_key / apiKey / "API Key" / access_key, else the username.
    The secret: a custom field named like secret / secretKey / "Secret Key" / api_secret, else a field named
    like private_key / "Ed25519 private key" / pem holding a PEM, else an attachment holding a PEM private key,
    else the password. The first candidate that is what Binance issues wins.
    """
    fields = {name: value for name, value in entry.custom_properties.items() if value}
    keys = [(Place("field", n), v) for n, v in fields.items() if _normalised(n) in KEY_NAMES]
    keys.append((Place("username"), entry.username or ""))
    secrets = [(Place("field", n), v) for n, v in fields.items() if _normalised(n) in SECRET_NAMES]
    secrets += [(Place("field", n), v) for n, v in fields.items() if _normalised(n) in PRIVATE_NAMES and _is_pem(v)]
    secrets += [(Place("attachment", a.filename), text) for a, text in _pem_attachments(entry)]
    secrets.append((Place("password"), entry.password or ""))
    label = entry.title or "?"
    for key_place, api_key in keys:
        for secret_place, secret in secrets:
            try:
                checked = check_entry(Entry(label, api_key, secret, ""))
            except EntryRefused:
                continue
            return Found(checked.api_key, checked.secret, key_place, secret_place)
    return None


def why_not_read(entry: KeePassEntry) -> str | None:
    """For an entry meant to hold a Binance key (a field named like one, or a PEM attached) that
    `find_credential` cannot read: why, without repeating a value. None for any other entry."""
    fields = {_normalised(name): value for name, value in entry.custom_properties.items() if value}
    named = [name for name in fields if name in KEY_NAMES + SECRET_NAMES + PRIVATE_NAMES]
    if (not named and not _pem_attachments(entry)) or find_credential(entry) is not None:
        return None
    key = next((fields[name] for name in fields if name in KEY_NAMES), entry.username or "")
    try:
        check_api_key(key)
    except CredentialError as error:
        return str(error)
    return "no secret beside it is a 64-character HMAC secret or an unencrypted Ed25519/RSA private key in PEM"


def _pem_attachments(entry: KeePassEntry) -> list[tuple[object, str]]:
    found = []
    # pykeepass's entry.attachments leaves out those of a history entry; its database is the entry's _kp
    every = entry._kp.find_attachments(
        element=entry, filename=".*", regex=True, recursive=False, history=entry.is_a_history_entry
    )
    for attachment in every:
        try:
            text = attachment.data.decode("utf-8")
        except (UnicodeDecodeError, IndexError, AttributeError):
            continue
        if _is_pem(text):
            found.append((attachment, text))
    return found


def parse_spec(where: str) -> tuple[Path, Path | None]:
    """PATH[?keyfile=KEYFILE] (from keepass:PATH...) as the database's path and its key file (else
    KEYGUARD_KEEPASS_KEYFILE, else none)."""
    path_text, _, query = where.partition("?")
    if not path_text:
        raise VaultError("keepass: needs the database's path, e.g. KEYGUARD_VAULT=keepass:~/keys.kdbx")
    options = parse_qs(query, keep_blank_values=True) if query else {}
    unknown = set(options) - {"keyfile"}
    if unknown:
        raise VaultError(f"unknown keepass: option {', '.join(sorted(unknown))} (only keyfile=PATH)")
    keyfile = (options.get("keyfile") or [os.environ.get(KEYFILE_ENV, "")])[-1]
    return Path(path_text).expanduser(), Path(keyfile).expanduser() if keyfile else None


_PASSWORDS: dict[str, str | None] = {}  # database -> the password that opened or created it in this process


class KeePassBackend(LockedStore):
    keeps_history = True
    other_writers = "another program (KeePassXC, a file sync, another keyguard)"

    def __init__(self, path: Path, keyfile: Path | None = None) -> None:
        super().__init__()
        self.path = Path(os.path.realpath(path))  # a symlinked database is written where it really is
        self.keyfile = keyfile
        self.name = f"KeePass database {path}"
        self.lock_path = self.path.with_name(f".{self.path.name}.keyguard-lock")
        self._where = str(self.path)
        self._database: PyKeePass | None = None  # the database as last read or written
        self._transformed: bytes | None = None  # the key the password gave, kept: the KDF runs once per process
        self._places: dict[str, tuple[object, Found]] = {}  # label -> (entry uuid, where its values are)

    @classmethod
    def from_spec(cls, where: str) -> KeePassBackend:
        return cls(*parse_spec(where))

    def unlock(self, create: bool = False) -> None:
        """Asks the password (once per process) and checks it opens the database; with `create`, asks a new
        one (twice) when there is no database yet."""
        if self.path.exists():
            self.load()
        elif create and self._where not in _PASSWORDS:
            self._password(create=True)

    def _keyfile(self) -> str | None:
        if self.keyfile is None:
            return None
        if not self.keyfile.is_file():
            raise VaultError(f"the key file {self.keyfile} cannot be read; {self.path} was left as it is")
        return str(self.keyfile)

    def _password(self, create: bool) -> str | None:
        """KEYGUARD_KEEPASS_PASSWORD, else the one this process already used, else asked without echo. None:
        the database has a key file and no password."""
        if PASSWORD_ENV in os.environ:
            return os.environ[PASSWORD_ENV] or None
        if self._where in _PASSWORDS:
            return _PASSWORDS[self._where]
        if not sys.stdin.isatty():
            if self.keyfile is not None:
                return None
            raise VaultError(f"{self.path} needs its password: set {PASSWORD_ENV} or run in a terminal")
        if not create:
            return getpass.getpass(f"KeePass password for {self.path.name}: ") or None
        first = getpass.getpass(f"New KeePass database {self.path.name}, its password: ")
        if not first and self.keyfile is None:
            raise VaultError("the password is empty and there is no key file; nothing was stored")
        if getpass.getpass("Again: ") != first:
            raise VaultError("the passwords differ; nothing was stored")
        _PASSWORDS[self._where] = first or None
        return first or None

    def _read(self) -> bytes | None:
        return read_stored(self.path)

    def _open(self, raw: bytes) -> PyKeePass:
        keyfile = self._keyfile()
        if self._transformed is not None:
            try:
                return PyKeePass(io.BytesIO(raw), keyfile=keyfile, transformed_key=self._transformed)
            except CredentialsError:  # another program saved it with a new key derivation salt
                self._transformed = None
            except Exception as error:  # noqa: BLE001 - whatever a damaged file raises
                raise self._damaged(error) from None
        password = self._password(create=False)
        try:
            fast = transformed_key(raw, password, keyfile)  # AES-KDF in C; None: pykeepass derives it
            database = PyKeePass(io.BytesIO(raw), password=password, keyfile=keyfile, transformed_key=fast)
        except CredentialsError:
            raise VaultError(f"wrong password or key file for {self.path}; it was left as it is") from None
        except Exception as error:  # noqa: BLE001 - whatever a damaged file raises
            raise self._damaged(error) from None
        _PASSWORDS[self._where] = password
        self._transformed = database.transformed_key
        return database

    def _damaged(self, error: Exception) -> VaultError:
        return VaultError(
            f"{self.path} is damaged or not a KeePass database ({type(error).__name__}); it was left as it is"
        )

    def _parse(self, raw: object) -> dict[str, Entry]:
        assert isinstance(raw, bytes)
        database = self._open(raw)
        recycle_bin = database.recyclebin_group
        found = []
        self.skipped = {}
        for entry in database.entries:
            if not entry.title or _inside(entry, recycle_bin):
                continue
            if credential := find_credential(entry):
                found.append((entry, credential))
            elif reason := why_not_read(entry):
                self.skipped["/".join(entry.path)] = reason
        titles = [entry.title for entry, _ in found]
        entries: dict[str, Entry] = {}
        places = {}
        for entry, credential in found:
            label = entry.title if titles.count(entry.title) == 1 else "/".join(entry.path)
            label = _unique(label, entries)
            created = entry.ctime.isoformat(timespec="seconds") if entry.ctime else ""
            entries[label] = Entry(label, credential.api_key, credential.secret, created)
            places[label] = (entry.uuid, credential)
        self._database, self._places = database, places
        return entries

    def _write(self, entries: dict[str, Entry]) -> bytes:
        database = self._database if self._seen is not None else self._create()
        assert database is not None
        try:
            for label in self._loaded.keys() - entries.keys():
                _remove(database, self._entry(database, label))
            for label, entry in entries.items():
                if label not in self._loaded:
                    _add(database, entry)
                elif entry != self._loaded[label]:
                    _update(database, self._entry(database, label), self._places[label][1], entry)
            data = _serialised(database, self._transformed)
            mode = self.path.stat().st_mode & 0o7777 if self.path.exists() else 0o600
            prefix = f"{TEMPORARY_PREFIX}{self.path.name}."
            remove_leftovers(self.path.parent, prefix)  # what a writer killed midway left
            atomic_write(self.path, data, mode=mode, prefix=prefix)
        except BaseException as error:
            self._database = None  # changed in memory only: read again before any other write
            self._seen = b""
            if isinstance(error, OSError):
                raise VaultError(f"cannot write {self.path} ({error.strerror}); it was left as it is") from None
            raise
        self._parse(data)  # where each value now is
        return data

    def _entry(self, database: PyKeePass, label: str) -> KeePassEntry:
        entry = database.find_entries(uuid=self._places[label][0], first=True)
        if entry is None:
            raise VaultError(f"{label} left {self.path} while keyguard worked; nothing was written")
        return entry

    def _create(self) -> PyKeePass:
        """A new KDBX 4 database (pykeepass's defaults: AES-256, Argon2d)."""
        password, keyfile = self._password(create=True), self._keyfile()
        if password is None and keyfile is None:
            raise VaultError(f"a new KeePass database needs a password or a key file; {self.path} was not created")
        database = PyKeePass(BLANK_DATABASE_LOCATION, password=BLANK_DATABASE_PASSWORD)  # as create_database
        database.password, database.keyfile = password, keyfile
        self._transformed = None  # it would be the template's key: the save derives the new one
        return database


def _serialised(database: PyKeePass, transformed: bytes | None) -> bytes:
    """The database as pykeepass's save() writes it (fresh seeds and IVs; the key derivation salt kept when the
    derived key is reused), and with a KDBX 3.1 file's HeaderHash made to match its new header: pykeepass
    changes the header without it, and KeePassXC then refuses the file ("Header doesn't match hash")."""
    kdbx = database.kdbx
    rotate_seeds(kdbx, rotate_kdf_salt=transformed is None)
    header_hash = database.tree.getroot().find("Meta/HeaderHash")
    if database.version < (4, 0) and header_hash is not None:
        header = KDBX.header.build({"value": kdbx.header.value})
        header_hash.text = base64.b64encode(hashlib.sha256(header).digest()).decode()
    buffer = io.BytesIO()
    KDBX.build_stream(
        kdbx, buffer, password=database.password, keyfile=database.keyfile, transformed_key=transformed, decrypt=True
    )
    return buffer.getvalue()


def _unique(label: str, taken: dict[str, Entry]) -> str:
    """`label`, or LABEL#2, #3... when two entries have the same title in the same group."""
    number = 1
    unique = label
    while unique in taken:
        number += 1
        unique = f"{label}#{number}"
    return unique


def _inside(entry: KeePassEntry, folder: Group | None) -> bool:
    group = entry.group
    while folder is not None and group is not None:
        if group.uuid == folder.uuid:
            return True
        group = group.parentgroup
    return False


def _add(database: PyKeePass, entry: Entry) -> None:
    """A new entry in the root group: title the label, username the API key, password the HMAC secret, or a
    protected private_key field holding the PEM."""
    pem = _is_pem(entry.secret)
    added = database.add_entry(
        database.root_group, entry.label, entry.api_key, "" if pem else entry.secret, force_creation=True
    )
    if pem:
        added.set_custom_property(NEW_PRIVATE_FIELD, entry.secret, protect=True)


def _remove(database: PyKeePass, entry: KeePassEntry) -> None:
    """Into the recycle bin where the database has one enabled (as KeePassXC does), else deleted."""
    if database.tree.getroot().findtext("Meta/RecycleBinEnabled") == "True":
        database.trash_entry(entry)
    else:
        database.delete_entry(entry)


def _update(database: PyKeePass, entry: KeePassEntry, old: Found, new: Entry) -> None:
    """The new key and secret where the old ones were read, the entry as it was kept in its history. A secret
    of the other kind (HMAC for PEM) goes to a field of its own and the old place is emptied."""
    entry.save_history()
    key_protected = old.key_place.kind == "field" and entry.is_custom_property_protected(old.key_place.name)
    _put(database, entry, old.key_place, new.api_key, protect=key_protected)  # as protected as it was
    pem = _is_pem(new.secret)
    place = old.secret_place
    fits = {
        "password": not pem,
        "attachment": pem,
        "field": pem == (_normalised(place.name) in PRIVATE_NAMES),
    }[place.kind]
    if fits:
        _put(database, entry, place, new.secret)
        return
    _empty(entry, place)
    _put(database, entry, Place("field", NEW_PRIVATE_FIELD if pem else NEW_SECRET_FIELD), new.secret)


def _put(database: PyKeePass, entry: KeePassEntry, place: Place, value: str, protect: bool = True) -> None:
    if place.kind == "username":
        entry.username = value
    elif place.kind == "password":
        entry.password = value
    elif place.kind == "field":
        entry.set_custom_property(place.name, value, protect=protect)
    else:  # an attachment: a new binary; the history keeps pointing at the old one
        for attachment in entry.attachments:
            if attachment.filename == place.name:
                attachment.id = database.add_binary(value.encode())


def _empty(entry: KeePassEntry, place: Place) -> None:
    if place.kind == "password":
        entry.password = ""
    elif place.kind == "field":
        entry.delete_custom_property(place.name)
    else:
        for attachment in entry.attachments:
            if attachment.filename == place.name:
                entry.delete_attachment(attachment)
