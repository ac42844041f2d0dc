"""Containment, the first minute: what the key can do, cancel the orders an attacker left waiting, tell the
person exactly what only Binance's website can do, then poll until the key answers invalid."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from keyguard.exchange.client import BinanceClient, ExchangeError
from keyguard.incident.actions import ActionLog
from keyguard.model import redact
from keyguard.posture.verify import TRADING_FIELDS, Verification, verify

DELETE_KEY_STEPS = (
    "Log in at binance.com (or the app) and open Account > API Management.",
    "Find the key {key} (label shown there) and press Delete; confirm with your 2FA.",
    "If you cannot tell which key leaked, delete every key you do not need right now.",
)
ORDERS_WAIT_SECONDS = 15  # rate limits waited out for the open orders before the deletion steps are shown
CANCEL_IN_APP_STEP = (
    "keyguard could not cancel every open order (Binance refused or rate-limited the requests): first cancel "
    "them in the app or website — Orders > Spot Order > Open Orders > Cancel All — orders outlive a deleted key."
)
UNKNOWN_ORDER = -2011  # Binance's answer to cancelling what is no longer open
CONFIRM_GONE_STEP = (
    "Binance already rejects this key from this machine ({code}). That is also its answer when this machine's IP "
    "is not on the key's whitelist: confirm in API Management that the key {key} is gone, and delete it if not."
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
    rejected_since: str | None = None  # UTC time Binance was first seen rejecting the key
    guidance: list[str] = field(default_factory=list)


def list_open_orders(client: BinanceClient, log: ActionLog) -> list[dict] | None:
    try:
        orders = client.call("private_get_openorders")
    except ExchangeError as error:
        log.record("list open orders (all symbols)", f"failed: {error}", ok=False)
        return None
    symbols = sorted({order["symbol"] for order in orders})
    log.record("list open orders (all symbols)", f"{len(orders)} open on {len(symbols)} symbols: {', '.join(symbols)}")
    return orders


def cancel_open_orders(client: BinanceClient, log: ActionLog, orders: list[dict]) -> dict[str, int]:
    """Cancels every open order, symbol by symbol (Binance has no all-symbols cancel)."""
    cancelled: dict[str, int] = {}
    for symbol in sorted({order["symbol"] for order in orders}):
        try:
            reports = client.call("private_delete_openorders", {"symbol": symbol})
        except ExchangeError as error:
            left = _still_open(client, symbol) if error.code == UNKNOWN_ORDER else None
            if left == 0:  # a retry after a 5xx whose first attempt had cancelled them
                cancelled[symbol] = sum(1 for order in orders if order["symbol"] == symbol)
                log.record(f"cancel open orders on {symbol}", "cancelled (the retried request found none left)")
            else:
                log.record(f"cancel open orders on {symbol}", f"failed: {error}", ok=False)
            continue
        cancelled[symbol] = len(reports)
        log.record(f"cancel open orders on {symbol}", f"{len(reports)} cancelled")
    return cancelled


def _still_open(client: BinanceClient, symbol: str) -> int | None:
    try:
        return len(client.call("private_get_openorders", {"symbol": symbol}))
    except ExchangeError:
        return None


def _orders_question(orders: list[dict]) -> str:
    by_symbol: dict[str, int] = {}
    for order in orders:
        by_symbol[order["symbol"]] = by_symbol.get(order["symbol"], 0) + 1
    where = ", ".join(f"{count} on {symbol}" for symbol, count in sorted(by_symbol.items()))
    return f"The key can trade. Cancel its {len(orders)} open orders now ({where})?"


def contain(client: BinanceClient, log: ActionLog, confirm: Callable[[str], bool]) -> Containment:
    """Check the key, cancel its open orders (saying how many, on which symbols, after `confirm`), and prepare
    the deletion steps — shown whatever the check said: a rejection may be an IP whitelist, not a deletion."""
    key = client.credential.redacted_key
    log.record("identify key", f"{key} ({client.credential.key_type}), fingerprint {client.credential.fingerprint}")
    verification = verify(client, account_details=False)  # one call: every second counts here
    log.record(
        "check key",
        f"{verification.status}, verdict {verification.severity}"
        + (f": {verification.reasons[0]}" if verification.reasons and verification.status != "live" else ""),
        ok=verification.status != "unknown",
    )
    result = Containment(verification)
    if verification.status == "dead":
        result.confirmed_dead = True
        result.rejected_since = log.actions[-1].time
        steps = (CONFIRM_GONE_STEP, *DELETE_KEY_STEPS[:2])
        result.guidance = [step.format(key=key, code=_rejection_code(verification)) for step in steps]
        log.record("guide deletion", "steps shown to confirm in API Management that the key is gone")
        return result
    can_trade = any(verification.permissions.get(name) for name in TRADING_FIELDS)
    if verification.status == "live" and not can_trade:
        log.record("cancel open orders", "not needed: the key cannot trade")
    else:  # live and trading, or unknown: a key that may trade gets its orders cancelled if the API lets us
        # orders outlive a deleted key, so they go first — but a ban on /api must not hold the deletion steps back
        orders_client = BinanceClient(client.credential, client.base_url, wait_budget_seconds=ORDERS_WAIT_SECONDS)
        orders = list_open_orders(orders_client, log)
        left_open = orders is None
        if orders and confirm(_orders_question(orders)):
            result.cancelled = cancel_open_orders(orders_client, log, orders)
            left_open = set(result.cancelled) != {order["symbol"] for order in orders}
        elif orders:
            log.record("cancel open orders", "declined by the person", ok=False)
        if left_open:
            result.guidance.append(CANCEL_IN_APP_STEP)
    result.guidance += [step.format(key=key) for step in DELETE_KEY_STEPS]
    if (
        verification.status != "live"
        or verification.permissions.get("enableWithdrawals")
        or (verification.permissions.get("permitsUniversalTransfer"))
    ):
        result.guidance += list(DISABLE_ACCOUNT_STEPS)
    log.record("guide deletion", "steps shown to delete the key in API Management")
    return result


def _rejection_code(verification: Verification) -> str:
    for reason in verification.reasons:
        for code in ("-2014", "-2015"):
            if code in reason:
                return code
    return "-2015"


# A documentation address (RFC 5737): pinning a leaked sub-account key to it leaves the key usable from nowhere.
NOWHERE_IP = "192.0.2.1"


def lock_sub_account_key(master: BinanceClient, sub_account_email: str, api_key: str, log: ActionLog) -> bool:
    """With the master account's key, make a leaked sub-account key usable from nowhere. Binance's POST v2
    *adds* addresses, so the documentation address is added first (the key is never left unrestricted, even
    if a later call fails), then the key's other IPs are deleted; the list is read back and logged, with the
    removed addresses, so they can be restored."""
    who = {"email": sub_account_email, "subAccountApiKey": api_key}
    before: list[str] = []
    try:
        before = master.call("sapi_get_sub_account_subaccountapi_iprestriction", dict(who)).get("ipList") or []
        lock = {**who, "status": "2", "ipAddress": NOWHERE_IP}
        # adding the same address twice leaves one: safe to retry
        master.call("sapiv2_post_sub_account_subaccountapi_iprestriction", lock, idempotent=True)
        others = [ip for ip in before if ip != NOWHERE_IP]
        if others:
            master.call(
                "sapi_delete_sub_account_subaccountapi_iprestriction_iplist", {**who, "ipAddress": ",".join(others)}
            )
        after = master.call("sapi_get_sub_account_subaccountapi_iprestriction", dict(who)).get("ipList") or []
    except ExchangeError as error:
        text = str(error).replace(api_key, redact(api_key.encode()))  # the leaked key rides in the master's URL
        log.record("lock sub-account key", f"failed (IP list was [{', '.join(before)}]): {text}", ok=False)
        return False
    locked = after == [NOWHERE_IP]
    log.record(
        "lock sub-account key",
        f"IP list was [{', '.join(before)}], now [{', '.join(after)}]"
        + (": usable from nowhere" if locked else ": NOT locked, other addresses remain"),
        ok=locked,
    )
    return locked


def poll_until_dead(
    client: BinanceClient,
    log: ActionLog,
    seconds: float,
    poll_seconds: float = 5,
    sleep: Callable[[float], None] = time.sleep,
    on_tick: Callable[[float], None] | None = None,
) -> bool:
    """Polls apiRestrictions until Binance rejects the key (-2014/-2015); True when it did within `seconds`.
    `on_tick` hears the seconds left about once a second (a countdown for the person)."""
    deadline = time.monotonic() + seconds
    answers: set[str] = set()
    while time.monotonic() < deadline:
        next_poll = min(time.monotonic() + poll_seconds, deadline)
        while (left := next_poll - time.monotonic()) > 0:
            if on_tick:
                on_tick(deadline - time.monotonic())
            sleep(min(1.0, left))
        try:
            client.api_restrictions()
            answers.add("accepted")
        except ExchangeError as error:
            if error.kind == "rejected":
                log.record(
                    "poll key",
                    f"Binance now rejects this key from this machine ({error.code}); "
                    "confirm in API Management that it is gone",
                )
                return True
            answers.add(f"no clear answer ({error.kind})")
    log.record("poll key", f"after {seconds:.0f} s: {' / '.join(sorted(answers)) or 'not polled'}", ok=False)
    return False
