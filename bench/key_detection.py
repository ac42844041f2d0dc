"""Key detection on real shapes (issue 13): the corpus's recall and precision, and findings on real code.

    python bench/key_detection.py                       # dev and held-out corpus
    python bench/key_detection.py --real .venv/lib/python3.11/site-packages/{ccxt,binance,binance_sdk_spot}
    python bench/key_detection.py --real /work/.mirror/sammchardy+python-binance/repo   # a bare repo: history

The held-out corpus (tests/corpus/heldout) was set aside when each case was made and never tuned to.
Real code: every finding is listed (path, kind, redacted, reasons) for a one-line judgement.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_corpus import score  # noqa: E402


def corpus(split: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        recall, precision, problems = score(split, Path(folder))
    print(f"| corpus {split} | recall {recall:.3f} | precision {precision:.3f} | problems: {len(problems)} |")
    for problem in problems:
        print(f"    {problem}")


def real(path: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "keyguard", "scan", "-f", "json", path], capture_output=True, text=True, check=False
    )
    if done.returncode not in (0, 1):
        print(f"| {path} | error: {done.stderr.strip()[:200]} |")
        return
    report = json.loads(done.stdout)
    findings = report["findings"]
    print(f"| {path} | {len(findings)} findings | {report['stats']['files_scanned']} files/blobs |")
    for finding in findings:
        where = finding["locations"][0]
        print(
            f"    {where['path']}:{where['line']} {finding['kind']} {finding['redacted']} {finding['severity']}"
            f" ({len(finding['locations'])} places) — {'; '.join(finding['reasons'])}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", nargs="*", default=["dev", "heldout"])
    parser.add_argument("--real", nargs="*", default=[])
    args = parser.parse_args()
    for split in args.splits:
        corpus(split)
    for path in args.real:
        real(path)


if __name__ == "__main__":
    main()
