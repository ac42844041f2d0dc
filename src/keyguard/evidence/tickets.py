"""support-ticket.md and police-report.md: written before sealing with a placeholder that seal() replaces
with the manifest's SHA-256, so they sit outside the seal and carry its hash."""

from __future__ import annotations

from typing import Any

from keyguard.evidence.facts import CaseFacts, usdt, when
from keyguard.evidence.manifest import HASH_PLACEHOLDER
from keyguard.evidence.story import NOTHING_AUDITED, loss_headline, status_lines, summarize, what_happened
from keyguard.incident.case import iso

EXPLORERS = {
    "ETH": "https://etherscan.io/tx/",
    "BSC": "https://bscscan.com/tx/",
    "BTC": "https://mempool.space/tx/",
    "TRX": "https://tronscan.org/#/transaction/",
}


def tx_link(withdrawal: dict[str, Any]) -> str:
    tx = withdrawal.get("txId", "")
    base = EXPLORERS.get(withdrawal.get("network", ""))
    return f"[{tx}]({base}{tx})" if base and tx.startswith("0x") or base == EXPLORERS["BTC"] and tx else tx


def stolen_withdrawals(facts: CaseFacts) -> list[dict[str, Any]]:
    ids = facts.detection.flagged_withdrawal_ids()
    return [w for w in facts.data.withdrawals if w["id"] in ids]


def evidence_lines() -> list[str]:
    return [
        f"- Evidence manifest SHA-256: `{HASH_PLACEHOLDER}`",
        "- Sending this ticket anchors the case in time: whoever holds the case folder can check it is unchanged "
        f"with `keyguard evidence verify DIR --expect {HASH_PLACEHOLDER}`. The signature in manifest.json proves "
        "the files are unchanged since sealing, not who sealed them (its key was thrown away). This document "
        "carries the hash, so it is written after sealing and is not itself in the manifest.",
    ]


def _banner(facts: CaseFacts) -> list[str]:
    if not facts.audited:
        return [f"**{NOTHING_AUDITED}.**", ""]
    if not facts.complete:
        return [
            f"**The audit is INCOMPLETE (could not read: {summarize(facts.missing)}); the loss is a lower bound.**",
            "",
        ]
    return []


def _loss_lines(facts: CaseFacts) -> list[str]:
    lines = [f"- {loss_headline(facts)}"]
    if facts.audited and facts.losses.items:
        kinds = facts.losses.by_kind()
        lines.append(
            f"  - trades at manipulated prices (paid above the market): {usdt(kinds['trades'])}; "
            f"withdrawals: {usdt(kinds['withdrawals'])}; transfers out: {usdt(kinds['transfers'])}"
        )
        lines += [f"  - not priced: {item.what}" for item in facts.losses.unpriced]
    return lines


def _trade_summary(facts: CaseFacts) -> list[str]:
    items = [i for i in facts.losses.items if i.kind == "trade"]
    return [
        f"- {when(i.time)}: {i.what} (overpaid {usdt(i.usdt) if i.usdt is not None else 'unpriced'})" for i in items
    ]


def support_ticket(facts: CaseFacts) -> str:
    lines = [
        "# Binance support: compromised API key",
        "",
        *_banner(facts),
        f"- Account UID: {facts.account_uid or 'see the account page'}",
        f"- API key (masked): {facts.key}; SHA-256 fingerprint {facts.fingerprint}",
        f"- Window examined: {iso(facts.data.start)} to {iso(facts.data.end)} (UTC)",
        *[f"- {text}" for _, text in status_lines(facts)],
        *_loss_lines(facts),
        f"- Suspicious trades: {sum(1 for f in facts.detection.flags if f.kind == 'trade')}",
        *evidence_lines(),
        "",
        "## What happened",
        "",
        what_happened(facts),
        "",
        "## Withdrawals to addresses never used before",
        "",
    ]
    lines += [
        f"- {w['applyTime']} UTC: {w['amount']} {w['coin']} to {w['address']} ({w.get('network', '')}), "
        f"TxID {tx_link(w)}"
        for w in stolen_withdrawals(facts)
    ] or ["- none"]
    lines += ["", "## Trades at manipulated prices", ""] + (_trade_summary(facts) or ["- none"])
    lines += ["", "## How and when it happened (UTC)", ""]
    lines += [f"- {e['time_utc']} — {e['event']}: {e['detail']}" for e in facts.events]
    lines += ["", "## Containment done", ""] + [f"- {c}" for c in facts.containment]
    lines += ["", "The raw API answers, CSVs, report.html and the signed manifest are in the case folder."]
    return "\n".join(lines) + "\n"


def police_report(facts: CaseFacts) -> str:
    lines = [
        "# Report of theft from a cryptocurrency exchange account",
        "",
        *_banner(facts),
        "- Exchange: Binance (binance.com)",
        f"- Victim's account UID: {facts.account_uid or 'see the account page'}",
        f"- Means: a leaked API key (masked {facts.key}) used without permission",
        *_loss_lines(facts),
        *evidence_lines(),
        "",
        "## What happened",
        "",
        what_happened(facts),
        "",
        "## Timeline (UTC)",
        "",
    ]
    lines += [f"- {e['time_utc']}: {e['event']} — {e['detail']}" for e in facts.events]
    lines += ["", "## Funds sent out (coin, amount, destination address, transaction id)", ""]
    lines += [
        f"- {w['coin']} {w['amount']} to {w['address']}, TxID {w.get('txId', '')}" for w in stolen_withdrawals(facts)
    ] or ["- no withdrawals to new addresses"]
    lines += ["", "## Losses by trading at manipulated prices (USDT)", ""]
    by_symbol = facts.losses.breakdown()["trades_by_symbol_usdt"]
    lines += [f"- {symbol}: {loss:,.2f}" for symbol, loss in by_symbol.items()] or ["- none"]
    lines += ["", "Exchanges involved: Binance. Evidence: the enclosed case folder (signed manifest)."]
    return "\n".join(lines) + "\n"
