"""SQLite store of keys: label, tool, profile, expected IPs, fingerprint (SHA-256 of the API key), created,
last verification. The secret is never stored here."""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
    label TEXT PRIMARY KEY,
    tool TEXT NOT NULL,
    profile TEXT NOT NULL,
    expected_ips TEXT NOT NULL DEFAULT '[]',
    fingerprint TEXT NOT NULL,
    redacted TEXT NOT NULL,
    key_type TEXT NOT NULL,
    added TEXT NOT NULL,
    retired INTEGER NOT NULL DEFAULT 0,
    last_verified TEXT,
    last_status TEXT,
    last_severity TEXT,
    last_result TEXT
)
"""


def default_path() -> Path:
    if os.environ.get("KEYGUARD_INVENTORY"):
        return Path(os.environ["KEYGUARD_INVENTORY"])
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data / "keyguard" / "inventory.sqlite"


@dataclass
class KeyRecord:
    label: str
    tool: str
    profile: str
    fingerprint: str
    redacted: str
    key_type: str
    added: str
    expected_ips: list[str] = field(default_factory=list)
    retired: bool = False
    last_verified: str | None = None
    last_status: str | None = None
    last_severity: str | None = None
    last_result: dict[str, Any] | None = None


class Inventory:
    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path)
        self._db.execute(SCHEMA)
        os.chmod(self.path, 0o600)

    def close(self) -> None:
        self._db.close()

    def add(self, record: KeyRecord) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO keys (label, tool, profile, expected_ips, fingerprint, redacted, key_type, added) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.label,
                    record.tool,
                    record.profile,
                    json.dumps(record.expected_ips),
                    record.fingerprint,
                    record.redacted,
                    record.key_type,
                    record.added,
                ),
            )

    def record_verification(self, label: str, result: dict[str, Any]) -> None:
        with self._db:
            self._db.execute(
                "UPDATE keys SET last_verified = ?, last_status = ?, last_severity = ?, last_result = ? "
                "WHERE label = ?",
                (
                    datetime.now(UTC).isoformat(timespec="seconds"),
                    result["status"],
                    result["severity"],
                    json.dumps(result),
                    label,
                ),
            )

    def replace_key(self, label: str, fingerprint: str, redacted: str, key_type: str) -> None:
        """The tool behind `label` now uses another key (after a rotation)."""
        with self._db:
            self._db.execute(
                "UPDATE keys SET fingerprint = ?, redacted = ?, key_type = ?, last_verified = NULL, "
                "last_status = NULL, last_severity = NULL, last_result = NULL WHERE label = ?",
                (fingerprint, redacted, key_type, label),
            )

    def retire(self, label: str) -> bool:
        with self._db:
            return self._db.execute("UPDATE keys SET retired = 1 WHERE label = ?", (label,)).rowcount == 1

    def get(self, label: str) -> KeyRecord | None:
        return next((r for r in self.all() if r.label == label), None)

    def by_fingerprint(self, fingerprint: str) -> list[KeyRecord]:
        return [r for r in self.all() if r.fingerprint == fingerprint]

    def all(self) -> list[KeyRecord]:
        rows = self._db.execute(
            "SELECT label, tool, profile, fingerprint, redacted, key_type, added, expected_ips, retired, "
            "last_verified, last_status, last_severity, last_result FROM keys ORDER BY label"
        ).fetchall()
        return [
            KeyRecord(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                json.loads(r[7]),
                bool(r[8]),
                r[9],
                r[10],
                r[11],
                json.loads(r[12]) if r[12] else None,
            )
            for r in rows
        ]
