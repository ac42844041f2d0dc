"""Verifies a key live: is it accepted, what it can do, IP restriction, age — and a verdict with reasons."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from keyguard.exchange.client import BinanceClient, ExchangeError

DAY_MS = 86_400_000
DEFAULT_ROTATION_DAYS = 90
TRADING_FIELDS = (
    "enableSpotAndMarginTrading",
    "enableMargin",
    "enableFutures",
    "enableVanillaOptions",
    "enablePortfolioMarginTrading",
    "enableFixApiTrade",
)
MOVING_FIELDS = ("enableWithdrawals", "permitsUniversalTransfer")
# -2015 is also the answer when this machine's IP is not on the key's whitelist: never claim "deleted"
REJECTED_REASON = "Binance rejects this key from this machine; confirm in API Management that it is gone"
REJECTION_MEANINGS = {
    -2014: "Binance answered -2014: it does not accept the key's format",
    -2015: "Binance answered -2015: the key was deleted, or this machine's IP is not on its whitelist",
}


@dataclass
class Verification:
    status: str  # live | dead | unknown
    key: str
    fingerprint: str
    key_type: str
    permissions: dict[str, bool] = field(default_factory=dict)
    ip_restricted: bool | None = None
    created: str | None = None
    age_days: int | None = None
    trading_authority_expiration: str | None = None
    account_status: str | None = None
    trading_locked: bool | None = None
    severity: str = "unknown"
    reasons: list[str] = field(default_factory=list)

    @property
    def live(self) -> bool | None:
        return {"live": True, "dead": False}.get(self.status)

    def to_dict(self) -> dict[str, Any]:
        return {"live": self.live, **asdict(self)}


def _iso(ms: int | None) -> str | None:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat() if ms else None


def assess(
    restrictions: dict[str, Any], now_ms: int, rotation_days: int = DEFAULT_ROTATION_DAYS
) -> tuple[str, list[str]]:
    """critical: it can move money out, or trade from any IP; high: old or over-permissioned; medium: no
    IP whitelist on a read-only key; ok otherwise."""
    reasons: list[tuple[str, str]] = []
    ip = bool(restrictions.get("ipRestrict"))
    for name in MOVING_FIELDS:
        if restrictions.get(name):
            reasons.append(("critical", f"{name} is on: a thief can move funds out"))
    trading = [name for name in TRADING_FIELDS if restrictions.get(name)]
    if trading and not ip:
        reasons.append(("critical", f"trading ({', '.join(trading)}) from any IP address: no IP whitelist"))
    if restrictions.get("enableInternalTransfer"):
        reasons.append(("high", "enableInternalTransfer is on: funds can move between master and sub-accounts"))
    created = restrictions.get("createTime")
    if created and (now_ms - int(created)) / DAY_MS > rotation_days:
        age = int((now_ms - int(created)) / DAY_MS)
        reasons.append(("high", f"{age} days old: rotate keys every {rotation_days} days"))
    if not ip and not trading:
        reasons.append(("medium", "no IP whitelist"))
    order = ["critical", "high", "medium"]
    severity = min((level for level, _ in reasons), key=order.index, default="ok")
    return severity, [text for _, text in sorted(reasons, key=lambda r: order.index(r[0]))]


def verify(
    client: BinanceClient, rotation_days: int = DEFAULT_ROTATION_DAYS, account_details: bool = True
) -> Verification:
    """`account_details=False` skips the account- and trading-status reads: containment's one-call check."""
    credential = client.credential
    result = Verification("unknown", credential.redacted_key, credential.fingerprint, credential.key_type)
    try:
        restrictions = client.api_restrictions()
    except ExchangeError as error:
        if error.kind == "rejected":
            result.status, result.severity = "dead", "info"
            result.reasons = [REJECTED_REASON, REJECTION_MEANINGS[error.code]]
        elif error.code == -1022:
            result.reasons = [
                "Binance rejects the signature (-1022): the secret does not belong to this key, so "
                "whether the key is live cannot be told"
            ]
        else:
            result.reasons = [f"could not verify: {error}"]
        return result
    now = int(datetime.now(UTC).timestamp() * 1000)
    result.status = "live"
    result.permissions = {k: bool(v) for k, v in restrictions.items() if k.startswith(("enable", "permits"))}
    result.ip_restricted = bool(restrictions.get("ipRestrict"))
    created = restrictions.get("createTime")
    result.created = _iso(created)
    result.age_days = int((now - int(created)) / DAY_MS) if created else None
    result.trading_authority_expiration = _iso(restrictions.get("tradingAuthorityExpirationTime"))
    if account_details:
        try:
            result.account_status = str(client.account_status().get("data"))
            result.trading_locked = bool(client.trading_status().get("data", {}).get("isLocked"))
        except ExchangeError as error:
            result.reasons.append(f"account status not readable: {error}")
    result.severity, verdict = assess(restrictions, now, rotation_days)
    result.reasons = verdict + result.reasons
    return result
