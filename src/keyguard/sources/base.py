"""What every source yields: targets to scan, and what it had to skip and why."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FileTarget:
    """A regular file to scan: where to read it, how to show it, whether git tracks it."""

    path: str  # what to open
    display: str  # what to show in findings
    size: int
    local_only: bool
    identity: tuple[int, int] = (0, 0)  # (device, inode): the same file reached twice is scanned once
