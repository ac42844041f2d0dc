"""An unexpected exception in any command is one clear line and exit 2: never a traceback, never exit 1."""

from __future__ import annotations

import subprocess
import sys

CANARY = "Zq8" + "x7Kp2Lm9Nb4Vc6Xz1Aa3Ss5Dd7Ff9Gg2Hh4Jj6Kk8Ll1Qq3Ww5Ee7Rr9Tt2Yy4Uu6"

BOOM = f"""
import sys
from keyguard import cli

@cli.app.command("boom")
def boom() -> None:
    raise RuntimeError("failed while holding {CANARY}")

sys.argv = ["keyguard", "boom"]
cli.main()
"""


def test_a_bug_is_one_line_and_exit_2_without_the_secret() -> None:
    done = subprocess.run([sys.executable, "-c", BOOM], capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "RuntimeError" in done.stderr and "bug" in done.stderr
    assert CANARY not in done.stderr + done.stdout


def test_version() -> None:
    done = subprocess.run([sys.executable, "-m", "keyguard", "--version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.startswith("keyguard ")


def test_all_keys_with_an_empty_inventory_says_so_and_exits_2(tmp_path):
    from conftest import isolated_env

    done = subprocess.run(
        [sys.executable, "-m", "keyguard", "incident", "--all-keys", "--yes", "--out", str(tmp_path / "case")],
        env=isolated_env(tmp_path),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2 and "no active key" in done.stderr


def test_a_credential_never_prints_its_key_or_secret():
    from keyguard.exchange.credentials import Credential

    credential = Credential(CANARY[:64], CANARY[::-1][:64])
    for text in (repr(credential), str(credential), f"{[credential]}"):
        assert CANARY[:64] not in text and CANARY[::-1][:64] not in text


def test_square_brackets_in_a_message_are_shown_as_written(tmp_path):
    """Paths and messages are never read as rich markup: '[cluster]' or '[red]' in them stay as they are."""
    named = "[red]bots[/red]"
    done = subprocess.run(
        [sys.executable, "-m", "keyguard", "scan", named], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert done.returncode == 2 and f"keyguard: {named}: no such file or directory" in done.stderr
