"""The README's test command is the one CI runs, and CI also tests the package as installed."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ci_runs_the_readme_test_command():
    ci_lines = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    readme = (ROOT / "README.md").read_text()
    test_command = next(line for line in ci_lines if line.startswith("python3 -m venv"))
    assert test_command in readme
    assert "bash .ci/installed" in ci_lines and "bash .ci/installed" in readme
