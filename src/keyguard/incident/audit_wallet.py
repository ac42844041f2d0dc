"""Wallet history for the audit: daily snapshots, deposits, withdrawals, wallet transfers of every type and
sub-account transfers in both directions, each read in the windows and pages Binance documents."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from keyguard.incident.audit_rules import (
    ASSET_TRANSFER_HISTORY_MS,
    ASSET_TRANSFER_SIZE,
    DAY_MS,
    ISOLATED_TRANSFER_TYPES,
    LEGACY_TRANSFER_TYPES,
    SNAPSHOT_LIMIT,
    SNAPSHOT_MARGIN_MS,
    SNAPSHOT_SPAN_MS,
    SUB_ACCOUNT_LIST_LIMIT,
    SUB_TRANSFER_LIMIT,
    SUB_TRANSFER_SPAN_MS,
    SUB_USER_HISTORY_LIMIT,
    SUB_USER_HISTORY_SPAN_MS,
    TRANSFER_TYPES,
    WALLET_HISTORY_LIMIT,
    WALLET_HISTORY_SPAN_MS,
    day,
    days,
    windows,
)

if TYPE_CHECKING:
    from keyguard.incident.audit import Auditor

ADDRESS_HISTORY_MS = 60 * DAY_MS  # addresses used in the 60 days before the window tell new ones apart


def unique(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Rows without repeats of the same id (paging can overlap when rows arrive meanwhile), first seen kept."""
    seen: set[Any] = set()
    result = []
    for row in rows:
        ident = row.get(key, repr(sorted(row.items())))
        if ident not in seen:
            seen.add(ident)
            result.append(row)
    return result


def snapshots(auditor: Auditor, kind: str) -> None:
    """Daily snapshots of the last month before `end`. SPOT always; FUTURES is optional (read when this key
    reads the futures account). Each call weighs 2,400 of the 12,000 a minute an IP may spend on /sapi, so
    MARGIN, for which the audit reads no account, is left out."""
    data = auditor.data
    first = data.end - SNAPSHOT_SPAN_MS + SNAPSHOT_MARGIN_MS
    found: list[dict[str, Any]] = []
    for lo, hi in windows(first, data.end, SNAPSHOT_SPAN_MS):
        answer = auditor.read(
            "sapi_get_accountsnapshot",
            {"type": kind, "startTime": lo, "endTime": hi, "limit": SNAPSHOT_LIMIT},
            f"daily {kind} snapshots {days(lo, hi)}",
            optional=kind != "SPOT",
        )
        found.extend((answer or {}).get("snapshotVos", []))
    if kind == "SPOT":
        data.snapshots = unique(found, "updateTime")
    else:
        data.wallets[f"snapshots_{kind.lower()}"] = unique(found, "updateTime")


def deposits_and_withdrawals(auditor: Auditor) -> None:
    data = auditor.data
    for method, target, label in (
        ("sapi_get_capital_deposit_hisrec", data.deposits, "deposit history"),
        ("sapi_get_capital_withdraw_history", data.withdrawals, "withdrawal history"),
    ):
        rows: list[dict[str, Any]] = []
        for lo, hi in windows(data.start - ADDRESS_HISTORY_MS + 1, data.end, WALLET_HISTORY_SPAN_MS):
            offset = 0
            while True:
                page = auditor.read(
                    method,
                    {"startTime": lo, "endTime": hi, "offset": offset, "limit": WALLET_HISTORY_LIMIT},
                    f"{label} {days(lo, hi)}" + (f" from row {offset + 1}" if offset else ""),
                )
                if page is None:
                    break
                rows.extend(page)
                if len(page) < WALLET_HISTORY_LIMIT:
                    break
                offset += WALLET_HISTORY_LIMIT
        target.extend(unique(rows, "id"))


def address_book(auditor: Auditor) -> None:
    """The saved withdrawal addresses and whether each is whitelisted (whitelisting takes the website and 2FA;
    a withdrawal through the API with a `name` saves an address without whitelisting it)."""
    rows = auditor.read("sapi_get_capital_withdraw_address_list", {}, "withdrawal address book", optional=True)
    auditor.data.address_book.extend(rows or [])


def _transfer_pages(auditor: Auditor, params: dict[str, Any], lo: int, hi: int, optional: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    current = 1
    while True:
        extra = " ".join(f"{k} {v}" for k, v in params.items() if k != "type")
        page = auditor.read(
            "sapi_get_asset_transfer",
            {**params, "startTime": lo, "endTime": hi, "current": current, "size": ASSET_TRANSFER_SIZE},
            f"wallet transfers {params['type']}{' ' + extra if extra else ''} {days(lo, hi)}"
            + (f" page {current}" if current > 1 else ""),
            optional=optional,
        )
        if page is None:
            return rows
        got = page.get("rows") or []
        rows.extend(got)
        if len(got) < ASSET_TRANSFER_SIZE or current * ASSET_TRANSFER_SIZE >= int(page.get("total", 0)):
            return rows
        current += 1


def _isolated_queries(auditor: Auditor, seen: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The isolated-margin types, per pair of the account's isolated margin account. Funds reach isolated margin
    only through cross margin, so the account is read only when margin shows: a transfer touching MARGIN, or a
    margin wallet with a balance."""
    wallets = auditor.data.wallets.get("wallets") or []
    in_margin = any("MARGIN" in row.get("type", "").replace("PORTFOLIO_MARGIN", "") for row in seen) or any(
        "margin" in str(w.get("walletName", "")).lower() and float(w.get("balance") or 0) for w in wallets
    )
    if not in_margin:
        return []
    isolated = auditor.read("sapi_get_margin_isolated_account", {}, "isolated margin account", optional=True)
    pairs = sorted({row["symbol"] for row in (isolated or {}).get("assets", [])})
    queries: list[dict[str, Any]] = []
    for pair in pairs:
        queries.append({"type": ISOLATED_TRANSFER_TYPES[0], "fromSymbol": pair})
        queries.append({"type": ISOLATED_TRANSFER_TYPES[1], "toSymbol": pair})
        queries.extend(
            {"type": ISOLATED_TRANSFER_TYPES[2], "fromSymbol": pair, "toSymbol": other}
            for other in pairs
            if other != pair
        )
    return queries


def _read_transfers(auditor: Auditor, queries: list[dict[str, Any]], first: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for number, params in enumerate(queries, start=1):
        auditor.progress("transfers", number, len(queries))
        for lo, hi in windows(first, auditor.data.end, ASSET_TRANSFER_HISTORY_MS):
            rows.extend(_transfer_pages(auditor, params, lo, hi, params["type"] in LEGACY_TRANSFER_TYPES))
    return rows


def asset_transfers(auditor: Auditor) -> None:
    """Every documented transfer type between the account's own wallets, all pages."""
    data = auditor.data
    first = max(data.start, data.end - ASSET_TRANSFER_HISTORY_MS + 1)
    if first > data.start:
        data.notes.append(f"wallet transfers before {day(first)}: Binance keeps only the last 6 months")
    rows = _read_transfers(auditor, [{"type": kind} for kind in TRANSFER_TYPES + LEGACY_TRANSFER_TYPES], first)
    rows += _read_transfers(auditor, _isolated_queries(auditor, rows), first)
    data.transfers.extend(unique(rows, "tranId"))


def _sub_account_emails(auditor: Auditor) -> list[str] | None:
    """The master account's sub-accounts; None when this key cannot list them (a sub-account's key)."""
    emails: list[str] = []
    page = 1
    while True:
        answer = auditor.read(
            "sapi_get_sub_account_list",
            {"page": page, "limit": SUB_ACCOUNT_LIST_LIMIT},
            "sub-account list" + (f" page {page}" if page > 1 else ""),
            optional=True,
        )
        if answer is None:
            return None if page == 1 else emails
        listed = answer.get("subAccounts") or []
        emails.extend(row["email"] for row in listed)
        if len(listed) < SUB_ACCOUNT_LIST_LIMIT:
            return emails
        page += 1


def _universal_transfers(auditor: Auditor, direction: dict[str, str], lo: int, hi: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    page = 1
    who = " ".join(f"{'from' if k == 'fromEmail' else 'to'} {v}" for k, v in direction.items()) or "from the master"
    while True:
        answer = auditor.read(
            "sapi_get_sub_account_universaltransfer",
            {**direction, "startTime": lo, "endTime": hi, "page": page, "limit": SUB_TRANSFER_LIMIT},
            f"sub-account transfers {who} {days(lo, hi)}" + (f" page {page}" if page > 1 else ""),
        )
        if answer is None:
            return rows
        got = answer.get("result") or []
        rows.extend(got)
        if len(got) < SUB_TRANSFER_LIMIT or page * SUB_TRANSFER_LIMIT >= int(answer.get("totalCount", 0)):
            return rows
        page += 1


def _own_sub_transfers(auditor: Auditor, kind: int, lo: int, hi: int) -> list[dict[str, Any]] | None:
    """subUserHistory has no paging: a full answer splits the window in two."""
    answer = auditor.read(
        "sapi_get_sub_account_transfer_subuserhistory",
        {"type": kind, "startTime": lo, "endTime": hi, "limit": SUB_USER_HISTORY_LIMIT},
        f"sub-account transfers {'in' if kind == 1 else 'out'} {days(lo, hi)}",
        optional=True,
    )
    if answer is None or len(answer) < SUB_USER_HISTORY_LIMIT or hi - lo < 1000:
        return answer
    middle = (lo + hi) // 2
    return (_own_sub_transfers(auditor, kind, lo, middle) or []) + (
        _own_sub_transfers(auditor, kind, middle + 1, hi) or []
    )


def sub_account_transfers(auditor: Auditor) -> None:
    """A master key: transfers from and to every sub-account (and the master's own), in windows under 7 days.
    A sub-account's key: its own transfer history in and out."""
    data = auditor.data
    missing = len(data.missing)
    emails = _sub_account_emails(auditor)
    if emails is None and len(data.missing) > missing:
        return  # offline, and the list was never read: nothing more can be said
    if emails is not None:
        data.sub_account_emails = list(emails)
        directions = [{}] + [{side: email} for email in emails for side in ("fromEmail", "toEmail")]
        rows = [
            row
            for direction in directions
            for lo, hi in windows(data.start, data.end, SUB_TRANSFER_SPAN_MS)
            for row in _universal_transfers(auditor, direction, lo, hi)
        ]
        data.sub_transfers.extend(unique(rows, "tranId"))
        return
    found = False
    for kind in (1, 2):
        for lo, hi in windows(data.start, data.end, SUB_USER_HISTORY_SPAN_MS):
            rows = _own_sub_transfers(auditor, kind, lo, hi)
            found = found or rows is not None
            data.sub_user_transfers.extend(rows or [])
    data.sub_user_transfers[:] = unique(data.sub_user_transfers, "tranId")
    if not found:
        data.notes.append("sub-account transfers: not readable with this key")
