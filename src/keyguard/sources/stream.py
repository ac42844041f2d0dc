"""Standard input (or any byte stream) as a Source: one blob, read in pieces in this process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from keyguard.model import Blob, Provenance
from keyguard.sources.base import Source

STDIN = "-"


class StreamSource(Source):
    parallel = False

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream

    def units(self, skipped: list) -> Iterator[list[str]]:
        yield [STDIN]

    def blobs(self, unit: list[str]) -> Iterator[Blob]:
        yield Blob(Provenance("stdin", STDIN, "stdin", local_only=True), stream=self.stream)
