"""Shared fixtures: synthetic Binance-shaped canaries and helpers to run the real CLI."""

from __future__ import annotations

import os
import random
import string
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

ALNUM = string.ascii_letters + string.digits
ENGINES = ["hyperscan", "re"]


def random_token(rng: random.Random) -> str:
    """A 64-character token drawn like a real Binance key (uniform over [A-Za-z0-9])."""
    return "".join(rng.choice(ALNUM) for _ in range(64))


@dataclass(frozen=True)
class Canaries:
    key: str
    secret: str
    hex64: str
    ed25519_pem: str
    rsa_pem: str
    encrypted_pem: str

    def macros(self) -> dict[str, str]:
        return {
            "KEY": self.key,
            "SECRET": self.secret,
            "HEX64": self.hex64,
            "ED25519_PEM": self.ed25519_pem,
            "ED25519_PEM_ESCAPED": self.ed25519_pem.replace("\n", "\\n"),
            "RSA_PEM": self.rsa_pem,
            "ENCRYPTED_PEM": self.encrypted_pem,
        }

    def fill(self, template: str) -> str:
        for name, value in self.macros().items():
            template = template.replace("{" + name + "}", value)
        return template

    def secrets(self) -> list[str]:
        """Values that must never appear in clear in any output."""
        pem_bodies = [
            "".join(p.strip().splitlines()[1:-1]) for p in (self.ed25519_pem, self.rsa_pem, self.encrypted_pem)
        ]
        return [self.key, self.secret, *pem_bodies]


def _pem(private_key, encryption=None) -> str:
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        encryption or serialization.NoEncryption(),
    ).decode()


@cache
def make_canaries(seed: int = 7) -> Canaries:
    rng = random.Random(seed)
    return Canaries(
        key=random_token(rng),
        secret=random_token(rng),
        hex64="".join(rng.choice("0123456789abcdef") for _ in range(64)),
        ed25519_pem=_pem(ed25519.Ed25519PrivateKey.generate()).strip(),
        rsa_pem=_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)).strip(),
        encrypted_pem=_pem(
            ed25519.Ed25519PrivateKey.generate(), serialization.BestAvailableEncryption(b"correct horse")
        ).strip(),
    )


@pytest.fixture(scope="session", autouse=True)
def _own_caches(tmp_path_factory: pytest.TempPathFactory):
    """keyguard's OCR verdicts, mirrors and --since-last state go to the test run's own folders, never the
    developer's (a cached verdict would also hide the work a test means to measure)."""
    folders = {
        "KEYGUARD_OCR_CACHE": "ocr-cache",
        "KEYGUARD_STATE_DIR": "state",
        "XDG_CACHE_HOME": "cache",
    }
    before = {name: os.environ.get(name) for name in folders}
    for name, folder in folders.items():
        os.environ[name] = str(tmp_path_factory.mktemp(folder))
    yield
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def canaries() -> Canaries:
    return make_canaries()


def isolated_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Environment for a keyguard child process with its own vault and inventory, and no inherited key."""
    env = {
        **os.environ,
        "KEYGUARD_VAULT_BACKEND": "file",
        "KEYGUARD_VAULT_FILE": str(tmp_path / "vault.enc"),
        "KEYGUARD_VAULT_PASSPHRASE": "pass",
        "KEYGUARD_INVENTORY": str(tmp_path / "inventory.sqlite"),
        "COLUMNS": "200",
    }
    inherited = ("BINANCE_API_KEY", "BINANCE_API_SECRET", "BINANCE_PRIVATE_KEY_FILE", "KEYGUARD_BINANCE_URL")
    # a developer's own vault choice must never reach a test
    inherited += ("KEYGUARD_VAULT", "KEYGUARD_KEEPASS_PASSWORD", "KEYGUARD_KEEPASS_KEYFILE")
    for name in inherited:
        env.pop(name, None)
    return {**env, **extra}


def keyguard_in(
    env: dict[str, str], *args: str, stdin: str | None = None, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The real CLI in a child process with this environment (isolated_env's), text in and out; no terminal on
    stdin unless `stdin` is given, so a prompt never waits."""
    return subprocess.run(
        [sys.executable, "-m", "keyguard", *args],
        env=env,
        cwd=cwd,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_keyguard(*args: str, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """The real CLI in a child process, as a user runs it."""
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "keyguard", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        env=env,
        check=False,
    )


def places(report: dict) -> list[dict]:
    """Every place a secret was seen, each with its finding's fields: a JSON report flattened by location."""
    rows = []
    for finding in report["findings"]:
        own = {name: value for name, value in finding.items() if name != "locations"}
        rows += [own | location for location in finding["locations"]]
    return sorted(rows, key=lambda row: (row["source"] == "git", row["path"], row["line"], row["column"]))


def decode(done: subprocess.CompletedProcess) -> tuple[str, str]:
    return done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")


def git(*args: str, cwd: Path) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
    }
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env, check=True)
    return done.stdout


def commit_files(repo: Path, message: str, **files: str) -> str:
    """Writes the files, commits them at a fixed date, returns the commit id."""
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        git("add", name, cwd=repo)
    git("commit", "-qm", message, "--date", "2026-01-02T03:04:05+00:00", cwd=repo)
    return git("rev-parse", "HEAD", cwd=repo).strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty git repository on branch main."""
    path = tmp_path / "bot"
    path.mkdir()
    git("init", "-q", "-b", "main", cwd=path)
    return path
