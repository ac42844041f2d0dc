"""One unit of a source read and matched: the task every pool runs (a local process, or a Dask worker)."""

from __future__ import annotations

from typing import Any

from keyguard.matching import Matcher, Tally
from keyguard.model import Skipped
from keyguard.sources.base import Source


def match_unit(source: Source, unit: list[Any], include_examples: bool, engine: str, images: bool = True) -> Tally:
    """One unit of a source, read and matched (in a worker process, or here)."""
    matcher = Matcher(include_examples, engine, images)
    tally = Tally()
    try:
        for item in source.blobs(unit):
            if isinstance(item, Skipped):
                tally.skipped.append(item)
            else:
                matcher.match(item, tally)
    except Exception as error:  # the source itself failed (git died): said, and the scan goes on
        tally.skipped.append(Skipped(f"{len(unit)} inputs", f"unread: {type(error).__name__}: {error}"))
    return tally


def unit_failed(tally: Tally, unit: list[Any]) -> bool:
    """Whether the source failed on the unit as a whole (what match_unit says then), not on single blobs."""
    whole = f"{len(unit)} inputs"
    return any(item.path == whole and item.reason.startswith("unread: ") for item in tally.skipped)
