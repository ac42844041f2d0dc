"""Least-privilege profiles: what a key for a job may do, whether it needs an IP whitelist, how long it lives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keyguard.posture.verify import DEFAULT_ROTATION_DAYS, Verification

# Short permission names, as in scenario files and profiles, and the apiRestrictions fields they mean.
PERMISSIONS = {
    "reading": "enableReading",
    "spot": "enableSpotAndMarginTrading",
    "margin": "enableMargin",
    "futures": "enableFutures",
    "options": "enableVanillaOptions",
    "portfolio_margin": "enablePortfolioMarginTrading",
    "fix_trade": "enableFixApiTrade",
    "fix_read": "enableFixReadOnly",
    "internal_transfer": "enableInternalTransfer",
    "universal_transfer": "permitsUniversalTransfer",
    "withdrawals": "enableWithdrawals",
}


class ProfileError(ValueError):
    """A profile in the settings is malformed."""


@dataclass(frozen=True)
class Profile:
    name: str
    allow: frozenset[str]  # apiRestrictions fields the key may have on
    ip_whitelist: bool = True
    rotation_days: int = DEFAULT_ROTATION_DAYS

    def violations(self, verification: Verification) -> list[str]:
        found = []
        extra = sorted(name for name, on in verification.permissions.items() if on and name not in self.allow)
        if extra:
            found.append(f"more than profile {self.name} allows: {', '.join(extra)}")
        if self.ip_whitelist and verification.ip_restricted is False:
            found.append(f"no IP whitelist (profile {self.name} requires one)")
        if verification.age_days is not None and verification.age_days > self.rotation_days:
            found.append(f"{verification.age_days} days old (profile {self.name} rotates every {self.rotation_days})")
        return found


BUILT_IN = {
    "read-only": Profile("read-only", frozenset({"enableReading"})),  # Binance's "Data-Query" key
    "spot-trading": Profile(
        "spot-trading", frozenset({"enableReading", "enableSpotAndMarginTrading"})
    ),  # Quant-Trading
}


def load_profiles(custom: dict[str, Any] | None = None, rotation_days: int | None = None) -> dict[str, Profile]:
    """Built-in profiles plus custom ones from settings: `[profiles.NAME] allow = ["reading", "spot"]`,
    `ip_whitelist = true`, `rotation_days = 30`."""
    profiles = dict(BUILT_IN)
    if rotation_days:
        profiles = {n: Profile(p.name, p.allow, p.ip_whitelist, rotation_days) for n, p in profiles.items()}
    for name, raw in (custom or {}).items():
        if not isinstance(raw, dict):
            raise ProfileError(f"profile {name} must be a table")
        unknown = [p for p in raw.get("allow", []) if p not in PERMISSIONS]
        if unknown:
            raise ProfileError(f"profile {name}: unknown permission(s) {unknown}; known: {sorted(PERMISSIONS)}")
        profiles[name] = Profile(
            name,
            frozenset(PERMISSIONS[p] for p in raw.get("allow", ["reading"])),
            bool(raw.get("ip_whitelist", True)),
            int(raw.get("rotation_days", rotation_days or DEFAULT_ROTATION_DAYS)),
        )
    return profiles
