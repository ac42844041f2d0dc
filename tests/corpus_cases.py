"""The real-world corpus: files in the shapes people really write, every value synthetic.

A case is a folder `tests/corpus/{dev,heldout}/<case>/` holding one or more files (any layout, as in the
source repository) and a `SOURCE` file naming where the shape comes from (repository, path, commit). In
the files, markers stand for values, filled fresh (deterministic per case) when the case is written out:

    {{KEY}} {{KEY_2}} ...        a Binance API key: must be found, kind api_key
    {{SECRET}} {{SECRET_2}} ...  a Binance secret: must be found, kind secret
    {{ED25519_PEM}} {{RSA_PEM}}  a private key (PEM, multi-line): must be found, kind private_key
    {{ED25519_PEM_ESCAPED}}      the same with JSON \\n escapes
    {{DECOY}} {{DECOY_2}} ...    a 64-character mixed-case token that is NOT a Binance credential
                                 (another exchange, a JWT secret, a hash...): must not be found
    {{HEX64}}                    64 hex characters: must not be found

The same marker in one case is the same value. `dev` is for development; `heldout` is measured only at
the end (bench/key_detection.py), never tuned to.
"""

from __future__ import annotations

import hashlib
import random
import re
import string
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

CORPUS = Path(__file__).parent / "corpus"
MARKER = re.compile(r"\{\{([A-Z0-9_]+)\}\}")
ALNUM = string.ascii_letters + string.digits
EXPECTED_KINDS = {"KEY": "api_key", "SECRET": "secret", "ED25519": "private_key", "RSA": "private_key"}


@dataclass(frozen=True)
class Expected:
    marker: str
    kind: str | None  # None: must not be found
    sha256: str


@dataclass(frozen=True)
class Case:
    split: str
    name: str
    folder: Path

    def files(self) -> list[Path]:
        return sorted(p for p in self.folder.rglob("*") if p.is_file() and p.name != "SOURCE")


def cases(split: str) -> list[Case]:
    root = CORPUS / split
    return [Case(split, folder.name, folder) for folder in sorted(root.iterdir()) if folder.is_dir()]


def _mixed_token(rng: random.Random) -> str:
    while True:
        token = "".join(rng.choice(ALNUM) for _ in range(64))
        if any(c.isupper() for c in token) and any(c.islower() for c in token) and any(c.isdigit() for c in token):
            return token


def _pem(rng: random.Random, kind: str) -> str:
    seed = rng.randbytes(32)
    if kind == "ED25519":
        key = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return (
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
        .strip()
    )


def _value(marker: str, rng: random.Random) -> str:
    base = marker.split("_")[0]
    if base in ("KEY", "SECRET", "DECOY"):
        return _mixed_token(rng)
    if base == "HEX64":
        return "".join(rng.choice("0123456789abcdef") for _ in range(64))
    if base in ("ED25519", "RSA"):
        pem = _pem(rng, base)
        return pem.replace("\n", "\\n") if marker.endswith("_ESCAPED") else pem
    raise ValueError(f"unknown corpus marker {{{{{marker}}}}}")


def _identity(value: str, marker: str) -> str:
    """The exact bytes a finding's secret_sha256 covers (a PEM as written, escapes included)."""
    return hashlib.sha256(value.encode()).hexdigest()


def write_case(case: Case, destination: Path) -> list[Expected]:
    """The case's files with fresh values, under `destination`; what must and must not be found."""
    rng = random.Random(hashlib.sha256(f"{case.split}/{case.name}".encode()).digest())
    values: dict[str, str] = {}
    for path in case.files():
        text = path.read_text("utf-8")
        for marker in MARKER.findall(text):
            if marker not in values:
                values[marker] = _value(marker, rng)
        target = destination / path.relative_to(case.folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(MARKER.sub(lambda m: values[m.group(1)], text), "utf-8")
    return [
        Expected(marker, EXPECTED_KINDS.get(marker.split("_")[0]), _identity(value, marker))
        for marker, value in sorted(values.items())
    ]
