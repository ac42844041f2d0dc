"""Reading a 64-character value exactly from what OCR saw: the likely spellings, most likely first.

OCR confuses O/0, l/1/I, Z/z/2, W/w, S/5 and reads a doubled letter once. Each character read keeps its
alternatives with their probabilities (from the recogniser) and its width (a doubled letter read once is
about twice as wide as its neighbours). `spellings` enumerates 64-character strings in increasing cost:
the alternatives' log-probabilities, look-alikes the recogniser did not offer at a fixed cost (font-dependent:
a monospace l has a foot like L's), doubled letters, any letter dropped beside the widest glyphs, spurious
characters. `resolve` hashes them, a bounded number, against known fingerprints (SHA-256),
so a value is read exactly when the same credential is known from elsewhere.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import string
from collections.abc import Collection, Iterator, Sequence
from dataclasses import replace
from itertools import combinations

from keyguard.model import Match, redact, secret_sha256

LENGTH = 64
# a look-alike costs at most as much as an alternative at probability e^-cost, whatever the recogniser said:
# it is often sure of the wrong one of two. Read as (what OCR read, what it may be): measured on the tuning
# screens of bench/screenshots.py, a monospace 0 was an O in 36 of 58 readings, a sans-serif l an I as often.
OFTEN_CONFUSED = {
    "0O": 0.5,
    "O0": 1.5,
    "lI": 0.7,
    "Il": 0.7,
    "jJ": 1.0,
    "Jj": 1.5,
    "0o": 1.5,
    "o0": 1.5,
    "1l": 1.5,
    "l1": 1.5,
    "1I": 1.5,
    "I1": 1.5,
    "Oo": 2.0,
    "oO": 2.0,
    "Q0": 2.0,
    "QO": 2.0,
    "Ll": 2.0,
    "wW": 2.5,
    "kK": 3.0,
}
# in a monospace font I and l differ (serifs) and l has a foot like L's: measured on the same tuning screens
MONOSPACE_CONFUSED = OFTEN_CONFUSED | {"lI": 2.0, "Il": 2.0, "Ll": 1.2}
LOOKALIKE_COST = 3.5  # the other look-alikes
DOUBLED_COST = 1.0  # per doubled letter restored, plus WIDTH_WEIGHT times how far the glyph is from twice
# the usual width (a glyph of the usual width is seldom a doubled letter read once)
WIDTH_WEIGHT = 3.0
# a character's usual width against the median one's in proportional fonts: thin letters doubled are what
# OCR reads once most, and two of them are only as wide as one usual letter
WIDTH_FACTOR = dict.fromkeys("iljIJft1r", 0.5) | dict.fromkeys("mwMW", 1.4)
SPURIOUS_COST = 1.5  # per character dropped, plus its own certainty
BUDGET = 20_000  # spellings hashed at most per value, against fingerprints only (about 0.1 s)
# for a reading a letter or two short or long, whose spellings are many more (letters missing, spurious)
OFF_LENGTH_BUDGET = 60_000
ANY_MISSING_COST = 3.0  # a character missing beside a wide glyph that is no doubled letter of it
WIDEST = 4  # glyphs beside which any character may be missing
MISSING_COST = 6.0  # a character missing that was no doubled letter
MAX_VALUE_COST = 30.0  # a known value is taken for what OCR read when its spelling costs no more
MIN_PROBABILITY = 1e-4

ALPHABET = string.ascii_letters + string.digits
_GROUPS = ("O0oQD", "Il1i", "Ll", "Zz2", "Ww", "Ss5", "Cc", "Vv", "Xx", "Kk", "Uu", "Pp", "Jj", "B8", "G6", "g9q", "Yy")
LOOKALIKES = {c: "".join(x for g in _GROUPS if c in g for x in g if x != c) for g in _GROUPS for c in g}
# punctuation OCR may read instead of a letter or digit inside a value
PUNCTUATION = {"|": "lI1", "]": "J", "[": "I", "!": "l1", "$": "S", "(": "C", "{": "C", "}": "J", "/": "l"}

Alternatives = tuple[tuple[str, float], ...]
CharRead = tuple[Alternatives, float]  # one character as OCR read it: alternatives (best first), width in pixels


def is_value_char(alternatives: Alternatives, least: float = 0.05) -> bool:
    """Whether a character read could be a letter or digit of a value."""
    best = alternatives[0][0]
    if best.isascii() and best.isalnum():
        return True
    return best in PUNCTUATION or any(c.isascii() and c.isalnum() and p >= least for c, p in alternatives[1:])


def _options(alternatives: Alternatives, monospace: bool = False) -> list[tuple[float, str]]:
    """(cost, character) for one position: letters and digits only, cheapest first."""
    confused = MONOSPACE_CONFUSED if monospace else OFTEN_CONFUSED
    offered = [(c, p) for c, p in alternatives if len(c) == 1 and c.isascii() and c.isalnum()]
    offered += [(c, alternatives[0][1] * 0.5) for c in PUNCTUATION.get(alternatives[0][0], "")]
    if not offered:
        return []
    top = max(p for _, p in offered)
    costs: dict[str, float] = {}
    for c, p in offered:
        cost = -math.log(max(p, MIN_PROBABILITY) / top)
        costs[c] = min(costs.get(c, cost), cost)
    for c in list(costs):
        for alike in LOOKALIKES.get(c, ""):
            step = confused.get(c + alike, LOOKALIKE_COST)
            costs[alike] = min(costs.get(alike, math.inf), costs[c] + step)
    return sorted((cost, c) for c, cost in costs.items())


def _variants(glyphs: Sequence[CharRead]) -> Iterator[tuple[float, list[list[tuple[float, str]]]]]:
    """(cost, options per position) for each way to make `glyphs` 64 long: as read, a letter doubled, one
    dropped. At most two changes."""
    widths = sorted(width for _, width in glyphs)
    usual = (widths[len(widths) // 2] if widths else 1.0) or 1.0
    monospace = sum(0.85 <= width / usual <= 1.15 for width in widths) >= 0.8 * len(widths)
    options = [_options(alternatives, monospace) for alternatives, _ in glyphs]
    if any(not o for o in options):
        return
    missing = LENGTH - len(glyphs)
    if missing == 0:
        yield 0.0, options
        return
    if 0 < missing <= 2:
        factors = [1.0 if monospace else WIDTH_FACTOR.get(alternatives[0][0], 1.0) for alternatives, _ in glyphs]
        ratios = [width / (usual * f) for (_, width), f in zip(glyphs, factors, strict=True)]
        costs = [DOUBLED_COST + WIDTH_WEIGHT * abs(2.0 - ratio) for ratio in ratios]
        ranked = sorted(range(len(glyphs)), key=costs.__getitem__)
        widest = sorted(range(len(glyphs)), key=lambda i: -ratios[i])[:WIDEST]
        # a glyph doubled (its own options again), or for the widest few any letter missing before or after it
        doubled = [(costs[i], i, 0) for i in (ranked if missing == 1 else ranked[:16])]
        dropped = [
            (DOUBLED_COST + max(0.0, 2.0 - ratios[i]) + ANY_MISSING_COST, i, side) for i in widest for side in (-1, 1)
        ]
        candidates = doubled + dropped
        picks = [(c,) for c in candidates] if missing == 1 else list(combinations(candidates, 2))
        for pick in picks:
            yield sum(c for c, _, _ in pick), _inserted(options, [(i, side) for _, i, side in pick])
    elif -2 <= missing < 0:
        costs = [SPURIOUS_COST + 4.0 * alternatives[0][1] for alternatives, _ in glyphs]
        ranked = sorted(range(len(glyphs)), key=costs.__getitem__)[:12]
        picks = [(i,) for i in ranked] if missing == -1 else [(i, j) for i in ranked for j in ranked if i < j]
        for pick in picks:
            yield sum(costs[i] for i in pick), [o for i, o in enumerate(options) if i not in pick]


def _inserted(options: list[list[tuple[float, str]]], where: list[tuple[int, int]]) -> list[list[tuple[float, str]]]:
    """The options with a position inserted at each glyph named: side 0, the glyph's own options before it (a
    doubled letter read once); -1 or 1, any other letter or digit before or after it (one OCR dropped)."""
    result: list[list[tuple[float, str]]] = []
    for position, own in enumerate(options):
        chars = {c for _, c in own}
        anything = [(0.0, c) for c in ALPHABET if c not in chars]
        result += [own if side == 0 else anything for i, side in where if i == position and side <= 0]
        result.append(own)
        result += [anything for i, side in where if i == position and side == 1]
    return result


def best_reading(glyphs: Sequence[CharRead]) -> str | None:
    """The most likely 64-character spelling, or None when the value cannot be made 64 long."""
    return next(spellings(glyphs, 1), None)


def spellings(glyphs: Sequence[CharRead], budget: int = BUDGET) -> Iterator[str]:
    """Distinct 64-character spellings in increasing cost, `budget` at most.

    Per variant, each change is an item (position, alternative) costing the difference to the position's
    best; sets of items, at most one a position, are enumerated in increasing total cost by the classic
    extend-or-replace-the-last scheme over items sorted by cost (each set has one parent).
    """
    heap: list[tuple[float, int, int, tuple[int, ...]]] = []
    variants: list[tuple[list[list[tuple[float, str]]], list[tuple[float, int, int]], list[str]]] = []
    for number, (cost, options) in enumerate(_variants(glyphs)):
        items = sorted((o[k][0] - o[0][0], p, k) for p, o in enumerate(options) for k in range(1, len(o)))
        variants.append((options, items, [o[0][1] for o in options]))
        heapq.heappush(heap, (cost, number, -1, ()))
    seen: set[str] = set()
    while heap and len(seen) < budget:
        cost, number, last, chosen = heapq.heappop(heap)
        options, items, best = variants[number]
        text = best.copy()
        for item in chosen:
            _, position, k = items[item]
            text[position] = options[position][k][1]
        spelled = "".join(text)
        if spelled not in seen:
            seen.add(spelled)
            yield spelled
        used = {items[i][1] for i in chosen[:-1]}
        base = cost - (items[last][0] if last >= 0 else 0.0)
        nxt = _next_free(items, last + 1, used | ({items[last][1]} if last >= 0 else set()))
        if nxt is not None:  # extend with the next item
            heapq.heappush(heap, (cost + items[nxt][0], number, nxt, (*chosen, nxt)))
        if last >= 0:  # replace the last item with the next one that fits
            swap = _next_free(items, last + 1, used)
            if swap is not None:
                heapq.heappush(heap, (base + items[swap][0], number, swap, (*chosen[:-1], swap)))


def _next_free(items: list[tuple[float, int, int]], start: int, used: set[int]) -> int | None:
    for index in range(start, len(items)):
        if items[index][1] not in used:
            return index
    return None


def resolve(glyphs: Sequence[CharRead], known: Collection[str], budget: int | None = None) -> str | None:
    """The spelling whose SHA-256 is among `known` (hex digests), or None within the budget; last, for a
    reading one short, any character missing anywhere (OCR drops a thin letter beside another)."""
    if not known:
        return None
    if budget is None:
        budget = BUDGET if len(glyphs) == LENGTH else OFF_LENGTH_BUDGET
    for spelled in spellings(glyphs, budget):
        if hashlib.sha256(spelled.encode()).hexdigest() in known:
            return spelled
    if len(glyphs) == LENGTH - 1:
        read = "".join(alternatives[0][0] for alternatives, _ in glyphs)
        for position in range(LENGTH):
            for char in ALPHABET:
                spelled = read[:position] + char + read[position:]
                if hashlib.sha256(spelled.encode()).hexdigest() in known:
                    return spelled
    return None


def exact_match(match: Match, value: bytes, why: str) -> Match:
    """The match carrying the value it was read as exactly: its fingerprint, redacted form and value."""
    return replace(
        match,
        secret_sha256=secret_sha256(value),
        redacted=redact(value),
        value=value,
        reasons=(*match.reasons, f"read exactly: {why}"),
    )


def resolve_value(glyphs: Sequence[CharRead], values: Collection[bytes]) -> bytes | None:
    """The known value OCR read (values found as text in the same scan, at hand): the reading aligned with
    each value (a character read as one of its options, a doubled or any letter missing, a spurious one)
    at a bounded cost. No enumeration: an edit distance against each value."""
    tables = [{c: k for k, c in _options(alternatives)} for alternatives, _ in glyphs]
    for value in values:
        if len(value) == LENGTH and _alignment_cost(tables, value.decode("ascii", "replace")) <= MAX_VALUE_COST:
            return value
    return None


def _alignment_cost(tables: list[dict[str, float]], value: str) -> float:
    previous = [j * SPURIOUS_COST for j in range(len(tables) + 1)]  # no value character yet: all spurious
    for i, char in enumerate(value):
        missing = DOUBLED_COST if i and value[i - 1] == char else MISSING_COST
        current = [previous[0] + missing]
        for j, table in enumerate(tables):
            current.append(
                min(previous[j] + table.get(char, math.inf), previous[j + 1] + missing, current[j] + SPURIOUS_COST)
            )
        if min(current) > MAX_VALUE_COST:
            return math.inf
        previous = current
    return previous[-1]
