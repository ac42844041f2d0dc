"""The case's reports: report.html (self-contained, charts as inline SVG), support-ticket.md, police-report.md.

Only the masked key and its fingerprint appear; TxIDs become explorer links where the network is known.
"""

from __future__ import annotations

import html
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keyguard.incident.audit import AuditData
from keyguard.incident.case import iso
from keyguard.incident.detect import Detection

EXPLORERS = {
    "ETH": "https://etherscan.io/tx/",
    "BSC": "https://bscscan.com/tx/",
    "BTC": "https://mempool.space/tx/",
    "TRX": "https://tronscan.org/#/transaction/",
}


@dataclass
class CaseFacts:
    key: str
    fingerprint: str
    account_uid: int | None
    data: AuditData
    detection: Detection
    timeline: list[dict[str, Any]]
    containment: list[str]


def _tx_link(withdrawal: dict[str, Any]) -> str:
    tx = withdrawal.get("txId", "")
    base = EXPLORERS.get(withdrawal.get("network", ""))
    return f"[{tx}]({base}{tx})" if base and tx.startswith("0x") or base == EXPLORERS["BTC"] else tx


def _stolen_withdrawals(facts: CaseFacts) -> list[dict[str, Any]]:
    ids = facts.detection.flagged_withdrawal_ids()
    return [w for w in facts.data.withdrawals if w["id"] in ids]


def support_ticket(facts: CaseFacts) -> str:
    loss = sum(facts.detection.loss_by_symbol.values())
    lines = [
        "# Binance support: compromised API key",
        "",
        f"- Account UID: {facts.account_uid or 'see the account page'}",
        f"- API key (masked): {facts.key}; SHA-256 fingerprint {facts.fingerprint}",
        f"- Window examined: {iso(facts.data.start)} to {iso(facts.data.end)} (UTC)",
        f"- Suspicious trades: {sum(1 for f in facts.detection.flags if f.kind == 'trade')}, estimated loss "
        f"{loss:,.2f} USDT",
        "",
        "## How and when it happened",
        "",
    ]
    lines += [f"- {e['time_utc']} — {e['event']}: {e['detail']}" for e in facts.timeline]
    lines += ["", "## Withdrawals to addresses never used before", ""]
    lines += [
        f"- {w['applyTime']} UTC: {w['amount']} {w['coin']} to {w['address']} ({w.get('network', '')}), "
        f"TxID {_tx_link(w)}"
        for w in _stolen_withdrawals(facts)
    ] or ["- none"]
    lines += ["", "## Containment done", ""] + [f"- {c}" for c in facts.containment]
    lines += ["", "The raw API answers, CSVs and a signed hash manifest are in this case folder."]
    return "\n".join(lines) + "\n"


def police_report(facts: CaseFacts) -> str:
    lines = [
        "# Report of theft from a cryptocurrency exchange account",
        "",
        "- Exchange: Binance (binance.com)",
        f"- Victim's account UID: {facts.account_uid or 'see the account page'}",
        f"- Means: a leaked API key (masked {facts.key}) used without permission",
        "",
        "## Timeline (UTC)",
        "",
    ]
    lines += [f"- {e['time_utc']}: {e['event']} — {e['detail']}" for e in facts.timeline]
    lines += ["", "## Funds sent out (coin, amount, destination address, transaction id)", ""]
    lines += [
        f"- {w['coin']} {w['amount']} to {w['address']}, TxID {w.get('txId', '')}" for w in _stolen_withdrawals(facts)
    ] or ["- no withdrawals to new addresses"]
    lines += ["", "## Losses by trading at manipulated prices (estimated, USDT)", ""]
    lines += [f"- {symbol}: {loss:,.2f}" for symbol, loss in sorted(facts.detection.loss_by_symbol.items())] or [
        "- none"
    ]
    lines += ["", "Exchanges involved: Binance. Evidence: the enclosed case folder (signed manifest)."]
    return "\n".join(lines) + "\n"


def _svg_lines(series: dict[str, list[tuple[float, float]]], width: int = 720, height: int = 240) -> str:
    points = [p for values in series.values() for p in values]
    if not points:
        return "<p>No data.</p>"
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1, y0, y1 = min(xs), max(xs) or 1, min(ys), max(ys)
    sx = (width - 60) / ((x1 - x0) or 1)
    sy = (height - 40) / ((y1 - y0) or 1)
    colours = ["#1f77b4", "#d62728", "#9e9e9e", "#9467bd", "#ff7f0e"]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
        f'<text x="4" y="14" font-size="11">{y1:,.6g}</text>',
        f'<text x="4" y="{height - 24}" font-size="11">{y0:,.6g}</text>',
    ]
    for number, (name, values) in enumerate(series.items()):
        path = " ".join(f"{50 + (x - x0) * sx:.1f},{height - 30 - (y - y0) * sy:.1f}" for x, y in sorted(values))
        colour = colours[number % len(colours)]
        if name.endswith("(trades)"):
            parts += [
                f'<circle cx="{50 + (x - x0) * sx:.1f}" cy="{height - 30 - (y - y0) * sy:.1f}" r="3" fill="{colour}"/>'
                for x, y in values
            ]
        else:
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{path}"/>')
        parts.append(
            f'<text x="{60 + 170 * number}" y="{height - 6}" font-size="11" fill="{colour}">{html.escape(name)}</text>'
        )
    return "".join(parts) + "</svg>"


def _svg_timeline(timeline: list[dict[str, Any]], width: int = 720) -> str:
    """Events on a time axis: flags in red, keyguard's own actions in blue."""
    from datetime import datetime

    times = [datetime.fromisoformat(e["time_utc"]).timestamp() for e in timeline]
    if not times:
        return "<p>No events.</p>"
    t0, t1 = min(times), max(times)
    scale = (width - 80) / ((t1 - t0) or 1)
    height = 40 + 14 * min(len(timeline), 30)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
        f'<line x1="40" y1="20" x2="{width - 40}" y2="20" stroke="#999"/>',
    ]
    for row, (event, when) in enumerate(zip(timeline[:30], times[:30], strict=False)):
        x = 40 + (when - t0) * scale
        colour = "#d62728" if event["event"].startswith("flagged") else "#1f77b4"
        label = html.escape(f"{event['time_utc'][11:19]} {event['event']}")
        parts.append(f'<circle cx="{x:.1f}" cy="20" r="4" fill="{colour}"/>')
        parts.append(
            f'<text x="{min(x, width - 260):.1f}" y="{40 + 14 * row}" font-size="11" fill="{colour}">{label}</text>'
        )
    return "".join(parts) + "</svg>"


def report_html(facts: CaseFacts) -> str:
    balances: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for snapshot in facts.data.snapshots:
        for row in snapshot.get("data", {}).get("balances", []):
            balances[row["asset"]].append((snapshot["updateTime"], float(row["free"]) + float(row.get("locked", 0))))
    top = dict(sorted(balances.items(), key=lambda kv: -max(v for _, v in kv[1]))[:6])
    balance_charts = "".join(  # one small chart per asset: their scales differ by orders of magnitude
        f"<h3>{html.escape(asset)}</h3>" + _svg_lines({asset: values}, height=130) for asset, values in top.items()
    )
    flagged_symbols = sorted({f.ref["symbol"] for f in facts.detection.flags if f.kind == "trade"})
    charts = []
    for symbol in flagged_symbols:
        market = [(k[0], float(k[4])) for k in facts.data.klines.get(symbol, []) if k[0] >= facts.data.start]
        flagged = facts.detection.flagged_trade_ids()
        window = [t for t in facts.data.trades.get(symbol, []) if t["time"] >= facts.data.start]
        series = {
            "market (hourly close)": market,
            "flagged (trades)": [(t["time"], float(t["price"])) for t in window if (symbol, t["id"]) in flagged],
            "other (trades)": [(t["time"], float(t["price"])) for t in window if (symbol, t["id"]) not in flagged],
        }
        charts.append(
            f"<h3>{html.escape(symbol)}: the account's trades against the market price</h3>" + _svg_lines(series)
        )
    rows = "".join(
        f"<tr><td>{html.escape(e['time_utc'])}</td><td>{html.escape(e['event'])}</td>"
        f"<td>{html.escape(e['detail'])}</td></tr>"
        for e in facts.timeline
    )
    loss = sum(facts.detection.loss_by_symbol.values())
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>keyguard incident report</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;color:#222}}
table{{border-collapse:collapse;width:100%}}
td{{border-bottom:1px solid #ddd;padding:4px;font-size:13px;vertical-align:top}}
@media print{{svg{{max-width:100%}}}}</style></head><body>
<h1>Incident report</h1>
<p>Key {html.escape(facts.key)} (fingerprint {facts.fingerprint[:16]}…), window {iso(facts.data.start)} to
{iso(facts.data.end)} UTC. {len(facts.detection.flags)} flags; estimated trading loss {loss:,.2f} USDT.</p>
<h2>Balances over the last 30 days</h2>{balance_charts or "<p>No snapshots.</p>"}
<h2>Flagged symbols</h2>{"".join(charts) or "<p>None.</p>"}
<h2>Timeline (UTC)</h2>{_svg_timeline(facts.timeline)}<table>{rows}</table>
</body></html>
"""


def write_reports(case: Path, facts: CaseFacts) -> None:
    (case / "support-ticket.md").write_text(support_ticket(facts), encoding="utf-8")
    (case / "police-report.md").write_text(police_report(facts), encoding="utf-8")
    (case / "report.html").write_text(report_html(facts), encoding="utf-8")
