"""The Source interface: each input of a scan (files, stdin, staged changes, git history) yields blobs.

A source is split in two so one process pool serves all of them: `units` runs in the scanning process and
is cheap (names, ids, sizes), `blobs` reads a unit's content and runs wherever the unit is matched.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from keyguard.model import Blob, Skipped

__all__ = ["FileTarget", "Source"]


@dataclass(frozen=True)
class FileTarget:
    """A regular file to scan: where to read it, how to show it, whether git tracks it."""

    path: str  # what to open
    display: str  # what to show in findings
    size: int
    local_only: bool
    identity: tuple[int, int] = (0, 0)  # (device, inode): the same file reached twice is scanned once


class Source(ABC):
    """One input of a scan. Units must pickle: they are sent to worker processes."""

    #: False when the blobs can only be read in this process (stdin)
    parallel = True

    @abstractmethod
    def units(self, skipped: list[Skipped]) -> Iterator[list[Any]]:
        """Batches of references to the blobs to read; problems met on the way go to `skipped`."""

    @abstractmethod
    def blobs(self, unit: list[Any]) -> Iterator[Blob | Skipped]:
        """The blobs of one batch, with their provenance; a blob that cannot be read is Skipped."""

    def weight(self, unit: list[Any]) -> int:
        """The bytes a unit holds (for progress and for deciding when a pool pays off)."""
        return 0
