"""The registry of third-party tools people connect to Binance (tools.yaml, data): what each needs of a key, whether
it publishes server IPs to whitelist, its known security incidents, the source of every fact — and the
least-privilege profile a tool implies (`tool:3commas`, `tool:3commas+futures`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from keyguard.posture.profiles import PERMISSIONS, Profile
from keyguard.posture.verify import DEFAULT_ROTATION_DAYS

REGISTRY_FILE = Path(__file__).with_name("tools.yaml")
UNKNOWN = "unknown"
IP_STATES = ("yes", "no", "own", "none", UNKNOWN)
PROFILE_PREFIX = "tool:"
STEP_KINDS = ("delete", "edit_permissions", "restrict_ips", "split_key")
_URL = re.compile(r"https://[^\s]+")
_DATE = re.compile(r"\d{4}-\d{2}(-\d{2})?")


class RegistryError(ValueError):
    """tools.yaml is malformed or states a fact without a source."""


@dataclass(frozen=True)
class Incident:
    date: str  # YYYY-MM-DD or YYYY-MM
    what: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Tool:
    id: str
    name: str
    kind: str
    aliases: tuple[str, ...]
    site: str
    connection: str
    connection_sources: tuple[str, ...]
    needs: tuple[str, ...] | None  # keyguard permission names; None: no source says
    optional: tuple[str, ...]
    permissions_basis: str
    permission_sources: tuple[str, ...]
    publishes_ips: str  # one of IP_STATES
    ips_where: str
    ip_sources: tuple[str, ...]
    incidents: tuple[Incident, ...]

    @property
    def takes_key(self) -> bool:
        """False for a tool that takes no Binance key at all (Pionex, an exchange itself)."""
        return self.needs != ()

    @property
    def wants_whitelist(self) -> bool:
        """It publishes the IPs it calls from, or runs on your own machine: the key can be pinned to them."""
        return self.publishes_ips in ("yes", "own")

    def usable_fields(self) -> frozenset[str]:
        """The apiRestrictions fields this tool can ever use (needs and optional)."""
        return frozenset(PERMISSIONS[name] for name in (*(self.needs or ()), *self.optional))

    def profile_name(self, extra: Iterable[str] = ()) -> str:
        return PROFILE_PREFIX + "+".join([self.id, *sorted(set(extra))])

    def profile(self, extra: Iterable[str] = (), rotation_days: int = DEFAULT_ROTATION_DAYS) -> Profile:
        """What a key for this tool may do: what it needs, plus the optional permissions you use (`extra`)."""
        extra = sorted(set(extra))
        if self.needs is None or not self.takes_key:
            why = "its permissions are unknown" if self.needs is None else "it takes no Binance key"
            raise RegistryError(f"{self.name} has no profile: {why}")
        unusable = [name for name in extra if name not in self.optional]
        if unusable:
            raise RegistryError(
                f"{self.name} does not use {', '.join(unusable)}; optional: {', '.join(self.optional) or 'none'}"
            )
        allow = frozenset(PERMISSIONS[name] for name in (*self.needs, *extra))
        return Profile(self.profile_name(extra), allow, self.wants_whitelist, rotation_days)

    def permissions_summary(self) -> str:
        if self.needs is None:
            return UNKNOWN
        if not self.takes_key:
            return "none (takes no Binance key)"
        optional = f" (+{', '.join(self.optional)})" if self.optional else ""
        return ", ".join(self.needs) + optional


@dataclass(frozen=True)
class BinanceUI:
    """Binance's API Management page: where it is, the labels of its options, the steps to change a key."""

    api_management: str
    labels: Mapping[str, str]
    open_step: str
    steps: Mapping[str, tuple[str, ...]]
    sources: tuple[str, ...]

    def label(self, permission: str) -> str:
        """'Enable Withdrawals' for withdrawals; the apiRestrictions field where no source names the option."""
        return self.labels.get(permission) or f"the option for {PERMISSIONS[permission]}"

    def labels_of_fields(self, fields: Iterable[str]) -> str:
        short = {field: name for name, field in PERMISSIONS.items()}
        return ", ".join(f"'{self.label(short[field])}'" for field in sorted(fields))

    def opening(self) -> str:
        return self.open_step.format(url=self.api_management)

    def steps_for(self, kind: str, **values: str) -> tuple[str, ...]:
        """The steps in API Management to `kind` (delete, edit_permissions, restrict_ips, split_key) a key."""
        return tuple(step.format(**values) for step in self.steps[kind])

    def how_to(self, kind: str, **values: str) -> tuple[str, ...]:
        """Opening API Management, then the steps for `kind`."""
        return (self.opening(), *self.steps_for(kind, **values))


@dataclass(frozen=True)
class Registry:
    tools: tuple[Tool, ...]
    binance: BinanceUI

    def find(self, name: str) -> Tool | None:
        """A tool by id, name or alias, ignoring case, spaces and dashes."""
        wanted = _normal(name)
        return next((tool for tool in self.tools if wanted in _names(tool)), None)

    def profile(self, name: str, rotation_days: int = DEFAULT_ROTATION_DAYS) -> Profile | None:
        """The profile named `tool:ID` or `tool:ID+perm+perm`, or None when that is no tool's profile."""
        if not name.startswith(PROFILE_PREFIX):
            return None
        tool_name, *extra = name.removeprefix(PROFILE_PREFIX).split("+")
        tool = self.find(tool_name)
        if tool is None:
            return None
        try:
            return tool.profile(extra, rotation_days)
        except (RegistryError, KeyError):
            return None


class ProfileBook(dict[str, Profile]):
    """Named profiles (built-in and from settings), where `tool:ID[+perm...]` names are built from the registry
    when first asked for."""

    def __init__(self, profiles: Mapping[str, Profile], registry: Registry, rotation_days: int | None = None):
        super().__init__(profiles)
        self.registry = registry
        self.rotation_days = rotation_days or DEFAULT_ROTATION_DAYS

    def __missing__(self, name: str) -> Profile:
        profile = self.registry.profile(name, self.rotation_days)
        if profile is None:
            raise KeyError(name)
        self[name] = profile
        return profile

    def __contains__(self, name: object) -> bool:
        return super().__contains__(name) or (isinstance(name, str) and self.get(name) is not None)

    def get(self, name: str, default: Profile | None = None) -> Profile | None:  # type: ignore[override]
        try:
            return self[name]
        except KeyError:
            return default


def _normal(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.strip().lower())


def _names(tool: Tool) -> set[str]:
    return {_normal(name) for name in (tool.id, tool.name, *tool.aliases)}


@cache
def load_registry(path: Path = REGISTRY_FILE) -> Registry:
    """The registry in tools.yaml, checked: known permission names, a source for every fact (or `unknown`)."""
    data = yaml.load(path.read_text("utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    if not isinstance(data, dict) or not isinstance(data.get("tools"), list) or "binance" not in data:
        raise RegistryError(f"{path.name}: needs a `binance` section and a `tools` list")
    tools = tuple(_parse_tool(raw) for raw in data["tools"])
    _check_unique(tools)
    return Registry(tools, _parse_binance(data["binance"]))


def _parse_tool(raw: Any) -> Tool:
    if not isinstance(raw, dict) or not raw.get("id"):
        raise RegistryError(f"a tool without an id: {raw!r}")
    where = f"tool {raw['id']}"
    try:
        connection, permissions, ips = raw["connection"], raw["permissions"], raw["ips"]
        needs = _needs(permissions["needs"], where)
        optional = _permission_names(permissions.get("optional") or [], where)
        tool = Tool(
            id=str(raw["id"]),
            name=str(raw["name"]),
            kind=str(raw["kind"]),
            aliases=tuple(str(alias) for alias in raw.get("aliases") or ()),
            site=_urls([raw["site"]], where)[0],
            connection=str(connection["value"]).strip(),
            connection_sources=_sourced(connection["value"], connection.get("sources"), f"{where} connection"),
            needs=needs,
            optional=optional,
            permissions_basis=str(permissions.get("basis", "")).strip(),
            permission_sources=_sourced(
                UNKNOWN if needs is None else "known", permissions.get("sources"), f"{where} permissions"
            ),
            publishes_ips=_ip_state(ips["publishes"], where),
            ips_where=str(ips.get("where", UNKNOWN)).strip(),
            ip_sources=_sourced(ips["publishes"], ips.get("sources"), f"{where} ips"),
            incidents=tuple(_incident(incident, where) for incident in raw.get("incidents") or ()),
        )
    except KeyError as missing:
        raise RegistryError(f"{where}: missing {missing}") from None
    if tool.publishes_ips == "yes" and tool.ips_where == UNKNOWN:
        raise RegistryError(f"{where}: publishes IPs, but `where` is unknown")
    return tool


def _needs(value: Any, where: str) -> tuple[str, ...] | None:
    return None if value == UNKNOWN else _permission_names(value, where)


def _permission_names(names: Any, where: str) -> tuple[str, ...]:
    if not isinstance(names, list):
        raise RegistryError(f"{where}: permissions must be a list or `unknown`, not {names!r}")
    unknown = [name for name in names if name not in PERMISSIONS]
    if unknown:
        raise RegistryError(f"{where}: unknown permission(s) {unknown}; known: {sorted(PERMISSIONS)}")
    return tuple(names)


def _ip_state(value: Any, where: str) -> str:
    if value not in IP_STATES:
        raise RegistryError(f"{where}: ips.publishes must be one of {IP_STATES}, not {value!r}")
    return str(value)


def _sourced(value: Any, sources: Any, where: str) -> tuple[str, ...]:
    """A fact's sources: at least one https URL, unless the fact itself is `unknown`."""
    urls = _urls(sources or [], where)
    if not urls and value != UNKNOWN:
        raise RegistryError(f"{where}: a fact without a source (give its URL, or write `unknown`)")
    return urls


def _urls(values: Iterable[Any], where: str) -> tuple[str, ...]:
    urls = tuple(str(value) for value in values)
    bad = [url for url in urls if not _URL.fullmatch(url)]
    if bad:
        raise RegistryError(f"{where}: not an https URL: {bad}")
    return urls


def _incident(raw: Any, where: str) -> Incident:
    date = str(raw.get("date", ""))
    if not _DATE.fullmatch(date):
        raise RegistryError(f"{where}: incident date {date!r} is not YYYY-MM-DD or YYYY-MM")
    sources = _urls(raw.get("sources") or [], f"{where} incident {date}")
    if not sources:
        raise RegistryError(f"{where}: incident {date} without a source")
    return Incident(date, " ".join(str(raw["what"]).split()), sources)


def _check_unique(tools: tuple[Tool, ...]) -> None:
    seen: dict[str, str] = {}
    for tool in tools:
        for name in _names(tool):
            if seen.setdefault(name, tool.id) != tool.id:
                raise RegistryError(f"tools {seen[name]} and {tool.id} share the name {name!r}")


def _parse_binance(raw: Any) -> BinanceUI:
    try:
        labels = {str(name): str(label) for name, label in raw["labels"].items()}
        _permission_names(list(labels), "binance labels")
        steps = raw["steps"]
        missing = [kind for kind in STEP_KINDS if kind not in steps]
        if missing:
            raise RegistryError(f"binance steps: missing {missing}")
        return BinanceUI(
            api_management=_urls([raw["api_management"]], "binance")[0],
            labels=MappingProxyType(labels),
            open_step=str(steps["open"]),
            steps=MappingProxyType({kind: tuple(str(step) for step in steps[kind]) for kind in STEP_KINDS}),
            sources=_urls([*raw["ui_sources"], *raw["default_sources"]], "binance"),
        )
    except (KeyError, AttributeError, TypeError) as error:
        raise RegistryError(f"binance section malformed: {error}") from None
