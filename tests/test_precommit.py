"""The README's pre-commit snippet, run by the real `pre-commit` tool against a clone of this repository.

pre-commit clones the hook repository at `rev:` and pip-installs it into an environment of its own, so this
needs the package index (or pip's cache) and takes a minute or more the first time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from conftest import git

REPO_ROOT = Path(__file__).resolve().parent.parent
VERSION = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
TAG = f"v{VERSION}"
INSTALL_SECONDS = 900


def test_the_readme_names_the_release_of_this_version():
    # the tag itself (v<version>, annotated, made at each release) is a ref a CI clone of a branch may not carry
    assert f"rev: {TAG}\n" in (REPO_ROOT / "README.md").read_text()


def _pre_commit(repo: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never", "NO_COLOR": "1"}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_SECONDS,
        check=False,
    )


def test_the_pre_commit_snippet_blocks_a_staged_key(tmp_path, canaries):
    source = tmp_path / "keyguard"
    git("clone", "-q", str(REPO_ROOT), str(source), cwd=tmp_path)
    git("tag", "-f", "-a", TAG, "-m", f"keyguard {VERSION}", cwd=source)  # the clone's HEAD is what is tested
    repo = tmp_path / "bot"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {source}\n    rev: {TAG}\n    hooks:\n      - id: keyguard\n"
    )
    (repo / "ok.py").write_text("print(1)\n")
    git("add", ".pre-commit-config.yaml", "ok.py", cwd=repo)
    clean = _pre_commit(repo, tmp_path / "pre-commit-home")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "keyguard (Binance API keys)" in clean.stdout and "Passed" in clean.stdout
    (repo / "bot.py").write_text(f'client = Client("{canaries.key}", "{canaries.secret}")\n')
    git("add", "bot.py", cwd=repo)
    blocked = _pre_commit(repo, tmp_path / "pre-commit-home")
    said = blocked.stdout + blocked.stderr
    assert blocked.returncode == 1, said
    assert "Failed" in said and "bot.py" in said
    assert canaries.key not in said and canaries.secret not in said
