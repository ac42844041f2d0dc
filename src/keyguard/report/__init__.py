"""Renders a scan's result: one Reporter per format (text, json, sarif); baselines filter accepted findings."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TextIO

from keyguard.model import ScanResult


class Reporter(ABC):
    """Writes one format of a scan's result to a text stream. Never a secret value: hashes and redactions only."""

    #: the --format name
    name: str

    @abstractmethod
    def write(self, result: ScanResult, out: TextIO, *, terminal: bool = False, width: int = 80) -> None:
        """`terminal`: `out` is an interactive terminal (colour, live width); else plain text for logs and files."""
