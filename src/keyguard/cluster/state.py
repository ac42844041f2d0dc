"""--since-last: the blob ids each repository's previous scans read, so the next scan reads only new objects.

One JSON file a repository in `$KEYGUARD_STATE_DIR`, else `$XDG_STATE_HOME/keyguard/scanned` (by default
`~/.local/state/keyguard/scanned`), named by a hash of the repository's label. It holds the label (a path,
or a URL without credentials), a fingerprint of what decides the findings (keyguard's version, its rules,
the options that change what a blob yields) and git's blob ids: never a secret, never a finding. When the
fingerprint changes (new rules, say) the old ids no longer count and everything is read again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from datetime import UTC, datetime
from importlib import metadata, resources
from pathlib import Path

STATE_VERSION = 1


def state_dir() -> Path:
    if os.environ.get("KEYGUARD_STATE_DIR"):
        return Path(os.environ["KEYGUARD_STATE_DIR"])
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "keyguard" / "scanned"


def fingerprint(include_examples: bool, images: bool) -> str:
    """What a blob's findings depend on besides its content."""
    digest = hashlib.sha256()
    with contextlib.suppress(metadata.PackageNotFoundError):
        digest.update(metadata.version("keyguard").encode())
    rules = resources.files("keyguard") / "rules"
    for name in sorted(entry.name for entry in rules.iterdir() if entry.name.endswith(".yaml")):
        digest.update(name.encode() + b"\0" + (rules / name).read_bytes())
    digest.update(f"examples={include_examples} images={images}".encode())
    return digest.hexdigest()


class ScannedBlobs:
    def __init__(self, fingerprint: str, directory: Path | None = None) -> None:
        self.fingerprint = fingerprint
        self.directory = directory or state_dir()

    def _file(self, label: str) -> Path:
        return self.directory / f"{hashlib.sha256(label.encode()).hexdigest()[:24]}.json"

    def load(self, label: str) -> frozenset[str]:
        """The ids read before; none when there is no state, it is unreadable or was written under other rules."""
        try:
            state = json.loads(self._file(label).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return frozenset()
        if not isinstance(state, dict) or state.get("fingerprint") != self.fingerprint:
            return frozenset()
        if state.get("version") != STATE_VERSION or state.get("repository") != label:
            return frozenset()
        return frozenset(blob for blob in state.get("blobs", []) if isinstance(blob, str))

    def save(self, label: str, blobs: set[str]) -> None:
        """Written beside and renamed into place: a run cut short leaves the previous state whole."""
        self.directory.mkdir(parents=True, exist_ok=True)
        state = {
            "version": STATE_VERSION,
            "repository": label,
            "fingerprint": self.fingerprint,
            "updated": datetime.now(UTC).isoformat(timespec="seconds"),
            "blobs": sorted(blobs),
        }
        handle, temporary = tempfile.mkstemp(prefix=".scanned-", dir=self.directory)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(state, out, separators=(",", ":"))
            os.replace(temporary, self._file(label))
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
