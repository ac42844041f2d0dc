"""`keyguard migrate`: move plaintext keys found by the scanner into the vault and out of the files.

Dry run by default. With apply: each key+secret pair goes into the vault under a label, and its file is
rewritten without the secret — .env lines removed, JSON values (freqtrade's `exchange.key/secret`) emptied
(freqtrade's environment variables override them), other text formats get an environment reference. No
plaintext backup is written; the rewrite is atomic and keeps the file's mode.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from keyguard.model import Finding, Location
from keyguard.pipeline import ScanOptions, scan
from keyguard.vault.store import Backend, new_entry

CODE_SUFFIXES = {".py", ".js", ".ts", ".go", ".java", ".rs", ".php", ".rb", ".cs", ".ipynb"}
ENV_NAMES = {"api_key": "BINANCE_API_KEY", "secret": "BINANCE_API_SECRET", "private_key": "BINANCE_PRIVATE_KEY"}


@dataclass
class Move:
    path: Path
    label: str
    key: Finding
    partner: Finding
    how: str  # what the rewrite does to the file
    env_style: str = "binance"
    line: int = 0  # where the key is in that file
    notes: list[str] = field(default_factory=list)


def _how(path: Path) -> tuple[str, str]:
    name = path.name
    if name == ".env" or name.endswith(".env") or name.startswith(".env."):
        return "remove the .env lines that hold the key and the secret", "binance"
    if path.suffix == ".json" and path.suffix not in CODE_SUFFIXES:
        return "empty the JSON values (freqtrade reads FREQTRADE__EXCHANGE__KEY/SECRET instead)", "freqtrade"
    if path.suffix in CODE_SUFFIXES:
        return (
            "replace the values with ${BINANCE_API_KEY} / ${BINANCE_API_SECRET}: edit the code to read them "
            "from the environment",
            "binance",
        )
    return "replace the values with ${BINANCE_API_KEY} / ${BINANCE_API_SECRET} environment references", "binance"


def plan(folder: Path, label_prefix: str | None = None) -> list[Move]:
    result = scan(ScanOptions(paths=[str(folder)], history=False, keep_values=True))
    by_secret = {f.secret_sha256: f for f in result.findings}
    prefix = label_prefix or folder.resolve().name
    moves: list[Move] = []
    for finding in result.findings:
        partner = by_secret.get(finding.paired_with or "")
        if finding.kind != "api_key" or partner is None or partner.value is None or finding.value is None:
            continue
        partner_files = {loc.path for loc in partner.locations if _rewritable(loc)}
        for location in finding.locations:
            if _rewritable(location) and location.path in partner_files:
                how, style = _how(Path(location.path))
                label = f"{prefix}-{len(moves) + 1}"
                moves.append(Move(Path(location.path), label, finding, partner, how, style, line=location.line))
    return moves


def _rewritable(location: Location) -> bool:
    """In a plain file of the tree: not an archive member, a chat message or an encoded value."""
    return location.source == "file" and "!" not in location.path and not location.encoding and not location.message


def _rewrite(path: Path, text: str) -> None:
    mode = path.stat().st_mode & 0o7777
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _without(text: str, values: dict[str, str], path: Path) -> str:
    if path.name == ".env" or path.name.endswith(".env") or path.name.startswith(".env."):
        return "".join(line for line in text.splitlines(keepends=True) if not any(v in line for v in values))
    if path.suffix == ".json":
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if document is not None:

            def empty(node):
                if isinstance(node, dict):
                    return {k: empty(v) for k, v in node.items()}
                if isinstance(node, list):
                    return [empty(v) for v in node]
                return "" if isinstance(node, str) and node in values else node

            indent = 4 if re.search(r"\n {4}\S", text) else 2
            return json.dumps(empty(document), indent=indent) + "\n"
    for value, name in values.items():
        text = text.replace(value, f"${{{name}}}")
    return text


def apply(moves: list[Move], backend: Backend) -> None:
    entries = backend.load()
    for move in moves:
        assert move.key.value is not None and move.partner.value is not None
        secret = move.partner.value.decode("ascii", "replace")
        if secret.startswith("-----BEGIN"):
            secret = secret.replace("\\n", "\n")
        entries[move.label] = new_entry(move.label, move.key.value.decode("ascii", "replace"), secret)
    backend.save(entries)  # the vault holds them before any file loses them
    by_file: dict[Path, dict[str, str]] = {}
    for move in moves:
        values = by_file.setdefault(move.path, {})
        values[move.key.value.decode()] = ENV_NAMES["api_key"]  # type: ignore[union-attr]
        values[move.partner.value.decode()] = ENV_NAMES[move.partner.kind]  # type: ignore[union-attr]
    for path, values in by_file.items():
        _rewrite(path, _without(path.read_text("utf-8"), values, path))


def not_git_ignored(paths: list[Path]) -> list[Path]:
    """Which of these files git would commit (tracked, or not ignored) — config files should be ignored."""
    unignored = []
    for path in paths:
        done = subprocess.run(["git", "check-ignore", "-q", str(path.name)], cwd=path.parent, capture_output=True)
        inside = subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], cwd=path.parent, capture_output=True)
        if inside.returncode == 0 and done.returncode != 0:
            unignored.append(path)
    return unignored
