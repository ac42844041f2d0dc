"""`keyguard migrate`: plaintext key pairs found by the scanner go into the vault and out of the files.

The folder is scanned with its git history (when it is the top of a repository). Each distinct credential (a
key with its secret or private key) is one vault entry, however many files hold it. Every place a value was
seen is either fixed or listed as still there, with why and what to do:

- .env files: the lines holding it are removed;
- JSON: the string is emptied (escapes decoded, so a PEM written with \\n is found); freqtrade reads
  FREQTRADE__EXCHANGE__KEY/SECRET instead;
- docker compose files: the value becomes ${BINANCE_API_KEY}, which compose expands;
- code: the quoted literal becomes the language's own read of the environment (os.environ["…"] with
  `import os` added, process.env.…, os.Getenv("…") with "os" imported, System.getenv("…"),
  Environment.GetEnvironmentVariable("…"), getenv('…')), unless that would not compile (a constant), or the
  value is part of a longer string or a comment;
- archives, chat exports, encoded values, git history and other formats: still there, listed.

A value that was committed or pushed (or sent in a chat) is leaked: moving it does not make it safe.
Dry run by default. With apply: the vault is written before any file changes; each file is rewritten
atomically (temp file, fsync, os.replace, mode kept) and only if it is still what was read.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

from keyguard.model import Finding, Location
from keyguard.pipeline import ScanOptions, scan
from keyguard.sources.gitrepo import work_tree_root
from keyguard.vault.store import Backend, EntryRefused, new_entry

KIND_NAMES = {"api_key": "API key", "secret": "secret", "private_key": "private key"}
ENV_NAMES = {"api_key": "BINANCE_API_KEY", "secret": "BINANCE_API_SECRET", "private_key": "BINANCE_PRIVATE_KEY"}
STYLES = {  # `keyguard run --env-style` names for (key variable, secret variable)
    ("BINANCE_API_KEY", "BINANCE_API_SECRET"): "binance",
    ("FREQTRADE__EXCHANGE__KEY", "FREQTRADE__EXCHANGE__SECRET"): "freqtrade",
    ("BINANCE_APIKEY", "BINANCE_SECRET"): "ccxt",
}
COMPOSE = re.compile(r"(docker-)?compose(\.[\w.-]+)?\.ya?ml")
CONFIG_KINDS = ("env", "json")  # the only kinds of file migrate may suggest git-ignoring
# how to read a variable where keyguard does not rewrite the language itself
READ_HINTS = {
    ".rs": 'std::env::var("NAME")?',
    ".rb": 'ENV.fetch("NAME")',
    ".kt": 'System.getenv("NAME")',
    ".kts": 'System.getenv("NAME")',
    ".scala": 'sys.env("NAME")',
    ".swift": 'ProcessInfo.processInfo.environment["NAME"]!',
    ".dart": "Platform.environment['NAME']!",
    ".c": 'getenv("NAME")',
    ".cpp": 'std::getenv("NAME")',
    ".cc": 'std::getenv("NAME")',
    ".h": 'getenv("NAME")',
    ".hpp": 'std::getenv("NAME")',
    ".sh": '"$NAME"',
    ".bash": '"$NAME"',
    ".zsh": '"$NAME"',
    ".ps1": "$env:NAME",
    ".r": 'Sys.getenv("NAME")',
    ".lua": 'os.getenv("NAME")',
    ".pl": "$ENV{NAME}",
    ".ipynb": 'os.environ["NAME"]',
}


@dataclass(frozen=True)
class Language:
    name: str
    quotes: tuple[str, ...]  # literal delimiters, longest first
    prefixes: str  # letters allowed right before the opening quote (r"…", @"…")
    read: str  # the expression reading variable NAME
    constant: re.Pattern[str] | None = None  # a statement start where only a constant may stand
    constant_why: str = ""


PYTHON = Language("Python", ('"""', "'''", '"', "'"), "rRuUfF", 'os.environ["NAME"]')
JAVASCRIPT = Language("JavaScript", ('"', "'", "`"), "", "process.env.NAME")
# `!`: under TypeScript's strict null checks process.env.X is string | undefined, and the literal was a string
TYPESCRIPT = Language("TypeScript", ('"', "'", "`"), "", "process.env.NAME!")
GO = Language("Go", ('"', "`"), "", 'os.Getenv("NAME")')
JAVA = Language(
    "Java",
    ('"',),
    "",
    'System.getenv("NAME")',
    re.compile(r"\bcase\b|@\w+\s*\("),
    "a case label or an annotation needs a constant",
)
CSHARP = Language(
    "C#",
    ('"',),
    "@$",
    'Environment.GetEnvironmentVariable("NAME")',
    re.compile(r"\bconst\b|\bcase\b|\[\s*\w+\s*\("),
    "a C# const (or case label, attribute) cannot read the environment: make it static readonly",
)
PHP = Language(
    "PHP",
    ('"', "'"),
    "",
    "getenv('NAME')",
    re.compile(r"\bconst\b|\b(?:public|private|protected|var|readonly)\b|\bstatic\s+\$|\bfunction\b"),
    "a PHP constant, property default or parameter default cannot call getenv(): set it in the code that runs",
)
LANGUAGES = {
    ".py": PYTHON,
    ".js": JAVASCRIPT,
    ".mjs": JAVASCRIPT,
    ".cjs": JAVASCRIPT,
    ".jsx": JAVASCRIPT,
    ".ts": TYPESCRIPT,
    ".tsx": TYPESCRIPT,
    ".mts": TYPESCRIPT,
    ".cts": TYPESCRIPT,
    ".go": GO,
    ".java": JAVA,
    ".cs": CSHARP,
    ".php": PHP,
}
RUNNERS = {".py": "python", ".js": "node", ".mjs": "node", ".cjs": "node"}


@dataclass(frozen=True)
class Value:
    """One secret value to take out of files: as the scanner read it there, and its environment variable."""

    sha: str
    raw: str  # as written in the file (a PEM may carry \n escapes)
    kind: str  # api_key | secret | private_key
    env: str

    @property
    def pem(self) -> bool:
        return self.raw.startswith("-----BEGIN")


@dataclass(frozen=True)
class Place:
    """Where a value is: fixed (or to be fixed), or still there, with why and what to do."""

    path: str
    lines: tuple[int, ...]
    fixed: bool
    note: str  # may name {label}: the vault label, known once stored
    sha: str = ""


@dataclass
class Edit:
    """A file's new content, computed from what was read; written by `apply` only if the file is unchanged."""

    path: Path
    before: bytes
    after: bytes
    failed: str | None = None


@dataclass
class Pair:
    """One credential: a key and its secret (or private key). Not stored, and its files not rewritten: a value
    found without its partner (`secret` None), or a pair the vault refuses (`refused` says why)."""

    label: str
    key: Finding
    secret: Finding | None
    places: list[Place] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)  # `keyguard run` commands, {label} to fill in
    stored: bool = False  # apply: the vault holds it (new or already there)
    refused: str | None = None

    @property
    def movable(self) -> bool:
        return self.secret is not None and self.refused is None

    @property
    def findings(self) -> list[Finding]:
        return [self.key] if self.secret is None else [self.key, self.secret]

    @property
    def leaked(self) -> bool:
        return bool(self.leaks)

    @property
    def shown(self) -> str:
        """The pair as printed: kinds and redacted values, never the values."""
        return " + ".join(f"{KIND_NAMES[f.kind]} {f.redacted}" for f in self.findings)


@dataclass
class Plan:
    folder: Path
    history: str  # what was scanned of git: a sentence
    pairs: list[Pair]
    edits: dict[Path, Edit]
    ignore: list[Path]  # config and .env files that held a value: git should ignore them


@dataclass
class Outcome:
    """What rewriting one file's text gives: the new text (None: leave it) and each value's places."""

    text: str | None
    places: list[Place]
    style: str | None = None  # how the tools reading this file get the key: a run --env-style
    command: str | None = None  # how that tool is started, for the run hint
    why: str | None = None  # the file could not be read as text: why its values stay


def plan(folder: Path, label_prefix: str | None = None) -> Plan:
    """Scan FOLDER (files, and its git history when it is a repository's top) and plan the migration."""
    root = work_tree_root(str(folder))
    is_root = root is not None and os.path.realpath(folder) == root
    result = scan(ScanOptions(paths=[str(folder)], history=is_root, keep_values=True))
    if is_root:
        history = "its git history was scanned too"
    elif root:
        history = f"its git history was not scanned ({folder} is inside the repository {root}: run migrate there)"
    else:
        history = "not a git repository"
    prefix = label_prefix or Path(os.path.realpath(folder)).name
    pairs = _pairs([f for f in result.findings if not f.example and f.value is not None], prefix)
    edits = _plan_files(pairs)
    held = {Path(loc.path) for pair in pairs for f in pair.findings for loc in f.locations if _plain(loc)}
    ignore = sorted(path for path in held if file_kind(path) in CONFIG_KINDS and path.is_file())
    return Plan(folder, history, pairs, edits, ignore)


def _pairs(findings: list[Finding], prefix: str) -> list[Pair]:
    """One pair per key with the secret it was found with; any other value is a pair of one (not stored)."""
    by_sha = {f.secret_sha256: f for f in findings}
    pairs: list[Pair] = []
    used: set[str] = set()
    for finding in findings:
        partner = by_sha.get(finding.paired_with or "")
        if finding.kind != "api_key" or partner is None or partner.kind == "api_key" or partner.secret_sha256 in used:
            continue
        used |= {finding.secret_sha256, partner.secret_sha256}
        pair = Pair(f"{prefix}-{len(pairs) + 1}", finding, partner)
        try:
            new_entry(pair.label, _vault_text(finding), _vault_text(partner))
        except EntryRefused as error:
            pair.refused = str(error)
        pairs.append(pair)
    for finding in findings:
        if finding.secret_sha256 not in used:
            pairs.append(Pair("", finding, None))
    for pair in pairs:
        pair.leaks = _leaks(pair)
        pair.places = [place for f in pair.findings for place in _unfixable(f, pair)]
    return pairs


def _leaks(pair: Pair) -> list[str]:
    """Why the pair counts as leaked: committed, pushed, sent in a chat."""
    reasons: list[str] = []
    for finding in pair.findings:
        for location in finding.locations:
            if location.source == "git" or location.exposure in ("committed", "pushed"):
                commit = f"commit {location.commit[:10]}" if location.commit else "a commit"
                pushed = "pushed to a remote" if location.exposure == "pushed" else "committed"
                reasons.append(f"{_base(location.path)} is in git history ({commit}, {pushed})")
            elif location.message:
                reasons.append(f"sent in a chat: {location.message}")
    return list(dict.fromkeys(reasons))


def _base(path: str) -> str:
    return path.split("!", 1)[0]


def _plain(location: Location) -> bool:
    """A value written as it is in a file of the tree: the only kind of place migrate rewrites."""
    return location.source == "file" and "!" not in location.path and not location.encoding and not location.message


def _unfixable(finding: Finding, pair: Pair) -> list[Place]:
    """The places no file rewrite can reach: history, archive members, chat messages, encoded values."""
    places: list[Place] = []
    seen: set[tuple[str, str | None]] = set()
    for location in finding.locations:
        if _plain(location):
            continue
        if location.source == "git":
            if (location.path, location.commit) in seen:
                continue
            seen.add((location.path, location.commit))
            commit = (
                f"commit {location.commit[:10]} of {location.commit_date or '?'}" if location.commit else "a commit"
            )
            why = f"in git history, {commit}: migrate cannot take it out of history — the key is leaked, rotate it"
        elif "!" in location.path:
            why = (
                f"inside the archive {_base(location.path)}: keyguard does not rewrite archives — delete the archive,"
                " or rebuild it without this file"
            )
        elif location.message:
            why = f"a chat message ({location.message}): delete the message in the chat, then delete this export"
        else:
            why = _encoded_note(location, pair)
        places.append(Place(location.path, (location.line,), False, why, finding.secret_sha256))
    return places


def _encoded_note(location: Location, pair: Pair) -> str:
    encoding = location.encoding or "encoded"
    try:
        text = Path(location.path).read_text("utf-8", "replace")
    except OSError:
        text = ""
    if re.search(r"(?m)^kind:\s*Secret\b", text):
        name = re.search(r"(?m)^metadata:\s*\n(?:\s+.*\n)*?\s+name:\s*['\"]?([\w.-]+)", text)
        key, secret = _names(pair)
        create = (
            f"kubectl create secret generic {name.group(1) if name else 'NAME'} "
            f'--from-literal={key}="${key}" --from-literal={secret}="${secret}"'
        )
        return (
            f"{encoding} in a Kubernetes Secret: keyguard does not rewrite encoded values — delete its data entries "
            f"and create the Secret from the vault when you deploy: keyguard run --key {{label}}"
            f"{_flag(_style(key, secret))} -- sh -c '{create}'"
        )
    return f"{encoding}-encoded: keyguard does not rewrite encoded values — delete it from the file by hand"


def _names(pair: Pair) -> tuple[str, str]:
    secret_kind = pair.secret.kind if pair.secret else "secret"
    return ENV_NAMES["api_key"], ENV_NAMES[secret_kind]


def _style(key: str, secret: str) -> str:
    return STYLES.get((key, secret), f"{key},{secret}")


def _values(pair: Pair) -> list[Value]:
    return [
        Value(f.secret_sha256, (f.value or b"").decode("utf-8", "replace"), f.kind, ENV_NAMES[f.kind])
        for f in pair.findings
    ]


def _plan_files(pairs: list[Pair]) -> dict[Path, Edit]:
    """Every file holding a stored pair's value, rewritten in memory; each value's places recorded."""
    by_file: dict[str, list[tuple[Pair, Value]]] = defaultdict(list)
    for pair in pairs:
        for value, finding in zip(_values(pair), pair.findings, strict=True):
            for path in dict.fromkeys(loc.path for loc in finding.locations if _plain(loc)):
                by_file[path].append((pair, value))
    edits: dict[Path, Edit] = {}
    for shown, held in by_file.items():
        path = Path(shown)
        stored = [(pair, value) for pair, value in held if pair.movable]
        outcome, before = _outcome(path, [value for _, value in stored], len({id(p) for p, _ in stored}))
        if outcome.text is not None and before is not None:
            edits[path] = Edit(path, before, outcome.text.encode("utf-8"))
        for pair, value in held:
            places = [p for p in outcome.places if p.sha == value.sha] if pair.movable else []
            places += _missed(pair, value, shown, places, outcome.why)
            pair.places += places
            if outcome.style and pair.movable and any(p.fixed for p in places):
                run = f"keyguard run --key {{label}}{_flag(outcome.style)} -- {outcome.command or '<your command>'}"
                pair.runs = list(dict.fromkeys([*pair.runs, run]))
    return edits


def _flag(style: str) -> str:
    return "" if style == "binance" else f" --env-style {style}"


def _missed(pair: Pair, value: Value, shown: str, places: list[Place], why: str | None) -> list[Place]:
    """The scan's places in this file that the rewrite did not account for: still there."""
    finding = next(f for f in pair.findings if f.secret_sha256 == value.sha)
    covered = {line for place in places for line in place.lines}
    lines = sorted({loc.line for loc in finding.locations if _plain(loc) and loc.path == shown} - covered)
    if not lines:
        return []
    if pair.refused:
        why = f"not stored ({pair.refused}): delete it by hand once you have it elsewhere"
    elif pair.secret is None:
        other = "secret" if value.kind == "api_key" else "API key"
        why = (
            f"{KIND_NAMES[value.kind]} found without its {other}: migrate stores pairs only — store it with "
            "`keyguard vault add LABEL` and delete it from the file by hand"
        )
    elif why is None:
        why = "found by the scan where migrate does not rewrite: delete it by hand"
    return [Place(shown, tuple(lines), False, why, value.sha)]


def _outcome(path: Path, values: list[Value], pair_count: int) -> tuple[Outcome, bytes | None]:
    """The rewrite of one file, or why it is left as it is (then every value in it is still there)."""
    if not values:
        return Outcome(None, []), None
    problem, before, text = _readable(path)
    if text is None:
        return Outcome(None, [], why=problem), None
    if problem is not None or before is None:
        return _untouched(text, values, path, problem or "unreadable"), None
    kind = file_kind(path)
    if kind == "env":
        outcome = _env_file(text, values, path)
    elif kind == "json":
        outcome = _json_file(text, values, path)
    elif kind == "compose":
        outcome = _compose_file(text, values, path)
    elif kind in LANGUAGES and pair_count > 1:
        why = (
            f"holds {pair_count} key pairs, and keyguard run gives a program one: keyguard did not rewrite it — "
            "keep one pair per program, or read each pair from variables you name and start it with "
            "`keyguard run --env-style KEY_VAR,SECRET_VAR`"
        )
        outcome = _untouched(text, values, path, why)
    elif kind in LANGUAGES:
        outcome = _code_file(text, values, path, LANGUAGES[kind])
    else:
        outcome = _untouched(text, values, path, _other_note(path, values))
    return outcome, before


def file_kind(path: Path) -> str:
    """env | json | compose | a code suffix keyguard rewrites (.py …) | other."""
    name, suffix = path.name.lower(), path.suffix.lower()
    if name == ".env" or name.endswith(".env") or name.startswith(".env."):
        return "env"
    if COMPOSE.fullmatch(name):
        return "compose"
    if suffix == ".json":
        return "json"
    return suffix if suffix in LANGUAGES else "other"


def _readable(path: Path) -> tuple[str | None, bytes | None, str | None]:
    """(why it cannot be rewritten or None, its bytes, its text)."""
    if path.is_symlink():
        return f"a symbolic link to {os.readlink(path)}: run migrate on the file it points to", None, None
    try:
        before = path.read_bytes()
    except OSError as error:
        return f"unreadable ({error.strerror}): delete the value by hand", None, None
    try:
        text = before.decode("utf-8")
    except UnicodeDecodeError:
        return "not a UTF-8 text file: keyguard does not rewrite it — delete the value by hand", None, None
    if not os.access(path, os.W_OK):
        return "not writable: keyguard cannot rewrite it — delete the value by hand", before, text
    return None, before, text


def _other_note(path: Path, values: list[Value]) -> str:
    suffix = path.suffix.lower()
    if suffix in READ_HINTS:
        reads = " and ".join(dict.fromkeys(READ_HINTS[suffix].replace("NAME", value.env) for value in values))
        if suffix == ".ipynb":
            return (
                f"a notebook: keyguard does not rewrite notebooks — in its cell replace the values with {reads} "
                "(import os), clear the outputs that show them, and start Jupyter with keyguard run --key {label}"
            )
        return (
            f"keyguard does not rewrite {suffix} files: replace the values by hand with {reads} and start the "
            "program with keyguard run --key {label}"
        )
    return (
        f"keyguard cannot tell whether the program reading {path.name} expands ${{…}} references: delete the value"
        " by hand and start that program with keyguard run --key {label}, which puts {env} in its environment"
    )


def _untouched(text: str, values: list[Value], path: Path, why: str) -> Outcome:
    """The file is left as it is: each value's lines in it, still there, with why."""
    places = []
    why = why.replace("{env}", " and ".join(dict.fromkeys(value.env for value in values)))
    for value in values:
        lines = [_line(text, i) for i in _occurrences(text, value.raw)]
        if lines:
            places.append(Place(str(path), tuple(lines), False, why, value.sha))
    return Outcome(None, places)


def _occurrences(text: str, raw: str) -> list[int]:
    found, start = [], text.find(raw)
    while raw and start >= 0:
        found.append(start)
        start = text.find(raw, start + len(raw))
    return found


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _env_file(text: str, values: list[Value], path: Path) -> Outcome:
    """.env: every line holding a value goes; the variables it set are the ones keyguard run should set."""
    doomed: set[int] = set()
    places, names = [], {}
    lines = text.splitlines(keepends=True)
    for value in values:
        starts = []
        for offset in _occurrences(text, value.raw):
            first, last = _line(text, offset), _line(text, offset + len(value.raw))
            doomed |= set(range(first, last + 1))
            starts.append(first)
            name = re.match(r"\s*(?:export\s+)?([A-Za-z_]\w*)\s*=", lines[first - 1])
            if name:
                names.setdefault(value.kind, name.group(1))
        if starts:
            places.append(Place(str(path), tuple(starts), True, "the line is removed", value.sha))
    kept = "".join(line for number, line in enumerate(lines, 1) if number not in doomed)
    key = names.get("api_key", ENV_NAMES["api_key"])
    secret_kind = next((v.kind for v in values if v.kind != "api_key"), "secret")
    secret = names.get(secret_kind, ENV_NAMES[secret_kind])
    return Outcome(kept, places, _style(key, secret), f"<the program that read {path}>")


_JSON_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_JSON_NAME_END = re.compile(r"\s*:")
_SQUASH = re.compile(r"\s+|\\[nr]")


def _squash(text: str) -> str:
    return _SQUASH.sub("", text)


def _decoded(raw: str) -> str:
    try:
        decoded = json.loads(f'"{raw}"')
    except ValueError:
        return raw
    return decoded if isinstance(decoded, str) else raw


def _json_file(text: str, values: list[Value], path: Path) -> Outcome:
    """JSON: each string equal to a value (after its escapes) is emptied; one holding it inside is left, listed."""
    try:
        document = json.loads(text)
    except ValueError:
        why = "not valid JSON (comments?): keyguard does not rewrite it — empty the value by hand"
        return _untouched(text, values, path, why)
    pieces, cursor = [], 0
    fixed: dict[str, list[int]] = defaultdict(list)
    inside: dict[str, list[int]] = defaultdict(list)
    wanted = {value.sha: _squash(_decoded(value.raw)) if value.pem else _decoded(value.raw) for value in values}
    for token in _JSON_STRING.finditer(text):
        if _JSON_NAME_END.match(text, token.end()):
            continue  # a name, not a value
        try:
            string = json.loads(token.group())
        except ValueError:
            continue
        for value in values:
            have = _squash(string) if value.pem else string
            if have == wanted[value.sha]:
                pieces += [text[cursor : token.start()], '""']
                cursor = token.end()
                fixed[value.sha].append(_line(text, token.start()))
            elif wanted[value.sha] in have:
                inside[value.sha].append(_line(text, token.start()))
    after = "".join(pieces) + text[cursor:]
    freqtrade = _is_freqtrade(document, values)
    how = (
        "the value is emptied; freqtrade reads FREQTRADE__EXCHANGE__KEY/SECRET"
        if freqtrade
        else "the value is emptied: the program reading this file must take {env} from its environment"
    )
    places = []
    for value in values:
        if fixed[value.sha]:
            places.append(Place(str(path), tuple(fixed[value.sha]), True, how.replace("{env}", value.env), value.sha))
        if inside[value.sha]:
            why = "part of a longer JSON string: keyguard cannot empty it safely — remove it by hand"
            places.append(Place(str(path), tuple(inside[value.sha]), False, why, value.sha))
    style = "freqtrade" if freqtrade else _style(*_env_names(values))
    command = f"freqtrade trade -c {path}" if freqtrade else None
    return Outcome(after if fixed else None, places, style, command)


def _env_names(values: list[Value]) -> tuple[str, str]:
    secret = next((v.env for v in values if v.kind != "api_key"), ENV_NAMES["secret"])
    return ENV_NAMES["api_key"], secret


def _is_freqtrade(document: object, values: list[Value]) -> bool:
    exchange = document.get("exchange") if isinstance(document, dict) else None
    if not isinstance(exchange, dict):
        return False
    raws = {_decoded(v.raw) for v in values}
    return exchange.get("key") in raws or exchange.get("secret") in raws


def _compose_file(text: str, values: list[Value], path: Path) -> Outcome:
    """docker compose expands ${VAR} from its environment: a whole value becomes ${BINANCE_API_KEY}."""
    places: list[Place] = []
    spans: list[tuple[int, int, str]] = []
    for value in values:
        fixed, left = [], []
        for offset in _occurrences(text, value.raw):
            end = offset + len(value.raw)
            before = text[offset - 1] if offset else "\n"
            rest = text[end:].split("\n", 1)[0]
            if not value.pem and before in " \t=:\"'" and re.fullmatch(r"[\"']?\s*(#.*)?\r?", rest):
                spans.append((offset, end, f"${{{value.env}}}"))
                fixed.append(_line(text, offset))
            else:
                left.append(_line(text, offset))
        if fixed:
            places.append(Place(str(path), tuple(fixed), True, f"the value becomes ${{{value.env}}}", value.sha))
        if left:
            why = "not a whole value on its line: keyguard cannot rewrite it safely — use ${VAR} by hand"
            places.append(Place(str(path), tuple(left), False, why, value.sha))
    after = _spliced(text, spans) if spans else None
    return Outcome(after, places, _style(*_env_names(values)), f"docker compose -f {path} up")


def _spliced(text: str, spans: list[tuple[int, int, str]]) -> str:
    pieces, cursor = [], 0
    for start, end, new in sorted(spans):
        pieces += [text[cursor:start], new]
        cursor = end
    return "".join(pieces) + text[cursor:]


def _code_file(text: str, values: list[Value], path: Path, language: Language) -> Outcome:
    """Each quoted literal that is exactly a value becomes the language's read of its variable."""
    spans: list[tuple[int, int, str]] = []
    places: list[Place] = []
    for value in values:
        read = language.read.replace("NAME", value.env)
        fixed, left = [], defaultdict(list)
        for offset in _occurrences(text, value.raw):
            span = _literal(text, offset, value, language)
            why = _not_safe(text, span, language)
            if span is None or why:
                why = why or "inside a longer string or a comment"
                left[f"{why} — keyguard left it: replace the literal by hand with {read}"].append(_line(text, offset))
                continue
            spans.append((*span, read))
            fixed.append(_line(text, offset))
        if fixed:
            places.append(Place(str(path), tuple(fixed), True, f"the literal becomes {read}", value.sha))
        places += [Place(str(path), tuple(lines), False, why, value.sha) for why, lines in left.items()]
    if not spans:
        return Outcome(None, places)
    reads = " and ".join(language.read.replace("NAME", v.env) for v in values)
    if language is PYTHON and not _parses(text):
        return _untouched(text, values, path, f"not Python 3 that parses: replace the values by hand with {reads}")
    spliced = _spliced(text, spans)
    after, problem = _with_imports(spliced, language)
    if problem:
        return _untouched(text, values, path, f"{problem}: replace the values by hand with {reads}")
    if after != spliced:
        note = f" ({_import_note(language)} added)"
        places = [replace(p, note=p.note + note) if p.fixed else p for p in places]
    runner = RUNNERS.get(path.suffix.lower())
    return Outcome(after, places, _style(*_env_names(values)), f"{runner} {path}" if runner else None)


def _literal(text: str, offset: int, value: Value, language: Language) -> tuple[int, int] | None:
    """The span of the string literal that is exactly the value (a PEM may have line breaks around), or None."""
    pad = re.compile(r"(?:\s|\\[nr])*") if value.pem else re.compile("")
    start = offset
    while value.pem:
        if start >= 2 and text[start - 2 : start] in ("\\n", "\\r"):
            start -= 2
        elif start >= 1 and text[start - 1].isspace():
            start -= 1
        else:
            break
    end = offset + len(value.raw)
    end = pad.match(text, end).end()  # type: ignore[union-attr]
    for quote in language.quotes:
        opening = start - len(quote)
        if opening < 0 or text[opening:start] != quote or text[end : end + len(quote)] != quote:
            continue
        before = text[opening - 1] if opening else ""
        if before and before in language.prefixes:
            opening -= 1
            before = text[opening - 1] if opening else ""
        if before and (before.isalnum() or before in "_\"'`\\"):
            return None  # a prefix of another type (b"…", u8"…") or a longer quote run
        return opening, end + len(quote)
    return None


def _not_safe(text: str, span: tuple[int, int] | None, language: Language) -> str | None:
    """Why an expression cannot stand where the literal is (a constant, a case pattern), else None."""
    if span is None:
        return None
    line_start = text.rfind("\n", 0, span[0]) + 1
    if language is PYTHON and re.match(r"\s*case\b", text[line_start : span[0]]):
        return "a match-case pattern needs a literal"
    if language is GO and _in_go_const(text, span[0]):
        return "a Go const cannot call os.Getenv: make it a var"
    if language.constant is None:
        return None
    statement = text[max(text.rfind(c, 0, span[0]) for c in ";{}") + 1 : span[0]]
    return language.constant_why if language.constant.search(statement) else None


def _in_go_const(text: str, start: int) -> bool:
    lines = text[:start].split("\n")
    if re.match(r"\s*const\b", lines[-1]):
        return True
    for line in reversed(lines[:-1]):
        if re.match(r"\s*const\s*\(", line):
            return True
        if re.match(r"\s*\)", line) or re.match(r"\s*(func|var|type|import)\b", line):
            return False
    return False


def _import_note(language: Language) -> str:
    return {PYTHON: "import os", GO: 'import "os"', CSHARP: "using System;"}.get(language, "")


def _with_imports(text: str, language: Language) -> tuple[str, str | None]:
    """The text with what the read needs imported; (text, why it cannot be done)."""
    if language is PYTHON:
        return _python_with_os(text)
    if language is GO:
        return _go_with_os(text)
    if language is CSHARP and not re.search(r"(?m)^\s*(global\s+)?using\s+System\s*;", text):
        bom = "\ufeff" if text.startswith("\ufeff") else ""
        return f"{bom}using System;{_newline(text)}{text[len(bom) :]}", None
    return text, None


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    return True


def _python_with_os(text: str) -> tuple[str, str | None]:
    if not _parses(text):
        return text, "the rewritten file would not parse as Python"
    body = ast.parse(text).body
    if any(isinstance(n, ast.Import) and any(_binds_os(a) for a in n.names) for n in body):
        return text, None
    index, after = 0, 0  # after the docstring and __future__ imports
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0].value, "value", None), str):
        index, after = 1, body[0].end_lineno or 0
    while index < len(body) and isinstance(body[index], ast.ImportFrom) and body[index].module == "__future__":
        after = body[index].end_lineno or 0
        index += 1
    if after == 0 and index < len(body):  # before the first statement: a shebang and comments stay on top
        first = body[index]
        after = min([first.lineno, *(d.lineno for d in getattr(first, "decorator_list", []))]) - 1
    rewritten = _insert_line(text, after, "import os")
    if not _parses(rewritten):
        return text, "the rewritten file would not parse as Python"
    return rewritten, None


def _binds_os(alias: ast.alias) -> bool:
    return alias.asname is None and (alias.name == "os" or alias.name.startswith("os."))


def _insert_line(text: str, after: int, line: str) -> str:
    """`line` inserted after line number `after` (0: at the top), in the text's own line ending."""
    newline, offset = _newline(text), 0
    for _ in range(after):
        found = text.find("\n", offset)
        if found < 0:
            return f"{text}{newline}{line}{newline}"
        offset = found + 1
    return f"{text[:offset]}{line}{newline}{text[offset:]}"


def _go_with_os(text: str) -> tuple[str, str | None]:
    if re.search(r'(?m)^\s*import\s+"os"\s*$', text) or re.search(r'(?ms)^import\s*\((?:(?!^\)).)*?^\s*"os"\s*$', text):
        return text, None
    newline = _newline(text)
    block = re.search(r"(?m)^import\s*\(\s*$", text)
    if block:
        end = text.index("\n", block.end()) + 1
        return f'{text[:end]}\t"os"{newline}{text[end:]}', None
    package = re.search(r"(?m)^package\s+\w+[^\n]*", text)
    if package is None:
        return text, "no package clause to import os after"
    return f'{text[: package.end()]}{newline}{newline}import "os"{text[package.end() :]}', None


def store(pairs: list[Pair], backend: Backend) -> None:
    """Each pair into the vault once: a pair already there keeps its label; a taken label gets the next number."""
    with backend.edit() as entries:  # under the vault's lock, saved only if something was added
        existing = {(e.api_key, e.secret): label for label, e in entries.items()}
        for pair in pairs:
            if not pair.movable or pair.secret is None:
                continue
            key, secret = _vault_text(pair.key), _vault_text(pair.secret)
            if (key, secret) not in existing:
                pair.label = _free_label(pair.label, entries)
                entries[pair.label] = new_entry(pair.label, key, secret)
                existing[(key, secret)] = pair.label
            pair.label, pair.stored = existing[(key, secret)], True


def _free_label(label: str, entries: dict) -> str:
    base, _, number = label.rpartition("-")
    count = int(number) if base and number.isdigit() else 1
    base = base if base and number.isdigit() else label
    while label in entries:
        count += 1
        label = f"{base}-{count}"
    return label


def _vault_text(finding: Finding) -> str:
    text = (finding.value or b"").decode("utf-8", "replace")
    if text.startswith("-----BEGIN"):  # as a PEM is: real line breaks, whatever escapes the file used
        text = re.sub(r"(?:\\r)?\\n|\r\n", "\n", text).strip() + "\n"
    return text


def apply(migration: Plan, backend: Backend) -> None:
    """The vault first (VaultError: nothing changed), then each file, atomically, if it is still as read."""
    if any(pair.movable for pair in migration.pairs):
        store(migration.pairs, backend)
    for edit in migration.edits.values():
        try:
            if edit.path.read_bytes() != edit.before:
                edit.failed = "it changed while migrate ran: run migrate again"
                continue
            _write(edit.path, edit.after)
        except OSError as error:
            edit.failed = f"could not be rewritten ({error.strerror or error}); it is as it was"
    for pair in migration.pairs:
        pair.places = [_failed(place, migration.edits) for place in pair.places]


def _failed(place: Place, edits: dict[Path, Edit]) -> Place:
    edit = edits.get(Path(place.path))
    if place.fixed and edit is not None and edit.failed:
        return replace(place, fixed=False, note=edit.failed)
    return place


def _write(path: Path, data: bytes) -> None:
    mode = path.stat().st_mode & 0o7777
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)  # atomic: the file is whole, old or new, at every instant
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def not_git_ignored(paths: list[Path]) -> list[Path]:
    """Which of these files git would commit (tracked, or not ignored) — config files should be ignored."""
    unignored = []
    for path in paths:
        done = subprocess.run(["git", "check-ignore", "-q", str(path.name)], cwd=path.parent, capture_output=True)
        inside = subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], cwd=path.parent, capture_output=True)
        if inside.returncode == 0 and done.returncode != 0:
            unignored.append(path)
    return unignored
