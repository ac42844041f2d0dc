"""Binance's public documentation example keys, and copies of them altered by a few characters.

An example is stored as the SHA-256 of its value (of the base64 key material for a PEM private key), and a
64-character example also as the SHA-256 of each of its four 16-character windows. A 64-character value
sharing one window with an example (the same characters at the same place) is a copy of that example: up
to three changed characters always leave one window whole, more do when they fall in few windows.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from keyguard.rules import ExampleKey, Kind, load_example_keys

KEY_LENGTH = 64
WINDOW = 16
_TOKEN = re.compile(rb"[A-Za-z0-9]{64}")
_PEM_ARMOUR = re.compile(rb"-----(?:BEGIN|END) [A-Z0-9 ]+-----")
_PEM_NOISE = re.compile(rb"\\[nr]|[^A-Za-z0-9+/=]")


def window_digests(value: bytes) -> tuple[str, ...]:
    """SHA-256 of the four 16-character windows of a 64-character token; () for any other value."""
    if not _TOKEN.fullmatch(value):
        return ()
    return tuple(hashlib.sha256(value[i : i + WINDOW]).hexdigest() for i in range(0, KEY_LENGTH, WINDOW))


def pem_material(value: bytes) -> bytes:
    """The base64 body of a PEM block: armour lines, whitespace and escaped line breaks removed."""
    return _PEM_NOISE.sub(b"", _PEM_ARMOUR.sub(b"", value))


def example_digest(value: bytes) -> str:
    """What an example is stored as: SHA-256 of the value, or of the key material of a PEM block."""
    material = pem_material(value) if value.lstrip().startswith(b"-----BEGIN") else value
    return hashlib.sha256(material).hexdigest()


@dataclass(frozen=True)
class DocumentationExamples:
    """The known examples, by SHA-256 of their value and by SHA-256 of each of their windows."""

    by_sha256: Mapping[str, ExampleKey]
    by_window: Mapping[str, ExampleKey]

    @classmethod
    def load(cls) -> DocumentationExamples:
        """The examples shipped in keyguard/rules/example_keys.yaml."""
        return cls.of(load_example_keys().values())

    @classmethod
    def of(cls, examples: Iterable[ExampleKey]) -> DocumentationExamples:
        by_sha256: dict[str, ExampleKey] = {}
        by_window: dict[str, ExampleKey] = {}
        for example in examples:
            by_sha256.setdefault(example.sha256, example)
            for digest in example.windows:
                by_window.setdefault(digest, example)
        return cls(MappingProxyType(by_sha256), MappingProxyType(by_window))

    @classmethod
    def from_values(cls, values: Mapping[bytes, Kind], source: str = "") -> DocumentationExamples:
        """Examples built from clear values (a test's synthetic ones; shipped data holds digests only)."""
        return cls.of(
            ExampleKey(example_digest(value), kind, source, window_digests(value)) for value, kind in values.items()
        )

    def match(self, value: bytes) -> ExampleKey | None:
        """The example this value is, or is an altered copy of; None for any other value."""
        exact = self.by_sha256.get(example_digest(value))
        if exact is not None:
            return exact
        for digest in window_digests(value):
            example = self.by_window.get(digest)
            if example is not None:
                return example
        return None

    def is_example(self, value: bytes) -> bool:
        return self.match(value) is not None

    def __contains__(self, sha256: object) -> bool:
        """Whether an exact example has this SHA-256 (of the value, or of a PEM's key material)."""
        return sha256 in self.by_sha256

    def __len__(self) -> int:
        return len(self.by_sha256)
