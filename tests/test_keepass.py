"""Issue 18: the KeePass backend on real databases made by pykeepass (KDBX 3.1 and 4, with and without a key file),
entries laid out as KeePassXC lays them out, everything keyguard writes read back with pykeepass on its own."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import random
import struct
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest
from construct import Container
from lxml import etree
from pykeepass import PyKeePass, create_database
from pykeepass.kdbx_parsing import KDBX
from pykeepass.kdbx_parsing.kdbx4 import kdf_uuids

from conftest import make_canaries, random_token
from keyguard.vault.keepass import KeePassBackend, find_credential, parse_spec, why_not_read
from keyguard.vault.store import VaultError, new_entry, open_backend

PASSWORD = "correct horse battery staple"
TEMPLATE_PASSWORD = "template"
# (KDBX major version, with a key file, KDBX 4's cipher and key derivation; KDBX 3.1 is AES-256 with AES-KDF)
FORMATS = [
    (3, False, "aes256-argon2"),
    (3, True, "aes256-argon2"),
    (4, False, "aes256-argon2"),
    (4, True, "aes256-argon2"),
    (4, True, "chacha20-argon2id"),
    (4, False, "aes256-aeskdf"),
]
FORMAT_IDS = ["kdbx3.1", "kdbx3.1+keyfile", "kdbx4", "kdbx4+keyfile", "kdbx4-chacha20-argon2id+keyfile", "kdbx4-aeskdf"]
TIME_TAGS = {"CreationTime", "LastModificationTime", "LastAccessTime", "ExpiryTime", "LocationChanged"}


# ---------- real databases, made by pykeepass ----------


@cache
def _template(major: int, variant: str = "aes256-argon2") -> bytes:
    """An empty database of that KDBX version with a cheap key derivation (tests only: 1 MiB Argon2, 2 passes;
    1000 AES-KDF rounds), password TEMPLATE_PASSWORD; `variant`: KDBX 4's cipher and key derivation."""
    database = create_database(io.BytesIO(), password=TEMPLATE_PASSWORD)
    header = database.kdbx.header.value.dynamic_header
    kdf = header.kdf_parameters.data.dict
    kdf["M"].value, kdf["I"].value, kdf["P"].value = 1024 * 1024, 2, 1
    cipher, derivation = variant.split("-")
    header.cipher_id.data, header.encryption_iv.data = cipher, os.urandom(12 if cipher == "chacha20" else 16)
    kdf["$UUID"].value = kdf_uuids[derivation]
    if derivation == "aeskdf":  # a variant dictionary of its own: rounds and seed
        header.kdf_parameters.data.dict = Container(
            {
                "$UUID": Container(type=0x42, key="$UUID", value=kdf_uuids["aeskdf"], next_byte=0x05),
                "R": Container(type=0x05, key="R", value=1000, next_byte=0x42),
                "S": Container(type=0x42, key="S", value=os.urandom(32), next_byte=0),
            }
        )
    buffer = io.BytesIO()
    database.save(buffer)
    if major == 4:
        return buffer.getvalue()
    return _as_kdbx3(PyKeePass(io.BytesIO(buffer.getvalue()), password=TEMPLATE_PASSWORD).tree)


def _as_kdbx3(tree: etree._ElementTree) -> bytes:
    """The same XML in a KDBX 3.1 file (AES-256, AES-KDF, Salsa20 inner stream), built by pykeepass's own KDBX
    structure: pykeepass writes either version but creates only KDBX 4 (times as text, binaries in Meta)."""
    epoch = datetime(1, 1, 1, tzinfo=UTC)
    for node in tree.getroot().iter():
        if node.text and (node.tag in TIME_TAGS or node.tag.endswith("Changed")):
            seconds = struct.unpack("<q", base64.b64decode(node.text))[0]
            node.text = (epoch + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
    etree.SubElement(tree.getroot().find("Meta"), "Binaries")
    etree.SubElement(tree.getroot().find("Meta"), "HeaderHash")  # as KeePass and KeePassXC write KDBX 3.1
    fields = {
        "cipher_id": "aes256",
        "compression_flags": Container(compression=True),
        "master_seed": os.urandom(32),
        "transform_seed": os.urandom(32),
        "transform_rounds": 1000,
        "encryption_iv": os.urandom(16),
        "protected_stream_key": os.urandom(32),
        "stream_start_bytes": os.urandom(32),
        "protected_stream_id": "salsa20",
        "end": b"\r\n\r\n",
    }
    header = Container(
        sig1=b"\x03\xd9\xa2\x9a",
        sig2=b"\x67\xfb\x4b\xb5",
        minor_version=1,
        major_version=3,
        dynamic_header=Container({name: Container(id=name, data=data) for name, data in fields.items()}),
    )
    kdbx = Container(header=Container(value=header), body=Container(payload=Container(cred_check=None, xml=tree)))
    return KDBX.build(kdbx, password=TEMPLATE_PASSWORD, keyfile=None, transformed_key=None, decrypt=True)


def write_keyfile(path: Path) -> Path:
    """A key file as KeePassXC makes it (.keyx, XML version 2.0)."""
    key = os.urandom(32)
    check = hashlib.sha256(key).digest()[:4].hex().upper()
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<KeyFile>\n    <Meta>\n        <Version>2.0</Version>\n'
        f'    </Meta>\n    <Key>\n        <Data Hash="{check}">\n            {key.hex().upper()}\n'
        "        </Data>\n    </Key>\n</KeyFile>\n"
    )
    return path


def new_database(
    path: Path,
    major: int,
    keyfile: Path | None = None,
    password: str | None = PASSWORD,
    variant: str = "aes256-argon2",
) -> PyKeePass:
    """An empty KDBX `major` database at `path`, opened with pykeepass (add entries, then `.save()`)."""
    database = PyKeePass(io.BytesIO(_template(major, variant)), password=TEMPLATE_PASSWORD)
    database.password, database.keyfile = password, str(keyfile) if keyfile else None
    database.save(str(path))
    return PyKeePass(str(path), password=password, keyfile=str(keyfile) if keyfile else None)


def reopen(path: Path, keyfile: Path | None = None, password: str | None = PASSWORD) -> PyKeePass:
    """The database as pykeepass alone reads it."""
    return PyKeePass(str(path), password=password, keyfile=str(keyfile) if keyfile else None)


class Pairs:
    """Distinct Binance-shaped canaries: pairs[n] is (api key, HMAC secret)."""

    def __init__(self, seed: int = 18) -> None:
        rng = random.Random(seed)
        self._pairs = [(random_token(rng), random_token(rng)) for _ in range(12)]

    def __getitem__(self, n: int) -> tuple[str, str]:
        return self._pairs[n]

    def secrets(self) -> list[str]:
        return [value for pair in self._pairs for value in pair]


PAIRS = Pairs()
ED25519, RSA = make_canaries().ed25519_pem, make_canaries().rsa_pem


def add_keepassxc_entries(database: PyKeePass) -> dict[str, tuple[str, str]]:
    """Entries as a person makes them in KeePassXC, one per layout keyguard reads; plus entries it must leave
    alone. Returns label -> (api key, secret) of those that hold a Binance key."""
    root = database.root_group
    exchanges = database.add_group(root, "Exchanges")
    # 1. username = API key, password = secret
    database.add_entry(root, "quant-trading", PAIRS[0][0], PAIRS[0][1], url="https://www.binance.com")
    # 2. the Binance login in username/password, the key in "API Key" / "Secret Key" attributes (protected)
    main = database.add_entry(exchanges, "Binance main", "me@example.com", "my-account-Passw0rd!")
    main.set_custom_property("API Key", PAIRS[1][0], protect=True)
    main.set_custom_property("Secret Key", PAIRS[1][1], protect=True)
    # 3. api_key / secret attributes
    grid = database.add_entry(exchanges, "grid-bot", "", "")
    grid.set_custom_property("api_key", PAIRS[2][0])
    grid.set_custom_property("secret", PAIRS[2][1], protect=True)
    # 4. apiKey / secretKey attributes (ccxt's names)
    ccxt = database.add_entry(root, "freqtrade", "trader", "")
    ccxt.set_custom_property("apiKey", PAIRS[3][0])
    ccxt.set_custom_property("secretKey", PAIRS[3][1], protect=True)
    # 5. Ed25519: username = API key, private key as an attachment
    ed = database.add_entry(root, "ed-bot", PAIRS[4][0], "")
    ed.add_attachment(database.add_binary(ED25519.encode() + b"\n"), "binance-ed25519.pem")
    # 6. RSA: the key in an attribute, the private key in a protected multi-line attribute
    rsa = database.add_entry(exchanges, "rsa-bot", "me@example.com", "my-account-Passw0rd!")
    rsa.set_custom_property("API Key", PAIRS[5][0])
    rsa.set_custom_property("Private Key", RSA, protect=True)
    # left alone: an ordinary login, a half-made key, a key in the recycle bin
    database.add_entry(root, "Gmail", "me@example.com", "another-Passw0rd")
    broken = database.add_entry(root, "half-made", "", "")
    broken.set_custom_property("api_key", PAIRS[6][0][:20])
    broken.set_custom_property("secret", PAIRS[6][1])
    trashed = database.add_entry(root, "old-bot", PAIRS[7][0], PAIRS[7][1])
    database.trash_entry(trashed)
    database.save()
    return {
        "quant-trading": PAIRS[0],
        "Binance main": PAIRS[1],
        "grid-bot": PAIRS[2],
        "freqtrade": PAIRS[3],
        "ed-bot": (PAIRS[4][0], ED25519 + "\n"),
        "rsa-bot": (PAIRS[5][0], RSA),
    }


@pytest.fixture(params=FORMATS, ids=FORMAT_IDS)
def kdbx(request, tmp_path, monkeypatch) -> tuple[Path, Path | None, dict[str, tuple[str, str]]]:
    """A KeePassXC-style database in every format; the password in KEYGUARD_KEEPASS_PASSWORD."""
    major, with_keyfile, variant = request.param
    keyfile = write_keyfile(tmp_path / "db.keyx") if with_keyfile else None
    path = tmp_path / "keys.kdbx"
    expected = add_keepassxc_entries(new_database(path, major, keyfile, variant=variant))
    database = reopen(path, keyfile)
    assert database.version == {3: (3, 1), 4: (4, 0)}[major]
    _, derivation, cipher = _settings(database)
    assert major == 3 or f"{cipher}-{derivation}" == variant
    monkeypatch.setenv("KEYGUARD_KEEPASS_PASSWORD", PASSWORD)
    monkeypatch.delenv("KEYGUARD_KEEPASS_KEYFILE", raising=False)
    return path, keyfile, expected


def _settings(database: PyKeePass) -> tuple:
    return database.version, database.kdf_algorithm, database.kdbx.header.value.dynamic_header.cipher_id.data


def _entry(database: PyKeePass, title: str):
    return database.find_entries(title=title, first=True)


# ---------- reading ----------


def test_every_keepassxc_layout_is_read_and_nothing_else(kdbx):
    path, keyfile, expected = kdbx
    entries = KeePassBackend(path, keyfile).load()
    assert {label: (e.api_key, e.secret) for label, e in entries.items()} == expected
    types = {label: e.credential.key_type for label, e in entries.items()}
    assert types["ed-bot"] == "ed25519" and types["rsa-bot"] == "rsa" and types["quant-trading"] == "hmac"


def test_which_field_each_value_came_from():
    database = PyKeePass(io.BytesIO(_template(4)), password=TEMPLATE_PASSWORD)
    entry = database.add_entry(database.root_group, "spaced", "me@example.com", PAIRS[8][1])
    entry.set_custom_property("API-KEY", PAIRS[8][0])
    found = find_credential(entry)
    assert found is not None and (found.key_place.kind, found.key_place.name) == ("field", "API-KEY")
    assert found.secret_place.kind == "password" and found.secret == PAIRS[8][1]
    assert why_not_read(entry) is None  # read: nothing to explain
    login = database.add_entry(database.root_group, "Gmail", "me@example.com", "hunter2")
    assert find_credential(login) is None and why_not_read(login) is None  # not meant as a key: not mentioned
    lacking = database.add_entry(database.root_group, "lacking", PAIRS[8][0], "the-account-password")
    lacking.set_custom_property("Secret Key", "pasted-only-half")
    assert find_credential(lacking) is None
    assert why_not_read(lacking).startswith("no secret beside it is a 64-character HMAC secret")


def test_two_keys_with_one_title_get_their_group_path(tmp_path, monkeypatch):
    path = tmp_path / "keys.kdbx"
    database = new_database(path, 4)
    database.add_entry(database.root_group, "bot", PAIRS[0][0], PAIRS[0][1])
    database.add_entry(database.add_group(database.root_group, "Spot"), "bot", PAIRS[1][0], PAIRS[1][1])
    database.save()
    monkeypatch.setenv("KEYGUARD_KEEPASS_PASSWORD", PASSWORD)
    entries = KeePassBackend(path).load()
    assert {label: e.api_key for label, e in entries.items()} == {"bot": PAIRS[0][0], "Spot/bot": PAIRS[1][0]}


def test_the_vault_spec_and_the_key_file_setting(tmp_path, monkeypatch):
    monkeypatch.delenv("KEYGUARD_KEEPASS_KEYFILE", raising=False)
    assert parse_spec("~/keys.kdbx") == (Path.home() / "keys.kdbx", None)
    assert parse_spec(f"{tmp_path}/k.kdbx?keyfile=~/k.keyx") == (tmp_path / "k.kdbx", Path.home() / "k.keyx")
    monkeypatch.setenv("KEYGUARD_KEEPASS_KEYFILE", str(tmp_path / "env.keyx"))
    assert parse_spec("k.kdbx") == (Path("k.kdbx"), tmp_path / "env.keyx")
    assert parse_spec("k.kdbx?keyfile=own.keyx")[1] == Path("own.keyx")  # the spec's own wins
    with pytest.raises(VaultError, match="only keyfile"):
        parse_spec("k.kdbx?password=x")
    with pytest.raises(VaultError, match="needs the database's path"):
        open_backend("keepass:")
    monkeypatch.setenv("KEYGUARD_VAULT", f"keepass:{tmp_path}/k.kdbx")
    monkeypatch.setenv("KEYGUARD_VAULT_BACKEND", "file")
    backend = open_backend()
    assert isinstance(backend, KeePassBackend) and backend.path == tmp_path / "k.kdbx"  # KEYGUARD_VAULT wins


# ---------- writing: read back by pykeepass alone ----------


def test_add_change_remove_are_read_back_by_pykeepass(kdbx):
    path, keyfile, expected = kdbx
    settings = _settings(reopen(path, keyfile))
    path.chmod(0o640)
    link = path.with_name("link.kdbx")
    link.symlink_to(path)
    backend = KeePassBackend(link, keyfile)  # as a database synced through a symlinked folder
    with backend.edit() as entries:
        entries["new-hmac"] = new_entry("new-hmac", *PAIRS[9])
        entries["new-ed"] = new_entry("new-ed", PAIRS[10][0], ED25519)
        del entries["freqtrade"]
    database = reopen(path, keyfile)
    hmac = _entry(database, "new-hmac")
    assert (hmac.username, hmac.password) == PAIRS[9]
    ed = _entry(database, "new-ed")
    assert ed.username == PAIRS[10][0] and ed.get_custom_property("private_key") == ED25519
    assert ed.is_custom_property_protected("private_key")
    assert _entry(database, "freqtrade").group.name == "Recycle Bin"  # as KeePassXC deletes
    assert _entry(database, "Gmail").password == "another-Passw0rd"  # the rest as it was
    assert _entry(database, "half-made").get_custom_property("api_key") == PAIRS[6][0][:20]
    assert _settings(database) == settings  # format, cipher and key derivation kept
    if database.version == (3, 1):  # KeePassXC checks it: "Header doesn't match hash" otherwise
        header_hash = base64.b64decode(database.tree.getroot().findtext("Meta/HeaderHash"))
        assert header_hash == hashlib.sha256(database.kdbx.header.data).digest()
    assert link.is_symlink() and oct(path.stat().st_mode & 0o777) == "0o640"  # written where it is, mode kept
    assert set(KeePassBackend(path, keyfile).load()) == set(expected) - {"freqtrade"} | {"new-hmac", "new-ed"}


@pytest.mark.parametrize(
    "label, new_secret, where",
    [
        ("quant-trading", "hmac", ("password", None)),
        ("Binance main", "hmac", ("field", "Secret Key")),
        ("grid-bot", "hmac", ("field", "secret")),
        ("ed-bot", "ed25519", ("attachment", "binance-ed25519.pem")),
        ("rsa-bot", "ed25519", ("field", "Private Key")),
        ("quant-trading", "ed25519", ("field", "private_key")),  # a PEM does not go into a one-line password
        ("ed-bot", "hmac", ("field", "secret")),
    ],
)
def test_a_changed_key_is_written_into_the_same_entry_and_the_old_one_kept_in_its_history(
    tmp_path, monkeypatch, label, new_secret, where
):
    path = tmp_path / "keys.kdbx"
    expected = add_keepassxc_entries(new_database(path, 4))
    monkeypatch.setenv("KEYGUARD_KEEPASS_PASSWORD", PASSWORD)
    before = _entry(reopen(path), label)
    uuid, old_key, old_secret = before.uuid, *expected[label]
    fresh_key, fresh_secret = PAIRS[11][0], PAIRS[11][1] if new_secret == "hmac" else make_canaries(18).ed25519_pem
    with KeePassBackend(path).edit() as entries:
        entries[label] = new_entry(label, fresh_key, fresh_secret)
    entry = reopen(path).find_entries(uuid=uuid, first=True)
    assert entry.title == label and len(reopen(path).find_entries(title=label)) == 1
    kind, name = where
    if kind == "password":
        assert entry.password == fresh_secret
    elif kind == "field":
        assert entry.get_custom_property(name) == fresh_secret and entry.is_custom_property_protected(name)
    else:
        [attachment] = entry.attachments
        assert attachment.filename == name and attachment.data.decode() == fresh_secret
    assert fresh_key in (entry.username, entry.get_custom_property("API Key"), entry.get_custom_property("api_key"))
    if entry.get_custom_property("API Key"):  # the key's field as protected as it was
        assert entry.is_custom_property_protected("API Key") == before.is_custom_property_protected("API Key")
    [history] = entry.history
    assert find_credential(history) is not None
    assert (find_credential(history).api_key, find_credential(history).secret) == (old_key, old_secret)
    again = KeePassBackend(path).load()[label]
    assert (again.api_key, again.secret.strip()) == (fresh_key, fresh_secret.strip())


def test_a_database_with_a_key_file_and_no_password(tmp_path, monkeypatch):
    keyfile = write_keyfile(tmp_path / "only.keyx")
    path = tmp_path / "keys.kdbx"
    database = new_database(path, 4, keyfile, password=None)
    database.add_entry(database.root_group, "bot", *PAIRS[0])
    database.save()
    monkeypatch.delenv("KEYGUARD_KEEPASS_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO())  # no terminal, no password: the key file alone
    assert KeePassBackend(path, keyfile).load()["bot"].secret == PAIRS[0][1]
    monkeypatch.setenv("KEYGUARD_KEEPASS_PASSWORD", "")  # set empty: no password either
    with KeePassBackend(path, keyfile).edit() as entries:
        entries["two"] = new_entry("two", *PAIRS[1])
    assert reopen(path, keyfile, password=None).find_entries(title="two", first=True).password == PAIRS[1][1]
    monkeypatch.setenv("KEYGUARD_KEEPASS_PASSWORD", "a password it does not have")
    with pytest.raises(VaultError, match="wrong password or key file"):
        KeePassBackend(path, keyfile).load()
