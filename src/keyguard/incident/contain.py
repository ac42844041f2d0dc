"""Containment, the first minute: what the key can do, cancel the orders an attacker left waiting, tell the
person exactly what only Binance's website can do, then poll until the key answers invalid."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from keyguard.exchange.client import BinanceClient, ExchangeError
from keyguard.incident.actions import ActionLog
from keyguard.posture.verify import TRADING_FIELDS, Verification, verify

DELETE_KEY_STEPS = (
    "Log in at binance.com (or the app) and open Account > API Management.",
    "Find the key {key} (label shown there) and press Delete; confirm with your 2FA.",
    "If you cannot tell which key leaked, delete every key you do not need right now.",
)
DISABLE_ACCOUNT_STEPS = (
    "Assets left the account: disable it now. App: Account > Security > Disable Account "
    "(or the 'Disable your account' link in any Binance security email). Reopening needs Binance support.",
    "Then contact Binance support with the support-ticket.md keyguard writes.",
)


@dataclass
class Containment:
    verification: Verification
    cancelled: dict[str, int] = field(default_factory=dict)  # symbol -> orders cancelled
    confirmed_dead: bool = False
    guidance: list[str] = field(default_factory=list)


def cancel_open_orders(client: BinanceClient, log: ActionLog) -> dict[str, int]:
    """Cancels every open order, symbol by symbol (Binance has no all-symbols cancel)."""
    try:
        orders = client.call("private_get_openorders")
    except ExchangeError as error:
        log.record("list open orders (all symbols)", f"failed: {error}", ok=False)
        return {}
    symbols = sorted({order["symbol"] for order in orders})
    log.record("list open orders (all symbols)", f"{len(orders)} open on {len(symbols)} symbols: {', '.join(symbols)}")
    cancelled: dict[str, int] = {}
    for symbol in symbols:
        try:
            reports = client.call("private_delete_openorders", {"symbol": symbol})
        except ExchangeError as error:
            log.record(f"cancel open orders on {symbol}", f"failed: {error}", ok=False)
            continue
        cancelled[symbol] = len(reports)
        log.record(f"cancel open orders on {symbol}", f"{len(reports)} cancelled")
    return cancelled


def contain(client: BinanceClient, log: ActionLog, confirm: Callable[[str], bool]) -> Containment:
    """Check the key, cancel open orders if it can trade (after `confirm`), and prepare the deletion steps."""
    key = client.credential.redacted_key
    log.record("identify key", f"{key} ({client.credential.key_type}), fingerprint {client.credential.fingerprint}")
    verification = verify(client)
    log.record(
        "check key", f"{verification.status}, verdict {verification.severity}", ok=verification.status != "unknown"
    )
    result = Containment(verification)
    if verification.status == "dead":
        result.confirmed_dead = True
        log.record(
            "key state", "already invalid: Binance rejects it; audit with a key you provide (read-only is enough)"
        )
        return result
    if verification.status == "live":
        if any(verification.permissions.get(name) for name in TRADING_FIELDS):
            if confirm("The key can trade: cancel every open order on every symbol now?"):
                result.cancelled = cancel_open_orders(client, log)
            else:
                log.record("cancel open orders", "declined by the person", ok=False)
        else:
            log.record("cancel open orders", "not needed: the key cannot trade")
    result.guidance = [step.format(key=key) for step in DELETE_KEY_STEPS]
    if verification.permissions.get("enableWithdrawals") or verification.permissions.get("permitsUniversalTransfer"):
        result.guidance += list(DISABLE_ACCOUNT_STEPS)
    log.record("guide deletion", "steps shown to delete the key in API Management")
    return result


# A documentation address (RFC 5737): pinning a leaked sub-account key to it leaves the key usable from nowhere.
NOWHERE_IP = "192.0.2.1"


def lock_sub_account_key(master: BinanceClient, sub_account_email: str, api_key: str, log: ActionLog) -> bool:
    """With the master account's key, restrict a leaked sub-account key to an address nobody has."""
    params = {"email": sub_account_email, "subAccountApiKey": api_key, "status": "2", "ipAddress": NOWHERE_IP}
    try:
        answer = master.call("sapiv2_post_sub_account_subaccountapi_iprestriction", params)
    except ExchangeError as error:
        log.record("lock sub-account key", f"failed: {error}", ok=False)
        return False
    log.record("lock sub-account key", f"restricted to {', '.join(answer.get('ipList', []))} by the master account")
    return True


def poll_until_dead(
    client: BinanceClient,
    log: ActionLog,
    seconds: float,
    poll_seconds: float = 5,
    sleep: Callable[[float], None] = time.sleep,
    on_tick: Callable[[float], None] | None = None,
) -> bool:
    """Polls apiRestrictions until Binance rejects the key (-2014/-2015); True when it did within `seconds`.
    `on_tick` hears the seconds left before each poll (a countdown for the person)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if on_tick:
            on_tick(deadline - time.monotonic())
        sleep(poll_seconds)
        try:
            client.api_restrictions()
        except ExchangeError as error:
            if error.kind == "rejected" and error.code != -1022:
                log.record("poll key", f"the key now answers invalid ({error.code}): deleted")
                return True
    log.record("poll key", f"still accepted after {seconds:.0f} s", ok=False)
    return False
