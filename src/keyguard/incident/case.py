"""The case folder: raw answers as received, normalised CSVs, flags and the timeline, from an audit."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from keyguard.incident.actions import ActionLog
from keyguard.incident.audit import AuditData, Checkpoint
from keyguard.incident.detect import Detection, Flag
from keyguard.incident.transfers import account_transfers
from keyguard.incident.valuation import Loss, assess


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


def _csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def write_raw(case: Path, checkpoint: Checkpoint) -> None:
    """Every API answer as received (the request's parameters beside it; no key, secret or signature)."""
    raw = case / "raw"
    raw.mkdir(exist_ok=True)
    for number, (method, params, answer) in enumerate(checkpoint.all(), start=1):
        (raw / f"{number:05d}-{method}.json").write_text(
            json.dumps({"method": method, "params": params, "answer": answer}, indent=1) + "\n", encoding="utf-8"
        )


def write_tables(case: Path, data: AuditData, detection: Detection) -> None:
    flagged = {(f.ref.get("symbol"), f.ref["id"]): f for f in detection.flags}
    _csv(
        case / "trades.csv",
        ["time_utc", "symbol", "id", "order_id", "side", "price", "qty", "quote_qty", "flagged", "reasons"],
        [
            [
                iso(t["time"]),
                symbol,
                t["id"],
                t["orderId"],
                "BUY" if t["isBuyer"] else "SELL",
                t["price"],
                t["qty"],
                t["quoteQty"],
                (symbol, t["id"]) in flagged,
                "; ".join(flagged[(symbol, t["id"])].reasons) if (symbol, t["id"]) in flagged else "",
            ]
            for symbol, trades in sorted(data.trades.items())
            for t in trades
        ],
    )
    _csv(
        case / "withdrawals.csv",
        ["apply_time_utc", "id", "coin", "amount", "address", "network", "tx_id", "status", "flagged"],
        [
            [
                w["applyTime"],
                w["id"],
                w["coin"],
                w["amount"],
                w["address"],
                w.get("network", ""),
                w.get("txId", ""),
                w["status"],
                (None, w["id"]) in flagged,
            ]
            for w in data.withdrawals
        ],
    )
    _csv(
        case / "transfers.csv",
        ["time_utc", "id", "kind", "asset", "amount", "from", "to"],
        [[iso(t["timestamp"]), t["tranId"], t["type"], t["asset"], t["amount"], "", ""] for t in data.transfers]
        + [[iso(t.time), t.id, "SUB_ACCOUNT", t.asset, t.amount, t.source, t.target] for t in account_transfers(data)],
    )
    _csv(
        case / "balances.csv",
        ["date_utc", "asset", "total"],
        [
            [iso(s["updateTime"]), b["asset"], float(b["free"]) + float(b.get("locked", 0))]
            for s in data.snapshots
            for b in s.get("data", {}).get("balances", [])
        ]
        + [[iso(data.end), asset, total] for asset, total in sorted(data.balances.items())],
    )


def _flag_row(flag: Flag, data: AuditData, trades: dict, values: dict[str, Loss]) -> dict[str, Any]:
    """One flag for flags.json: what it is (side, quantity, price, market price, deviation; coin, amount,
    address; asset, amount, destination) and what it cost in USDT at its time."""
    row: dict[str, Any] = {"time_utc": iso(flag.time), "kind": flag.kind, **flag.ref, "score": flag.score}
    row["reasons"] = flag.reasons
    key = f"{flag.kind}:{flag.ref.get('symbol', '')}:{flag.ref['id']}"
    loss = values.get(key)
    if flag.kind == "trade":
        trade = trades.get((flag.ref["symbol"], flag.ref["id"]), {})
        row |= {
            "side": "BUY" if trade.get("isBuyer") else "SELL",
            "qty": float(trade.get("qty", 0)),
            "price": float(trade.get("price", 0)),
            "market_price": flag.market_price,
            "deviation": None if flag.deviation is None else round(flag.deviation, 6),
            "loss_usdt": None if loss is None else (None if loss.usdt is None else round(loss.usdt, 2)),
            "estimated_loss_usdt": round(flag.loss_usdt, 2),
        }
    elif loss is not None:
        row |= {
            "asset": loss.asset,
            "amount": loss.amount,
            "value_usdt": None if loss.usdt is None else round(loss.usdt, 2),
        }
        row |= {k: v for k, v in loss.ref.items() if k != "id"}
    return row


def write_findings(
    case: Path, data: AuditData, detection: Detection, log: ActionLog, audit_state: str | None = None
) -> list[dict[str, Any]]:
    """flags.json and timeline.json. `audit_state` ("complete" | "partial" | "none", default from the audit's
    own record): when "none", total_loss_usdt is null — nothing read is not a zero loss."""
    losses = assess(data, detection)
    missing = list(getattr(data, "missing", []) or [])
    read_nothing = not (data.balances or data.snapshots or data.trades or data.withdrawals or data.deposits)
    state = audit_state or (
        "none" if missing and read_nothing else "complete" if getattr(data, "complete", not missing) else "partial"
    )
    values = {f"{i.kind}:{i.ref.get('symbol', '')}:{i.ref['id']}": i for i in losses.items}
    trades = {(symbol, t["id"]): t for symbol, rows in data.trades.items() for t in rows}
    flags = [_flag_row(f, data, trades, values) for f in detection.flags]
    (case / "flags.json").write_text(
        json.dumps(
            {
                "window": {"start_utc": iso(data.start), "end_utc": iso(data.end)},
                "audit_state": state,
                "audit_missing": missing,
                "total_loss_usdt": None if state == "none" else round(losses.total_usdt, 2),
                "total_loss_is_lower_bound": state != "complete" or bool(losses.unpriced),
                "loss_breakdown": losses.breakdown(),
                "flags": flags,
                "estimated_loss_usdt_by_symbol": {k: round(v, 2) for k, v in detection.loss_by_symbol.items()},
                "audit_errors": data.errors,
                "audit_notes": data.notes,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    timeline = [{"time_utc": a.time, "event": f"keyguard: {a.action}", "detail": a.result} for a in log.actions]
    timeline += [
        {"time_utc": flag["time_utc"], "event": f"flagged {_what(flag)}", "detail": "; ".join(flag["reasons"])}
        for flag in flags
    ]
    timeline.sort(key=lambda e: e["time_utc"])
    (case / "timeline.json").write_text(json.dumps(timeline, indent=2) + "\n", encoding="utf-8")
    return timeline


def _what(flag: dict[str, Any]) -> str:
    if flag["kind"] == "trade":
        return f"trade: {flag['symbol']} {flag['side']} {flag['qty']:g} at {flag['price']:g}"
    if "amount" in flag and flag["kind"] == "withdrawal":
        return f"withdrawal: {flag['amount']:g} {flag['asset']} to {flag.get('address', '?')}"
    if "amount" in flag:
        return f"transfer: {flag['amount']:g} {flag['asset']} to {flag.get('to', '?')}"
    return flag["kind"]
