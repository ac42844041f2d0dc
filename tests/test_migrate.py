"""keyguard migrate: plaintext pairs go into the vault once, code reads the environment in its own language, every
other place a value is gets listed, and a pair in git history is named leaked."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from conftest import commit_files, git, isolated_env, make_canaries
from keyguard.vault.store import FileBackend


def _keyguard(env, cwd, *args) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keyguard", *args],
        env={**env, "COLUMNS": "200", "NO_COLOR": "1"},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _entries(tmp_path: Path, monkeypatch) -> list:
    monkeypatch.setenv("KEYGUARD_VAULT_PASSPHRASE", "pass")
    return list(FileBackend(tmp_path / "vault.enc").load().values())


def _no_secret_in(outputs, *secrets: str) -> None:
    for text in outputs:
        for secret in secrets:
            assert secret not in text


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file() and ".git" not in p.parts
    }


def test_migrate_dry_run_then_apply(tmp_path, canaries, monkeypatch):
    monkeypatch.setenv("KEYGUARD_VAULT_PASSPHRASE", "pass")
    env = isolated_env(tmp_path)
    bot = tmp_path / "grid"
    bot.mkdir()
    git("init", "-q", cwd=bot)
    other = make_canaries(71)
    (bot / ".env").write_text(
        f"# keys\nBINANCE_API_KEY={canaries.key}\nBINANCE_API_SECRET={canaries.secret}\nDEBUG=1\n"
    )
    config = {"max_open_trades": 3, "exchange": {"name": "binance", "key": other.key, "secret": other.secret}}
    (bot / "config.json").write_text(json.dumps(config, indent=4))
    (bot / ".gitignore").write_text(".env\n")
    before = {p.name: p.read_text() for p in bot.iterdir() if p.is_file()}
    dry = _keyguard(env, tmp_path, "migrate", "grid")
    assert dry.returncode == 0 and "dry run" in dry.stdout and "grid-1" in dry.stdout
    assert {p.name: p.read_text() for p in bot.iterdir() if p.is_file()} == before
    done = _keyguard(env, tmp_path, "migrate", "grid", "--apply")
    assert done.returncode == 0, done.stderr
    assert "keyguard run --key grid-" in done.stdout and "--env-style freqtrade" in done.stdout
    assert "config.json is not git-ignored" in done.stdout and ".env is not git-ignored" not in done.stdout
    assert (bot / ".env").read_text() == "# keys\nDEBUG=1\n"
    migrated = json.loads((bot / "config.json").read_text())
    assert migrated["exchange"] == {"name": "binance", "key": "", "secret": ""}
    assert migrated["max_open_trades"] == 3
    for path in tmp_path.rglob("*"):  # no plaintext copy anywhere, the vault file is encrypted
        if path.is_file() and ".git" not in path.parts:
            text = path.read_text(errors="replace")
            for secret in (canaries.secret, other.secret, canaries.key, other.key):
                assert secret not in text, path
    entries = FileBackend(tmp_path / "vault.enc").load()
    assert sorted((e.api_key, e.secret) for e in entries.values()) == sorted(
        [(canaries.key, canaries.secret), (other.key, other.secret)]
    )
    for text in (dry.stdout, done.stdout, done.stderr):
        assert canaries.secret not in text and other.secret not in text
    assert _keyguard(env, tmp_path, "scan", "grid", "--no-history").returncode == 0  # nothing left to find


# A stand-in for python-binance's Client: prints what it was given as hashes, so the test sees what the bot read.
STUB_CLIENT = """import hashlib


class Client:
    def __init__(self, api_key, api_secret):
        print("key", hashlib.sha256(api_key.encode()).hexdigest())
        print("secret", hashlib.sha256(api_secret.encode()).hexdigest())
"""


def _grid_bot(tmp_path: Path, canaries) -> Path:
    """A Python bot on python-binance's Client (a stand-in printing hashes), its .env and its freqtrade config."""
    bot = tmp_path / "grid"
    (bot / "binance").mkdir(parents=True)
    git("init", "-q", cwd=bot)
    (bot / "binance" / "__init__.py").write_text("")
    (bot / "binance" / "client.py").write_text(STUB_CLIENT)
    (bot / ".env").write_text(f"BINANCE_API_KEY={canaries.key}\nBINANCE_API_SECRET={canaries.secret}\nDEBUG=1\n")
    (bot / "bot.py").write_text(
        '"""Grid bot on Binance."""\n\nfrom __future__ import annotations\n\nfrom binance.client import Client\n\n'
        f'client = Client("{canaries.key}", "{canaries.secret}")\n'
    )
    config = {"exchange": {"name": "binance", "key": canaries.key, "secret": canaries.secret}, "dry_run": True}
    (bot / "config.json").write_text(json.dumps(config, indent=4) + "\n")
    (bot / "bot.py").chmod(0o750)
    return bot


def test_one_pair_in_env_bot_and_freqtrade_config_is_one_vault_entry(tmp_path, canaries, monkeypatch):
    """Was: stored three times, and "bot.py is not git-ignored: add it to .gitignore"."""
    env = isolated_env(tmp_path)
    bot = _grid_bot(tmp_path, canaries)
    done = _keyguard(env, tmp_path, "migrate", "grid", "--apply")
    assert [(e.label, e.api_key, e.secret) for e in _entries(tmp_path, monkeypatch)] == [
        ("grid-1", canaries.key, canaries.secret)
    ]
    assert "config.json is not git-ignored" in done.stdout and "bot.py is not git-ignored" not in done.stdout
    assert not [line for line in done.stdout.splitlines() if "bot.py" in line and "gitignore" in line]
    assert done.returncode == 0, done.stdout + done.stderr
    assert (bot / ".env").read_text() == "DEBUG=1\n"
    assert json.loads((bot / "config.json").read_text())["exchange"] == {"name": "binance", "key": "", "secret": ""}
    assert "keyguard run --key grid-1 -- python grid/bot.py" in done.stdout
    assert "keyguard run --key grid-1 --env-style freqtrade -- freqtrade trade -c grid/config.json" in done.stdout
    _no_secret_in([done.stdout, done.stderr], canaries.key, canaries.secret)
    again = _keyguard(env, tmp_path, "migrate", "grid", "--apply")  # nothing left: nothing stored twice
    assert again.returncode == 0 and "no plaintext key pairs found" in again.stdout
    assert len(_entries(tmp_path, monkeypatch)) == 1


def test_python_bot_reads_os_environ_and_still_runs(tmp_path, canaries):
    """Was: Client("${BINANCE_API_KEY}", …): Python does not expand that, the bot broke."""
    env = isolated_env(tmp_path)
    bot = _grid_bot(tmp_path, canaries)
    done = _keyguard(env, tmp_path, "migrate", "grid", "--apply")
    assert done.returncode == 0, done.stdout + done.stderr
    text = (bot / "bot.py").read_text()
    assert 'Client(os.environ["BINANCE_API_KEY"], os.environ["BINANCE_API_SECRET"])' in text
    assert text.index("from __future__") < text.index("import os\n") < text.index("from binance")
    assert (bot / "bot.py").stat().st_mode & 0o777 == 0o750
    ran = subprocess.run(
        [sys.executable, "bot.py"],
        cwd=bot,
        env={**env, "BINANCE_API_KEY": canaries.key, "BINANCE_API_SECRET": canaries.secret},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["key", _sha(canaries.key), "secret", _sha(canaries.secret)]


JS_BOT = """// Binance grid bot
const crypto = require("crypto");
const hash = (value) => crypto.createHash("sha256").update(String(value)).digest("hex");
const options = {{
  APIKEY: "{key}",
  APISECRET: '{secret}',
}};
console.log("key", hash(options.APIKEY));
console.log("secret", hash(options.APISECRET));
"""


def test_javascript_bot_reads_process_env(tmp_path, canaries):
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the rewritten bot cannot be run")
    env = isolated_env(tmp_path)
    bot = tmp_path / "jsbot"
    bot.mkdir()
    (bot / "bot.js").write_text(JS_BOT.format(key=canaries.key, secret=canaries.secret))
    done = _keyguard(env, tmp_path, "migrate", "jsbot", "--apply")
    assert done.returncode == 0, done.stdout + done.stderr
    text = (bot / "bot.js").read_text()
    assert "APIKEY: process.env.BINANCE_API_KEY,\n  APISECRET: process.env.BINANCE_API_SECRET," in text
    assert "keyguard run --key jsbot-1 -- node jsbot/bot.js" in done.stdout
    node_env = {**env, "BINANCE_API_KEY": canaries.key, "BINANCE_API_SECRET": canaries.secret}
    ran = subprocess.run(["node", "bot.js"], cwd=bot, env=node_env, capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["key", _sha(canaries.key), "secret", _sha(canaries.secret)]


JAVA_BOT = """import java.math.BigInteger;
import java.security.MessageDigest;

public class Bot {{
    // Binance spot connector credentials
    private static final String API_KEY = "{key}";
    private static final String SECRET_KEY = "{secret}";

    static String hash(String value) throws Exception {{
        byte[] digest = MessageDigest.getInstance("SHA-256").digest(value.getBytes("UTF-8"));
        return String.format("%064x", new BigInteger(1, digest));
    }}

    public static void main(String[] args) throws Exception {{
        System.out.println("key " + hash(API_KEY));
        System.out.println("secret " + hash(SECRET_KEY));
    }}
}}
"""


def test_java_bot_reads_system_getenv(tmp_path, canaries):
    if shutil.which("javac") is None or shutil.which("java") is None:
        pytest.skip("no JDK (javac, java): the rewritten bot cannot be compiled")
    env = isolated_env(tmp_path)
    bot = tmp_path / "javabot"
    bot.mkdir()
    (bot / "Bot.java").write_text(JAVA_BOT.format(key=canaries.key, secret=canaries.secret))
    done = _keyguard(env, tmp_path, "migrate", "javabot", "--apply")
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'API_KEY = System.getenv("BINANCE_API_KEY");' in (bot / "Bot.java").read_text()
    subprocess.run(["javac", "Bot.java"], cwd=bot, check=True, capture_output=True, timeout=120)
    java_env = {**env, "BINANCE_API_KEY": canaries.key, "BINANCE_API_SECRET": canaries.secret}
    ran = subprocess.run(["java", "Bot"], cwd=bot, env=java_env, capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["key", _sha(canaries.key), "secret", _sha(canaries.secret)]


def test_code_is_rewritten_in_its_own_language(tmp_path, canaries):
    """Go, C#, PHP, TypeScript and docker compose: the exact rewrite (no compilers here for them)."""
    env = isolated_env(tmp_path)
    k, s = canaries.key, canaries.secret
    sources = {
        "main.go": (
            f'package main\n\nimport (\n\t"fmt"\n)\n\nfunc main() {{\n\tclient := binance.NewClient("{k}", "{s}")\n'
            "\tfmt.Println(client)\n}\n",
            'package main\n\nimport (\n\t"os"\n\t"fmt"\n)\n\nfunc main() {\n'
            '\tclient := binance.NewClient(os.Getenv("BINANCE_API_KEY"), os.Getenv("BINANCE_API_SECRET"))\n'
            "\tfmt.Println(client)\n}\n",
        ),
        "Program.cs": (
            f'using Binance.Net.Clients;\n\nvar credentials = new ApiCredentials("{k}", "{s}");\n',
            "using System;\nusing Binance.Net.Clients;\n\nvar credentials = new ApiCredentials("
            'Environment.GetEnvironmentVariable("BINANCE_API_KEY"), '
            'Environment.GetEnvironmentVariable("BINANCE_API_SECRET"));\n',
        ),
        "bot.php": (
            f"<?php\n$client = new \\Binance\\Spot(['key' => '{k}', 'secret' => \"{s}\"]);\n",
            "<?php\n$client = new \\Binance\\Spot(['key' => getenv('BINANCE_API_KEY'), "
            "'secret' => getenv('BINANCE_API_SECRET')]);\n",
        ),
        "bot.ts": (
            'import Binance from "binance-api-node";\n'
            f'const client = Binance({{\n  apiKey: "{k}", apiSecret: `{s}` }});\n',
            'import Binance from "binance-api-node";\nconst client = Binance({\n'
            "  apiKey: process.env.BINANCE_API_KEY!, apiSecret: process.env.BINANCE_API_SECRET! });\n",
        ),
        "docker-compose.yml": (
            f"services:\n  bot:\n    image: grid\n    environment:\n      BINANCE_API_KEY: {k}\n"
            f'      - "BINANCE_API_SECRET={s}"\n',
            "services:\n  bot:\n    image: grid\n    environment:\n      BINANCE_API_KEY: ${BINANCE_API_KEY}\n"
            '      - "BINANCE_API_SECRET=${BINANCE_API_SECRET}"\n',
        ),
    }
    for name, (before, _) in sources.items():
        folder = tmp_path / name.replace(".", "_")
        folder.mkdir()
        (folder / name).write_text(before)
        done = _keyguard(env, tmp_path, "migrate", folder.name, "--apply")
        assert done.returncode == 0, name + done.stdout + done.stderr
        assert f"fixed: {folder.name}/{name}:" in done.stdout
        _no_secret_in([done.stdout, done.stderr], k, s)
    for name, (_, after) in sources.items():
        assert (tmp_path / name.replace(".", "_") / name).read_text() == after, name


def test_unsafe_rewrites_are_left_whole_with_exact_instructions(tmp_path, canaries):
    """A C# const cannot call a method, keyguard does not rewrite Ruby, a value inside a longer string stays."""
    env = isolated_env(tmp_path)
    k, s = canaries.key, canaries.secret
    bot = tmp_path / "bots"
    bot.mkdir()
    (bot / "Keys.cs").write_text(
        f'public static class Keys\n{{\n    public const string BinanceApiKey = "{k}";\n'
        f'    public const string BinanceApiSecret = "{s}";\n}}\n'
    )
    (bot / "bot.rb").write_text(f'require "binance"\nclient = Binance::Spot.new(key: "{k}", secret: "{s}")\n')
    (bot / "settings.yaml").write_text(f"exchange:\n  name: binance\n  api_key: {k}\n  api_secret: {s}\n")
    before = _files(bot)
    done = _keyguard(env, tmp_path, "migrate", "bots", "--apply")
    assert done.returncode == 1, done.stdout + done.stderr  # something is still there
    assert _files(bot) == before
    out = done.stdout
    assert "still here: bots/Keys.cs:3 (a C# const" in out
    assert 'replace the literal by hand with Environment.GetEnvironmentVariable("BINANCE_API_KEY")' in out
    assert (
        "still here: bots/bot.rb:2 (keyguard does not rewrite .rb files: replace the values by hand with "
        'ENV.fetch("BINANCE_API_KEY") and ENV.fetch("BINANCE_API_SECRET")' in out
    )
    assert "still here: bots/settings.yaml:3-4 (keyguard cannot tell whether the program reading settings.yaml" in out
    assert "keyguard run --key bots-1" in out
    _no_secret_in([out, done.stderr], k, s)


def test_rsa_pem_with_escaped_newlines_in_json_is_removed(tmp_path, canaries, monkeypatch):
    """Was: the PEM (written with \\n escapes) stayed in the JSON while the output said "moved"."""
    env = isolated_env(tmp_path)
    bot = tmp_path / "rsabot"
    bot.mkdir()
    config = {"binance": {"api_key": canaries.key, "private_key": canaries.rsa_pem + "\n", "testnet": False}}
    (bot / "settings.json").write_text(json.dumps(config, indent=2) + "\n")
    assert "\\n" in (bot / "settings.json").read_text()
    done = _keyguard(env, tmp_path, "migrate", "rsabot", "--apply")
    assert done.returncode == 0, done.stdout + done.stderr
    text = (bot / "settings.json").read_text()
    body = "".join(canaries.rsa_pem.splitlines()[1:-1])
    assert "PRIVATE KEY" not in text and body[:40] not in text and canaries.key not in text
    assert json.loads(text) == {"binance": {"api_key": "", "private_key": "", "testnet": False}}
    (entry,) = _entries(tmp_path, monkeypatch)
    assert entry.api_key == canaries.key
    assert load_pem_private_key(entry.secret.encode(), None).key_size == 2048
    assert "--env-style BINANCE_API_KEY,BINANCE_PRIVATE_KEY" in done.stdout
    _no_secret_in([done.stdout, done.stderr], canaries.key, body[:40], body[-40:])


def _telegram_export(key: str, secret: str) -> dict:
    message = f"here is the binance api key {key} and the secret {secret}"
    return {"name": "Grid team", "type": "private_group", "id": 1, "messages": [
        {"id": 7, "type": "message", "date": "2026-11-20T10:00:00", "from": "Bob", "text": message}
    ]}  # fmt: skip


def test_archive_chat_export_and_kubernetes_secret_are_listed_as_still_here(tmp_path, canaries, monkeypatch):
    """Was: pairs in a zip, a chat export and a Kubernetes Secret were never mentioned."""
    env = isolated_env(tmp_path)
    k, s = canaries.key, canaries.secret
    bot = tmp_path / "ops"
    bot.mkdir()
    (bot / ".env").write_text(f"BINANCE_API_KEY={k}\nBINANCE_API_SECRET={s}\n")
    with zipfile.ZipFile(bot / "backup.zip", "w") as archive:
        archive.writestr("old/.env", f"BINANCE_API_KEY={k}\nBINANCE_API_SECRET={s}\n")
    (bot / "result.json").write_text(json.dumps(_telegram_export(k, s), indent=1))
    encoded = {name: base64.b64encode(value.encode()).decode() for name, value in (("k", k), ("s", s))}
    (bot / "secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: binance-keys\ntype: Opaque\ndata:\n"
        f"  BINANCE_API_KEY: {encoded['k']}\n  BINANCE_API_SECRET: {encoded['s']}\n"
    )
    kept = {name: (bot / name).read_bytes() for name in ("backup.zip", "result.json", "secret.yaml")}
    done = _keyguard(env, tmp_path, "migrate", "ops", "--apply")
    assert done.returncode == 1, done.stdout + done.stderr  # not all of it could be moved
    out = done.stdout
    assert "fixed: ops/.env:1-2 (the line is removed)" in out
    assert "still here: ops/backup.zip!old/.env:1-2 (inside the archive ops/backup.zip" in out
    assert "still here: ops/result.json:" in out and "(a chat message (telegram 'Grid team' message 7 by Bob" in out
    assert "still here: ops/secret.yaml:7-8 (base64 in a Kubernetes Secret" in out
    assert "kubectl create secret generic binance-keys" in out
    assert "sent in a chat" in out and "keyguard incident --key ops-1" in out  # shared in a chat: leaked
    assert {name: (bot / name).read_bytes() for name in kept} == kept
    assert len(_entries(tmp_path, monkeypatch)) == 1
    _no_secret_in([out, done.stderr], k, s, encoded["k"], encoded["s"])


def test_pair_committed_and_pushed_is_named_leaked_with_keyguard_incident(tmp_path, canaries, monkeypatch):
    """Was: nothing said the pair is in git history: moved, it still has to be rotated."""
    env = isolated_env(tmp_path)
    remote = tmp_path / "remote.git"
    git("init", "-q", "--bare", str(remote), cwd=tmp_path)
    bot = tmp_path / "bot"
    bot.mkdir()
    git("init", "-q", "-b", "main", cwd=bot)
    source = f'from binance.client import Client\n\nclient = Client("{canaries.key}", "{canaries.secret}")\n'
    commit = commit_files(bot, "bot", **{"bot.py": source})
    git("remote", "add", "origin", str(remote), cwd=bot)
    git("push", "-q", "origin", "main", cwd=bot)

    dry = _keyguard(env, tmp_path, "migrate", "bot")
    assert dry.returncode == 0 and "dry run" in dry.stdout
    assert "LEAKED" in dry.stdout and "after --apply: keyguard incident --key bot-1" in dry.stdout
    done = _keyguard(env, tmp_path, "migrate", "bot", "--apply")
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert "fixed: bot/bot.py:3" in out
    assert f"still here: bot/bot.py:3 (in git history, commit {commit[:10]}" in out
    assert f"bot/bot.py is in git history (commit {commit[:10]}, pushed to a remote)" in out
    assert out.strip().splitlines()[-1] == "LEAKED: bot-1 — rotate it, next step: keyguard incident --key bot-1"
    assert [e.label for e in _entries(tmp_path, monkeypatch)] == ["bot-1"]  # incident --key finds it
    _no_secret_in([dry.stdout, out, done.stderr], canaries.key, canaries.secret)


def test_vault_that_cannot_be_written_leaves_every_file_whole(tmp_path, canaries, monkeypatch):
    monkeypatch.setenv("KEYGUARD_VAULT_PASSPHRASE", "pass")
    FileBackend(tmp_path / "vault.enc").save({})
    env = isolated_env(tmp_path, KEYGUARD_VAULT_PASSPHRASE="not the passphrase")
    bot = tmp_path / "bot"
    bot.mkdir()
    (bot / ".env").write_text(f"BINANCE_API_KEY={canaries.key}\nBINANCE_API_SECRET={canaries.secret}\n")
    (bot / "bot.py").write_text(
        f'from binance.client import Client\nc = Client("{canaries.key}", "{canaries.secret}")\n'
    )
    before = _files(bot)
    done = _keyguard(env, tmp_path, "migrate", "bot", "--apply")
    assert done.returncode == 2 and "no file was changed" in done.stderr
    assert _files(bot) == before
    assert sorted(os.listdir(bot)) == [".env", "bot.py"]  # no temporary file left behind
