"""Keys in screenshots: how many are found, read exactly (alone, and with the credential known), false
positives on look-alikes, and seconds per image on one core.

    .venv/bin/python bench/screenshots.py [--images 12] [--runs 3] [--tuning]

Images are drawn by tests/test_images_screens.py (Binance's API Management page light and dark, terminals,
a code editor, a messenger, a bot's web settings, a log viewer, phone screenshots shrunk and JPEG-compressed)
from held-out seeds (HELD_OUT_SEED on; --tuning uses the seeds tuning was done on). Each image goes through
the scan's own matcher (decode, OCR, detector, labels, exact reading against the inventory: empty here).
- detected: a value planted on the screen was reported (its reading within 8 edits of it)
- exact alone: reported with the value's own fingerprint, nothing else known
- known text: read exactly once the value is found as text in the same scan (its value at hand)
- known fingerprint: read exactly once only its fingerprint is known (the inventory: spellings hashed)
- kind: reported as the kind its label says (API key or secret)
- FP: reports that are none of the planted values (the look-alikes: SHA-256 hashes, listen keys, placeholders)
- chat-clean: a conversation with a transaction hash and a listen key, no value: what a clean screenshot costs
- s/image: the median over images of each image's median over --runs runs, pinned to one core, the OCR cache
  emptied before each run; rescan: the same image scanned once more, its reading in the cache
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
CACHE = os.environ["KEYGUARD_OCR_CACHE"] = tempfile.mkdtemp(prefix="keyguard-ocr-bench-")

from test_images_screens import HELD_OUT_SEED, KINDS  # noqa: E402

from keyguard.detect.confusables import resolve, resolve_value  # noqa: E402
from keyguard.matching import Matcher, Tally  # noqa: E402
from keyguard.model import Blob, Provenance  # noqa: E402

CLOSE = 8  # edits within which a report is taken for the planted value


def distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def bench_kind(name: str, seeds: range, runs: int, matcher: Matcher) -> dict[str, float]:
    values = detected = alone = known = by_text = kind_right = false = 0
    seconds, rescans = [], []
    for seed in seeds:
        shot = KINDS[name](seed)
        blob = Blob(Provenance("file", f"{name}-{seed}.png"), data=shot.png())
        times, tally = [], Tally()
        for _ in range(runs):
            shutil.rmtree(CACHE, ignore_errors=True)
            tally = Tally()
            started = time.perf_counter()
            matcher.match(blob, tally)
            times.append(time.perf_counter() - started)
        seconds.append(statistics.median(times))
        started = time.perf_counter()
        matcher.match(blob, Tally())
        rescans.append(time.perf_counter() - started)
        matches = [hit.match for hit in tally.hits]
        claimed = set()
        for value, kind in shot.values:
            values += 1
            near = [m for m in matches if m.value and distance(m.value.decode(), value) <= CLOSE]
            claimed.update(id(m) for m in near)
            if not near:
                continue
            detected += 1
            match = min(near, key=lambda m: distance(m.value.decode(), value))
            digest = hashlib.sha256(value.encode()).hexdigest()
            alone += match.secret_sha256 == digest
            known += match.secret_sha256 == digest or resolve(match.ocr_glyphs or (), {digest}) == value
            by_text += (
                match.secret_sha256 == digest or resolve_value(match.ocr_glyphs or (), {value.encode()}) is not None
            )
            kind_right += match.kind == kind
        false += sum(1 for m in matches if id(m) not in claimed)
    return {
        "images": len(seeds),
        "values": values,
        "detected": detected,
        "alone": alone,
        "known": known,
        "text": by_text,
        "kind": kind_right,
        "fp": false,
        "seconds": statistics.median(seconds),
        "rescan": statistics.median(rescans),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=12, help="images per kind")
    parser.add_argument("--runs", type=int, default=3, help="runs per image (the median is taken)")
    parser.add_argument("--tuning", action="store_true", help="the seeds tuning was done on, not the held-out")
    parser.add_argument("--kinds", nargs="*", default=list(KINDS))
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    start = 0 if args.tuning else HELD_OUT_SEED
    matcher = Matcher(False, "auto", True)
    rows = {name: bench_kind(name, range(start, start + args.images), args.runs, matcher) for name in args.kinds}
    counted = ("images", "values", "detected", "alone", "text", "known", "kind", "fp")
    total: dict[str, float] = {k: sum(r[k] for r in rows.values()) for k in counted}
    total["seconds"] = statistics.median(r["seconds"] for r in rows.values())
    total["rescan"] = statistics.median(r["rescan"] for r in rows.values())
    rows["all"] = total
    print(f"seeds {start}..{start + args.images - 1} per kind, {args.runs} runs per image, one core")
    columns = "detected | exact alone | known text | known fingerprint | kind right | FP | s/image | rescan s"
    print(f"| kind | images | values | {columns} |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in rows.items():
        v = r["values"]
        rates = ("detected", "alone", "text", "known", "kind")
        shares = " | ".join(f"{100 * r[k] / v:.0f} %" if v else "–" for k in rates)
        times = f"{r['seconds']:.2f} | {r['rescan']:.3f}"
        print(f"| {name} | {r['images']} | {r['values']} | {shares} | {r['fp']} | {times} |")


if __name__ == "__main__":
    main()
