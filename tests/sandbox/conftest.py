"""A real sandbox server on a free loopback port, and the three real Binance clients pointed at it."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from requests.adapters import HTTPAdapter

from keyguard.sandbox.exchange import SandboxExchange
from keyguard.sandbox.scenario import build_scenario
from keyguard.sandbox.server import SandboxServer


@dataclass
class Sandbox:
    base_url: str
    ws_url: str
    exchange: SandboxExchange
    credentials: dict[str, dict[str, Any]]
    truth: dict[str, Any]

    def admin(self, path: str, body: dict | None = None) -> dict:
        response = requests.post(f"{self.base_url}/_sandbox/{path}", json=body or {}, timeout=10)
        response.raise_for_status()
        return response.json()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    built = build_scenario("clean")
    with SandboxServer(built.exchange).running() as server:
        creds = {entry["label"]: entry for entry in built.credentials}
        yield Sandbox(server.base_url, server.ws_url, built.exchange, creds, built.truth)


class SourceAddressAdapter(HTTPAdapter):
    """Sends requests from another loopback address, to act as 'another IP'."""

    def __init__(self, source: str, **kwargs: Any) -> None:
        self._source = source
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self._source, 0)
        super().init_poolmanager(*args, **kwargs)


def session_from(source: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", SourceAddressAdapter(source))
    return session


def signed_query(sandbox, entry: dict, params: dict | None = None, **overrides) -> str:
    """Signed query string, stamped with the sandbox's own clock (tests move it)."""
    query = urlencode({**(params or {}), "timestamp": sandbox.exchange.clock.now_ms(), **overrides})
    signature = hmac.new(entry["secret"].encode(), query.encode(), hashlib.sha256).hexdigest()
    return f"{query}&signature={signature}"


def call(sandbox, path: str, entry: dict | None = None, query: str = "", method: str = "GET", **kwargs):
    headers = {"X-MBX-APIKEY": entry["api_key"]} if entry else {}
    return requests.request(method, f"{sandbox.base_url}{path}?{query}", headers=headers, timeout=10, **kwargs)


def ccxt_client(sandbox: Sandbox, api_key: str, secret: str, session: requests.Session | None = None):
    import ccxt

    exchange = ccxt.binance(
        {
            "apiKey": api_key,
            "secret": secret,
            "options": {"fetchMarkets": {"types": ["spot"]}, "fetchMargins": False, "fetchCurrencies": False},
        }
    )
    exchange.urls["api"] = {
        name: f"{sandbox.base_url}/{url.split('/', 3)[3]}"
        for name, url in exchange.urls["api"].items()
        if isinstance(url, str)
    }
    if session is not None:
        exchange.session = session
    return exchange


def python_binance_client(
    sandbox: Sandbox,
    api_key: str,
    secret: str | None = None,
    private_key: str | None = None,
    session: requests.Session | None = None,
):
    from binance.client import Client

    client = Client(api_key, secret, ping=False, private_key=private_key)
    client.API_URL = f"{sandbox.base_url}/api"
    client.MARGIN_API_URL = f"{sandbox.base_url}/sapi"
    client.FUTURES_URL = f"{sandbox.base_url}/fapi"
    if session is not None:
        client.session = session
        client.session.headers.update(client._get_headers())
    return client


def sdk_config(sandbox: Sandbox, entry: dict[str, Any], **overrides: Any):
    from binance_common.configuration import ConfigurationRestAPI

    secret = (
        {"api_secret": entry["secret"]} if entry["key_type"] == "hmac" else {"private_key": entry["private_key_pem"]}
    )
    settings = {
        "api_key": entry["api_key"],
        "base_path": sandbox.base_url,
        "retries": 0,
        **secret,
        **overrides,
    }
    return ConfigurationRestAPI(**settings)
