"""manifest.json: SHA-256 of every file in a case folder, signed with an Ed25519 key made for the case.

What the signature proves: the files are unchanged since sealing. What it does not prove: who sealed the
case — the private key is thrown away at once, so anyone could seal a made-up case. The manifest's own
SHA-256, sent to Binance support in the ticket, anchors the case in time.

The ticket and the police report carry that hash, so they cannot be inside the manifest: they are listed
in it as outside the seal, and sealing writes the hash into them (replacing HASH_PLACEHOLDER).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

MANIFEST = "manifest.json"
FORMAT = "keyguard-case/2"
HASH_PLACEHOLDER = "[manifest SHA-256: written here when the case is sealed]"
OUTSIDE_SEAL = {
    "support-ticket.md": "written after sealing; carries this manifest's SHA-256",
    "police-report.md": "written after sealing; carries this manifest's SHA-256",
}
PROVES = "the files listed are byte for byte as they were when the case was sealed"
DOES_NOT_PROVE = (
    "who sealed the case or when: the signing key was thrown away, so anyone could seal a made-up case; "
    "the manifest's SHA-256 sent to Binance support anchors the case in time"
)
_LEGACY_SIGNED = ("created", "files", "public_key")
_HEX64 = re.compile(r"[0-9a-f]{64}")


class AlreadySealed(RuntimeError):
    """A case is sealed once: sealing again would replace the evidence's anchor."""


class ManifestError(ValueError):
    """manifest.json is missing or malformed; the message says what is wrong, in one line."""


def _hashes(case: Path, skip: set[str]) -> dict[str, str]:
    return {
        path.relative_to(case).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(case.rglob("*"))
        if path.is_file() and path.relative_to(case).as_posix() not in skip
    }


def _signed_bytes(body: dict[str, Any]) -> bytes:
    fields = _LEGACY_SIGNED if "format" not in body else sorted(k for k in body if k != "signature")
    return json.dumps({k: body[k] for k in fields}, sort_keys=True).encode()


def seal(case: Path, complete: bool = True, missing: list[str] | None = None) -> str:
    """Hash and sign every file of the case, then write the manifest's SHA-256 into the documents outside
    the seal. Returns that SHA-256 (hex of manifest.json's bytes). Raises AlreadySealed on a sealed case."""
    path = case / MANIFEST
    if path.exists():
        raise AlreadySealed(f"{case} is already sealed ({MANIFEST} exists); a case is sealed once")
    private = ed25519.Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    body: dict[str, Any] = {
        "format": FORMAT,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "complete": bool(complete),
        "missing": list(missing or []),
        "files": _hashes(case, {MANIFEST, *OUTSIDE_SEAL}),
        "outside_seal": dict(OUTSIDE_SEAL),
        "public_key": base64.b64encode(public).decode(),
        "algorithm": "Ed25519 over the canonical JSON (sorted keys) of every field but signature",
        "proves": PROVES,
        "does_not_prove": DOES_NOT_PROVE,
    }
    body["signature"] = base64.b64encode(private.sign(_signed_bytes(body))).decode()
    raw = (json.dumps(body, indent=2) + "\n").encode()
    path.write_bytes(raw)
    digest = hashlib.sha256(raw).hexdigest()
    for name in OUTSIDE_SEAL:
        document = case / name
        if document.is_file():
            document.write_text(document.read_text("utf-8").replace(HASH_PLACEHOLDER, digest), encoding="utf-8")
    return digest


@dataclass
class EvidenceCheck:
    signature_ok: bool
    manifest_sha256: str = ""
    created: str = ""
    complete: bool | None = None  # None: sealed by a keyguard that did not record it
    incomplete_reasons: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    outside: dict[str, bool] = field(default_factory=dict)  # document outside the seal -> carries the hash
    error: str | None = None

    @property
    def intact(self) -> bool:
        return self.signature_ok and not (self.changed or self.missing or self.added or self.error)


def _require(body: dict[str, Any], name: str, kind: type, what: str) -> Any:
    if name not in body:
        raise ManifestError(f"field '{name}' is missing")
    value = body[name]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ManifestError(f"field '{name}' must be {what}, not {type(value).__name__}")
    return value


def _b64(body: dict[str, Any], name: str, size: int) -> bytes:
    text = _require(body, name, str, "base64 text")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ManifestError(f"field '{name}' is not valid base64") from None
    if len(raw) != size:
        raise ManifestError(f"field '{name}' must decode to {size} bytes, not {len(raw)}")
    return raw


def read_manifest(case: Path) -> tuple[dict[str, Any], bytes]:
    """The manifest and its raw bytes, checked for shape; ManifestError says what is wrong."""
    path = case / MANIFEST
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ManifestError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ManifestError(f"not JSON ({error})") from None
    if not isinstance(body, dict):
        raise ManifestError(f"must be a JSON object, not a {type(body).__name__}")
    _require(body, "created", str, "text")
    files = _require(body, "files", dict, "an object of path to SHA-256")
    for name, digest in files.items():
        if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
            raise ManifestError(f"field 'files' holds {name!r} with {digest!r}, not a SHA-256 in hex")
    _b64(body, "public_key", 32)
    _b64(body, "signature", 64)
    if "format" in body:
        _require(body, "complete", bool, "true or false")
        missing = _require(body, "missing", list, "a list of text")
        if not all(isinstance(m, str) for m in missing):
            raise ManifestError("field 'missing' must be a list of text")
        outside = body.get("outside_seal", {})
        if not isinstance(outside, dict):
            raise ManifestError(f"field 'outside_seal' must be an object, not {type(outside).__name__}")
    return body, raw


def verify_case(case: Path) -> EvidenceCheck:
    try:
        body, raw = read_manifest(case)
    except ManifestError as error:
        return EvidenceCheck(False, error=f"{case / MANIFEST}: {error}")
    digest = hashlib.sha256(raw).hexdigest()
    public = ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(body["public_key"]))
    try:
        public.verify(base64.b64decode(body["signature"]), _signed_bytes(body))
        signature_ok = True
    except InvalidSignature:
        signature_ok = False
    outside = {name: "" for name in body.get("outside_seal", {})}
    recorded, now = body["files"], _hashes(case, {MANIFEST, *outside})
    carries = {}
    for name in outside:
        document = case / name
        carries[name] = document.is_file() and digest in document.read_text("utf-8", errors="replace")
    return EvidenceCheck(
        signature_ok,
        manifest_sha256=digest,
        created=body["created"],
        complete=body.get("complete"),
        incomplete_reasons=list(body.get("missing", [])),
        changed=sorted(p for p in recorded if p in now and now[p] != recorded[p]),
        missing=sorted(p for p in recorded if p not in now),
        added=sorted(p for p in now if p not in recorded),
        outside=carries,
    )
