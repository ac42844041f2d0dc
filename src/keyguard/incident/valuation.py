"""What the incident cost, in USDT at the time of each event: trades' loss against the market price,
withdrawals and transfers out. A value that cannot be priced is listed, never counted as zero."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from keyguard.incident.audit import AuditData
from keyguard.incident.detect import Detection, Flag
from keyguard.incident.symbols import split_symbol
from keyguard.incident.transfers import account_transfers

HOUR_MS = 3_600_000
USD_STABLE = frozenset({"USDT", "FDUSD", "USDC", "BUSD", "TUSD", "DAI"})
NEAREST_HOURS = 48  # a close further away than this from the event is not its price


def usdt_value(data: AuditData, asset: str, amount: float, time_ms: int) -> float | None:
    """`amount` of `asset` in USDT at `time_ms`: the hourly close of {ASSET}USDT nearest that time (1.0 for
    USD stablecoins); None when the audit holds no such close within two days."""
    if asset in USD_STABLE:
        return amount
    klines = data.klines.get(f"{asset}USDT") or []
    if not klines:
        return None
    closes = [k[0] + HOUR_MS for k in klines]  # a close is the price at the end of its hour
    at = bisect.bisect_left(closes, time_ms)
    nearest = min((i for i in (at - 1, at) if 0 <= i < len(klines)), key=lambda i: abs(closes[i] - time_ms))
    if abs(closes[nearest] - time_ms) > NEAREST_HOURS * HOUR_MS:
        return None
    return amount * float(klines[nearest][4])


@dataclass
class Loss:
    kind: str  # trade | withdrawal | transfer
    time: int
    asset: str  # what the amount is counted in (a trade's quote asset)
    amount: float
    usdt: float | None
    what: str  # one line a person can read
    ref: dict[str, Any] = field(default_factory=dict)


@dataclass
class LossAssessment:
    items: list[Loss] = field(default_factory=list)

    @property
    def priced(self) -> list[Loss]:
        return [i for i in self.items if i.usdt is not None]

    @property
    def unpriced(self) -> list[Loss]:
        return [i for i in self.items if i.usdt is None]

    @property
    def total_usdt(self) -> float:
        return sum(i.usdt or 0.0 for i in self.items)

    def by_kind(self) -> dict[str, float]:
        totals = {"trades": 0.0, "withdrawals": 0.0, "transfers": 0.0}
        for item in self.priced:
            totals[item.kind + "s"] += item.usdt or 0.0
        return totals

    def breakdown(self) -> dict[str, Any]:
        """flags.json's loss_breakdown."""
        by_symbol: dict[str, float] = {}
        for item in self.priced:
            if item.kind == "trade":
                by_symbol[item.ref["symbol"]] = by_symbol.get(item.ref["symbol"], 0.0) + (item.usdt or 0.0)
        kinds = self.by_kind()
        return {
            "method": METHOD,
            "trades_vs_market_usdt": round(kinds["trades"], 2),
            "withdrawals_usdt": round(kinds["withdrawals"], 2),
            "transfers_out_usdt": round(kinds["transfers"], 2),
            "trades_by_symbol_usdt": {k: round(v, 2) for k, v in sorted(by_symbol.items())},
            "items": [
                {
                    "kind": i.kind,
                    "time_utc": _iso(i.time),
                    "asset": i.asset,
                    "amount": i.amount,
                    "usdt": None if i.usdt is None else round(i.usdt, 2),
                    "what": i.what,
                    **i.ref,
                }
                for i in self.items
            ],
            "unpriced": [f"{i.what} (no {i.asset}USDT price in the audit)" for i in self.unpriced],
        }


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


METHOD = (
    "Each event is counted once, in USDT at its own time. A flagged trade costs what it paid over the market (a "
    "buy) or got under it (a sell): |price - market| x quantity, in its quote asset. The market is everyone "
    "else's price: for a busy symbol, the volume-weighted price of others' trades in the same hour (the hour's "
    "kline with the account's own fills taken out); for a thinly traded coin, others' last price before the run "
    "of the account's trades it belongs to (the attacker's own orders, clearing the book first, make the tape of "
    "the hours the account trades in). Market sells "
    "that paid for flagged purchases are listed, not counted: they were sold at the market. Withdrawals and "
    "transfers out count in full, at the hourly {ASSET}USDT close nearest their time. A value that cannot be "
    "priced is listed, never counted as zero."
)


def _trade_loss(data: AuditData, flag: Flag, trade: dict[str, Any]) -> Loss | None:
    """A flagged trade on the wrong side of the market loses |price - market| x qty in its quote asset; one
    flagged at the market (the sales that paid for a theft) is listed in the flags, not counted as a loss."""
    if flag.market_price is None or flag.deviation is None:
        return None
    buyer = bool(trade["isBuyer"])
    if not (flag.deviation > 0 if buyer else flag.deviation < 0):
        return None
    symbol = flag.ref["symbol"]
    base, quote = split_symbol(symbol)
    price, qty = float(trade["price"]), float(trade["qty"])
    lost = abs(price - flag.market_price) * qty
    side = "bought" if buyer else "sold"
    what = f"{symbol}: {side} {qty:g} {base} at {price:g} {quote}, {price / flag.market_price:.1f}x the market price"
    return Loss("trade", flag.time, quote, lost, usdt_value(data, quote, lost, flag.time), what, dict(flag.ref))


def assess(data: AuditData, detection: Detection) -> LossAssessment:
    trades = {(symbol, t["id"]): t for symbol, rows in data.trades.items() for t in rows}
    withdrawals = {w["id"]: w for w in data.withdrawals}
    transfers = {t.id: t for t in account_transfers(data)}
    result = LossAssessment()
    for flag in detection.flags:
        item: Loss | None = None
        if flag.kind == "trade" and (flag.ref["symbol"], flag.ref["id"]) in trades:
            item = _trade_loss(data, flag, trades[(flag.ref["symbol"], flag.ref["id"])])
        elif flag.kind == "withdrawal" and flag.ref["id"] in withdrawals:
            w = withdrawals[flag.ref["id"]]
            amount = float(w["amount"])
            network = f" ({w['network']})" if w.get("network") else ""
            item = Loss(
                "withdrawal",
                flag.time,
                w["coin"],
                amount,
                usdt_value(data, w["coin"], amount, flag.time),
                f"withdrew {amount:g} {w['coin']} to {w['address']}{network}",
                {"id": w["id"], "address": w["address"], "tx_id": w.get("txId", "")},
            )
        elif flag.kind == "transfer" and flag.ref["id"] in transfers:
            t = transfers[flag.ref["id"]]
            item = Loss(
                "transfer",
                flag.time,
                t.asset,
                t.amount,
                usdt_value(data, t.asset, t.amount, flag.time),
                f"moved {t.amount:g} {t.asset} from {t.source} to {t.target}",
                {"id": flag.ref["id"], "to": t.target},
            )
        if item is not None:
            result.items.append(item)
    return result
