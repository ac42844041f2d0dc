"""The three real clients (ccxt, python-binance, binance-sdk-spot/wallet) against the sandbox, unchanged."""

from __future__ import annotations

import pytest

from .conftest import ccxt_client, python_binance_client, sdk_config, session_from

KEY_LABELS = {"hmac": "victim-bot", "ed25519": "victim-ed25519", "rsa": "victim-rsa"}


def _secret(entry: dict) -> str:
    return entry["secret"] if entry["key_type"] == "hmac" else entry["private_key_pem"]


@pytest.mark.parametrize("key_type", ["hmac", "ed25519", "rsa"])
def test_ccxt_signed_calls(sandbox, key_type):
    import ccxt

    entry = sandbox.credentials[KEY_LABELS[key_type]]
    exchange = ccxt_client(sandbox, entry["api_key"], _secret(entry))
    balance = exchange.fetch_balance()
    victim = sandbox.exchange.ledger.accounts["victim"]
    assert balance["USDT"]["free"] == pytest.approx(float(victim.balances["USDT"].free))
    restrictions = exchange.sapi_get_account_apirestrictions()
    assert restrictions["enableReading"] is True
    assert restrictions["ipRestrict"] is (key_type == "ed25519")
    trades = exchange.fetch_my_trades("BTC/USDT")
    assert trades and all(t["symbol"] == "BTC/USDT" for t in trades)
    withdrawals = exchange.fetch_withdrawals()
    assert {w["address"] for w in withdrawals} <= {
        "0x5b1a3e8d0c9f7a6b5c4d3e2f1a0b9c8d7e6f5a4b",
        "0x9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d",
    }
    wrong = ccxt_client(sandbox, entry["api_key"], "x" * 64) if key_type == "hmac" else None
    if wrong is not None:
        with pytest.raises(ccxt.AuthenticationError, match="-1022"):
            wrong.fetch_balance()


def test_ccxt_errors_for_deleted_key_and_stale_clock(sandbox):
    import ccxt

    entry = sandbox.credentials["victim-bot"]
    exchange = ccxt_client(sandbox, entry["api_key"], entry["secret"])
    sandbox.admin("faults", {"skew_ms": 600_000})
    with pytest.raises(ccxt.InvalidNonce, match="-1021"):
        exchange.fetch_balance()
    sandbox.admin("faults", {"skew_ms": 0})
    sandbox.admin(f"keys/{entry['label']}/delete")
    with pytest.raises(ccxt.AuthenticationError, match="-2015"):
        exchange.fetch_balance()


@pytest.mark.parametrize("key_type", ["hmac", "ed25519", "rsa"])
def test_python_binance_signed_calls(sandbox, key_type):
    entry = sandbox.credentials[KEY_LABELS[key_type]]
    if key_type == "hmac":
        client = python_binance_client(sandbox, entry["api_key"], entry["secret"])
    else:
        client = python_binance_client(sandbox, entry["api_key"], private_key=entry["private_key_pem"])
    account = client.get_account()
    assert account["uid"] == sandbox.exchange.ledger.accounts["victim"].uid
    permissions = client.get_account_api_permissions()
    assert permissions["enableSpotAndMarginTrading"] is (key_type != "rsa")
    trades = client.get_my_trades(symbol="ETHUSDT")
    assert trades and {t["symbol"] for t in trades} == {"ETHUSDT"}
    assert isinstance(client.get_withdraw_history(), list)
    assert client.get_user_asset()  # POST /sapi/v3/asset/getUserAsset


def test_python_binance_errors(sandbox):
    from binance.exceptions import BinanceAPIException

    entry = sandbox.credentials["victim-ed25519"]  # whitelisted for 127.0.0.1 only
    other_ip = python_binance_client(
        sandbox, entry["api_key"], private_key=entry["private_key_pem"], session=session_from("127.0.0.2")
    )
    with pytest.raises(BinanceAPIException) as rejected:
        other_ip.get_account()
    assert rejected.value.code == -2015
    hmac_entry = sandbox.credentials["victim-bot"]
    with pytest.raises(BinanceAPIException) as bad_signature:
        python_binance_client(sandbox, hmac_entry["api_key"], "y" * 64).get_account()
    assert bad_signature.value.code == -1022
    sandbox.admin("faults", {"skew_ms": -600_000})
    with pytest.raises(BinanceAPIException) as stale:
        python_binance_client(sandbox, hmac_entry["api_key"], hmac_entry["secret"]).get_account()
    assert stale.value.code == -1021 and "ahead" in stale.value.message


@pytest.mark.parametrize("key_type", ["hmac", "ed25519", "rsa"])
def test_binance_sdk_signed_calls(sandbox, key_type):
    from binance_sdk_spot.spot import Spot
    from binance_sdk_wallet.wallet import Wallet

    entry = sandbox.credentials[KEY_LABELS[key_type]]
    spot = Spot(config_rest_api=sdk_config(sandbox, entry))
    account = spot.rest_api.get_account().data()
    assert account.uid == sandbox.exchange.ledger.accounts["victim"].uid
    trades = spot.rest_api.my_trades(symbol="BNBUSDT").data()
    assert trades and all(t.symbol == "BNBUSDT" for t in trades)
    wallet = Wallet(config_rest_api=sdk_config(sandbox, entry))
    permissions = wallet.rest_api.get_api_key_permission().data()
    assert permissions.enable_reading is True
    assert wallet.rest_api.withdraw_history().data() is not None


def test_binance_sdk_errors(sandbox):
    from binance_common.errors import BadRequestError, UnauthorizedError
    from binance_sdk_spot.spot import Spot

    entry = sandbox.credentials["victim-bot"]
    wrong = dict(entry, secret="z" * 64)
    with pytest.raises(BadRequestError, match="Signature"):
        Spot(config_rest_api=sdk_config(sandbox, wrong)).rest_api.get_account()
    sandbox.admin("faults", {"skew_ms": 60_000})
    with pytest.raises(BadRequestError, match="recvWindow"):
        Spot(config_rest_api=sdk_config(sandbox, entry)).rest_api.get_account()
    sandbox.admin("faults", {"skew_ms": 0})
    sandbox.admin(f"keys/{entry['api_key']}/delete")
    with pytest.raises(UnauthorizedError, match="Invalid API-key"):
        Spot(config_rest_api=sdk_config(sandbox, entry)).rest_api.get_account()


def test_futures_account_needs_the_futures_permission(sandbox):
    from binance.exceptions import BinanceAPIException

    with_futures = sandbox.credentials["victim-ed25519"]
    client = python_binance_client(sandbox, with_futures["api_key"], private_key=with_futures["private_key_pem"])
    account = client.futures_account()
    assert account["totalWalletBalance"] == "800.00000000" and account["canTrade"] is True
    spot_only = sandbox.credentials["victim-bot"]
    with pytest.raises(BinanceAPIException) as refused:
        python_binance_client(sandbox, spot_only["api_key"], spot_only["secret"]).futures_account()
    assert refused.value.code == -2015
