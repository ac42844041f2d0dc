"""What the account held of an asset just before a moment, worked back from its spot balances at the audit and
every trade it made since: enough to say that a sale emptied a holding."""

from __future__ import annotations

import bisect
from itertools import accumulate

from keyguard.incident.audit import AuditData
from keyguard.incident.symbols import split_symbol


class Holdings:
    def __init__(self, data: AuditData) -> None:
        changes: dict[str, list[tuple[int, float]]] = {}
        for symbol, trades in data.trades.items():
            base, quote = split_symbol(symbol)
            for trade in trades:
                sign = 1.0 if trade["isBuyer"] else -1.0
                changes.setdefault(base, []).append((trade["time"], sign * float(trade["qty"])))
                changes.setdefault(quote, []).append((trade["time"], -sign * float(trade["quoteQty"])))
        self.now = dict(data.balances)
        self.times: dict[str, list[int]] = {}
        self.after: dict[str, list[float]] = {}  # after[i]: the net change from the i-th change on
        for asset, rows in changes.items():
            rows.sort()
            self.times[asset] = [t for t, _ in rows]
            self.after[asset] = list(accumulate((c for _, c in reversed(rows)), initial=0.0))[::-1]

    def before(self, asset: str, time: int) -> float:
        """The holding just before `time`: today's balance less every trade's change from `time` on (fees and
        wallet movements after it are not counted)."""
        times = self.times.get(asset, [])
        at = bisect.bisect_left(times, time)
        return max(0.0, self.now.get(asset, 0.0) - (self.after[asset][at] if times else 0.0))
