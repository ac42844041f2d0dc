"""Scan settings from `.keyguard.toml` or `[tool.keyguard]` in pyproject.toml (command line wins)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KNOWN = {
    "exclude": list,
    "include_deps": bool,
    "include_examples": bool,
    "images": bool,
    "baseline": str,
    "format": str,
    "profiles": dict,
    "rotation_days": int,
}


CHOICES = {"format": ("text", "json", "sarif")}


class ConfigError(ValueError):
    """A settings file exists but cannot be used."""


@dataclass
class Settings:
    values: dict[str, Any] = field(default_factory=dict)
    source: str | None = None
    warnings: list[str] = field(default_factory=list)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: {error}") from None


def load_settings(directory: str | Path = ".", explicit: str | Path | None = None) -> Settings:
    """Settings from `explicit`, else `.keyguard.toml`, else pyproject.toml's [tool.keyguard]."""
    directory = Path(directory)
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        data = _read_toml(path)
        table = data.get("tool", {}).get("keyguard", data) if path.name == "pyproject.toml" else data
    elif (directory / ".keyguard.toml").is_file():
        path = directory / ".keyguard.toml"
        table = _read_toml(path)
    elif (directory / "pyproject.toml").is_file():
        path = directory / "pyproject.toml"
        table = _read_toml(path).get("tool", {}).get("keyguard", {})
    else:
        return Settings()
    settings = Settings(source=str(path))
    for key, value in table.items():
        expected = KNOWN.get(key.replace("-", "_"))
        if expected is None:
            settings.warnings.append(f"{path}: unknown setting {key!r} ignored")
        elif not isinstance(value, expected) or (expected is list and not all(isinstance(v, str) for v in value)):
            raise ConfigError(f"{path}: {key} must be a {expected.__name__}")
        elif value not in CHOICES.get(key, (value,)):
            raise ConfigError(f"{path}: {key} must be one of {', '.join(CHOICES[key])}, not {value!r}")
        else:
            settings.values[key.replace("-", "_")] = value
    return settings
