"""Everything one sandbox server holds: the ledger, the keys, the clock, the limits and injected faults."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from keyguard.sandbox.clock import Clock
from keyguard.sandbox.keys import SandboxKey
from keyguard.sandbox.ledger import Account, Ledger
from keyguard.sandbox.ratelimit import RateLimiter


@dataclass
class Faults:
    """Injected through /_sandbox/faults to rehearse a flaky exchange, a ban, or a proxy in the way."""

    latency_ms: int = 0
    error_rate: float = 0.0  # share of requests answered error_status (a 5xx)
    error_status: int = 503
    error_body: str = "binance"  # "binance": {"code":-1001,...} as Binance sends; "none": an HTML page
    timeout_rate: float = 0.0  # share of requests that hang for timeout_ms
    timeout_ms: int = 30_000
    burst_418: int = 0  # the next N /api requests: 418, IP banned (binance-api.md §1.5: /api only)
    ban_seconds: int = 120  # Retry-After of burst_418 (Binance bans last 2 minutes to 3 days)
    proxy_401: int = 0  # the next N requests: a bare 401 with an HTML body, as a proxy would answer
    # the next N signed writes (POST/DELETE) are carried out, then answered with a 5xx: Binance's docs say a 5xx
    # leaves the execution status unknown ("it could have been a success")
    lost_answers: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False)

    def update(self, values: dict[str, Any]) -> None:
        """Applies the given settings, all or none (ValueError names the bad one)."""
        merged = self.settings()
        for name in SETTINGS:
            if name in values:
                try:
                    merged[name] = type(merged[name])(values[name])
                except (TypeError, ValueError):
                    raise ValueError(f"{name}: {values[name]!r} is not a {type(merged[name]).__name__}") from None
        if merged["error_body"] not in ERROR_BODIES:
            raise ValueError(f"error_body must be one of {', '.join(ERROR_BODIES)}")
        if not 500 <= merged["error_status"] <= 599:
            raise ValueError("error_status must be a 5xx status")
        if not (0 <= merged["error_rate"] <= 1 and 0 <= merged["timeout_rate"] <= 1):
            raise ValueError("error_rate and timeout_rate are shares between 0 and 1")
        if min(merged["burst_418"], merged["proxy_401"], merged["ban_seconds"], merged["lost_answers"]) < 0:
            raise ValueError("burst_418, proxy_401, ban_seconds and lost_answers cannot be negative")
        for name, value in merged.items():
            setattr(self, name, value)

    def settings(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in SETTINGS}


SETTINGS = tuple(name for name in Faults.__dataclass_fields__ if name != "rng")
ERROR_BODIES = ("binance", "none")


class SandboxExchange:
    def __init__(self, ledger: Ledger, keys: list[SandboxKey], clock: Clock, truth: dict[str, Any] | None = None):
        self.ledger = ledger
        self.keys = {key.api_key: key for key in keys}
        self.clock = clock
        self.limiter = RateLimiter()
        self.faults = Faults()
        self.truth = truth or {}
        self.invalidation_listeners: list = []  # called with an api key that has stopped working

    def notify_key_invalid(self, key: SandboxKey) -> None:
        for listener in list(self.invalidation_listeners):
            listener(key.api_key)

    def account_of(self, key: SandboxKey) -> Account:
        return self.ledger.accounts[key.account]

    def account_disabled(self, key: SandboxKey) -> bool:
        return self.account_of(key).status != "Normal"

    def key_by_label(self, label: str) -> SandboxKey:
        for key in self.keys.values():
            if key.label == label:
                return key
        raise KeyError(label)
