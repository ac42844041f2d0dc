"""Matching engines: Hyperscan (one pass over all rules) and pure `re` (fallback), same findings.

Hyperscan compiles every rule in prefilter mode, which matches a superset of the rule, and reports
where candidate matches end. `re` then confirms each cluster of candidate ends: a rule's match is at most
`max_width` bytes long and ends where Hyperscan reported an end, so the confirmed matches are exactly those
`re.finditer` finds over the whole text, which is what the pure-`re` engine does. Anchored patterns (a
token or a base64 run: their prefilter matches the first `anchor` bytes of a run at its start) are
confirmed with one `re.match` at each run's start, so a long base64 blob costs one check per run, not a
pass of `re` over the whole text.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

from keyguard.detect.decoders import DECODERS
from keyguard.rules import Rule

# Room for lookahead assertions past a match's last byte; rule lookaheads are far shorter.
LOOKAROUND_MARGIN = 64

RuleMatch = tuple[int, re.Match[bytes]]


class Engine(Protocol):
    name: str
    one_pass: bool  # matches() costs one pass over the data, as has_candidates() does

    def has_candidates(self, data: bytes) -> bool:
        """False only when no pattern can match `data` (a cheap first look)."""
        ...

    def matches(self, data: bytes) -> Iterator[RuleMatch]:
        """Each rule's matches in `data`, as (rule index, match), rule by rule in order."""
        ...


class RegexEngine:
    name = "re"
    one_pass = False

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.patterns = [*rules, *DECODERS]
        self._patterns = [pattern.compiled() for pattern in self.patterns]

    def has_candidates(self, data: bytes) -> bool:
        return any(pattern.search(data) for pattern in self._patterns)

    def matches(self, data: bytes) -> Iterator[RuleMatch]:
        for index, pattern in enumerate(self._patterns):
            for match in pattern.finditer(data):
                yield index, match


class HyperscanEngine:
    name = "hyperscan"
    one_pass = True

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.patterns = [*rules, *DECODERS]
        self._patterns = [pattern.compiled() for pattern in self.patterns]
        self._widths = [pattern.max_width for pattern in self.patterns]
        self._anchors = {i: pattern.anchor for i, pattern in enumerate(self.patterns) if getattr(pattern, "anchor", 0)}
        self._scan_terminated = _scan_terminated_error()
        self._database = _cached_database([pattern.prefilter for pattern in self.patterns])

    def has_candidates(self, data: bytes) -> bool:
        """Whether any pattern may match: one Hyperscan pass that stops at the first candidate."""
        hit = False

        def stop(*_args: object) -> bool:
            nonlocal hit
            hit = True
            return True

        with contextlib.suppress(self._scan_terminated):
            self._database.scan(data, match_event_handler=stop)
        return hit

    def matches(self, data: bytes) -> Iterator[RuleMatch]:
        ends: dict[int, list[int]] = {}

        def on_candidate(rule_index: int, _from: int, end: int, _flags: int, _context: object) -> None:
            ends.setdefault(rule_index, []).append(end)

        self._database.scan(data, match_event_handler=on_candidate)
        for index in sorted(ends):
            pattern = self._patterns[index]
            anchor = self._anchors.get(index)
            if anchor:  # each end is a run's start plus `anchor`: the only place a match may start
                for end in ends[index]:
                    match = pattern.match(data, end - anchor)
                    if match:
                        yield index, match
                continue
            for first, last in clusters(ends[index], self._widths[index]):
                yield from (
                    (index, match) for match in confirm_between(pattern, data, first, last, self._widths[index])
                )


def clusters(ends: list[int], width: int) -> Iterator[tuple[int, int]]:
    """Candidate ends grouped where the matches they stand for could overlap or touch: (first, last) each."""
    first = last = ends[0]
    for end in ends[1:]:
        if end - last > 2 * width + LOOKAROUND_MARGIN:
            yield first, last
            first = end
        last = end
    yield first, last


def _scan_terminated_error() -> type[Exception]:
    import hyperscan

    return getattr(hyperscan, "ScanTerminated", hyperscan.error)


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "keyguard"


def _cached_database(expressions: list[bytes]):
    """The compiled Hyperscan database, from a cache file when an identical one was compiled before."""
    import hyperscan

    flags = [hyperscan.HS_FLAG_PREFILTER] * len(expressions)
    parts = [str(hyperscan.__version__).encode(), *expressions, repr(flags).encode()]
    digest = hashlib.sha256(b"\0".join(parts)).hexdigest()[:32]
    path = _cache_dir() / f"hyperscan-{digest}.db"
    try:
        database = hyperscan.loadb(path.read_bytes(), hyperscan.HS_MODE_BLOCK)
        database.scratch = hyperscan.Scratch(database)  # a loaded database comes without one
        return database
    except (OSError, hyperscan.error):
        pass
    database = hyperscan.Database()
    database.compile(
        expressions=expressions,
        ids=list(range(len(expressions))),
        elements=len(expressions),
        flags=flags,
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(hyperscan.dumpb(database))
        os.replace(temporary, path)
    except OSError:
        pass  # a read-only home only costs the compile next time
    return database


def confirm_between(
    pattern: re.Pattern[bytes], data: bytes, first_end: int, last_end: int, width: int
) -> Iterator[re.Match[bytes]]:
    """The matches `pattern.finditer(data)` would give, knowing all of them end in [first_end, last_end]."""
    start = max(0, first_end - width)
    stop = min(len(data), last_end + width + LOOKAROUND_MARGIN)
    for match in pattern.finditer(data, start, stop):
        if match.start() > last_end or match.end() > last_end:
            break
        yield match


def hyperscan_available() -> bool:
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return False
    return True


def build_engine(rules: Sequence[Rule], name: str = "auto") -> Engine:
    """`auto` picks Hyperscan when it imports, else `re`."""
    if name == "re" or (name == "auto" and not hyperscan_available()):
        return RegexEngine(rules)
    if name in ("auto", "hyperscan"):
        return HyperscanEngine(rules)
    raise ValueError(f"unknown engine {name!r} (use auto, hyperscan or re)")
