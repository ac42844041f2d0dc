"""Redaction of images: opaque boxes, with a margin, over every key, secret and private-key text OCR finds.

What is boxed: every value a scan would report (a 64-character run read with a letter more or less), any
other run of 40 or more base64 characters (a PEM body line, a key read badly, an encoded secret), and a
private key's whole block, from its BEGIN line to its END line. Boxing more than needed is the safe side.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from PIL import Image, ImageDraw

from keyguard.detect.ocr import Line, read_lines
from keyguard.detect.screen import screen_of
from keyguard.sources.images import decode

Box = tuple[int, int, int, int]
MARGIN = 0.35  # of the line's height, around each box
MIN_MARGIN = 3  # pixels
LONG_RUN = 40  # base64 characters in a row that are boxed whatever they are
FILL = (0, 0, 0)
_BASE64_RUN = re.compile(rf"[A-Za-z0-9+/=]{{{LONG_RUN},}}")
_BEGIN = re.compile(r"(?i)BEGIN.{0,24}KEY")
_END = re.compile(r"(?i)END.{0,24}KEY")
FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".gif": "GIF", ".bmp": "BMP"}
FORMATS |= {".tif": "TIFF", ".tiff": "TIFF"}


@dataclass(frozen=True)
class Redacted:
    image: Image.Image
    boxes: tuple[Box, ...]  # as drawn, margins included
    values: int  # key- or secret-shaped values boxed
    private_key_lines: int


def _long_runs(line: Line) -> list[Box]:
    return [line.span(m.start(), m.end()) for m in _BASE64_RUN.finditer(line.text)]


def _private_key_lines(lines: list[Line]) -> list[Line]:
    """Lines of a private key's block: from a BEGIN … KEY line to its END … KEY line (or the image's end)."""
    inside, block = False, []
    for line in lines:  # top to bottom
        if not inside and _BEGIN.search(line.text):
            inside = True
        if inside:
            block.append(line)
            if _END.search(line.text):
                inside = False
    return block


def _with_margin(box: Box, size: tuple[int, int]) -> Box:
    x0, y0, x1, y1 = box
    margin = max(MIN_MARGIN, round((y1 - y0) * MARGIN))
    wide = 2 * margin  # a character's span is estimated: a little more along the line
    return (max(0, x0 - wide), max(0, y0 - margin), min(size[0], x1 + wide), min(size[1], y1 + margin))


def redact_image(data: bytes) -> Redacted:
    """The image (first frame) with every key, secret and private key boxed. Raises NotReadable."""
    image = decode(data)
    lines = read_lines(image)
    screen = screen_of(lines)
    boxes = [box for token in screen.tokens for box in token.boxes]
    boxes += [box for line in lines for box in _long_runs(line)]
    pem = _private_key_lines(lines)
    boxes += [line.box for line in pem]
    drawn = tuple(dict.fromkeys(_with_margin(box, image.size) for box in boxes))
    draw = ImageDraw.Draw(image)
    for box in drawn:
        draw.rectangle(box, fill=FILL)
    return Redacted(image, drawn, len(screen.tokens), len(pem))


def encoded(image: Image.Image, suffix: str) -> bytes:
    """The image in the format its file name asks for (PNG when unknown), with no metadata copied."""
    out = io.BytesIO()
    image.save(out, FORMATS.get(suffix.lower(), "PNG"))
    return out.getvalue()
