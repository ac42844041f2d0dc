"""The case folder's identity: which key, which audit window — fixed when the case opens, so a rerun after a
kill resumes the same case (same window, same checkpoint) instead of starting a different one."""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

CASE_FILE = "case.json"
MANIFEST = "manifest.json"
DAY_MS = 86_400_000


class CaseError(Exception):
    """The folder cannot hold this case: sealed already, another key's case, or not a keyguard case."""


@dataclass
class CaseState:
    fingerprint: str
    key: str  # redacted
    start_ms: int
    end_ms: int
    opened_utc: str
    runs: int = 1

    @property
    def resumed(self) -> bool:
        return self.runs > 1


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


def open_case(case: Path, fingerprint: str, redacted_key: str, since_days: int, now_ms: int) -> CaseState:
    """A new case (window: the `since_days` before now), or the unsealed case of the same key left in `case`."""
    state_file = case / CASE_FILE
    if (case / MANIFEST).exists():
        raise CaseError(
            f"{case} holds a sealed case; sealed evidence is never reopened or rewritten: choose another --out"
        )
    if state_file.exists():
        try:
            state = CaseState(**json.loads(state_file.read_text("utf-8")))
        except (OSError, ValueError, TypeError) as error:
            raise CaseError(
                f"{state_file} is not readable ({error}); nothing is overwritten: choose another --out"
            ) from None
        if state.fingerprint != fingerprint:
            raise CaseError(f"{case} is the case of another key ({state.key}); choose another --out")
        state.runs += 1
    elif case.exists() and any(case.iterdir()):
        raise CaseError(f"{case} is not empty and holds no keyguard case; nothing is overwritten: choose another --out")
    else:
        state = CaseState(fingerprint, redacted_key, now_ms - since_days * DAY_MS, now_ms, _utc(now_ms))
    try:
        case.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise CaseError(f"{case} is a file, not a folder: choose another --out") from None
    _hold(case)
    temporary = state_file.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(state), indent=2) + "\n", encoding="utf-8")
    temporary.replace(state_file)
    return state


_HELD: dict[Path, int] = {}  # case folder -> open descriptor holding its lock until this process ends


def _hold(case: Path) -> None:
    """One keyguard at a time per case: a second run on the same folder would seal it twice."""
    folder = case.resolve()
    if folder in _HELD:
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise CaseError(f"another keyguard is working on {case} now; wait for it or choose another --out") from None
    _HELD[folder] = descriptor


def release(case: Path) -> None:
    descriptor = _HELD.pop(case.resolve(), None)
    if descriptor is not None:
        os.close(descriptor)


def window_text(state: CaseState) -> str:
    return f"{_utc(state.start_ms)} to {_utc(state.end_ms)}"
