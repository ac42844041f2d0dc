"""The pre-commit integration: `keyguard hook install` and .pre-commit-hooks.yaml."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from conftest import decode, git, run_keyguard

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_pre_commit_hooks_manifest():
    [hook] = yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "keyguard"
    assert hook["entry"] == "keyguard scan --staged"
    assert hook["language"] == "python" and hook["pass_filenames"] is False


# what a person's shell has when keyguard's virtualenv is not activated: git and sh, no keyguard
PLAIN_PATH = os.pathsep.join(["/usr/bin", "/bin"])


def _commit(repo: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": PLAIN_PATH,
        "GIT_AUTHOR_NAME": "T",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "T",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    return subprocess.run(["git", "commit", "-qm", "change"], cwd=repo, capture_output=True, text=True, env=env)


def test_installed_hook_blocks_a_commit_that_adds_a_key(tmp_path, canaries):
    git("init", "-q", cwd=tmp_path)
    done = run_keyguard("hook", "install", cwd=tmp_path)
    assert done.returncode == 0, decode(done)
    hook = tmp_path / ".git" / "hooks" / "pre-commit"
    assert os.access(hook, os.X_OK)
    (tmp_path / "ok.py").write_text("print(1)\n")
    git("add", "ok.py", cwd=tmp_path)
    done = _commit(tmp_path)  # no virtualenv on PATH: the hook still finds keyguard
    assert done.returncode == 0, done.stdout + done.stderr
    (tmp_path / "bot.py").write_text(f'client = Client("{canaries.key}", "{canaries.secret}")\n')
    git("add", "bot.py", cwd=tmp_path)
    blocked = _commit(tmp_path)
    assert blocked.returncode != 0
    said = blocked.stdout + blocked.stderr
    assert "bot.py" in said and "No module named" not in said
    for fix in ("keyguard migrate PATH", "# keyguard:allow", "keyguard scan --write-baseline", "--no-verify"):
        assert fix in said
    assert sys.executable in said  # how to run keyguard when it is not on PATH
    assert canaries.key not in said and canaries.secret not in said
    assert git("log", "--oneline", cwd=tmp_path).count("\n") == 1


def test_hook_names_keyguards_interpreter_by_its_absolute_path(tmp_path):
    git("init", "-q", cwd=tmp_path)
    assert run_keyguard("hook", "install", cwd=tmp_path).returncode == 0
    text = (tmp_path / ".git" / "hooks" / "pre-commit").read_text()
    assert f"KEYGUARD_PYTHON={sys.executable}\n" in text
    assert '"$KEYGUARD_PYTHON" -m keyguard scan --staged' in text


def test_hook_whose_python_is_gone_stops_the_commit_and_says_why(tmp_path):
    git("init", "-q", cwd=tmp_path)
    assert run_keyguard("hook", "install", cwd=tmp_path).returncode == 0
    hook = tmp_path / ".git" / "hooks" / "pre-commit"
    hook.write_text(hook.read_text().replace(f"KEYGUARD_PYTHON={sys.executable}", "KEYGUARD_PYTHON=/nowhere/python"))
    (tmp_path / "ok.py").write_text("print(1)\n")
    git("add", "ok.py", cwd=tmp_path)
    stopped = _commit(tmp_path)
    assert stopped.returncode != 0
    assert "/nowhere/python" in stopped.stderr and "keyguard hook install" in stopped.stderr


def _old_hook(repo: Path, marker: Path, exit_code: int) -> Path:
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text(f"#!/bin/sh\necho ran >> '{marker}'\nexit {exit_code}\n")
    hook.chmod(0o755)
    return hook


def test_forced_install_still_runs_the_previous_hook(tmp_path, canaries):
    repo, marker = tmp_path / "repo", tmp_path / "marker"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    _old_hook(repo, marker, 0)
    assert run_keyguard("hook", "install", "--force", cwd=repo).returncode == 0
    (repo / "ok.py").write_text("print(1)\n")
    git("add", "ok.py", cwd=repo)
    done = _commit(repo)
    assert done.returncode == 0, done.stdout + done.stderr
    assert marker.read_text() == "ran\n"
    (repo / "bot.py").write_text(f'client = Client("{canaries.key}", "{canaries.secret}")\n')
    git("add", "bot.py", cwd=repo)
    assert _commit(repo).returncode != 0  # the old hook passes; keyguard's scan still stops the key
    assert marker.read_text() == "ran\nran\n"


def test_a_failing_previous_hook_fails_the_commit(tmp_path):
    repo, marker = tmp_path / "repo", tmp_path / "marker"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    _old_hook(repo, marker, 3)
    assert run_keyguard("hook", "install", "--force", cwd=repo).returncode == 0
    (repo / "ok.py").write_text("print(1)\n")
    git("add", "ok.py", cwd=repo)
    stopped = _commit(repo)
    assert stopped.returncode != 0
    assert marker.read_text() == "ran\n"
    assert "pre-commit.keyguard-backup failed (exit 3)" in stopped.stderr
    assert git("log", "--oneline", "--all", cwd=repo) == ""


def test_hook_install_keeps_an_existing_hook(tmp_path):
    git("init", "-q", cwd=tmp_path)
    hook = tmp_path / ".git" / "hooks" / "pre-commit"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text("#!/bin/sh\necho mine\n")
    done = run_keyguard("hook", "install", cwd=tmp_path)
    assert done.returncode == 2
    assert hook.read_text() == "#!/bin/sh\necho mine\n"
    assert run_keyguard("hook", "install", "--force", cwd=tmp_path).returncode == 0
    assert (hook.parent / "pre-commit.keyguard-backup").read_text() == "#!/bin/sh\necho mine\n"
    assert "keyguard scan --staged" in hook.read_text()
    assert run_keyguard("hook", "install", cwd=tmp_path).returncode == 0  # reinstalling its own hook is fine


def test_hook_install_outside_a_repository(tmp_path):
    done = run_keyguard("hook", "install", cwd=tmp_path)
    assert done.returncode == 2
    assert "not inside a git repository" in " ".join(decode(done))
