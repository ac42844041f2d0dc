"""Reading a value exactly from OCR's alternatives: the spellings in order of likelihood, look-alikes, doubled
letters read once, a spurious character, and the bounded search against known fingerprints. No OCR here:
the readings are built as the recogniser gives them (each character's alternatives and width)."""

from __future__ import annotations

import hashlib
import random
import string
from itertools import islice

from keyguard.detect.confusables import LENGTH, best_reading, resolve, resolve_value, spellings

WIDTH = 10.0


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def value(seed: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(LENGTH))


def read(text: str, unsure: dict[int, tuple[tuple[str, float], ...]] = {}, widths: dict[int, float] = {}):  # noqa: B006
    """A reading of `text`: sure of every character but those in `unsure` (their alternatives)."""
    return [(unsure.get(i, ((c, 0.99),)), widths.get(i, WIDTH)) for i, c in enumerate(text)]


def test_the_recognisers_own_choice_comes_first_and_its_alternatives_next():
    truth = value(1)
    misread = truth[:10] + "0" + truth[11:]
    glyphs = read(misread, {10: (("0", 0.6), ("O", 0.35)), 30: ((truth[30], 0.7), ("l", 0.2))})
    first = list(islice(spellings(glyphs), 3))
    assert first[0] == misread == best_reading(glyphs)
    assert first[1] == truth[:10] + "O" + truth[11:]  # the likelier of the two changes
    assert len(set(spellings(glyphs, 500))) == len(list(spellings(glyphs, 500)))  # each spelling once


def test_look_alikes_the_recogniser_did_not_offer_are_tried():
    truth = value(2).replace(value(2)[5], "I", 1)
    position = truth.index("I")
    misread = truth[:position] + "l" + truth[position + 1 :]
    glyphs = read(misread)  # sure of "l": only the look-alike table knows better
    assert resolve(glyphs, {sha(truth)}) == truth
    assert resolve(glyphs, {sha(value(3))}) is None  # another credential is never matched


def test_a_doubled_letter_read_once_is_restored_where_the_glyph_is_twice_as_wide():
    truth = value(4)[:20] + "ss" + value(4)[22:]
    once = truth[:20] + truth[21:]
    glyphs = read(once, widths={20: 2 * WIDTH})
    assert best_reading(glyphs) == truth
    assert resolve(read(once), {sha(truth)}) == truth  # without the width hint, still within the bound


def test_a_spurious_character_is_dropped_and_a_value_too_far_off_is_not_forced():
    truth = value(5)
    extra = truth[:33] + "i" + truth[33:]
    glyphs = read(extra, {33: (("i", 0.3), ("l", 0.1))})
    assert resolve(glyphs, {sha(truth)}) == truth
    assert best_reading(read(truth[:50])) is None  # 14 characters short: not a value


def test_the_search_is_bounded():
    truth = value(6)
    wrong = "".join("0" if c == "O" else c for c in truth)
    unsure = {i: ((wrong[i], 0.5), ("x", 0.4), ("y", 0.1)) for i in range(LENGTH)}  # every character unsure
    assert resolve(read(wrong, unsure), {sha(value(7))}, budget=2_000) is None
    assert len(list(spellings(read(wrong, unsure), 2_000))) == 2_000


def test_a_value_found_as_text_is_taken_only_when_the_reading_allows_it():
    truth = value(8)
    o_position = 12
    truth = truth[:o_position] + "O" + truth[o_position + 1 :]
    misread = truth[:o_position] + "0" + truth[o_position + 1 :]
    dropped = misread[:40] + misread[41:]  # and a thin letter lost
    others = [value(n).encode() for n in range(9, 40)]
    assert resolve_value(read(misread), [*others, truth.encode()]) == truth.encode()
    assert resolve_value(read(dropped), [*others, truth.encode()]) == truth.encode()
    assert resolve_value(read(misread), others) is None
    garbled = "".join("#" if i % 6 == 5 else c for i, c in enumerate(misread))  # 10 characters no look-alike
    assert resolve_value(read(garbled), [truth.encode()]) is None


def test_two_letters_dropped_beside_a_wide_glyph_are_found_by_fingerprint():
    truth = value(10)[:20] + "aXb" + value(10)[23:]
    dropped = truth[:20] + "X" + truth[23:]  # "a" and "b" lost on both sides of a glyph three letters wide
    glyphs = read(dropped, {40: ((dropped[40], 0.6), ("0", 0.3))}, widths={20: 3 * WIDTH})
    assert resolve(glyphs, {sha(truth)}) == truth
    assert resolve(glyphs, {sha(value(11))}) is None


def test_an_l_read_as_capital_l_in_a_monospace_font_is_tried():
    truth = value(12)[:30] + "l" + value(12)[31:]
    misread = truth[:30] + "L" + truth[31:]  # sure of "L", nothing else offered
    assert resolve(read(misread), {sha(truth)}) == truth
