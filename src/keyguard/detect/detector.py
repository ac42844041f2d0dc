"""Turns the engine's rule matches in one blob's bytes into frozen matches: filters, context, pairing, severity."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache

from keyguard.detect.decoders import decode_base64
from keyguard.detect.engine import Engine, build_engine
from keyguard.detect.evidence import PENDING_SCORE, REPORT_SCORE, Evidence, judge, name_parts, only_tokens
from keyguard.detect.examples import DocumentationExamples
from keyguard.detect.filters import placeholder_reason
from keyguard.detect.pairing import pair_indices
from keyguard.model import Match, redact, secret_sha256
from keyguard.rules import GROUP_KINDS, Rule, load_chat_rules, load_rules

BINANCE = b"binance"
NEARBY_BYTES = 2048
ALLOW_MARKER = b"keyguard:allow"


@dataclass(frozen=True)
class Candidate:
    """One captured value before it becomes a finding."""

    rule_index: int
    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class Chunk:
    """Bytes of one file (or a piece of a large one) and where they sit in it."""

    data: bytes
    offset: int = 0  # byte offset of data[0] in the file
    line: int = 1  # line number of data[0]
    keep_from: int = 0  # findings starting before this index belong to the previous piece
    keep_until: int | None = None  # ... and from this index on, to the next piece


PAIR_LINES = 3  # a second value within this many lines makes a pair more likely


@dataclass(frozen=True)
class _Token:
    candidate: Candidate
    value: bytes
    example: bool
    evidence: Evidence
    line: int
    column: int


class _Context:
    """What the evidence needs to know of one chunk and its path, judged once per value."""

    def __init__(self, data: bytes, lowered: bytes, path: str, path_names_binance: bool, names_binance: bool) -> None:
        self.data, self.lowered = data, lowered
        name = path.replace("\\", "/").rsplit("!", 1)[-1].rsplit("/", 1)[-1]
        self.file_name_parts = name_parts(name.encode("utf-8", "replace")) if "." in name else []
        self.path_names_binance = path_names_binance
        self.names_binance = names_binance
        self._judged: dict[tuple[int, int], Evidence] = {}

    def judge(self, cand: Candidate) -> Evidence:
        span = (cand.start, cand.end)
        if span not in self._judged:
            self._judged[span] = judge(
                self.data,
                cand.start,
                cand.end,
                self.lowered,
                self.file_name_parts,
                self.path_names_binance,
                self.names_binance,
            )
        return self._judged[span]


class _Positions:
    """Line and column (in characters) of offsets in one chunk, asked in increasing order: linear in all,
    where counting from the start for each value was quadratic on a minified one-line file."""

    def __init__(self, data: bytes, first_line: int) -> None:
        self.data = data
        self.first_line = first_line
        self._reset()

    def _reset(self) -> None:
        self.offset, self.line, self.column = 0, self.first_line, 1

    def at(self, offset: int) -> tuple[int, int]:
        if offset < self.offset:
            self._reset()
        data = self.data
        newlines = data.count(b"\n", self.offset, offset)
        if newlines:
            line_start = data.rfind(b"\n", self.offset, offset) + 1
            self.line += newlines
            self.column, self.offset = 1, line_start
        self.column += len(data[self.offset : offset].decode("utf-8", "replace"))
        self.offset = offset
        return self.line, self.column


class Detector:
    def __init__(self, rules: Sequence[Rule], engine: Engine, include_examples: bool = False) -> None:
        self.rules = tuple(rules)
        self.engine = engine
        self.include_examples = include_examples
        self._examples = DocumentationExamples.load()
        self._severity_overrides = {rule.id: rule.severity for rule in self.rules if rule.severity}
        self._evidence_rules = frozenset(i for i, rule in enumerate(self.rules) if rule.requires == "evidence")

    def scan_file(self, chunks: Iterable[Chunk], path: str) -> list[Match]:
        """All matches in a blob given as chunks, paired and with their severity; `path` is evidence."""
        path_names_binance = BINANCE in path.lower().encode("utf-8", "surrogateescape")
        found: list[Match] = []
        for chunk in chunks:
            # a one-pass engine finds the candidates as cheaply as it would say there are some
            if self.engine.one_pass or self.engine.has_candidates(chunk.data):
                found.extend(self._scan_chunk(chunk, path, path_names_binance))
        if not found:
            return found
        partners = pair_indices(found)
        matches = []
        for index, match in enumerate(found):
            partner = partners.get(index)
            paired_with = found[partner].secret_sha256 if partner is not None else None
            matches.append(replace(match, paired_with=paired_with, severity=self._severity(match, paired_with)))
        return matches

    def _candidates(self, data: bytes) -> tuple[list[Candidate], list[tuple[int, int]]]:
        """Rule candidates, and the spans of encoded values to decode."""
        found: set[Candidate] = set()
        encoded: list[tuple[int, int]] = []
        for rule_index, match in self.engine.matches(data):
            if rule_index >= len(self.rules):
                encoded.append(match.span("encoded"))
                continue
            for group, value in match.groupdict().items():
                if value is not None:
                    found.add(Candidate(rule_index, GROUP_KINDS[group], *match.span(group)))
        # for a value several rules capture, the earliest rule whose requirements hold reports it; the
        # evidence model only judges what no rule claimed
        last = self._evidence_rules
        return sorted(found, key=lambda c: (c.start, c.rule_index in last, c.rule_index, c.end)), encoded

    def _scan_chunk(self, chunk: Chunk, path: str, path_names_binance: bool, decode: bool = True) -> list[Match]:
        data = chunk.data
        keep_until = len(data) if chunk.keep_until is None else chunk.keep_until
        found, encoded = self._candidates(data)
        candidates = [c for c in found if chunk.keep_from <= c.start < keep_until]
        decoded = [
            finding
            for start, end in encoded
            if decode and chunk.keep_from <= start < keep_until
            for finding in self._decoded(chunk, path, path_names_binance, start, end)
        ]
        if not candidates:
            return decoded
        kept: list[tuple[Candidate, bytes, bool]] = []
        for cand in candidates:
            value = data[cand.start : cand.end]
            if cand.kind != "private_key" and placeholder_reason(value):
                continue
            example = self._examples.is_example(value)  # altered copies too
            if example and not self.include_examples:
                continue
            kept.append((cand, value, example))
        rule_of = self.rules
        file_has_key = any(
            not ex and c.kind not in ("private_key", "token") and rule_of[c.rule_index].requires != "evidence"
            for c, _, ex in kept
        )
        lowered = data.lower()
        names_binance = path_names_binance or file_has_key or BINANCE in lowered
        context = _Context(data, lowered, path, path_names_binance, BINANCE in lowered)
        has_allow_marker = ALLOW_MARKER in data
        positions = _Positions(data, chunk.line)
        findings: list[Match] = []
        tokens: list[_Token] = []
        claimed: set[tuple[int, int]] = set()
        for cand, value, example in kept:
            if (cand.start, cand.end) in claimed:
                continue
            rule = rule_of[cand.rule_index]
            evidence = context.judge(cand) if cand.kind != "private_key" else None
            if evidence is not None and evidence.against:
                continue
            if rule.requires_words and not any(word.encode() in lowered for word in rule.requires_words):
                continue
            if has_allow_marker and self._allowed(data, cand.start):
                continue
            nearby = path_names_binance or self._binance_nearby(data, cand)
            pending = False
            if rule.requires == "evidence":
                assert evidence is not None
                line, column = positions.at(cand.start)
                claimed.add((cand.start, cand.end))
                tokens.append(_Token(cand, value, example, evidence, line, column))
                continue
            if rule.requires == "binance_nearby" and not nearby:
                continue
            if rule.requires == "binance_file" and not names_binance:
                pending = True  # a file beside it may name Binance (a PEM next to the bot that loads it)
            claimed.add((cand.start, cand.end))
            line, column = positions.at(cand.start)
            if evidence is not None and evidence.kind and evidence.kind != cand.kind and cand.kind != "token":
                cand = replace(cand, kind=evidence.kind)  # `secret_api_key`: the whole name says secret
            reasons = (f"rule: {rule.name}", *(evidence.reasons if evidence else ()))
            found = self._finding(chunk, rule, cand, value, example, nearby, line, column)
            findings.append(replace(found, reasons=reasons, pending=pending))
        findings += self._scored(chunk, tokens, findings, context)
        return findings + decoded

    def _scored(self, chunk: Chunk, tokens: list[_Token], named: list[Match], context: _Context) -> list[Match]:
        """The evidence model's candidates: kept at REPORT_SCORE (pending from PENDING_SCORE), kinds decided."""
        lines = sorted([t.line for t in tokens] + [m.line for m in named if m.kind != "private_key"])
        scored = []
        key_file = only_tokens(chunk.data)
        for token in tokens:
            score, reasons = token.evidence.score, list(token.evidence.reasons)
            near = bisect_right(lines, token.line + PAIR_LINES) - bisect_left(lines, token.line - PAIR_LINES)
            beside_named = any(abs(m.line - token.line) <= 1 and m.kind == "secret" for m in named)
            if beside_named and token.evidence.kind != "secret":
                score += 2
                reasons.append("next to a value named as its secret")
            elif near > 1:
                score += 1
                reasons.append("a second credential-shaped value close by")
            if key_file:
                score += 2
                reasons.append("a key file: nothing in it but tokens")
            if score >= PENDING_SCORE:
                scored.append((token, score, reasons))
        matches = []
        previous: tuple[int, str] | None = None
        by_order = key_file and len(scored) == 2  # `binance.key`: the key, then the secret
        for token, score, reasons in scored:
            kind = None if by_order else token.evidence.kind
            if kind is None:  # unnamed: the first of two values close together is the key
                paired = previous is not None and previous[1] == "api_key" and token.line - previous[0] <= PAIR_LINES
                kind = "secret" if paired else "api_key"
            previous = (token.line, kind)
            rule = self.rules[token.candidate.rule_index]
            candidate = replace(token.candidate, kind=kind)
            found = self._finding(chunk, rule, candidate, token.value, token.example, True, token.line, token.column)
            confidence = "high" if score >= REPORT_SCORE + 1 else "medium"
            matches.append(
                replace(
                    found,
                    confidence=confidence,
                    reasons=(f"evidence score {score:g}", *reasons),
                    pending=score < REPORT_SCORE,
                )
            )
        return matches

    def _decoded(self, chunk: Chunk, path: str, path_names_binance: bool, start: int, end: int) -> list[Match]:
        """Findings inside a base64 value, read with the text before it on its line; located at the value."""
        text = decode_base64(chunk.data[start:end])
        if text is None:
            return []
        line_start = chunk.data.rfind(b"\n", 0, start) + 1
        view = Chunk(chunk.data[line_start:start] + text)
        line = chunk.line + chunk.data.count(b"\n", 0, start)
        column = len(chunk.data[line_start:start].decode("utf-8", "replace")) + 1
        return [
            # offsets stay distinct and ordered, inside the encoded value
            replace(
                m, line=line, end_line=line, column=column, offset=chunk.offset + start + m.offset, encoding="base64"
            )
            for m in self._scan_chunk(view, path, path_names_binance, decode=False)
        ]

    @staticmethod
    def _binance_nearby(data: bytes, cand: Candidate) -> bool:
        window = data[max(0, cand.start - NEARBY_BYTES) : cand.end + NEARBY_BYTES]
        return BINANCE in window.lower()

    @staticmethod
    def _allowed(data: bytes, start: int) -> bool:
        line_start = data.rfind(b"\n", 0, start) + 1
        line_end = data.find(b"\n", start)
        return ALLOW_MARKER in data[line_start : len(data) if line_end < 0 else line_end]

    @staticmethod
    def _finding(
        chunk: Chunk, rule: Rule, cand: Candidate, value: bytes, example: bool, nearby: bool, line: int, column: int
    ) -> Match:
        return Match(
            rule_id=rule.id,
            kind=cand.kind,
            line=line,
            column=column,
            end_line=line + value.count(b"\n"),
            secret_sha256=secret_sha256(value),
            redacted=redact(value),
            severity="",
            confidence="high" if rule.specific or nearby else "medium",
            description=rule.name,
            example=example,
            offset=chunk.offset + cand.start,
            value=value,
        )

    def _severity(self, match: Match, paired_with: str | None) -> str:
        if match.example:
            return "info"
        override = self._severity_overrides.get(match.rule_id)
        if override:
            return override
        if paired_with:
            return "critical"
        return "medium" if match.kind == "api_key" else "high"


@cache
def file_detector(include_examples: bool = False, engine: str = "auto") -> Detector:
    """The detector for files, blobs and streams, compiled once a process (forked workers inherit it)."""
    rules = load_rules()
    return Detector(rules, build_engine(rules, engine), include_examples=include_examples)


@cache
def chat_detector(include_examples: bool = False, engine: str = "auto") -> Detector:
    """The detector for chat messages: the file rules plus bare pasted key pairs."""
    rules = load_chat_rules()
    return Detector(rules, build_engine(rules, engine), include_examples=include_examples)
