"""`keyguard --version`: the installed distribution's version, exit 0; no arguments still shows the help."""

from __future__ import annotations

import importlib.metadata

import keyguard
from conftest import decode, run_keyguard


def test_version_is_the_installed_version_and_exits_0(tmp_path):
    done = run_keyguard("--version", cwd=tmp_path)
    out, err = decode(done)
    assert done.returncode == 0, err
    assert out == f"keyguard {importlib.metadata.version('keyguard')}\n"
    assert keyguard.__version__ == importlib.metadata.version("keyguard")


def test_version_wins_over_a_command(tmp_path):
    done = run_keyguard("--version", "scan", "no-such-path", cwd=tmp_path)
    assert done.returncode == 0
    assert decode(done)[0] == f"keyguard {keyguard.__version__}\n"


def test_no_arguments_shows_the_commands(tmp_path):
    done = run_keyguard(cwd=tmp_path)
    out, err = decode(done)
    assert done.returncode == 2
    assert "Usage:" in out + err and "scan" in out + err and "keyguard " + keyguard.__version__ not in out
