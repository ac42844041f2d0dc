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
    """Injected through /_sandbox/faults to rehearse a flaky exchange."""

    latency_ms: int = 0
    error_rate: float = 0.0  # share of requests answered 503
    timeout_rate: float = 0.0  # share of requests that hang for timeout_ms
    timeout_ms: int = 30_000
    rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False)

    def update(self, values: dict[str, Any]) -> None:
        for name in ("latency_ms", "error_rate", "timeout_rate", "timeout_ms"):
            if name in values:
                setattr(self, name, type(getattr(self, name))(values[name]))


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
