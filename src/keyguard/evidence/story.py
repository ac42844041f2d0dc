"""The words a person in a panic reads first: the status, what the attacker did, what to do next."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from keyguard.evidence.facts import CaseFacts, duration, usdt, when
from keyguard.incident.symbols import split_symbol

NOTHING_AUDITED = "NOTHING COULD BE AUDITED — this is not a zero loss"


def _amount(value: float) -> str:
    if value >= 1000:
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{value:.8g}"


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def short_address(address: str) -> str:
    return address if len(address) <= 16 else f"{address[:8]}…{address[-6:]}"


def summarize(missing: list[str], limit: int = 6) -> str:
    """What could not be read, short enough to take in at a glance: items that differ only by their
    names or dates are counted together ("wallet transfers (39 kinds)"); the full list is in flags.json."""
    groups: dict[str, list[str]] = {}
    for item in missing:
        words = item.split()
        head = []
        for word in words:
            if any(c.isupper() or c.isdigit() for c in word):
                break
            head.append(word)
        groups.setdefault(" ".join(head) or item, []).append(item)
    parts = [items[0] if len(items) == 1 else f"{head} ({len(items)} kinds)" for head, items in groups.items()]
    more = f"; and {len(parts) - limit} more (all listed in flags.json)" if len(parts) > limit else ""
    return "; ".join(parts[:limit]) + more


def unpriced_text(facts: CaseFacts) -> str:
    amounts: dict[str, float] = defaultdict(float)
    for item in facts.losses.unpriced:
        amounts[item.asset] += item.amount
    return _and([f"{_amount(v)} {asset}" for asset, v in amounts.items()]) if amounts else ""


def status_lines(facts: CaseFacts) -> list[tuple[str, str]]:
    """(level, sentence) pairs, level one of ok / warn / bad: the key, the orders, the audit."""
    s = facts.status
    lines: list[tuple[str, str]] = []
    if s.key_status == "rejected":
        since = f" since {when(s.rejected_since)}" if s.rejected_since else ""
        lines.append(("ok", f"Key {facts.key} is rejected by Binance{since}: it can no longer be used."))
    elif s.key_status == "live":
        lines.append(("bad", f"Key {facts.key} STILL WORKS: delete it in Binance's API Management now."))
    else:
        lines.append(
            ("warn", f"Key {facts.key}: whether Binance still accepts it is not known; check with `keyguard verify`.")
        )
    if s.cancelled:
        orders = _and([f"{n} on {symbol}" for symbol, n in sorted(s.cancelled.items())])
        lines.append(("ok", f"Open orders cancelled: {sum(s.cancelled.values())} ({orders})."))
    else:
        lines.append(("ok", "No open orders had to be cancelled."))
    with_what = f" (read with {s.audited_with})" if s.audited_with else ""
    if not facts.audited:
        unread = f" (could not read: {summarize(facts.missing)})" if facts.missing else ""
        lines.append(("bad", f"Audit: no balance, trade or withdrawal could be read{unread}."))
    elif not facts.complete:
        lines.append(
            (
                "warn",
                f"Audit INCOMPLETE{with_what}: could not read {summarize(facts.missing) or 'everything'}."
                " The loss below counts only what could be read.",
            )
        )
    else:
        lines.append(("ok", f"Audit complete{with_what}: balances, trades, withdrawals and transfers were read."))
    return lines


def loss_headline(facts: CaseFacts) -> str:
    if not facts.audited:
        return "Loss: unknown — nothing could be audited"
    losses = facts.losses
    unpriced = f", plus {unpriced_text(facts)} that could not be priced" if losses.unpriced else ""
    floor = "at least " if not facts.complete or losses.unpriced else ""
    if not losses.items:
        return (
            "No loss found in the part that could be read — the audit is incomplete"
            if not facts.complete
            else ("No loss found")
        )
    return f"Estimated loss: {floor}{usdt(losses.total_usdt)}{unpriced}"


def _trades_by_id(facts: CaseFacts) -> dict[tuple[str, int], dict[str, Any]]:
    return {(symbol, t["id"]): t for symbol, rows in facts.data.trades.items() for t in rows}


def what_happened(facts: CaseFacts) -> str:
    """One paragraph in plain words."""
    if not facts.audited:
        return (
            "Nothing could be audited, so it is not known what was done with the key. Check the balances, trade "
            "history and withdrawal history on Binance's website now, and audit again with a read-only key."
        )
    flags = facts.detection.flags
    if not flags and not facts.complete:
        return (
            f"The audit of {when(facts.data.start)} to {when(facts.data.end)} is INCOMPLETE: what could be read shows "
            "no theft, but what could not be read (listed below) may. This is not a finding that nothing was lost: "
            "check the rest on Binance's website, or audit again with a read-only key of the account."
        )
    if not flags:
        return (
            f"The audit of {when(facts.data.start)} to {when(facts.data.end)} found nothing that looks like theft: "
            "no trade far from the market price, no withdrawal to a new address, no transfer out."
        )
    first, last = facts.attack_window or (flags[0].time, flags[-1].time)
    clauses = []
    trades = _trades_by_id(facts)
    losses = {(i.ref.get("symbol"), i.ref.get("id")): i for i in facts.losses.items if i.kind == "trade"}
    sold: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])  # base -> qty, quote received
    bought_near: dict[str, float] = defaultdict(float)
    overpaid: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    quotes: dict[str, str] = {}
    for flag in flags:
        trade = trades.get((flag.ref.get("symbol"), flag.ref.get("id"))) if flag.kind == "trade" else None
        if trade is None:
            continue
        symbol = flag.ref["symbol"]
        base, quote = split_symbol(symbol)
        quotes[symbol] = quote
        qty, price = float(trade["qty"]), float(trade["price"])
        if (symbol, trade["id"]) in losses and flag.market_price:
            row = overpaid[symbol]
            row["qty"] += qty
            row["paid"] += qty * price
            row["worth"] += qty * flag.market_price
            row["trades"] += 1
            row["buy"] = 1.0 if trade["isBuyer"] else 0.0
        elif trade["isBuyer"]:
            bought_near[base] += qty
        else:
            sold[f"{base}|{quote}"][0] += qty
            sold[f"{base}|{quote}"][1] += qty * price
    if sold:
        by_quote: dict[str, float] = defaultdict(float)
        for key, (_, received) in sold.items():
            by_quote[key.split("|")[1]] += received
        clauses.append(
            "sold "
            + _and([f"{_amount(qty)} {key.split('|')[0]}" for key, (qty, _) in sold.items()])
            + " for "
            + _and([f"{_amount(v)} {q}" for q, v in by_quote.items()])
        )
    for symbol, row in overpaid.items():
        base, quote = split_symbol(symbol)
        times = row["paid"] / row["worth"] if row["worth"] else 0
        verb = "bought" if row["buy"] else "sold"
        clauses.append(
            f"{verb} {_amount(row['qty'])} {base} in {int(row['trades'])} trade{'s' if row['trades'] > 1 else ''} "
            f"at about {times:.1f} times its market price ({_amount(row['paid'])} {quote} for coins worth "
            f"{_amount(row['worth'])} {quote} on the market)"
        )
    if bought_near:
        clauses.append("bought " + _and([f"{_amount(q)} {base}" for base, q in bought_near.items()]))
    withdrawn: dict[tuple[str, str], list[str]] = defaultdict(list)
    for item in facts.losses.items:
        if item.kind == "withdrawal":
            network = next((w.get("network", "") for w in facts.data.withdrawals if w["id"] == item.ref["id"]), "")
            withdrawn[(item.ref["address"], network)].append(f"{_amount(item.amount)} {item.asset}")
    for (address, network), amounts in withdrawn.items():
        on = f" on the {network} network" if network else ""
        clauses.append(f"withdrew {_and(amounts)} to {address}{on}, an address never used before")
    for item in facts.losses.items:
        if item.kind == "transfer":
            clauses.append(f"moved {_amount(item.amount)} {item.asset} to {item.ref['to']}")
    span = f"between {when(first)} and {when(last)} ({duration(last - first)})" if last > first else f"at {when(first)}"
    text = (
        f"{span[0].upper()}{span[1:]}, someone using this key {_and(clauses) if clauses else 'made the flagged moves'}."
    )
    if facts.losses.items:
        plus = f" plus {unpriced_text(facts)} (not priced)" if facts.losses.unpriced else ""
        text += f" In all about {usdt(facts.losses.total_usdt)}{plus} left the account or was overpaid."
    return text


@dataclass
class Step:
    title: str
    detail: str
    commands: list[str]
    state: str = ""  # what keyguard already knows about this step


def next_steps(facts: CaseFacts) -> list[Step]:
    """Binance's guide for a compromised API key, each step with the keyguard command that does or checks it."""
    s = facts.status
    deleted = {
        "rejected": "done: Binance rejects the key" + (f" since {when(s.rejected_since)}" if s.rejected_since else ""),
        "live": "NOT DONE: the key still works",
    }.get(s.key_status, "not confirmed yet")
    if not facts.audited:
        audit = "NOT DONE: nothing could be read"
    elif not facts.complete:
        audit = "partly done: see what could not be read"
    else:
        audit = "done: this report"
    return [
        Step(
            "Delete the key and confirm it is gone",
            "In Binance: Profile → API Management → Delete. Not sure which key leaked? Delete them all.",
            ["keyguard verify"],
            deleted,
        ),
        Step(
            "Audit balances, trades and withdrawals",
            "Spot, Funding, Futures and Earn balances, trade history, withdrawals and transfers in the window.",
            ["this report (report.html), flags.json and the CSVs beside it"],
            audit,
        ),
        Step(
            "Preserve the evidence",
            "Keep this folder unchanged. The manifest's SHA-256 is printed when the case is sealed and written in "
            "support-ticket.md; anyone can check the folder against it.",
            ["keyguard evidence verify DIR --expect HASH"],
        ),
        Step(
            "Contact Binance support",
            "Send support-ticket.md: sending it anchors the case in time. For theft, give police-report.md to "
            "the police.",
            ["support-ticket.md", "police-report.md"],
        ),
        Step(
            "Recreate keys with least privilege and an IP whitelist",
            "Only the permissions the tool needs (read-only or spot-trading; no withdrawals for a trading bot), "
            "restricted to its server's IP.",
            ["keyguard keys add --label NAME --tool TOOL --profile read-only --ips SERVER.IP"],
        ),
        Step(
            "Never hardcode keys; keep them in a password manager",
            "Move keys out of code and config files into the vault and start tools with the key in their environment.",
            ["keyguard migrate FOLDER --apply", "keyguard vault add LABEL", "keyguard run --key LABEL -- COMMAND"],
        ),
        Step(
            "Rotate keys regularly",
            "Replace each key on a schedule, and at once after any doubt.",
            ["keyguard rotate LABEL"],
        ),
        Step("One key per tool", "A leak then touches one tool, and you know which.", ["keyguard keys check"]),
        Step(
            "Watch the account",
            "Keep Binance's login, API and withdrawal alerts on; look at API Management and the withdrawal history "
            "daily for the next weeks.",
            ["keyguard keys check", "keyguard verify"],
        ),
    ]
