"""Issue 14: two `vault add` at once lost 10 of 20 entries while both said "stored". Real keyguard processes
started together on one vault file: every one that says "stored" really stored, and nothing is lost."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

from conftest import isolated_env, random_token
from keyguard.vault.store import FileBackend, new_entry

WRITERS = 20


def _start(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "keyguard", *args],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None
    process.stdin.write(stdin)
    process.stdin.close()
    return process


def _finish(processes: list[subprocess.Popen[str]]) -> list[tuple[int, str, str]]:
    results = []
    for process in processes:
        assert process.stdout is not None and process.stderr is not None
        stdout, stderr = process.stdout.read(), process.stderr.read()
        results.append((process.wait(timeout=180), stdout, stderr))
    return results


def _vault(tmp_path: Path, monkeypatch) -> dict[str, tuple[str, str]]:
    monkeypatch.setenv("KEYGUARD_VAULT_PASSPHRASE", "pass")  # isolated_env's passphrase
    entries = FileBackend(tmp_path / "vault.enc").load()
    return {label: (e.api_key, e.secret) for label, e in entries.items()}


def test_parallel_vault_adds_keep_every_entry_and_say_stored_only_when_stored(tmp_path, monkeypatch):
    env = isolated_env(tmp_path)
    rng = random.Random(14)
    jobs = [(f"bot-{n}", random_token(rng), random_token(rng)) for n in range(WRITERS)]
    jobs += [("bot-0", random_token(rng), random_token(rng)), ("bot-1", random_token(rng), random_token(rng))]
    processes = [_start(env, "vault", "add", label, stdin=f"{key}\n{secret}\n") for label, key, secret in jobs]
    results = _finish(processes)

    stored = {}
    for (label, key, secret), (code, stdout, stderr) in zip(jobs, results, strict=True):
        assert "Traceback" not in stderr and key not in stdout + stderr and secret not in stdout + stderr
        if f"stored {label}" in stdout:
            assert code == 0 and label not in stored, (label, stdout, stderr)
            stored[label] = (key, secret)
        else:
            assert code == 2 and f"{label} is already in the vault" in stderr, (label, code, stdout, stderr)
    assert sorted(stored) == sorted(f"bot-{n}" for n in range(WRITERS))  # the two duplicates each lost once
    assert _vault(tmp_path, monkeypatch) == stored  # what said "stored" is what is there
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vault.enc", "vault.enc.lock"]


def test_parallel_adds_and_removes_each_keep_their_effect(tmp_path, monkeypatch):
    env = isolated_env(tmp_path)
    rng = random.Random(41)
    old = {f"old-{n}": (random_token(rng), random_token(rng)) for n in range(6)}
    monkeypatch.setenv("KEYGUARD_VAULT_PASSPHRASE", "pass")  # isolated_env's passphrase
    backend = FileBackend(tmp_path / "vault.enc")
    backend.load()
    backend.save({label: new_entry(label, key, secret) for label, (key, secret) in old.items()})
    new = {f"new-{n}": (random_token(rng), random_token(rng)) for n in range(6)}
    processes = [_start(env, "vault", "remove", label) for label in old]
    processes += [_start(env, "vault", "add", label, stdin=f"{k}\n{s}\n") for label, (k, s) in new.items()]
    for code, stdout, stderr in _finish(processes):
        assert code == 0 and ("removed" in stdout or "stored" in stdout), (stdout, stderr)
    assert _vault(tmp_path, monkeypatch) == new
