"""Transfers between the account and its family (master and sub-accounts), one shape for both of Binance's:
a master key's universal-transfer rows and a sub-account key's own subUserHistory rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keyguard.incident.audit import AuditData

SUB_USER_OUT = 2  # subUserHistory type: 1 transfer in, 2 transfer out


@dataclass(frozen=True)
class AccountTransfer:
    id: str
    time: int
    asset: str
    amount: float
    source: str  # email, or "this sub-account"
    target: str
    outgoing: bool  # money left the audited account


def account_transfers(data: AuditData) -> list[AccountTransfer]:
    subs = set(data.sub_account_emails)
    rows = [
        AccountTransfer(
            str(t["tranId"]),
            int(t["createTimeStamp"]),
            t["asset"],
            float(t["amount"]),
            t["fromEmail"],
            t["toEmail"],
            t["fromEmail"] not in subs or t["toEmail"] in subs,  # from the master, or between sub-accounts
        )
        for t in data.sub_transfers
    ]
    rows += [_own(t) for t in data.sub_user_transfers]
    return sorted(rows, key=lambda t: t.time)


def _own(row: dict[str, Any]) -> AccountTransfer:
    outgoing = int(row.get("type", 0)) == SUB_USER_OUT
    other = row.get("email") or row.get("counterParty") or "?"
    return AccountTransfer(
        str(row["tranId"]),
        int(row["time"]),
        row["asset"],
        float(row["qty"]),
        "this sub-account" if outgoing else other,
        other if outgoing else "this sub-account",
        outgoing,
    )
