"""Text in an image, line by line, with each character's alternatives and where it sits.

RapidOCR's PP-OCR models (inside the rapidocr-onnxruntime wheel, nothing downloaded) find the text lines;
the recogniser is run here on each line so that its per-frame probabilities are kept: a character's
alternatives (`I` or `l`, `O` or `0`) and its horizontal span (a doubled letter read once is twice as wide).
"""

from __future__ import annotations

import json
import math
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from PIL import Image

REC_HEIGHT = 48  # the recogniser's input height
PAD = 0.12  # of the line's height, added around each detected box before reading it
ALTERNATIVES = 3  # kept per character
MIN_ALTERNATIVE = 0.002  # probability below which an alternative is not kept
# text is looked for with the image at this longest side (a small one enlarged at most MAX_ENLARGE times: the
# detector misses small text), and read at the image's own size
DETECT_SIDE = 1280
MAX_ENLARGE = 2.0
# a box this many times as wide as high may hold a value: 62 characters of a monospace font (0.6 em each) in
# a box 1.8 em high (the detector's margin and ours) are 20 heights wide, half a wrapped value 10
WIDE_LINE = 10
READER = "1"  # bump when what read_lines returns for the same image changes (cached readings are then stale)
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Glyph:
    """One character read: the best first, then its alternatives, each with its probability."""

    alternatives: tuple[tuple[str, float], ...]
    x0: float  # span in image pixels
    x1: float

    @property
    def char(self) -> str:
        return self.alternatives[0][0]

    @property
    def probability(self) -> float:
        return self.alternatives[0][1]


@dataclass(frozen=True)
class Line:
    """One detected text line: its box in image pixels and its characters."""

    box: tuple[int, int, int, int]  # x0, y0, x1, y1
    glyphs: tuple[Glyph, ...]

    @property
    def text(self) -> str:
        return "".join(glyph.char for glyph in self.glyphs)

    @property
    def confidence(self) -> float:
        return sum(g.probability for g in self.glyphs) / len(self.glyphs) if self.glyphs else 0.0

    def span(self, start: int, end: int) -> tuple[int, int, int, int]:
        """The box of glyphs [start, end): to the line's edge where they begin or end it (a character's span
        is only estimated from where the recogniser saw it)."""
        x0 = self.box[0] if start == 0 else round(self.glyphs[start].x0)
        x1 = self.box[2] if end >= len(self.glyphs) else round(self.glyphs[end - 1].x1)
        return (x0, self.box[1], x1, self.box[3])


class OcrUnavailable(Exception):
    """The OCR package is not installed (it has no release for Python 3.13+): images cannot be read."""


UNAVAILABLE = "not read: OCR needs rapidocr-onnxruntime, which is not installed (it has no release for Python 3.13+)"


@cache
def _engine() -> Any:
    """The RapidOCR engine, one thread (the scan's worker pool spreads images over the cores)."""
    # deferred: onnxruntime and the models cost about a second, paid only when an image is met
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError:
        raise OcrUnavailable(UNAVAILABLE) from None

    # det_limit_side_len: never enlarged by the detector (read_lines sizes the image itself)
    return RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1, det_limit_side_len=32)


@cache
def ocr_version() -> str:
    """The OCR library's version and this reader's: a reading cached under another is not used."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{version('rapidocr-onnxruntime')}.r{READER}"
    except PackageNotFoundError:
        raise OcrUnavailable(UNAVAILABLE) from None


def dump_lines(lines: list[Line]) -> bytes:
    """The lines as compact JSON, compressed: [box..., [[x0, x1, [[char, probability], ...]], ...]] each."""
    plain = [[*line.box, [[g.x0, g.x1, g.alternatives] for g in line.glyphs]] for line in lines]
    return zlib.compress(json.dumps(plain, separators=(",", ":"), ensure_ascii=False).encode())


def load_lines(data: bytes) -> list[Line]:
    """What dump_lines wrote; ValueError when it is not that."""
    try:
        plain = json.loads(zlib.decompress(data))
        return [
            Line(
                (int(x0), int(y0), int(x1), int(y1)),
                tuple(
                    Glyph(tuple((str(c), float(p)) for c, p in alternatives), float(g0), float(g1))
                    for g0, g1, alternatives in glyphs
                ),
            )
            for x0, y0, x1, y1, glyphs in plain
        ]
    except (zlib.error, TypeError) as error:
        raise ValueError(f"not a reading: {error}") from None


def read_lines(image: Image.Image, read_rest: Callable[[list[Line]], bool] | None = None) -> list[Line]:
    """Every text line in the image (RGB), top to bottom. With `read_rest`, the lines wide enough to hold a
    value are read first, and the others only when `read_rest` says so of those (most screenshots hold no
    value: their labels and menus need not be read)."""
    engine = _engine()
    rgb = np.asarray(image.convert("RGB"))
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    height, width = rgb.shape[:2]
    scale = min(MAX_ENLARGE, DETECT_SIDE / max(height, width))
    if scale != 1.0:
        small = image.convert("RGB").resize((round(width * scale), round(height * scale)), Image.BILINEAR)
        bgr = np.ascontiguousarray(np.asarray(small)[:, :, ::-1])
    with _LOCK:  # onnxruntime sessions are shared by threads of one process
        found, _ = engine.text_det(bgr)
    if found is None or len(found) == 0:
        return []
    boxes = [box for box in (_box(points / scale, width, height) for points in found) if box is not None]
    wide = [box for box in boxes if (box[2] - box[0]) >= WIDE_LINE * (box[3] - box[1])]
    lines = _read(engine, rgb, wide if read_rest else boxes)
    if read_rest and read_rest(lines):
        lines += _read(engine, rgb, [box for box in boxes if box not in wide])
    lines.sort(key=lambda line: (line.box[1], line.box[0]))
    return lines


def _box(points: np.ndarray, width: int, height: int) -> tuple[int, int, int, int] | None:
    """A detected quadrilateral as the upright box read, with a margin; None when too small to read."""
    x0, y0 = float(points[:, 0].min()), float(points[:, 1].min())
    x1, y1 = float(points[:, 0].max()), float(points[:, 1].max())
    pad = (y1 - y0) * PAD
    left, top = max(0, int(x0 - pad)), max(0, int(y0 - pad))
    right, bottom = min(width, int(math.ceil(x1 + pad))), min(height, int(math.ceil(y1 + pad)))
    if right - left < 4 or bottom - top < 4:
        return None
    return (left, top, right, bottom)


def _read(engine: Any, rgb: np.ndarray, boxes: list[tuple[int, int, int, int]]) -> list[Line]:
    lines = []
    for left, top, right, bottom in boxes:
        glyphs = _recognise(engine, rgb[top:bottom, left:right], left)
        if glyphs:
            lines.append(Line((left, top, right, bottom), glyphs))
    return lines


def _recognise(engine: Any, crop: np.ndarray, left: int) -> tuple[Glyph, ...]:
    """The characters of one line crop, greedy CTC decoding with each character's best alternatives."""
    height, width = crop.shape[:2]
    scaled = max(REC_HEIGHT, int(math.ceil(REC_HEIGHT * width / height)))
    resized = Image.fromarray(np.ascontiguousarray(crop[:, :, ::-1])).resize((scaled, REC_HEIGHT), Image.BILINEAR)
    pixels = np.asarray(resized, dtype=np.float32).transpose(2, 0, 1) / 127.5 - 1.0
    with _LOCK:
        probabilities = engine.text_rec.session(pixels[np.newaxis])[0][0]
    characters = engine.text_rec.postprocess_op.character
    frames = probabilities.shape[0]
    step = width / frames
    best = probabilities.argmax(axis=1)
    runs: list[tuple[int, int, tuple[tuple[str, float], ...]]] = []
    start = 0
    while start < frames:
        index = int(best[start])
        end = start + 1
        while end < frames and best[end] == index:
            end += 1
        if index != 0:  # 0 is CTC's blank
            span = probabilities[start:end].max(axis=0)
            order = [int(i) for i in np.argsort(span)[::-1][: ALTERNATIVES + 1] if i not in (0, index)]
            alternatives = [(characters[index], round(float(span[index]), 4))]
            alternatives += [(characters[i], round(float(span[i]), 4)) for i in order if span[i] >= MIN_ALTERNATIVE]
            runs.append((start, end, tuple(alternatives[:ALTERNATIVES])))
        start = end
    # a character spans from halfway after the one before to halfway before the one after
    centres = [(start + end) / 2 for start, end, _ in runs]
    gaps = [b - a for a, b in zip(centres, centres[1:], strict=False)]
    half = (sorted(gaps)[len(gaps) // 2] if gaps else 2.0) / 2
    glyphs = []
    for i, (_, _, alternatives) in enumerate(runs):
        first = (centres[i - 1] + centres[i]) / 2 if i else centres[i] - half
        last = (centres[i] + centres[i + 1]) / 2 if i + 1 < len(runs) else centres[i] + half
        glyphs.append(Glyph(alternatives, round(left + first * step, 1), round(left + last * step, 1)))
    return tuple(glyphs)
