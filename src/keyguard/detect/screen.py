"""The text of a screenshot as the detector reads it, and the values in it as OCR saw them.

OCR lines on the same row are joined left to right, rows top to bottom. A run of letters and digits that
is 62 to 66 characters long (a 64-character value with a letter dropped or added; spaces OCR put inside it
where no room was left out) is a value: the text holds its most likely 64-character spelling, and the `Token` keeps
everything OCR saw of it (alternatives, widths, box) to read it exactly later. `label_kind` names a
value by the words around it on the screen ("API Key", "Secret Key", `api_secret =`).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace

from keyguard.detect.confusables import LENGTH, CharRead, best_reading, exact_match, is_value_char, resolve
from keyguard.detect.ocr import Glyph, Line
from keyguard.detect.pairing import pair_indices
from keyguard.model import Match, redact

SHORTEST, LONGEST = LENGTH - 2, LENGTH + 2
MIN_WRAPPED = 12  # characters of a value before it wraps, at least (a label's last word is no value's start)
Part = tuple[Line, int, int]  # glyphs [start, end) of a line
SPURIOUS_SPACE = 1.75  # a space whose neighbours are closer than this many usual steps took no room: not there
ROW_OVERLAP = 0.5  # of a line's height: lines whose middles are closer are on one row
LABEL_CHARS = 48  # characters before a value on its row in which its label is looked for
LABEL_ROWS = 2  # rows above a value (holding no value) in which its label is looked for
_LABEL = re.compile(
    r"(?i)(?P<secret>secret(?:[ _.-]?key)?|private(?:[ _.-]?key)?|priv[_ .-]?key)"
    r"|(?P<key>api[ _.-]?key|access[ _.-]?key|public|\bkey\b|apikey)"
)
READ_IN_IMAGE = "read in an image (OCR)"
_GLUED_LABEL = re.compile(r"(?i)(?:api|secret|private)?key|secret")
_LONG_RUN = re.compile(r"[A-Za-z0-9+/=|\]\[!$]{24,}")  # half a wrapped value: worth reading the rest
_PEM = re.compile(r"(?i)PRIVATE\s*KEY|BEGIN\s+[A-Z ]*KEY")


@dataclass(frozen=True)
class Token:
    """A value on the screen: where its spelling sits in the text, and what OCR saw of it."""

    row: int  # 1-based row of the text
    column: int  # 1-based column (characters) where the spelling starts
    spelling: str  # the most likely 64 characters
    reading: str  # as OCR read it (letters and digits)
    glyphs: tuple[CharRead, ...]
    boxes: tuple[tuple[int, int, int, int], ...]  # in image pixels: one a line (two when wrapped)
    confidence: float


@dataclass(frozen=True)
class Screen:
    rows: tuple[str, ...]
    tokens: tuple[Token, ...]
    pem: bool  # private-key armour is on the screen

    @property
    def text(self) -> bytes:
        return "\n".join(self.rows).encode("utf-8", "replace")

    def token_at(self, row: int, column: int) -> Token | None:
        return next((t for t in self.tokens if t.row == row and t.column == column), None)


def _runs(line: Line) -> list[tuple[int, int]]:
    """(start, end) glyph indices of the runs of letters and digits. OCR puts spaces inside long values that
    are not there: parts a space apart are joined where that space took no room of its own."""
    runs: list[tuple[int, int]] = []
    start = None
    for i, glyph in enumerate((*line.glyphs, None)):
        inside = glyph is not None and glyph.char != " " and is_value_char(glyph.alternatives)
        if inside and start is None:
            start = i
        elif not inside and start is not None:
            runs.append((start, i))
            start = None
    pitch = _pitch(line)
    joined: list[tuple[int, int]] = []
    for run in runs:
        if joined and run[0] == joined[-1][1] + 1 and line.glyphs[joined[-1][1]].char == " ":
            before, after = line.glyphs[joined[-1][1] - 1], line.glyphs[run[0]]
            spurious = _centre(after) - _centre(before) < SPURIOUS_SPACE * pitch
            if spurious and run[1] - joined[-1][0] - _spaces(line, joined[-1][0], run[1]) <= LONGEST:
                joined[-1] = (joined[-1][0], run[1])
                continue
        joined.append(run)
    return [trimmed for run in joined if (trimmed := _trimmed(line, *run))]


def _trimmed(line: Line, start: int, end: int) -> tuple[int, int] | None:
    """The run without punctuation at its ends (a closing brace read as part of it) and without a label
    glued before it (`Key` + the value, where the label's line and the value's were read as one)."""
    glyphs = line.glyphs
    while start < end and not _alnum(glyphs[start].char):
        start += 1
    while end > start and not _alnum(glyphs[end - 1].char):
        end -= 1
    text = "".join(g.char for g in glyphs[start:end])
    glued = _GLUED_LABEL.match(text)
    if glued and SHORTEST <= _length(line, start + glued.end(), end) <= LONGEST:  # a value begins so 1 in 30,000
        start += glued.end()
    return (start, end) if end > start else None


def _alnum(char: str) -> bool:
    return char.isascii() and char.isalnum()


def _centre(glyph: Glyph) -> float:
    return (glyph.x0 + glyph.x1) / 2


def _pitch(line: Line) -> float:
    """The usual distance between the centres of two characters next to each other on the line."""
    glyphs = line.glyphs
    steps = sorted(
        _centre(b) - _centre(a) for a, b in zip(glyphs, glyphs[1:], strict=False) if " " not in (a.char, b.char)
    )
    return steps[len(steps) // 2] if steps else 0.0


def _spaces(line: Line, start: int, end: int) -> int:
    return sum(1 for glyph in line.glyphs[start:end] if glyph.char == " ")


def _rows(lines: list[Line]) -> list[list[Line]]:
    rows: list[list[Line]] = []
    for line in sorted(lines, key=lambda item: (item.box[1] + item.box[3]) / 2):
        middle = (line.box[1] + line.box[3]) / 2
        if rows:
            first = rows[-1][0]
            if abs(middle - (first.box[1] + first.box[3]) / 2) <= ROW_OVERLAP * (first.box[3] - first.box[1]):
                rows[-1].append(line)
                continue
        rows.append([line])
    return [sorted(row, key=lambda item: item.box[0]) for row in rows]


def screen_of(lines: list[Line]) -> Screen:
    """The screen's text and its values (a value wrapped onto the next row, as narrow screens show a secret,
    joined: its spelling stands on the first row)."""
    grouped = _rows(lines)
    runs = {id(line): _runs(line) for row in grouped for line in row}
    rows: list[str] = []
    tokens: list[Token] = []
    resume: dict[int, int] = {}  # a line whose first glyphs end a value wrapped from the row above: where to go on
    for number, row in enumerate(grouped, 1):
        text = ""
        for index, line in enumerate(row):
            if text:
                text += "  "
            at = resume.get(id(line), 0)
            for start, end in runs[id(line)]:
                if start < at:
                    continue
                parts = [(line, start, end)]
                below = grouped[number] if number < len(grouped) else None
                if _length(line, start, end) < SHORTEST and index == len(row) - 1 and below:
                    parts += _continued(line, start, end, below[0], runs[id(below[0])])
                if not SHORTEST <= sum(_length(*part) for part in parts) <= LONGEST:
                    continue
                glyphs = [g for part, a, b in parts for g in part.glyphs[a:b] if g.char != " "]
                shaped = tuple((g.alternatives, g.x1 - g.x0) for g in glyphs)
                spelling = best_reading(shaped)
                if spelling is None:
                    continue
                text += "".join(g.char for g in line.glyphs[at:start])
                boxes = tuple(part.span(a, b) for part, a, b in parts)
                confidence = round(sum(g.probability for g in glyphs) / len(glyphs), 3)
                reading = "".join(g.char for g in glyphs)
                tokens.append(Token(number, len(text) + 1, spelling, reading, shaped, boxes, confidence))
                text += spelling
                at = end
                if len(parts) == 2:
                    resume[id(parts[1][0])] = parts[1][2]
            text += "".join(g.char for g in line.glyphs[at:])
        rows.append(text)
    pem = any(_PEM.search(row) for row in rows)
    return Screen(tuple(rows), tuple(tokens), pem)


def _length(line: Line, start: int, end: int) -> int:
    return end - start - _spaces(line, start, end)


def _continued(line: Line, start: int, end: int, below: Line, below_runs: list[tuple[int, int]]) -> list[Part]:
    """The rest of a value that ends its line, when the first line of the row below begins with it (at the
    left, right below)."""
    if any(g.char != " " for g in line.glyphs[end:]) or not below_runs or _length(line, start, end) < MIN_WRAPPED:
        return []
    first, last = below_runs[0]
    if any(g.char != " " for g in below.glyphs[:first]):
        return []
    height = line.box[3] - line.box[1]
    close_below = 0 <= below.box[1] - line.box[1] <= 2 * height
    at_left = below.box[0] <= line.span(start, end)[0] + height
    return [(below, first, last)] if close_below and at_left else []


def may_hold_values(lines: list[Line]) -> bool:
    """Whether any of the lines holds a run of letters and digits long enough to be part of a value (or a
    private key's body line), spaces OCR put inside it not counted: then the rest is worth reading."""
    return any(_LONG_RUN.search(line.text.replace(" ", "")) for line in lines)


def label_kind(screen: Screen, token: Token) -> str | None:
    """api_key or secret as the words before the value name it: the last label on its row before it, or on
    the rows above that hold no value (read on as one text: "Secret" above "Key" is a secret's label)."""
    places = [screen.rows[token.row - 1][: token.column - 1][-LABEL_CHARS:]]
    for row in range(token.row - 1, max(0, token.row - 1 - LABEL_ROWS), -1):
        if any(t.row == row for t in screen.tokens):
            break
        places.append(screen.rows[row - 1])
    found = list(_LABEL.finditer(" ".join(reversed(places))))
    if not found:
        return None
    return "secret" if found[-1].group("secret") else "api_key"


def ocr_matches(found: list[Match], screen: Screen, known: Collection[str]) -> list[Match]:
    """The detector's matches in a screen's text as findings in the image, paired again by the kinds their
    labels gave them (a secret under "Secret Key" pairs with the key above it)."""
    matches = [ocr_match(match, screen, known) for match in found]
    if [m.kind for m in matches] == [m.kind for m in found]:
        return matches
    partners = pair_indices(matches)
    paired = []
    for index, match in enumerate(matches):
        partner = matches[partners[index]].secret_sha256 if index in partners else None
        severity = match.severity
        if not match.example and match.kind != "private_key":
            severity = "critical" if partner else "medium" if match.kind == "api_key" else "high"
        paired.append(replace(match, paired_with=partner, severity=severity))
    return paired


def ocr_match(match: Match, screen: Screen, known: Collection[str]) -> Match:
    """A match in a screen's text as a finding in the image: what OCR read (redacted), its confidence, the
    kind its label gives, and the exact value when one of the `known` fingerprints is among its spellings."""
    token = screen.token_at(match.line, match.column)
    if token is None:  # not a value OCR read as one (a private key's text): kept as the detector saw it
        return replace(match, ocr=True, reasons=(*match.reasons, READ_IN_IMAGE))
    kind = label_kind(screen, token) if match.kind != "private_key" else None
    reasons = (*match.reasons, READ_IN_IMAGE)
    found = replace(
        match,
        kind=kind or match.kind,
        ocr=True,
        ocr_reading=redact(token.reading.encode()),
        ocr_confidence=token.confidence,
        ocr_glyphs=token.glyphs,
        reasons=(*reasons, f"labelled {token_label(kind)} on the screen") if kind else reasons,
    )
    exact = resolve(token.glyphs, known) if match.secret_sha256 not in known else token.spelling
    if exact is None:
        return found
    return exact_match(found, exact.encode(), "its fingerprint is in the inventory")


def token_label(kind: str) -> str:
    return "as a secret" if kind == "secret" else "as an API key"
