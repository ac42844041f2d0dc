"""Containment in seconds, opt-in (`--contain cancel-orders,sweep-to-funding`), each action logged with its UTC
time (incident/actions.py):

- cancel-orders: every open order of the account, with the watched key (incident/contain.py's cancel).
- sweep-to-funding: every free spot balance moved to the Funding wallet (POST /sapi/v1/asset/transfer, type
  MAIN_FUNDING) with a *guardian key* that has only the universal-transfer permission and an IP whitelist: a spot
  trading key cannot trade funds held there, so a thief holding it is left with nothing to trade.
- lock-sub-account: a sub-account's key made usable from nowhere by the master account's key (its IP list set to
  a documentation address, incident/contain.py's lock), last: the watched key itself cancels its orders first.

Then the deletion steps, as `keyguard incident` shows them (incident/contain.py's text), to push in the alert.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from keyguard.exchange.client import BinanceClient, ExchangeError
from keyguard.incident.actions import ActionLog
from keyguard.incident.contain import (
    CANCEL_IN_APP_STEP,
    DELETE_KEY_STEPS,
    DISABLE_ACCOUNT_STEPS,
    ORDERS_WAIT_SECONDS,
    cancel_open_orders,
    list_open_orders,
    lock_sub_account_key,
)
from keyguard.incident.detect import USD_QUOTES
from keyguard.posture.verify import MOVING_FIELDS, TRADING_FIELDS

ACTIONS = ("cancel-orders", "sweep-to-funding", "lock-sub-account")
SWEEP_TYPE = "MAIN_FUNDING"
GUARDIAN_NEEDS = "permitsUniversalTransfer"


class ContainError(ValueError):
    """An action asked for that cannot run as given (an unknown name, a sweep without a guardian key)."""


@dataclass(frozen=True)
class Master:
    """The master account's key and the sub-account whose watched key it can lock."""

    client: BinanceClient
    sub_account_email: str


@dataclass
class Contained:
    cancelled: dict[str, int] = field(default_factory=dict)  # symbol -> orders cancelled
    locked: bool = False  # the sub-account key is usable from nowhere
    swept: dict[str, str] = field(default_factory=dict)  # asset -> amount moved to Funding
    not_swept: dict[str, str] = field(default_factory=dict)  # asset -> why it stayed in spot
    steps: list[str] = field(default_factory=list)  # what only the person can do now, in order


def parse_actions(text: str) -> list[str]:
    """`cancel-orders,sweep-to-funding` → the actions in the order they run (cancelling first frees the funds
    open orders hold, so the sweep can move them)."""
    asked = {part.strip() for part in text.split(",") if part.strip()}
    unknown = sorted(asked - set(ACTIONS))
    if unknown:
        raise ContainError(f"unknown containment action {', '.join(unknown)} (known: {', '.join(ACTIONS)})")
    return [action for action in ACTIONS if action in asked]


def needs_of(actions: list[str], guardian: BinanceClient | None, master: Master | None) -> None:
    """Raises ContainError when an action lacks the key it runs with."""
    if "sweep-to-funding" in actions and guardian is None:
        raise ContainError("sweep-to-funding needs a guardian key (--guardian-key LABEL)")
    if "lock-sub-account" in actions and master is None:
        raise ContainError(
            "lock-sub-account needs the master account's key and the sub-account (--master-key LABEL "
            "--sub-account EMAIL)"
        )


def master_problems(master: Master, watched_api_key: str) -> list[str]:
    """What keeps the master key from locking the watched key: it must read the sub-account's key's IP list."""
    params = {"email": master.sub_account_email, "subAccountApiKey": watched_api_key}
    try:
        master.client.call("sapi_get_sub_account_subaccountapi_iprestriction", params)
    except ExchangeError as error:
        text = str(error).replace(watched_api_key, "the watched key")
        return [f"it cannot manage the watched key of {master.sub_account_email}: {text}"]
    return []


def guardian_problems(guardian: BinanceClient) -> list[str]:
    """What makes a key unfit as the guardian: it must be able to move funds to Funding and nothing more, and
    be bound to this machine's IP. An empty list: fit."""
    try:
        restrictions = guardian.api_restrictions()
    except ExchangeError as error:
        return [f"the guardian key cannot be checked: {error}"]
    problems = []
    if not restrictions.get(GUARDIAN_NEEDS):
        problems.append("it lacks the universal-transfer permission (Permits Universal Transfer)")
    extra = [name for name in (*TRADING_FIELDS, *MOVING_FIELDS, "enableInternalTransfer") if restrictions.get(name)]
    extra = [name for name in extra if name != GUARDIAN_NEEDS]
    if extra:
        problems.append(f"it can do more than move funds to Funding: {', '.join(extra)}")
    if not restrictions.get("ipRestrict"):
        problems.append("it has no IP whitelist")
    return problems


def cancel_orders(client: BinanceClient, log: ActionLog) -> tuple[dict[str, int], bool]:
    """Every open order of the account cancelled; (cancelled per symbol, whether any was left open)."""
    orders_client = BinanceClient(client.credential, client.base_url, wait_budget_seconds=ORDERS_WAIT_SECONDS)
    orders = list_open_orders(orders_client, log)
    if orders is None:
        return {}, True
    if not orders:
        return {}, False
    cancelled = cancel_open_orders(orders_client, log, orders)
    return cancelled, set(cancelled) != {order["symbol"] for order in orders}


def sweep_to_funding(guardian: BinanceClient, log: ActionLog) -> tuple[dict[str, str], dict[str, str]]:
    """Every free spot balance moved to the Funding wallet, stablecoins first (what a wash trade spends);
    (moved, left with the reason). Funds locked in open orders stay: cancel those first."""
    try:
        balances = guardian.spot_account().get("balances", [])
    except ExchangeError as error:
        log.record("read spot balances (guardian key)", f"failed: {error}", ok=False)
        return {}, {"*": str(error)}
    free = {row["asset"]: row["free"] for row in balances if float(row["free"]) > 0}
    log.record("read spot balances (guardian key)", f"{len(free)} assets free to move: {', '.join(sorted(free))}")
    moved: dict[str, str] = {}
    left: dict[str, str] = {}
    for asset in sorted(free, key=lambda a: (a not in USD_QUOTES, a)):
        params = {"type": SWEEP_TYPE, "asset": asset, "amount": free[asset]}
        try:
            # a repeat after an unknown outcome moves what is left of the same asset to the same own wallet
            answer = guardian.call("sapi_post_asset_transfer", params, idempotent=True)
        except ExchangeError as error:
            left[asset] = str(error)
            log.record(f"move {asset} to Funding", f"failed: {error}", ok=False)
            continue
        moved[asset] = free[asset]
        log.record(f"move {asset} to Funding", f"{free[asset]} moved (transfer {answer.get('tranId')})")
    return moved, left


def deletion_steps(key: str, money_left: bool, orders_left_open: bool = False) -> list[str]:
    """The steps only Binance's website can do, as `keyguard incident` gives them, then the incident itself."""
    steps = [CANCEL_IN_APP_STEP] if orders_left_open else []
    steps += [step.format(key=key) for step in DELETE_KEY_STEPS]
    if money_left:
        steps += list(DISABLE_ACCOUNT_STEPS)
    steps.append(f"Then run keyguard incident --key {key}: it audits what happened and writes the case folder.")
    return steps


def steps_text(steps: list[str]) -> str:
    """The steps as one message for the alert channel."""
    return " ".join(f"{number}. {step}" for number, step in enumerate(steps, start=1))


def contain(
    actions: list[str],
    watched: BinanceClient,
    log: ActionLog,
    key_label: str,
    guardian: BinanceClient | None = None,
    money_left: bool = False,
    master: Master | None = None,
) -> Contained:
    """Runs the chosen actions (parse_actions' order) and prepares the deletion steps. `money_left`: an alert
    said money left the account (the steps then include disabling it)."""
    needs_of(actions, guardian, master)
    result = Contained()
    orders_left_open = False
    if "cancel-orders" in actions:
        result.cancelled, orders_left_open = cancel_orders(watched, log)
    if "sweep-to-funding" in actions and guardian is not None:
        result.swept, result.not_swept = sweep_to_funding(guardian, log)
    if "lock-sub-account" in actions and master is not None:
        result.locked = lock_sub_account_key(master.client, master.sub_account_email, watched.credential.api_key, log)
    result.steps = deletion_steps(key_label, money_left, orders_left_open)
    log.record("guide deletion", f"steps pushed to delete the key {key_label} in API Management")
    return result
