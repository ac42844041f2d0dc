"""Every module imported at run time is a declared dependency: a plain `pip install keyguard` must run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_deptry_finds_no_undeclared_or_test_only_import() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "deptry", "src"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_deptry_would_catch_a_test_only_import(tmp_path: Path) -> None:
    """The check itself can fail: a module importing a test extra (as drill imported requests) is an error."""
    package = tmp_path / "src" / "probe"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("import requests\n")
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "probe"\nversion = "0"\ndependencies = []\n'
        '[project.optional-dependencies]\ntest = ["requests"]\n'
        '[tool.deptry]\noptional_dependencies_dev_groups = ["test"]\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "deptry", "src"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 1 and "DEP004" in done.stdout + done.stderr
