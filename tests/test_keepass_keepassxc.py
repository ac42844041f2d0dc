"""Issue 18 with KeePassXC itself, where keepassxc-cli is installed (skipped elsewhere): a database KeePassXC made
(KDBX 3.1, AES-KDF with the rounds it measures for 100 ms in C), entries it added, an attachment it imported;
keyguard reads them, writes a new key and changes one, and KeePassXC reads back what keyguard wrote, history
included. Also: keyguard's AES-KDF gives pykeepass's own transformed key."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from lxml import etree
from pykeepass.kdbx_parsing.common import aes_kdf as pykeepass_aes_kdf
from test_keepass import ED25519, PAIRS, PASSWORD, add_keepassxc_entries, new_database, reopen

from conftest import isolated_env, keyguard_in, make_canaries
from keyguard.vault.aes_kdf import CHUNK_BLOCKS, aes_kdf, aes_kdf_parameters
from keyguard.vault.keepass import KeePassBackend
from keyguard.vault.store import new_entry

KEEPASSXC = shutil.which("keepassxc-cli")
ED25519_NEW = make_canaries(18).ed25519_pem


@pytest.mark.parametrize("rounds", [0, 1, 1000, CHUNK_BLOCKS, CHUNK_BLOCKS + 1, 3 * CHUNK_BLOCKS - 7])
def test_the_aes_kdf_gives_pykeepass_own_transformed_key(rounds):
    seed, composite = os.urandom(32), os.urandom(32)
    assert aes_kdf(seed, rounds, composite) == pykeepass_aes_kdf(seed, rounds, composite)


@pytest.mark.parametrize(
    "major, variant, rounds",
    [(3, "", 1000), (4, "aes256-aeskdf", 1000), (4, "aes256-argon2", None), (4, "chacha20-argon2id", None)],
)
def test_the_aes_kdf_settings_are_read_from_the_header(tmp_path, major, variant, rounds):
    path = tmp_path / "keys.kdbx"
    new_database(path, major, variant=variant or "aes256-argon2")  # KDBX 3.1: AES-KDF, whatever the variant
    found = aes_kdf_parameters(path.read_bytes())
    assert (found and found[1]) == rounds
    assert aes_kdf_parameters(b"not a KeePass file") is None


@pytest.fixture(autouse=True)
def _own_home(tmp_path, monkeypatch):
    """KeePassXC keeps its settings under HOME: a test's own."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)


def _keepassxc(*args: str, stdin: str = PASSWORD + "\n") -> str:
    done = subprocess.run([KEEPASSXC, *args], input=stdin, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.skipif(KEEPASSXC is None, reason="keepassxc-cli is not installed")
def test_keepassxc_reads_what_keyguard_wrote_into_its_database(tmp_path, monkeypatch):
    path, pem = tmp_path / "keepassxc.kdbx", tmp_path / "binance-ed25519.pem"
    pem.write_text(ED25519 + "\n")
    _keepassxc("db-create", "-q", "-p", "-t", "100", str(path), stdin=f"{PASSWORD}\n{PASSWORD}\n")
    _keepassxc("add", "-q", "-u", PAIRS[0][0], "-p", str(path), "quant-trading", stdin=f"{PASSWORD}\n{PAIRS[0][1]}\n")
    _keepassxc("add", "-q", "-u", PAIRS[4][0], str(path), "ed-bot")
    _keepassxc("attachment-import", "-q", str(path), "ed-bot", "binance-ed25519.pem", str(pem))
    _keepassxc("add", "-q", "-u", "me@example.com", "-p", str(path), "Gmail", stdin=f"{PASSWORD}\nnot-a-key\n")
    seed, rounds = aes_kdf_parameters(path.read_bytes())
    assert reopen(path).version == (3, 1) and rounds > 100_000  # what KeePassXC chose, not a test's cheap value

    env = {**isolated_env(tmp_path, KEYGUARD_KEEPASS_PASSWORD=PASSWORD), "KEYGUARD_VAULT": f"keepass:{path}"}
    listed = keyguard_in(env, "vault", "list")
    assert listed.returncode == 0, listed.stderr
    assert "quant-trading" in listed.stdout and "ed-bot" in listed.stdout and "Gmail" not in listed.stdout
    added = keyguard_in(env, "vault", "add", "new-bot", stdin=f"{PAIRS[9][0]}\n{PAIRS[9][1]}\n")
    assert added.returncode == 0, added.stderr
    monkeypatch.setenv("KEYGUARD_KEEPASS_PASSWORD", PASSWORD)
    with KeePassBackend(path).edit() as entries:  # what rotate does: the new key into the same entry
        entries["quant-trading"] = new_entry("quant-trading", *PAIRS[10])
        entries["ed-bot"] = new_entry("ed-bot", PAIRS[11][0], ED25519)

    shown = _keepassxc("show", "-q", "-s", "-a", "UserName", "-a", "Password", str(path), "quant-trading")
    assert shown.split() == list(PAIRS[10])
    assert _keepassxc("show", "-q", "-s", "-a", "Password", str(path), "new-bot").split() == [PAIRS[9][1]]
    attachment = _keepassxc("attachment-export", "-q", "--stdout", str(path), "ed-bot", "binance-ed25519.pem")
    assert attachment.strip() == ED25519.strip()
    exported = etree.fromstring(_keepassxc("export", "-q", "-f", "xml", str(path)).encode())
    [entry] = [
        e for e in exported.iter("Entry") if e.getparent().tag == "Group" and _field(e, "Title") == "quant-trading"
    ]
    [old] = entry.find("History").findall("Entry")
    assert (_field(old, "UserName"), _field(old, "Password")) == PAIRS[0]
    assert _keepassxc("show", "-q", "-s", "-a", "Password", str(path), "Gmail").split() == ["not-a-key"]


def _field(entry: etree._Element, key: str) -> str | None:
    for string in entry.findall("String"):
        if string.findtext("Key") == key:
            return string.findtext("Value")
    return None


@pytest.mark.skipif(KEEPASSXC is None, reason="keepassxc-cli is not installed")
@pytest.mark.parametrize("variant", ["aes256-argon2", "chacha20-argon2id"])
def test_keepassxc_reads_kdbx4_databases_keyguard_changed(tmp_path, monkeypatch, variant):
    path = tmp_path / "keys.kdbx"
    add_keepassxc_entries(new_database(path, 4, variant=variant))
    monkeypatch.setenv("KEYGUARD_KEEPASS_PASSWORD", PASSWORD)
    with KeePassBackend(path).edit() as entries:
        entries["Binance main"] = new_entry("Binance main", *PAIRS[10])
        entries["ed-bot"] = new_entry("ed-bot", PAIRS[11][0], ED25519_NEW)
        entries["new-bot"] = new_entry("new-bot", *PAIRS[9])
    main = (
        "show",
        "-q",
        "-s",
        "-a",
        "API Key",
        "-a",
        "Secret Key",
        "-a",
        "Password",
        str(path),
        "Exchanges/Binance main",
    )
    assert _keepassxc(*main).split() == [*PAIRS[10], "my-account-Passw0rd!"]
    attachment = _keepassxc("attachment-export", "-q", "--stdout", str(path), "ed-bot", "binance-ed25519.pem")
    assert attachment.strip() == ED25519_NEW.strip()
    exported = etree.fromstring(_keepassxc("export", "-q", "-f", "xml", str(path)).encode())
    [entry] = [
        e for e in exported.iter("Entry") if e.getparent().tag == "Group" and _field(e, "Title") == "Binance main"
    ]
    [old] = entry.find("History").findall("Entry")
    assert (_field(old, "API Key"), _field(old, "Secret Key")) == PAIRS[1]
    assert _keepassxc("show", "-q", "-s", "-a", "Password", str(path), "new-bot").split() == [PAIRS[9][1]]


@pytest.mark.skipif(KEEPASSXC is None, reason="keepassxc-cli is not installed")
def test_keepassxc_opens_a_database_keyguard_created(tmp_path):
    path = tmp_path / "new.kdbx"
    env = {**isolated_env(tmp_path, KEYGUARD_KEEPASS_PASSWORD=PASSWORD), "KEYGUARD_VAULT": f"keepass:{path}"}
    added = keyguard_in(env, "vault", "add", "first", stdin=f"{PAIRS[0][0]}\n{PAIRS[0][1]}\n")
    assert added.returncode == 0, added.stderr
    shown = _keepassxc("show", "-q", "-s", "-a", "UserName", "-a", "Password", str(path), "first")
    assert shown.split() == list(PAIRS[0])
