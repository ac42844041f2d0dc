"""Pairs an API key with the secret (or private key) found next to it: one credential, two findings.

GitHub's secret scanning reports paired tokens the same way. Each key takes the nearest unpaired partner
(any kind but api_key, same `example` flag) within MAX_PAIR_LINES lines, nearest by (line distance, byte
offset distance); pairs are made greedily, the globally nearest first (ties: lower key index, then lower
partner index). A key and secret captured by one match (a client's positional arguments) are always nearest.

Cost: near-linear instead of every (key, partner) option. Partners are sorted by (line, offset); each key
keeps one cursor on each side, at its nearest unpaired partner there, in one heap ordered by distance. When
a cursor's partner is taken by a nearer key, the cursor skips to the next unpaired partner (skip pointers,
path-compressed). A cursor that has been outbid MAX_OUTBIDS times gives up, so the heap holds at most
2 * keys * (MAX_OUTBIDS + 1) entries: O((keys * MAX_OUTBIDS + partners) log n) time, O(n) memory. The result
is the full greedy's when offsets grow with lines (true of a file's bytes) and no key loses its nearest
partner on one side more than MAX_OUTBIDS times (9 other keys, each nearer to the partner it takes, all within
MAX_PAIR_LINES lines); two partners at the very same place may be offered in the other order.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections.abc import Sequence
from typing import Protocol

MAX_PAIR_LINES = 12
MAX_OUTBIDS = 8
LEFT, RIGHT = -1, 1


class Pairable(Protocol):
    """What pairing reads of a finding or match; it never writes to one."""

    @property
    def kind(self) -> str: ...

    @property
    def line(self) -> int: ...

    @property
    def offset(self) -> int: ...

    @property
    def example(self) -> bool: ...


class _Unpaired:
    """Positions 0..n-1 of the sorted partners; finds the nearest one still unpaired on either side."""

    def __init__(self, n: int) -> None:
        self._n = n
        self._right = list(range(n + 1))  # root = nearest unpaired at or after; n = none
        self._left = list(range(n + 1))  # shifted by one: root - 1 = nearest unpaired at or before; 0 = none

    def take(self, pos: int) -> None:
        self._right[pos] = pos + 1
        self._left[pos + 1] = pos

    def is_taken(self, pos: int) -> bool:
        return self._right[pos] != pos

    def next(self, pos: int, side: int) -> int | None:
        """The nearest unpaired position at or beyond `pos` going `side`, or None."""
        if side == RIGHT:
            found = _root(self._right, pos)
            return found if found < self._n else None
        found = _root(self._left, pos + 1) - 1
        return found if found >= 0 else None


def _root(parent: list[int], index: int) -> int:
    root = index
    while parent[root] != root:
        root = parent[root]
    while parent[index] != root:
        parent[index], index = root, parent[index]
    return root


def pair_indices(items: Sequence[Pairable]) -> dict[int, int]:
    """Pairs keys with partners; maps each paired item's index to its partner's index, both ways."""
    groups: dict[bool, tuple[list[int], list[int]]] = {}
    for index, item in enumerate(items):
        keys, partners = groups.setdefault(bool(item.example), ([], []))
        (keys if item.kind == "api_key" else partners).append(index)
    pairs: dict[int, int] = {}
    for keys, partners in groups.values():
        for key, partner in _greedy(items, keys, partners):
            pairs[key] = partner
            pairs[partner] = key
    return pairs


def _greedy(items: Sequence[Pairable], keys: list[int], partners: list[int]) -> list[tuple[int, int]]:
    """Greedy nearest-first pairing of one example group; item indices of the (key, partner) pairs."""
    if not keys or not partners:
        return []
    partners = sorted(partners, key=lambda i: (items[i].line, items[i].offset, i))
    places = [(items[i].line, items[i].offset) for i in partners]
    unpaired = _Unpaired(len(partners))
    heap: list[tuple[int, int, int, int, int, int, int]] = []

    def push(key: int, pos: int | None, side: int, outbids: int) -> None:
        if pos is None or outbids > MAX_OUTBIDS:
            return
        here, there = items[key], items[partners[pos]]
        lines = abs(here.line - there.line)
        if lines <= MAX_PAIR_LINES:
            heapq.heappush(heap, (lines, abs(here.offset - there.offset), key, partners[pos], side, pos, outbids))

    for key in keys:
        start = bisect_left(places, (items[key].line, items[key].offset))
        push(key, start if start < len(partners) else None, RIGHT, 0)
        push(key, start - 1 if start > 0 else None, LEFT, 0)
    paired_keys: set[int] = set()
    pairs = []
    while heap:
        *_, key, partner, side, pos, outbids = heapq.heappop(heap)
        if key in paired_keys:
            continue
        if unpaired.is_taken(pos):
            push(key, unpaired.next(pos + side, side), side, outbids + 1)
            continue
        paired_keys.add(key)
        unpaired.take(pos)
        pairs.append((key, partner))
    return pairs
