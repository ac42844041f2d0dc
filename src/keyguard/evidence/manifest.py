"""manifest.json: SHA-256 of every file in a case folder, signed with an Ed25519 key made for the case.

The private key is used once and thrown away, so nobody — keyguard included — can re-sign a changed
bundle; the public key is in the manifest for anyone to check it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

MANIFEST = "manifest.json"


def _hashes(case: Path) -> dict[str, str]:
    return {
        path.relative_to(case).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(case.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }


def _signed_bytes(body: dict) -> bytes:
    return json.dumps({k: body[k] for k in ("created", "files", "public_key")}, sort_keys=True).encode()


def seal(case: Path) -> Path:
    private = ed25519.Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    body = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": _hashes(case),
        "public_key": base64.b64encode(public).decode(),
        "algorithm": "Ed25519 over the canonical JSON of created, files and public_key (sorted keys)",
    }
    body["signature"] = base64.b64encode(private.sign(_signed_bytes(body))).decode()
    path = case / MANIFEST
    path.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    return path


@dataclass
class EvidenceCheck:
    signature_ok: bool
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def intact(self) -> bool:
        return self.signature_ok and not (self.changed or self.missing or self.added or self.error)


def verify_case(case: Path) -> EvidenceCheck:
    try:
        body = json.loads((case / MANIFEST).read_text("utf-8"))
        public = ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(body["public_key"]))
        signature = base64.b64decode(body["signature"])
    except (OSError, ValueError, KeyError) as error:
        return EvidenceCheck(False, error=f"no readable {MANIFEST}: {error}")
    try:
        public.verify(signature, _signed_bytes(body))
        signature_ok = True
    except InvalidSignature:
        signature_ok = False
    recorded, now = body["files"], _hashes(case)
    return EvidenceCheck(
        signature_ok,
        changed=sorted(p for p in recorded if p in now and now[p] != recorded[p]),
        missing=sorted(p for p in recorded if p not in now),
        added=sorted(p for p in now if p not in recorded),
    )
