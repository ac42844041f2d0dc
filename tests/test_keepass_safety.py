"""Issue 18: a KeePass database is never lost. A wrong password, a wrong key file or a damaged file: one line,
exit 2, the file byte for byte as it was. A writer killed midway leaves the previous file whole. Writers in
several processes are serialised. The password is asked without echo."""

from __future__ import annotations

import os
import pty
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_keepass import PAIRS, PASSWORD, add_keepassxc_entries, new_database, reopen, write_keyfile

from conftest import isolated_env, random_token
from keyguard.vault.keepass import KeePassBackend
from keyguard.vault.store import VaultError, new_entry

SRC = Path(__file__).resolve().parent.parent / "src"


def _env(tmp_path: Path, path: Path, **extra: str) -> dict[str, str]:
    env = isolated_env(tmp_path, KEYGUARD_VAULT=f"keepass:{path}", KEYGUARD_KEEPASS_PASSWORD=PASSWORD, **extra)
    env.pop("KEYGUARD_KEEPASS_KEYFILE", None)
    return {**env, "NO_COLOR": "1"}


def _keyguard(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keyguard", *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


def _flipped(data: bytes) -> bytes:
    changed = bytearray(data)
    changed[len(changed) * 2 // 3] ^= 0x01
    return bytes(changed)


BAD_FILES = {  # name -> (what the file becomes, what the one line says)
    "a flipped byte": (_flipped, "is damaged or not a KeePass database"),
    "truncated": (lambda data: data[: len(data) // 2], "is damaged or not a KeePass database"),
    "empty": (lambda data: b"", "is damaged or not a KeePass database"),
    "not KeePass": (lambda data: b"KEY=value\n" * 50, "is damaged or not a KeePass database"),
}
BAD_CREDENTIALS = {  # name -> (environment changes, what the one line says)
    "a wrong password": ({"KEYGUARD_KEEPASS_PASSWORD": "not it"}, "wrong password or key file"),
    "the key file left out": ({"KEYGUARD_VAULT": "keepass:{path}"}, "wrong password or key file"),
    "another key file": ({"KEYGUARD_VAULT": "keepass:{path}?keyfile={other}"}, "wrong password or key file"),
    "a key file that is not there": ({"KEYGUARD_VAULT": "keepass:{path}?keyfile={gone}"}, "cannot be read"),
}


@pytest.mark.parametrize("major", [3, 4], ids=["kdbx3.1", "kdbx4"])
def test_wrong_credentials_and_damaged_files_are_one_line_exit_2_and_the_file_untouched(tmp_path, major):
    keyfile = write_keyfile(tmp_path / "db.keyx")
    other = write_keyfile(tmp_path / "other.keyx")
    path = tmp_path / "keys.kdbx"
    add_keepassxc_entries(new_database(path, major, keyfile))
    good = path.read_bytes()
    env = _env(tmp_path, path)
    env["KEYGUARD_VAULT"] += f"?keyfile={keyfile}"
    pasted = f"{PAIRS[9][0]}\n{PAIRS[9][1]}\n"
    places = {"path": path, "other": other, "gone": tmp_path / "gone"}
    cases = [
        (name, good, env | {k: v.format(**places) for k, v in changes.items()}, said)
        for name, (changes, said) in BAD_CREDENTIALS.items()
    ]
    cases += [(name, change(good), env, said) for name, (change, said) in BAD_FILES.items()]
    every_command = (("vault", "add", "new-bot"), ("vault", "list"), ("run", "--key", "quant-trading", "--", "true"))
    for number, (name, content, case_env, said) in enumerate(cases):
        path.write_bytes(content)
        # every command for the first case of each kind; the writing one for all
        commands = every_command if number in (0, len(BAD_CREDENTIALS)) else every_command[:1]
        for command in commands:
            done = _keyguard(case_env, *command, stdin=pasted)
            lines = done.stderr.strip().splitlines()
            assert done.returncode == 2 and len(lines) == 1 and said in lines[0], (name, command, done.stderr)
            assert "Traceback" not in done.stderr and path.read_bytes() == content, (name, command)
            for secret in (*PAIRS.secrets(), PASSWORD):
                assert secret not in done.stdout + done.stderr
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".keyguard-")) == [], name
    path.write_bytes(good)
    assert _keyguard(env, "vault", "add", "new-bot", stdin=pasted).returncode == 0  # and with the right ones it works


CRASH_AT_RENAME = """
import os, signal, sys
from pathlib import Path
from keyguard.vault.keepass import KeePassBackend
from keyguard.vault.store import new_entry

def killed_before_the_rename(source, target):
    assert Path(source).stat().st_size > 0  # the whole new database is in the temporary file, synced
    os.kill(os.getpid(), signal.SIGKILL)

os.replace = killed_before_the_rename
with KeePassBackend(Path(sys.argv[1])).edit() as entries:
    entries["crash"] = new_entry("crash", sys.argv[2], sys.argv[3])
"""


def test_a_writer_killed_after_writing_the_temporary_file_leaves_the_old_database_whole(tmp_path, monkeypatch):
    path = tmp_path / "keys.kdbx"
    expected = add_keepassxc_entries(new_database(path, 4))
    before = path.read_bytes()
    env = {**os.environ, "KEYGUARD_KEEPASS_PASSWORD": PASSWORD, "PYTHONPATH": str(SRC)}
    crashed = subprocess.run(
        [sys.executable, "-c", CRASH_AT_RENAME, str(path), *PAIRS[9]], env=env, capture_output=True, timeout=60
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert path.read_bytes() == before
    [leftover] = [p for p in tmp_path.iterdir() if p.name.startswith(".keyguard-keys.kdbx.")]
    assert leftover.stat().st_size > 0  # the new database was written in full beside, and never renamed
    monkeypatch.setenv("KEYGUARD_KEEPASS_PASSWORD", PASSWORD)
    assert set(KeePassBackend(path).load()) == set(expected)
    with KeePassBackend(path).edit() as entries:  # the next writer clears what the killed one left
        entries["after"] = new_entry("after", *PAIRS[10])
    assert not leftover.exists() and reopen(path).find_entries(title="after", first=True).password == PAIRS[10][1]


SAVE_LOOP = """
import sys
from pathlib import Path
from keyguard.vault.keepass import KeePassBackend
from keyguard.vault.store import new_entry

backend = KeePassBackend(Path(sys.argv[1]))
for n in range(10_000):
    with backend.edit() as entries:
        entries[f"{sys.argv[4]}-{n}"] = new_entry(f"{sys.argv[4]}-{n}", sys.argv[2], sys.argv[3])
    print(n, flush=True)
"""


def _killed(writer: subprocess.Popen[str]) -> None:
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    assert writer.stdout is not None
    writer.stdout.close()


def _temporary_file_seen(folder: Path, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(name.startswith(".keyguard-keys.kdbx.") for name in os.listdir(folder)):
            return True
    return False


def test_writers_killed_mid_write_or_at_random_moments_never_leave_a_broken_database(tmp_path):
    """Real crashes: a writer saving over and over is SIGKILLed the moment its temporary file appears (it is
    writing or syncing the new database: a 4 MB attachment makes that take a while), or at a random moment.
    Each time the database still opens and holds everything written before and an unbroken run of what this
    writer saved, at least all it reported."""
    path = tmp_path / "keys.kdbx"
    database = new_database(path, 4)
    expected = add_keepassxc_entries(database)
    scan = random.Random(4).randbytes(4 << 20)
    bulky = database.add_entry(database.root_group, "scans", "me", "pw")
    bulky.add_attachment(database.add_binary(scan), "passport.jpg")
    database.save()
    env = {**os.environ, "KEYGUARD_KEEPASS_PASSWORD": PASSWORD, "PYTHONPATH": str(SRC)}
    rng = random.Random(18)
    before = {e.title for e in reopen(path).entries}
    assert set(expected) <= before
    caught_mid_write = 0
    for round_ in range(6):
        command = [sys.executable, "-c", SAVE_LOOP, str(path), *PAIRS[9], f"round{round_}"]
        writer = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
        assert writer.stdout is not None
        reported = rng.randint(1, 2)
        for _ in range(reported):
            writer.stdout.readline()
        if round_ % 2 == 0:
            assert _temporary_file_seen(tmp_path)
            _killed(writer)
            caught_mid_write += any(p.name.startswith(".keyguard-keys.kdbx.") for p in tmp_path.iterdir())
        else:
            time.sleep(rng.uniform(0, 0.2))
            _killed(writer)
        titles = {e.title for e in reopen(path).entries}  # it opens: the database is whole
        saved = titles - before
        assert before <= titles and saved == {f"round{round_}-{n}" for n in range(len(saved))}
        assert len(saved) >= reported
        assert reopen(path).find_entries(title="scans", first=True).attachments[0].data == scan
        before = titles
    assert caught_mid_write >= 2  # killed before its rename (3 of 3 in trials): the old file is what stayed


def test_parallel_writers_are_serialised_and_lose_nothing(tmp_path):
    path = tmp_path / "keys.kdbx"
    expected = add_keepassxc_entries(new_database(path, 3))
    env = _env(tmp_path, path)
    rng = random.Random(1818)
    jobs = {f"bot-{n}": (random_token(rng), random_token(rng)) for n in range(8)}
    writers = [
        subprocess.Popen(
            [sys.executable, "-m", "keyguard", "vault", "add", label],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for label in jobs
    ]
    writers.append(
        subprocess.Popen(
            [sys.executable, "-m", "keyguard", "vault", "remove", "grid-bot"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    )
    for writer, (key, secret) in zip(writers, jobs.values(), strict=False):
        writer.stdin.write(f"{key}\n{secret}\n")
        writer.stdin.close()
    for writer in writers:
        out, err = writer.stdout.read(), writer.stderr.read()
        assert writer.wait(timeout=120) == 0 and ("stored" in out or "removed" in out), (out, err)
    database = reopen(path)
    stored = {e.title: (e.username, e.password) for e in database.entries if e.title.startswith("bot-")}
    assert stored == jobs
    assert database.find_entries(title="grid-bot", first=True).group.name == "Recycle Bin"
    assert set(expected) - {"grid-bot"} <= {e.title for e in database.entries}


def test_a_save_after_another_program_wrote_is_refused_and_loses_nothing(tmp_path, monkeypatch):
    """keyguard read the database; KeePassXC (here pykeepass) saved it meanwhile; keyguard's save is refused."""
    path = tmp_path / "keys.kdbx"
    add_keepassxc_entries(new_database(path, 4))
    monkeypatch.setenv("KEYGUARD_KEEPASS_PASSWORD", PASSWORD)
    backend = KeePassBackend(path)
    entries = backend.load()
    other = reopen(path)
    other.add_entry(other.root_group, "typed in KeePassXC", "user", "pass")
    other.save()
    entries["mine"] = new_entry("mine", *PAIRS[9])
    refused = r"changed by another program \(KeePassXC, a file sync, another keyguard\) since it was read"
    with pytest.raises(VaultError, match=refused):
        backend.save(entries)
    titles = {e.title for e in reopen(path).entries}
    assert "typed in KeePassXC" in titles and "mine" not in titles
    with backend.edit() as fresh:  # edit() reads again under the lock: both kept
        fresh["mine"] = new_entry("mine", *PAIRS[9])
    assert {"typed in KeePassXC", "mine"} <= {e.title for e in reopen(path).entries}


def _at_terminal(env: dict[str, str], *args: str, answers: dict[str, str]) -> tuple[int, str]:
    """keyguard on a pseudo-terminal, each prompt answered as it appears; the exit code and all that was shown."""
    pid, terminal = pty.fork()
    if pid == 0:
        try:
            os.execve(sys.executable, [sys.executable, "-m", "keyguard", *args], env)
        finally:
            os._exit(127)
    shown, answered = b"", 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not select.select([terminal], [], [], 0.5)[0]:
            continue
        try:
            chunk = os.read(terminal, 4096)
        except OSError:  # the child exited
            break
        if not chunk:
            break
        shown += chunk
        for prompt, reply in answers.items():
            at = shown.find(prompt.encode(), answered)
            if at >= 0:
                answered = at + len(prompt)
                os.write(terminal, reply.encode() + b"\n")
    else:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(terminal)
    return os.waitstatus_to_exitcode(status), shown.decode("utf-8", "replace")


def test_at_a_terminal_the_password_is_asked_without_echo(tmp_path):
    path = tmp_path / "keys.kdbx"
    add_keepassxc_entries(new_database(path, 4))
    env = _env(tmp_path, path, TERM="dumb", COLUMNS="200")
    env.pop("KEYGUARD_KEEPASS_PASSWORD")
    code, shown = _at_terminal(env, "vault", "list", answers={"KeePass password for keys.kdbx:": PASSWORD})
    assert code == 0 and "quant-trading" in shown and "Binance main" in shown, shown
    assert PASSWORD not in shown and shown.count("KeePass password for keys.kdbx:") == 1
    code, shown = _at_terminal(env, "vault", "list", answers={"KeePass password for keys.kdbx:": "not it"})
    assert code == 2 and "wrong password or key file" in shown and "Traceback" not in shown
    assert "not it" not in shown
    without = _keyguard(env, "vault", "list")  # no terminal, no KEYGUARD_KEEPASS_PASSWORD
    assert without.returncode == 2 and "set KEYGUARD_KEEPASS_PASSWORD or run in a terminal" in without.stderr
