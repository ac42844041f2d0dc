"""The account's own normal, measured from its trading on the sandbox's realistic accounts through a real audit."""

from __future__ import annotations

from keyguard.exchange.client import BinanceClient
from keyguard.exchange.credentials import Credential
from keyguard.incident.audit import DAY_MS, Auditor, Checkpoint
from keyguard.incident.baseline import account_baseline, client_id_pattern
from keyguard.sandbox.scenario import build_scenario
from keyguard.sandbox.server import SandboxServer


def _audited(name: str, tmp_path, days: int = 3):
    built = build_scenario(name)
    reader = next(c for c in built.credentials if c["role"] == "victim" and c["permissions"] == ["reading"])
    end = built.exchange.clock.now_ms()
    with SandboxServer(built.exchange).running() as server:
        client = BinanceClient(Credential(reader["api_key"], reader["private_key_pem"]), server.base_url)
        data = Auditor(client, Checkpoint(tmp_path / f"{name}.sqlite")).collect(end - days * DAY_MS, end)
    return data, end


def test_a_grid_bot_is_busy_limit_maker_and_ccxt(tmp_path):
    data, end = _audited("grid-bot", tmp_path)
    baseline = account_baseline(data, end - 3 * DAY_MS, end - DAY_MS)
    assert baseline.trades > 2_000
    assert 50 <= baseline.trades_per_hour["p50"] <= 250 and baseline.trades_per_hour["max"] > 200
    assert baseline.order_types == {"LIMIT": sum(baseline.order_types.values())}
    assert baseline.maker_share is not None and baseline.maker_share > 0.8
    assert max(baseline.client_ids, key=baseline.client_ids.get) == "ccxt (x-TKT5PX2F…)"
    line = baseline.describe()
    assert line.startswith("normally: ") and "trades an hour" in line and "limit" in line and "x-TKT5PX2F" in line


def test_a_person_in_the_app_trades_a_few_times_a_day_with_app_ids(tmp_path):
    data, end = _audited("app-person", tmp_path, days=9)
    baseline = account_baseline(data, end - 9 * DAY_MS, end - DAY_MS)
    assert 0 < baseline.trades < 60 and baseline.trades_per_hour["p50"] == 0
    assert set(baseline.client_ids) <= {
        "Binance website (web_…)",
        "Binance Android app (and_…)",
        "Binance iOS app (ios_…)",
    }
    night = sum(baseline.hours_of_day[h] for h in (1, 2, 3, 4))
    assert night < baseline.trades / 4  # people sleep


def test_client_id_patterns():
    assert client_id_pattern("x-MG43PCSNBSOLUT61a2b3c4d5e6f7a8b") == "Hummingbot (x-MG43PCSN…)"
    assert client_id_pattern("web_0f1e2d3c4b5a69788796a5b4c3d2e1f0") == "Binance website (web_…)"
    assert client_id_pattern("6gCrw2kRUAF9CvJDGP16IP") == "none sent (22 random characters)"
    assert client_id_pattern("x-ABCDEFGH123") == "broker x-ABCDEFGH…"
    assert client_id_pattern("my-bot-17") == "other"


def test_no_trades_before_the_window_says_so(tmp_path):
    data, end = _audited("clean", tmp_path, days=1)
    assert account_baseline(data, end - 10 * DAY_MS, end - 9 * DAY_MS).describe().startswith("no trades")
