"""The containment log: every action with its UTC time and result (the AWS playbook's rule)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path


@dataclass
class Action:
    time: str
    action: str
    result: str
    ok: bool


@dataclass
class ActionLog:
    actions: list[Action] = field(default_factory=list)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    def record(self, action: str, result: str, ok: bool = True) -> Action:
        entry = Action(datetime.now(UTC).isoformat(timespec="milliseconds"), action, result, ok)
        self.actions.append(entry)
        return entry

    def elapsed(self) -> float:
        return (datetime.now(UTC) - self.started).total_seconds()

    @classmethod
    def continued(cls, path: Path) -> ActionLog:
        """The log of an earlier run of the same case (a rerun after a kill), to be continued."""
        log = cls()
        if path.exists():
            for line in path.read_text("utf-8").splitlines():
                try:
                    log.actions.append(Action(**json.loads(line)))
                except (ValueError, TypeError):
                    continue  # a line cut short by the kill
        return log

    def write(self, path: Path) -> None:
        path.write_text("".join(json.dumps(asdict(a)) + "\n" for a in self.actions), encoding="utf-8")
