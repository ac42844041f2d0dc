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


def _commit(repo: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
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
    assert _commit(tmp_path).returncode == 0
    (tmp_path / "bot.py").write_text(f'client = Client("{canaries.key}", "{canaries.secret}")\n')
    git("add", "bot.py", cwd=tmp_path)
    blocked = _commit(tmp_path)
    assert blocked.returncode != 0
    assert "bot.py" in blocked.stdout + blocked.stderr
    assert git("log", "--oneline", cwd=tmp_path).count("\n") == 1


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
