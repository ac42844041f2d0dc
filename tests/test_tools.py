"""The third-party tool registry (tools.yaml): every fact sourced, known permission names; `keyguard tools list/show`;
`keyguard keys add LABEL --tool NAME` applying the tool's profile; `keys check` judging keys by their tool."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import isolated_env
from keyguard.inventory.store import Inventory, KeyRecord
from keyguard.posture.check import check_keys
from keyguard.posture.profiles import PERMISSIONS, load_profiles
from keyguard.posture.tools import REGISTRY_FILE, ProfileBook, RegistryError, load_registry

REQUIRED = [
    "3commas", "cryptohopper", "pionex", "bitsgap", "wundertrading", "coinrule", "tradingview", "hummingbot",
    "freqtrade", "jesse", "octobot", "koinly", "cointracker", "coinstats", "delta", "coinmarketcap",
]  # fmt: skip
SELF_HOSTED = ["freqtrade", "hummingbot", "jesse", "octobot"]
URL = re.compile(r"https://\S+")


def _keyguard(tmp_path: Path, *args: str, key=None) -> subprocess.CompletedProcess[str]:
    extra = {"BINANCE_API_KEY": key.key, "BINANCE_API_SECRET": key.secret} if key else {}
    return subprocess.run(
        [sys.executable, "-m", "keyguard", *args],
        env={**isolated_env(tmp_path, **extra), "NO_COLOR": "1"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def _facts(node, path="tools"):
    """Every mapping in the raw YAML that carries `sources`, with where it is."""
    if isinstance(node, dict):
        if "sources" in node:
            yield path, node
        for name, value in node.items():
            yield from _facts(value, f"{path}.{name}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _facts(value, f"{path}[{index}]")


def test_registry_every_fact_has_a_source_or_says_unknown():
    raw = yaml.safe_load(REGISTRY_FILE.read_text("utf-8"))
    facts = list(_facts(raw["tools"]))
    assert len(facts) >= 3 * len(raw["tools"])  # connection, permissions and ips at least, per tool
    for where, fact in facts:
        value = fact.get("value", fact.get("needs", fact.get("publishes", fact.get("what"))))
        assert value is not None, where
        assert all(URL.fullmatch(url) for url in fact["sources"]), where
        assert fact["sources"] or value == "unknown", f"{where}: a fact without a source"
    for tool in raw["tools"]:
        for incident in tool["incidents"]:
            assert re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", incident["date"]) and incident["sources"], tool["id"]


def test_registry_contents():
    registry = load_registry()
    assert len(registry.tools) >= 15
    for name in REQUIRED:
        assert registry.find(name) is not None, name
    for tool in registry.tools:
        assert set(tool.needs or ()) | set(tool.optional) <= set(PERMISSIONS), tool.id
        assert "withdrawals" not in (*(tool.needs or ()), *tool.optional), tool.id
    for name in SELF_HOSTED:
        assert registry.find(name).publishes_ips == "own", name  # your own machine's IP
    pionex = registry.find("Pionex")
    assert not pionex.takes_key and pionex.kind == "exchange"
    leak = [i for i in registry.find("3Commas").incidents if i.date == "2022-12-28"]
    assert leak and "revoke" in leak[0].what and leak[0].sources
    assert registry.find("coinstats").needs is None  # no source says: unknown, not a guess
    assert registry.find("3-commas") is registry.find("3commas") is registry.find("three commas")


def test_registry_loader_refuses_an_unsourced_fact_and_an_unknown_permission(tmp_path):
    text = REGISTRY_FILE.read_text("utf-8")
    unsourced = tmp_path / "unsourced.yaml"
    unsourced.write_text(
        text.replace("        - https://hummingbot.org/client/connect\n    permissions:", "    permissions:", 1)
    )
    with pytest.raises(RegistryError, match="hummingbot connection: a fact without a source"):
        load_registry(unsourced)
    misnamed = tmp_path / "misnamed.yaml"
    misnamed.write_text(text.replace("needs: [reading, spot]\n      optional: [futures]", "needs: [reading, trade]", 1))
    with pytest.raises(RegistryError, match=r"unknown permission\(s\) \['trade'\]"):
        load_registry(misnamed)
    undated = tmp_path / "undated.yaml"
    undated.write_text(text.replace('date: "2022-12-28"', 'date: "late 2022"', 1))
    with pytest.raises(RegistryError, match="not YYYY-MM-DD"):
        load_registry(undated)


def test_tools_list(tmp_path):
    done = _keyguard(tmp_path, "tools", "list")
    assert done.returncode == 0, done.stderr
    rows = {cells[0]: cells for cells in _table(done.stdout)}
    registry = load_registry()
    assert set(rows) == {tool.id for tool in registry.tools}
    assert rows["3commas"][3:] == ["reading, spot (+futures)", "yes", "2"]
    assert rows["freqtrade"][4] == "your own IP"
    assert rows["pionex"][3:5] == ["none (takes no Binance key)", "n/a (no Binance key)"]
    assert rows["coinstats"][3:] == ["unknown", "unknown", "1"]


def _table(text: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip("│").split("│")] for line in text.splitlines() if line.startswith("│")]


def test_tools_show(tmp_path):
    done = _keyguard(tmp_path, "tools", "show", "3Commas")
    assert done.returncode == 0, done.stderr
    tool = load_registry().find("3commas")
    every_source = {*tool.connection_sources, *tool.permission_sources, *tool.ip_sources}
    every_source |= {url for incident in tool.incidents for url in incident.sources}
    for url in every_source:
        assert f"source: {url}" in done.stdout
    assert "2022-12-28" in done.stdout and "Fast Connect" in done.stdout
    assert "needs reading, spot ('Enable Reading', 'Enable Spot & Margin Trading')" in done.stdout
    assert "keyguard keys add LABEL --tool 3commas [--allow futures]" in done.stdout
    own = _keyguard(tmp_path, "tools", "show", "freqtrade").stdout
    assert "Publishes server IPs (your own IP)" in own and "runs on your machine" in own
    unknown = _keyguard(tmp_path, "tools", "show", "coinmarketcap").stdout
    assert "How it connects to Binance:\n  unknown\n  source: unknown" in unknown
    missing = _keyguard(tmp_path, "tools", "show", "no-such-bot")
    assert missing.returncode == 2 and "no tool 'no-such-bot'" in missing.stderr


def test_keys_add_with_a_tool_applies_its_profile(tmp_path, canaries):
    added = _keyguard(tmp_path, "keys", "add", "grid", "--tool", "3Commas", "--allow", "futures", key=canaries)
    assert added.returncode == 0, added.stderr
    assert "for 3Commas (tool:3commas+futures)" in added.stdout
    assert "'Enable Futures', 'Enable Reading', 'Enable Spot & Margin Trading'" in added.stdout
    assert "3Commas publishes its IPs" in added.stdout
    [record] = Inventory(tmp_path / "inventory.sqlite").all()
    assert (record.tool, record.profile) == ("3commas", "tool:3commas+futures")
    dump = "\n".join(sqlite3.connect(tmp_path / "inventory.sqlite").iterdump())
    assert canaries.key not in dump and canaries.secret not in dump
    # the older form still works; a tool outside the registry needs a profile
    older = ("keys", "add", "--label", "quant", "--tool", "my-own-bot", "--profile", "spot-trading")
    assert _keyguard(tmp_path, *older, key=canaries).returncode == 0
    refused = {
        "takes no Binance API key": ("keys", "add", "p", "--tool", "pionex"),
        "permissions CoinStats needs: give --profile": ("keys", "add", "c", "--tool", "coinstats"),
        "does not use withdrawals": ("keys", "add", "w", "--tool", "3commas", "--allow", "withdrawals"),
        "not in the tool registry": ("keys", "add", "u", "--tool", "my-own-bot"),
        "give the key's label once": ("keys", "add", "a", "--label", "b", "--tool", "koinly"),
        "drop --profile": ("keys", "add", "d", "--tool", "3commas", "--profile", "read-only", "--allow", "futures"),
    }
    for reason, args in refused.items():
        done = _keyguard(tmp_path, *args, key=canaries)
        assert done.returncode == 2 and reason in " ".join(done.stderr.split()), (args, done.stderr)
    assert len(Inventory(tmp_path / "inventory.sqlite").all()) == 2


def _verified(store: Inventory, label: str, permissions: list[str], ip_restricted: bool) -> None:
    on = {PERMISSIONS[name] for name in permissions}
    store.record_verification(
        label,
        {
            "status": "live",
            "severity": "ok",
            "key": "abcd…wxyz",
            "fingerprint": "0" * 64,
            "key_type": "hmac",
            "permissions": {field: field in on for field in PERMISSIONS.values()},
            "ip_restricted": ip_restricted,
            "created": "2099-01-01T00:00:00+00:00",
        },
    )


def _record(store: Inventory, label: str, tool: str, profile: str, fingerprint: str) -> None:
    store.add(KeyRecord(label, tool, profile, fingerprint, f"{label[:4]}…wxyz", "hmac", "2026-01-01T00:00:00+00:00"))


def test_check_judges_each_key_by_its_tool(tmp_path):
    registry = load_registry()
    profiles = ProfileBook(load_profiles({"treasury": {"allow": ["reading", "withdrawals"]}}), registry)
    store = Inventory(tmp_path / "inv.sqlite")
    _record(store, "tax", "koinly", "read-only", "a" * 64)  # a read-only tool's key that can trade and withdraw
    _verified(store, "tax", ["reading", "spot", "withdrawals"], ip_restricted=True)
    _record(store, "bot", "3commas", "tool:3commas", "b" * 64)  # futures not asked for; no whitelist
    _verified(store, "bot", ["reading", "spot", "futures"], ip_restricted=False)
    _record(store, "ft", "freqtrade", "tool:freqtrade", "c" * 64)  # self-hosted, no whitelist
    _verified(store, "ft", ["reading", "spot"], ip_restricted=False)
    _record(store, "vault", "my-script", "treasury", "d" * 64)  # the profile allows withdrawals: still critical
    _verified(store, "vault", ["reading", "withdrawals"], ip_restricted=True)
    _record(store, "shared-a", "hummingbot", "tool:hummingbot", "e" * 64)
    _record(store, "shared-b", "freqtrade", "tool:freqtrade", "e" * 64)
    for label in ("shared-a", "shared-b"):
        _verified(store, label, ["reading", "spot"], ip_restricted=True)
    _record(store, "old", "cointracker", "tool:cointracker", "f" * 64)
    store.retire("old")
    _record(store, "px", "pionex", "read-only", "9" * 64)
    report = {label: {v.text: v for v in found} for label, found in check_keys(store.all(), profiles, registry).items()}

    tax = report["tax"]["more than Koinly needs: enableSpotAndMarginTrading, enableWithdrawals"]
    assert tax.severity == "critical"
    assert "Untick 'Enable Spot & Margin Trading', 'Enable Withdrawals'." in tax.fix
    assert "https://www.binance.com/en/my/settings/api-management" in tax.fix[0]
    futures = report["bot"]["more than 3Commas needs: enableFutures"]
    assert futures.severity == "high" and "Untick 'Enable Futures'." in futures.fix
    [whitelist] = [v for text, v in report["bot"].items() if text.startswith("no IP whitelist, though 3Commas")]
    assert whitelist.severity == "critical"  # it can trade from anywhere
    assert any(
        "Restrict access to trusted IPs only" in s and "the IPs 3Commas publishes (Shown while" in s
        for s in whitelist.fix
    )
    [own_ip] = report["ft"].values()
    assert own_ip.text.startswith("no IP whitelist: freqtrade runs on your own machine")
    withdrawals = report["vault"]["withdrawals are on — no tool needs them: enableWithdrawals"]
    assert withdrawals.severity == "critical"
    shared = report["shared-a"]["one key per tool: the same key serves freqtrade, hummingbot"]
    assert "`keyguard keys retire shared-b`: freqtrade no longer uses the shared key." in shared.fix
    assert (
        "Put the new key into freqtrade and register it: `keyguard keys add NEW-LABEL --tool freqtrade`." in shared.fix
    )
    retired = report["old"]["retired: delete it in Binance API Management; not yet confirmed dead"]
    assert any("press Delete" in step for step in retired.fix)
    assert list(report["px"]) == ["Pionex takes no Binance API key (exchange): nothing needs it"]


def test_keys_check_prints_the_steps(tmp_path, canaries):
    assert _keyguard(tmp_path, "keys", "add", "tax", "--tool", "koinly", key=canaries).returncode == 0
    Inventory(tmp_path / "inventory.sqlite").record_verification(
        "tax",
        {
            "status": "live",
            "severity": "critical",
            "key": "abcd…wxyz",
            "fingerprint": "0" * 64,
            "key_type": "hmac",
            "permissions": {"enableReading": True, "enableWithdrawals": True},
            "ip_restricted": True,
        },
    )
    done = _keyguard(tmp_path, "keys", "check")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0].startswith("tax (koinly, key ")
    assert lines[1] == "  - critical: more than Koinly needs: enableWithdrawals"
    assert lines[2].startswith("      1. Log in at binance.com and open Account > API Management (https://")
    assert "      3. Untick 'Enable Withdrawals'." in lines
    retire = _keyguard(tmp_path, "keys", "retire", "--tool", "Koinly")
    assert retire.returncode == 0 and "tax retired" in retire.stdout
    assert "press Delete" in _keyguard(tmp_path, "keys", "check").stdout
