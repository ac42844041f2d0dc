"""`keyguard redact`: a file or stdin with Binance keys, secrets and signatures masked; an image boxed out."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from keyguard.cli.common import fail


def redact_command(
    source: Annotated[str, typer.Argument(help="A file or an image, or - for stdin.")] = "-",
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="Write here instead of stdout (required for an image)."),
    ] = None,
) -> None:
    """Print SOURCE with Binance keys, secrets, private keys and request signatures masked.

    A value found anywhere is masked everywhere it occurs, also inside base64 values (Kubernetes Secrets)
    and in chat exports (Telegram result.json, Slack, Discord). An image (PNG, JPEG, WebP, GIF, BMP, TIFF:
    a screenshot) is read with OCR and every key, secret and private key in it is covered by an opaque box;
    the original is never overwritten.

    Examples: keyguard redact bot.log > bot-safe.log;  keyguard redact screenshot.png -o safe.png
    """
    from keyguard.sources.images import image_format
    from keyguard.sources.reading import ARCHIVE, kind_of_binary
    from keyguard.vault.redact import redact_bytes

    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as error:
        raise fail(f"{source}: {error.strerror or error}") from None
    if output is not None and source != "-" and _same_file(source, output):
        raise fail(f"{output} is {source} itself: redact never writes over the original; give another -o")
    if output is not None and not Path(output).absolute().parent.is_dir():
        raise fail(f"{output}: no such folder")
    if image_format(data[:32]) is not None:
        _redact_image(data, source, output)
        return
    if kind_of_binary(data[:512]) == ARCHIVE:
        raise fail(f"{source} is an archive: redact reads text (keyguard scan {source} finds keys inside it)")
    redacted = redact_bytes(data, source)
    if output is None:
        sys.stdout.buffer.write(redacted)
        return
    _write(output, redacted)


def _same_file(source: str, output: str) -> bool:
    if os.path.exists(output):
        return os.path.samefile(source, output)
    return os.path.realpath(source) == os.path.realpath(output)


def _write(output: str, data: bytes) -> None:
    try:
        Path(output).write_bytes(data)
    except OSError as error:
        raise fail(f"{output}: {error.strerror or error}") from None


def _redact_image(data: bytes, source: str, output: str | None) -> None:
    from keyguard.detect.ocr import OcrUnavailable
    from keyguard.sources.images import NotReadable
    from keyguard.vault.redact_image import encoded, redact_image

    if output is None:
        raise fail(f"{source} is an image: give the file to write with -o (keyguard redact {source} -o safe.png)")
    try:
        redacted = redact_image(data)
    except (NotReadable, OcrUnavailable) as reason:
        raise fail(f"{source}: {reason}") from None
    _write(output, encoded(redacted.image, Path(output).suffix))
    found = f"{redacted.values} key or secret value{'s' if redacted.values != 1 else ''}"
    if redacted.private_key_lines:
        found += f", {redacted.private_key_lines} private-key lines"
    typer.echo(f"{source}: {len(redacted.boxes)} boxes drawn ({found}) -> {output}", err=True)
