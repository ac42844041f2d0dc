"""Issue 18 through the real CLI: every command that uses the vault works on a KeePass database chosen with
KEYGUARD_VAULT=keepass:PATH or --vault, against the real sandbox where Binance is needed; what keyguard writes
is read back with pykeepass alone; no secret in any output."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from test_keepass import ED25519, PAIRS, PASSWORD, add_keepassxc_entries, new_database, reopen, write_keyfile

from conftest import isolated_env
from conftest import keyguard_in as keyguard
from keyguard.sandbox.scenario import build_scenario
from keyguard.sandbox.server import SandboxServer


class Sandbox:
    def __init__(self, base_url: str, credentials: dict[str, dict]) -> None:
        self.base_url = base_url
        self.credentials = credentials

    def admin(self, path: str, body: dict | None = None) -> None:
        requests.post(f"{self.base_url}/_sandbox/{path}", json=body or {}, timeout=10).raise_for_status()

    def secret(self, name: str) -> str:
        entry = self.credentials[name]
        return entry.get("secret") or entry["private_key_pem"]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    built = build_scenario("clean")
    with SandboxServer(built.exchange).running() as server:
        yield Sandbox(server.base_url, {entry["label"]: entry for entry in built.credentials})


def _env(tmp_path: Path, database: Path, **extra: str) -> dict[str, str]:
    env = isolated_env(tmp_path, KEYGUARD_VAULT=f"keepass:{database}", KEYGUARD_KEEPASS_PASSWORD=PASSWORD, **extra)
    env.pop("KEYGUARD_KEEPASS_KEYFILE", None)
    return {**env, "NO_COLOR": "1"}


def _clean(text: str, *secrets: str) -> None:
    assert "Traceback" not in text
    for secret in secrets:
        assert secret not in text


def _sandbox_database(tmp_path: Path, sandbox: Sandbox, labels: dict[str, str]) -> Path:
    """A KDBX 4 database holding sandbox keys as KeePassXC users keep them: the key in "API Key", the HMAC secret
    in "Secret Key" (a private key in "Private Key"), the Binance login in username/password."""
    database = new_database(tmp_path / "keys.kdbx", 4)
    for title, name in labels.items():
        entry = database.add_entry(database.root_group, title, "me@example.com", "my-account-Passw0rd!")
        entry.set_custom_property("API Key", sandbox.credentials[name]["api_key"])
        secret = sandbox.secret(name)
        entry.set_custom_property("Private Key" if "PRIVATE KEY" in secret else "Secret Key", secret, protect=True)
    database.save()
    return tmp_path / "keys.kdbx"


def test_vault_add_list_remove_with_the_vault_option_and_a_key_file(tmp_path):
    keyfile = write_keyfile(tmp_path / "db.keyx")
    path = tmp_path / "keys.kdbx"
    expected = add_keepassxc_entries(new_database(path, 3, keyfile))
    env = isolated_env(tmp_path, KEYGUARD_KEEPASS_PASSWORD=PASSWORD, NO_COLOR="1")
    vault = ("--vault", f"keepass:{path}?keyfile={keyfile}")
    listed = keyguard(env, *vault, "vault", "list")
    assert listed.returncode == 0, listed.stderr
    for label in expected:
        assert label in listed.stdout
    assert "Gmail" not in listed.stdout and "old-bot" not in listed.stdout
    why = "not read: half-made: the API key must be exactly 64 letters and digits (A-Z, a-z, 0-9); this one has 20"
    assert why in " ".join(listed.stdout.split())  # meant as a key, and told why it is not one
    added = keyguard(env, *vault, "vault", "add", "new-bot", stdin=f"{PAIRS[9][0]}\n{PAIRS[9][1]}\n")
    assert added.returncode == 0 and "stored new-bot" in added.stdout and "KeePass database" in added.stdout, added
    by_env = {**env, "KEYGUARD_VAULT": f"keepass:{path}", "KEYGUARD_KEEPASS_KEYFILE": str(keyfile)}
    removed = keyguard(by_env, "vault", "remove", "grid-bot")
    assert removed.returncode == 0, removed.stderr
    database = reopen(path, keyfile)
    assert database.version == (3, 1)
    entry = database.find_entries(title="new-bot", first=True)
    assert (entry.username, entry.password) == PAIRS[9]
    assert database.find_entries(title="grid-bot", first=True).group.name == "Recycle Bin"
    assert not (tmp_path / "vault.enc").exists()  # the file vault was never touched
    for done in (listed, added, removed):
        _clean(done.stdout + done.stderr, *PAIRS.secrets(), PASSWORD)


def test_vault_add_creates_a_kdbx4_database_when_there_is_none(tmp_path):
    path = tmp_path / "new.kdbx"
    env = _env(tmp_path, path)
    added = keyguard(env, "vault", "add", "first", stdin=f"{PAIRS[0][0]}\n{PAIRS[0][1]}\n")
    assert added.returncode == 0, added.stderr
    database = reopen(path)
    assert database.version == (4, 0) and oct(path.stat().st_mode & 0o777) == "0o600"
    entry = database.find_entries(title="first", first=True)
    assert (entry.username, entry.password) == PAIRS[0]
    again = keyguard(env, "vault", "add", "ed", stdin=f"{PAIRS[1][0]}\n{ED25519}\n")
    assert again.returncode == 0, again.stderr
    assert reopen(path).find_entries(title="ed", first=True).get_custom_property("private_key") == ED25519
    _clean(added.stdout + added.stderr + again.stdout + again.stderr, *PAIRS.secrets(), PASSWORD)


def test_run_gives_a_keepass_entrys_key_to_the_tool(tmp_path):
    path = tmp_path / "keys.kdbx"
    add_keepassxc_entries(new_database(path, 4))
    probe = tmp_path / "env.py"
    probe.write_text("import json, os, sys\njson.dump(dict(os.environ), open(sys.argv[1], 'w'))\n")
    for label, (key, secret) in (("Binance main", PAIRS[1]), ("ed-bot", (PAIRS[4][0], ED25519))):
        done = keyguard(
            _env(tmp_path, path), "run", "--key", label, "--", sys.executable, str(probe), str(tmp_path / "e")
        )
        assert done.returncode == 0, done.stderr
        env = json.loads((tmp_path / "e").read_text())
        assert env["BINANCE_API_KEY"] == key
        assert any(value.strip() == secret.strip() for value in env.values())
        assert not [name for name in env if name.startswith("KEYGUARD_")]  # no KeePass password passed on


def test_migrate_moves_plaintext_keys_into_the_keepass_database(tmp_path):
    path = tmp_path / "keys.kdbx"
    add_keepassxc_entries(new_database(path, 4))
    bot = tmp_path / "bot"
    bot.mkdir()
    (bot / ".env").write_text(f"BINANCE_API_KEY={PAIRS[10][0]}\nBINANCE_API_SECRET={PAIRS[10][1]}\n")
    done = keyguard(_env(tmp_path, path), "migrate", str(bot), "--apply", "--label-prefix", "grid")
    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert PAIRS[10][0] not in (bot / ".env").read_text()
    [entry] = [e for e in reopen(path).entries if e.username == PAIRS[10][0]]
    assert entry.password == PAIRS[10][1] and entry.title.startswith("grid")
    assert reopen(path).find_entries(title="Gmail", first=True).password == "another-Passw0rd"
    _clean(done.stdout + done.stderr, PAIRS[10][1])


def test_verify_and_incident_take_their_keys_from_keepass(sandbox, tmp_path):
    path = _sandbox_database(tmp_path, sandbox, {"bot": "victim-bot", "reader": "victim-rsa"})
    env = _env(tmp_path, path, KEYGUARD_BINANCE_URL=sandbox.base_url)
    verified = keyguard(env, "verify", "--key", "bot")
    assert verified.returncode in (0, 1), verified.stdout + verified.stderr
    assert "live" in verified.stdout.lower()
    case = tmp_path / "case"
    incident = keyguard(
        env, "incident", "--key", "bot", "--audit-key", "reader", "--yes", "--wait-dead", "0", "--out", str(case)
    )
    assert incident.returncode in (0, 1), incident.stdout + incident.stderr
    assert (case / "report.html").exists()
    missing = keyguard(env, "incident", "--key", "nobody", "--yes", "--wait-dead", "0", "--out", str(tmp_path / "c2"))
    assert missing.returncode == 2 and "no nobody in the vault" in missing.stderr
    secrets = [sandbox.secret(name) for name in ("victim-bot", "victim-rsa")]
    for done in (verified, incident, missing):
        _clean(done.stdout + done.stderr, *secrets, PASSWORD)


def test_watch_takes_its_guardian_key_from_keepass(sandbox, tmp_path):
    sandbox.admin("keys/victim-withdraw", {"permissions": ["universal_transfer"], "ip_whitelist": ["127.0.0.1"]})
    path = _sandbox_database(tmp_path, sandbox, {"victim": "victim-bot", "guardian": "victim-withdraw"})
    env = _env(tmp_path, path)
    base = ("watch", "--key", "victim", "--base-url", sandbox.base_url, "--contain", "sweep-to-funding")
    unfit = keyguard(env, *base, "--guardian-key", "victim", "--duration", "1")
    assert unfit.returncode == 2 and "the guardian key victim is unfit" in unfit.stderr, unfit.stdout + unfit.stderr
    watched = keyguard(env, *base, "--guardian-key", "guardian", "--duration", "2")
    assert watched.returncode == 0, watched.stdout + watched.stderr
    secrets = [sandbox.secret(name) for name in ("victim-bot", "victim-withdraw")]
    _clean(unfit.stdout + unfit.stderr + watched.stdout + watched.stderr, *secrets, PASSWORD)


def _rotation(sandbox: Sandbox, tmp_path: Path) -> tuple[Path, dict[str, str], str]:
    path = _sandbox_database(tmp_path, sandbox, {"grid": "victim-bot"})
    env = _env(tmp_path, path, KEYGUARD_BINANCE_URL=sandbox.base_url)
    old = sandbox.credentials["victim-bot"]
    keys = ("keys", "add", "--label", "grid", "--tool", "grid-bot", "--profile", "spot-trading", "--ips", "127.0.0.1")
    added = keyguard({**env, "BINANCE_API_KEY": old["api_key"], "BINANCE_API_SECRET": old["secret"]}, *keys)
    assert added.returncode == 0, added.stdout + added.stderr
    sandbox.admin("keys/victim-ed25519", {"permissions": ["spot"]})
    new = sandbox.credentials["victim-ed25519"]
    return path, env, f"{new['api_key']}\n{new['private_key_pem']}\n"


def test_rotate_writes_the_new_key_into_the_same_entry_and_keeps_the_old_in_its_history(sandbox, tmp_path):
    path, env, pasted = _rotation(sandbox, tmp_path)
    uuid = reopen(path).find_entries(title="grid", first=True).uuid
    threading.Timer(2, lambda: sandbox.admin("keys/victim-bot/delete")).start()
    done = keyguard(env, "rotate", "grid", "--wait-dead", "30", stdin=pasted)
    assert done.returncode == 0 and "rotation of grid complete" in done.stdout, done.stdout + done.stderr
    database = reopen(path)
    [entry] = database.find_entries(title="grid")
    new, old = sandbox.credentials["victim-ed25519"], sandbox.credentials["victim-bot"]
    assert entry.uuid == uuid and entry.get_custom_property("API Key") == new["api_key"]
    assert entry.get_custom_property("private_key").strip() == new["private_key_pem"].strip()
    assert entry.get_custom_property("Secret Key") is None and entry.username == "me@example.com"
    [history] = entry.history
    assert history.get_custom_property("API Key") == old["api_key"]
    assert history.get_custom_property("Secret Key") == old["secret"]
    assert not database.find_entries(title="grid.old")  # no second entry: KeePass keeps the old key in history
    _clean(done.stdout + done.stderr, old["secret"], new["private_key_pem"][40:80], PASSWORD)


def test_rotate_with_the_old_key_alive_says_it_is_in_the_entrys_history(sandbox, tmp_path):
    path, env, pasted = _rotation(sandbox, tmp_path)
    waited = keyguard(env, "rotate", "grid", "--wait-dead", "2", stdin=pasted)
    assert waited.returncode == 1, waited.stdout + waited.stderr
    assert "it stays in the history of the entry grid" in " ".join(waited.stdout.split())
    [entry] = reopen(path).find_entries(title="grid")
    assert len(entry.history) == 1 and not reopen(path).find_entries(title="grid.old")
    assert "grid.old" not in keyguard(env, "vault", "list").stdout


def test_the_file_vault_is_unchanged_without_a_keepass_choice(tmp_path):
    env = isolated_env(tmp_path, KEYGUARD_VAULT_PASSPHRASE="pass", NO_COLOR="1")
    env.pop("KEYGUARD_VAULT", None)
    added = keyguard(env, "vault", "add", "plain", stdin=f"{PAIRS[0][0]}\n{PAIRS[0][1]}\n")
    assert added.returncode == 0 and "encrypted file" in added.stdout, added.stdout + added.stderr
    assert (tmp_path / "vault.enc").exists() and not list(tmp_path.glob("*.kdbx"))
    chosen = keyguard({**env, "KEYGUARD_VAULT": f"keepass:{tmp_path}/none.kdbx"}, "--vault", "file", "vault", "list")
    assert chosen.returncode == 0 and "plain" in chosen.stdout, chosen.stderr  # the option wins over the variable
    unknown = keyguard(env, "--vault", "lastpass:x", "vault", "list")
    assert unknown.returncode == 2 and "unknown vault 'lastpass:x'" in unknown.stderr
