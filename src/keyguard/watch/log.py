"""The watch's event log: one JSON object a line (--log FILE) and a SQLite store, never a secret.

Each record is {"logged_at": UTC ISO time, "time_ms", "source", "kind", "key": the watched key's fingerprint
and redacted form, "event": the event}. Before anything is written the event is scrubbed: fields that carry
credentials (apiKey, signature, secret, privateKey, listenKey) are replaced by a redacted form, and every
occurrence of a given secret value (the watched key, its HMAC secret or PEM) inside any string is replaced.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from keyguard.exchange.credentials import Credential
from keyguard.model import redact

CREDENTIAL_FIELDS = frozenset({"apikey", "signature", "secret", "secretkey", "privatekey", "listenkey", "api_secret"})
SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    logged_at TEXT NOT NULL,
    time_ms INTEGER,
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    key_fingerprint TEXT,
    event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_kind_time ON events (kind, time_ms);
"""


def event_kind(event: dict[str, Any]) -> str:
    """keyguard's `kind`, else Binance's event type `e` (executionReport…)."""
    return str(event.get("kind") or event.get("e") or "unknown")


def event_time_ms(event: dict[str, Any]) -> int | None:
    value = event.get("E", event.get("time"))
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class Scrubber:
    """Replaces credential fields and known secret values anywhere in an event."""

    def __init__(self, credentials: Iterable[Credential] = ()) -> None:
        self._replacements: list[tuple[str, str]] = []
        for credential in credentials:
            self._replacements.append((credential.secret, "<secret>"))
            self._replacements.append((credential.api_key, credential.redacted_key))
        self._replacements = [(value, shown) for value, shown in self._replacements if value]

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self._field(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self(item) for item in value]
        if isinstance(value, str):
            for secret, shown in self._replacements:
                value = value.replace(secret, shown)
        return value

    def _field(self, name: str, value: Any) -> Any:
        if name.lower() in CREDENTIAL_FIELDS and isinstance(value, str) and value:
            return redact(value.encode())
        return self(value)


class EventLog:
    """Writes events to a JSONL file, a SQLite database, or both (either may be None). Thread-safe.

    credentials: the keys whose values must never be written (the watched key, a guardian key).
    key: the watched key, named in each record by its SHA-256 fingerprint and redacted form.
    """

    def __init__(
        self,
        jsonl_path: Path | None = None,
        sqlite_path: Path | None = None,
        credentials: Iterable[Credential] = (),
        key: Credential | None = None,
    ) -> None:
        self.scrub = Scrubber([*credentials, *([key] if key else [])])
        self._key = {"fingerprint": key.fingerprint, "redacted": key.redacted_key} if key else None
        self._lock = threading.Lock()
        self._jsonl = None
        self._db: sqlite3.Connection | None = None
        if jsonl_path is not None:
            jsonl_path.parent.mkdir(parents=True, exist_ok=True)
            self._jsonl = jsonl_path.open("a", encoding="utf-8")
        if sqlite_path is not None:
            sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(sqlite_path, check_same_thread=False)
            self._db.executescript(SCHEMA)

    def write(self, event: dict[str, Any], source: str = "stream") -> dict[str, Any]:
        """Logs one event (source: stream, poll, alert, containment…); returns the record as written."""
        record = {
            "logged_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "time_ms": event_time_ms(event),
            "source": source,
            "kind": event_kind(event),
            "key": self._key,
            "event": self.scrub(event),
        }
        line = json.dumps(record, separators=(",", ":"), sort_keys=True, default=str)
        with self._lock:
            if self._jsonl is not None:
                self._jsonl.write(line + "\n")
                self._jsonl.flush()
            if self._db is not None:
                self._db.execute(
                    "INSERT INTO events (logged_at, time_ms, source, kind, key_fingerprint, event) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        record["logged_at"],
                        record["time_ms"],
                        source,
                        record["kind"],
                        self._key["fingerprint"] if self._key else None,
                        json.dumps(record["event"], sort_keys=True, default=str),
                    ),
                )
                self._db.commit()
        return record

    def close(self) -> None:
        with self._lock:
            if self._jsonl is not None:
                self._jsonl.close()
                self._jsonl = None
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> EventLog:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


def read_store(sqlite_path: Path, kind: str | None = None, since_ms: int | None = None) -> list[dict[str, Any]]:
    """Records of the SQLite store, oldest first, optionally of one kind and from a time on."""
    query = "SELECT logged_at, time_ms, source, kind, key_fingerprint, event FROM events WHERE 1=1"
    args: list[Any] = []
    if kind is not None:
        query += " AND kind = ?"
        args.append(kind)
    if since_ms is not None:
        query += " AND time_ms >= ?"
        args.append(since_ms)
    with closing(sqlite3.connect(sqlite_path)) as db:
        rows = db.execute(query + " ORDER BY id", args).fetchall()
    names = ("logged_at", "time_ms", "source", "kind", "key_fingerprint")
    return [{**dict(zip(names, row[:5], strict=True)), "event": json.loads(row[5])} for row in rows]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
