"""Detection rules, loaded from the YAML files beside this module."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import yaml

try:  # the parser moved in 3.11; the old name warns
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover
    import sre_parse  # type: ignore[no-redef]

Kind = Literal["api_key", "secret", "private_key"]
Requirement = Literal["binance_nearby", "binance_file", "evidence"]

RULES_DIR = Path(__file__).resolve().parent
# `token`: an HMAC-shaped value whose kind the evidence decides (keyguard.detect.evidence)
GROUP_KINDS: dict[str, str] = {"key": "api_key", "secret": "secret", "private_key": "private_key", "token": "token"}
_MACRO = re.compile(r"\{([A-Z0-9_]+)\}")


class RuleError(ValueError):
    """A rule file is malformed."""


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    pattern: bytes
    requires: Requirement | None
    specific: bool
    severity: str | None
    prefilter: bytes  # what Hyperscan compiles; its matches end wherever the pattern's do
    examples: tuple[str, ...]
    negative_examples: tuple[str, ...]
    scope: str = "file"  # file | chat (chat-export messages only)
    requires_words: tuple[str, ...] = ()  # the text must contain one of these (case-insensitive)
    anchor: int = 0  # the prefilter matches this many bytes at a run's start: `re` checks only there

    @property
    def max_width(self) -> int:
        return _max_width(self.pattern)

    def compiled(self) -> re.Pattern[bytes]:
        return _compile(self.pattern)


@dataclass(frozen=True)
class ExampleKey:
    """A public documentation example: SHA-256 of its value (of the key material for a PEM private key),
    SHA-256 of its four 16-character windows (64-character values only), and where it was found."""

    sha256: str
    kind: Kind
    source: str
    windows: tuple[str, ...] = ()
    repository: str = ""
    path: str = ""
    commit: str = ""


@cache
def _compile(pattern: bytes) -> re.Pattern[bytes]:
    return re.compile(pattern)


def _max_width(pattern: bytes) -> int:
    width = sre_parse.parse(pattern.decode()).getwidth()[1]
    if width >= sre_parse.MAXREPEAT:
        raise RuleError(f"pattern has no bounded width: {pattern!r}")
    return width


def _expand(text: str, macros: dict[str, str]) -> str:
    """Fills {NAME} macros, which may use other macros."""
    for _ in range(4):
        expanded = _MACRO.sub(lambda m: macros.get(m.group(1), m.group(0)), text)
        if expanded == text:
            break
        text = expanded
    return text


def _parse_rule(raw: dict, macros: dict[str, str]) -> Rule:
    try:
        pattern = _expand(raw["pattern"], macros).encode()
        rule = Rule(
            id=raw["id"],
            name=raw["name"],
            pattern=pattern,
            requires=raw.get("requires"),
            specific=bool(raw.get("specific", False)),
            severity=raw.get("severity"),
            prefilter=_expand(raw.get("prefilter", raw["pattern"]), macros).encode(),
            examples=tuple(raw.get("examples", ())),
            negative_examples=tuple(raw.get("negative_examples", ())),
            scope=raw.get("scope", "file"),
            requires_words=tuple(raw.get("requires_words", ())),
            anchor=int(raw.get("anchor", 0)),
        )
    except KeyError as missing:
        raise RuleError(f"rule {raw.get('id', '?')} lacks {missing}") from None
    compiled = rule.compiled()
    unknown = set(compiled.groupindex) - set(GROUP_KINDS)
    if unknown or not compiled.groupindex:
        raise RuleError(f"rule {rule.id}: named groups must be among {sorted(GROUP_KINDS)}")
    if rule.scope not in ("file", "chat"):
        raise RuleError(f"rule {rule.id}: scope must be file or chat")
    if rule.requires not in (None, "binance_nearby", "binance_file", "evidence"):
        raise RuleError(f"rule {rule.id}: unknown requirement {rule.requires!r}")
    _max_width(pattern)
    return rule


def _load_yaml(name: str) -> dict:
    text = (RULES_DIR / name).read_text("utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader


@cache
def load_rules() -> tuple[Rule, ...]:
    """The rules for files, in priority order (earlier rules win when two match the same value)."""
    return tuple(rule for rule in load_all_rules() if rule.scope == "file")


@cache
def load_chat_rules() -> tuple[Rule, ...]:
    """The rules for chat messages: the file rules first, then the chat-only ones."""
    return load_rules() + tuple(rule for rule in load_all_rules() if rule.scope == "chat")


@cache
def load_all_rules() -> tuple[Rule, ...]:
    data = _load_yaml("binance.yaml")
    macros = data.get("macros", {})
    rules = tuple(_parse_rule(raw, macros) for raw in data["rules"])
    ids = [r.id for r in rules]
    if len(ids) != len(set(ids)):
        raise RuleError("duplicate rule ids")
    return rules


@cache
def load_example_keys() -> dict[str, ExampleKey]:
    """Public documentation example credentials, by SHA-256 of their value."""
    data = _load_yaml("example_keys.yaml")
    examples = [_parse_example(raw) for raw in data["examples"]]
    by_sha256 = {example.sha256: example for example in examples}
    if len(by_sha256) != len(examples):
        raise RuleError("example_keys.yaml: duplicate sha256")
    return by_sha256


_SHA256 = re.compile(r"[0-9a-f]{64}")


def _parse_example(raw: dict) -> ExampleKey:
    try:
        example = ExampleKey(
            sha256=raw["sha256"],
            kind=raw["kind"],
            source=raw["source"],
            windows=tuple(raw.get("windows", ())),
            repository=raw.get("repository", ""),
            path=raw.get("path", ""),
            commit=raw.get("commit", ""),
        )
    except KeyError as missing:
        raise RuleError(f"example {raw.get('sha256', '?')} lacks {missing}") from None
    digests = (example.sha256, *example.windows)
    if not all(_SHA256.fullmatch(digest) for digest in digests):
        raise RuleError(f"example {example.sha256}: digests must be SHA-256 in lowercase hex")
    if example.kind not in GROUP_KINDS.values() or len(example.windows) not in (0, 4):
        raise RuleError(f"example {example.sha256}: unknown kind or not 4 windows")
    return example
