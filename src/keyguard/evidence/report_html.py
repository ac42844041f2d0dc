"""report.html: self-contained, readable in a panic, printable to A4. It opens with the status, the loss,
what happened in plain words and the next steps; charts and tables follow."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from html import escape

from keyguard.evidence.charts import BLUE, GREY, RED, Chart, Series, lanes
from keyguard.evidence.facts import CaseFacts, usdt, when
from keyguard.evidence.manifest import DOES_NOT_PROVE, PROVES
from keyguard.evidence.story import NOTHING_AUDITED, loss_headline, next_steps, status_lines, what_happened
from keyguard.evidence.tickets import stolen_withdrawals
from keyguard.incident.symbols import split_symbol
from keyguard.incident.valuation import METHOD, usdt_value

HOUR_MS = 3_600_000
CSS = """
body{font-family:system-ui,"DejaVu Sans",Arial,sans-serif;max-width:50rem;margin:1.5rem auto;padding:0 1rem;
color:#1d1d1d;line-height:1.45}
h1{font-size:1.5rem;margin:.2rem 0 .8rem}h2{font-size:1.15rem;margin:1.6rem 0 .5rem;border-bottom:1px solid #ddd}
h3{font-size:1rem;margin:1rem 0 .3rem}
.banner{background:#b71c1c;color:#fff;font-weight:700;font-size:1.2rem;padding:.8rem 1rem;border-radius:4px}
.banner.warn{background:#f9a825;color:#1d1d1d}
ul.status{list-style:none;padding:0;margin:.6rem 0}
ul.status li{padding:.35rem .6rem .35rem 1.9rem;margin:.25rem 0;border-radius:4px;position:relative}
ul.status li::before{position:absolute;left:.6rem;font-weight:700}
li.ok{background:#e8f5e9}li.ok::before{content:"✓";color:#2e7d32}
li.warn{background:#fff8e1}li.warn::before{content:"!";color:#e65100}
li.bad{background:#ffebee;font-weight:600}li.bad::before{content:"✗";color:#b71c1c}
.loss{font-size:1.35rem;font-weight:700;margin:.8rem 0 .2rem}.loss.unknown{color:#b71c1c}
.breakdown{color:#444;margin:0 0 .6rem}
ol.steps li{margin:.35rem 0}
ol.steps code{white-space:nowrap;background:#f3f3f3;padding:0 .25rem;border-radius:3px;font-size:.9em}
.state{font-size:.85em;color:#555}.state.bad{color:#b71c1c;font-weight:600}
table{border-collapse:collapse;width:100%;font-size:12.5px;margin:.3rem 0 .8rem}
th{text-align:left;border-bottom:2px solid #bbb;padding:3px 4px}
td{border-bottom:1px solid #e2e2e2;padding:3px 4px;vertical-align:top}
td.t{white-space:nowrap}td.why{min-width:15em}td.ev{min-width:16em}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.flag td{background:#fff5f5}
figure{margin:.4rem 0 1rem;break-inside:avoid}svg{display:block}
.muted{color:#666;font-size:.9em}
@page{size:A4;margin:14mm}
@media print{body{max-width:none;margin:0;padding:0}h2{break-after:avoid}h3{break-after:avoid}
thead{display:table-header-group}tr{break-inside:avoid}}
"""


def _number(value: float) -> str:
    return f"{value:,.2f}" if value >= 1000 else f"{value:.8g}"


def _status(facts: CaseFacts) -> str:
    parts = []
    if not facts.audited:
        parts.append(f'<div class="banner">{escape(NOTHING_AUDITED)}</div>')
    elif not facts.complete:
        parts.append('<div class="banner warn">AUDIT INCOMPLETE — the loss below counts only what could be read</div>')
    parts.append(
        '<ul class="status">'
        + "".join(f'<li class="{level}">{escape(text)}</li>' for level, text in status_lines(facts))
        + "</ul>"
    )
    headline = loss_headline(facts)
    parts.append(f'<p class="loss{"" if facts.audited else " unknown"}">{escape(headline)}</p>')
    if facts.audited and facts.losses.items:
        kinds = facts.losses.by_kind()
        parts.append(
            f'<p class="breakdown">Trades at manipulated prices (paid above or sold below the market): '
            f"{usdt(kinds['trades'])} · withdrawals: {usdt(kinds['withdrawals'])} · "
            f"transfers out: {usdt(kinds['transfers'])}.</p>"
            f'<p class="method"><b>How the loss is counted.</b> {escape(METHOD)}</p>'
        )
        if facts.losses.unpriced:
            parts.append(
                "<p><b>Not priced (no USDT price in the audit), not counted above:</b></p><ul>"
                + "".join(f"<li>{escape(i.what)}</li>" for i in facts.losses.unpriced)
                + "</ul>"
            )
    return "".join(parts)


def _steps(facts: CaseFacts) -> str:
    items = []
    for step in next_steps(facts):
        commands = " ".join(f"<code>{escape(c)}</code>" for c in step.commands)
        state = ""
        if step.state:
            level = "state bad" if step.state.startswith("NOT") else "state"
            state = f' <span class="{level}">({escape(step.state)})</span>'
        items.append(f"<li><b>{escape(step.title)}</b>{state}. {escape(step.detail)} {commands}</li>")
    return '<ol class="steps">' + "".join(items) + "</ol>"


def _trade_charts(facts: CaseFacts) -> str:
    flagged = facts.detection.flagged_trade_ids()
    window = facts.attack_window
    out = []
    for symbol in sorted({f.ref["symbol"] for f in facts.detection.flags if f.kind == "trade"}):
        flags = [f for f in facts.detection.flags if f.kind == "trade" and f.ref["symbol"] == symbol]
        first, last = flags[0].time, flags[-1].time
        pad = max(6 * HOUR_MS, 2 * (last - first))
        klines = facts.data.klines.get(symbol, [])
        earlier = [k[0] for k in klines if k[0] + HOUR_MS <= first - first % HOUR_MS]  # the market before it
        start = min(first - pad, earlier[-3] if len(earlier) >= 3 else earlier[0] if earlier else first - pad)
        span = (max(facts.data.start, start), min(facts.data.end, last + pad))
        trades = [t for t in facts.data.trades.get(symbol, []) if span[0] <= t["time"] <= span[1]]
        base, quote = split_symbol(symbol)
        chart = Chart(
            [
                Series(
                    "market (hourly close; none where nothing traded)",
                    [(k[0] + HOUR_MS, float(k[4])) for k in klines],
                    max_gap=HOUR_MS,
                ),
                Series(
                    "market price compared with",
                    [(f.time, f.market_price) for f in flags if f.market_price],
                    BLUE,
                    "hollow",
                ),
                Series(
                    "flagged trades",
                    [(t["time"], float(t["price"])) for t in trades if (symbol, t["id"]) in flagged],
                    RED,
                    "dots",
                ),
                Series(
                    "other trades of the account",
                    [(t["time"], float(t["price"])) for t in trades if (symbol, t["id"]) not in flagged],
                    GREY,
                    "dots",
                ),
            ],
            unit=f"price, {quote} per {base}",
            window=window,
            span=span,
        )
        out.append(
            f"<figure><h3>{escape(symbol)}: the account's trades against the market price</h3>{chart.svg()}</figure>"
        )
    return "".join(out)


def _balance_charts(facts: CaseFacts, limit: int = 6) -> str:
    days = [
        (
            s["updateTime"],
            {r["asset"]: float(r["free"]) + float(r.get("locked", 0)) for r in s.get("data", {}).get("balances", [])},
        )
        for s in facts.data.snapshots
    ]
    days.append((facts.data.end, dict(facts.data.balances)))  # now: the last point
    assets = {asset for _, held in days for asset in held}
    history = {a: [(time, held.get(a, 0.0)) for time, held in days] for a in assets}  # not listed: none held
    touched = {i.asset for i in facts.losses.items if i.kind != "trade"}
    touched |= {a for f in facts.detection.flags if f.kind == "trade" for a in split_symbol(f.ref["symbol"])}

    def weight(asset: str) -> tuple[bool, float]:
        peak = max(v for _, v in history[asset])
        value = usdt_value(facts.data, asset, peak, facts.data.end)
        return asset not in touched, -(value if value is not None else 0.0)

    out = []
    for asset in sorted(history, key=weight)[:limit]:
        points = sorted(history[asset])
        now = points[-1][1]
        chart = Chart(
            [Series(f"{asset} balance (now {_number(now)} {asset})", points, BLUE, "line", mark_last=True)],
            unit=f"{asset} held",
            window=facts.attack_window,
            height=190,
        )
        out.append(f"<figure><h3>{escape(asset)}</h3>{chart.svg()}</figure>")
    return "".join(out)


def _flag_tables(facts: CaseFacts) -> str:
    trades = {(s, t["id"]): t for s, rows in facts.data.trades.items() for t in rows}
    losses = {(i.ref.get("symbol"), i.ref.get("id")): i for i in facts.losses.items if i.kind == "trade"}
    by_symbol = defaultdict(list)
    for flag in facts.detection.flags:
        if flag.kind == "trade" and (flag.ref["symbol"], flag.ref["id"]) in trades:
            by_symbol[flag.ref["symbol"]].append(flag)
    out = []
    for symbol, flags in sorted(by_symbol.items()):
        base, quote = split_symbol(symbol)
        rows = []
        for flag in flags:
            trade = trades[(symbol, flag.ref["id"])]
            loss = losses.get((symbol, flag.ref["id"]))
            deviation = (
                f"{flag.deviation:+.1%} ({float(trade['price']) / flag.market_price:.2f}×)"
                if flag.deviation is not None and flag.market_price
                else "—"
            )
            why = [r for r in flag.reasons if not r.startswith(("bought at", "sold at"))]
            rows.append(
                f"<tr><td class=t>{escape(_clock(flag.time))}</td>"
                f"<td>{'BUY' if trade['isBuyer'] else 'SELL'}</td><td class=n>{escape(str(float(trade['qty'])))}</td>"
                f"<td class=n>{float(trade['price']):.8g}</td>"
                f"<td class=n>{f'{flag.market_price:.8g}' if flag.market_price else '—'}</td>"
                f"<td class=n>{deviation}</td>"
                f"<td class=n>{f'{loss.usdt:,.2f}' if loss and loss.usdt is not None else '—'}</td>"
                f"<td class=n>{flag.score:g}</td>"
                f"<td class=why>{escape('; '.join(why) or 'far from the market price')}</td></tr>"
            )
        total = sum(i.usdt or 0 for k, i in losses.items() if k[0] == symbol)
        out.append(
            f"<h3>{escape(symbol)} — {len(flags)} flagged trades, overpaid {usdt(total)}</h3>"
            f"<table><thead><tr><th>time (UTC)</th><th>side</th><th>quantity ({escape(base)})</th>"
            f"<th>price ({escape(quote)})</th><th>market price</th><th>deviation</th><th>loss (USDT)</th>"
            "<th>score</th><th>also</th></tr>"
            f"</thead><tbody>{''.join(rows)}</tbody></table>"
        )
    withdrawals = stolen_withdrawals(facts)
    values = {i.ref.get("id"): i.usdt for i in facts.losses.items if i.kind != "trade"}
    if withdrawals:
        out.append(
            "<h3>Withdrawals to addresses never used before</h3><table><thead><tr><th>time (UTC)</th><th>amount</th>"
            "<th>value</th><th>to address</th><th>network</th><th>transaction</th></tr></thead><tbody>"
            + "".join(
                f"<tr class=flag><td class=t>{escape(w['applyTime'])}</td><td class=n>{escape(str(w['amount']))} "
                f"{escape(w['coin'])}</td><td class=n>"
                f"{usdt(values[w['id']]) if values.get(w['id']) is not None else 'not priced'}</td>"
                f"<td>{escape(w['address'])}</td><td>{escape(w.get('network', ''))}</td>"
                f"<td>{escape(w.get('txId', ''))}</td></tr>"
                for w in withdrawals
            )
            + "</tbody></table>"
        )
    transfers = [i for i in facts.losses.items if i.kind == "transfer"]
    if transfers:
        out.append(
            "<h3>Transfers out</h3><table><thead><tr><th>time (UTC)</th><th>what</th><th>value</th></tr></thead><tbody>"
            + "".join(
                f"<tr class=flag><td class=t>{escape(_clock(i.time))}</td><td>{escape(i.what)}</td>"
                f"<td class=n>{usdt(i.usdt) if i.usdt is not None else 'not priced'}</td></tr>"
                for i in transfers
            )
            + "</tbody></table>"
        )
    return "".join(out) or "<p>Nothing was flagged.</p>"


def report_html(facts: CaseFacts) -> str:
    rows = "".join(
        f"<tr><td class=t>{escape(e['time_utc'][:19].replace('T', ' '))}</td><td class=ev>{escape(e['event'])}</td>"
        f"<td>{escape(e['detail'])}</td></tr>"
        for e in facts.events
    )
    audited = facts.audited
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>keyguard incident report — key {escape(facts.key)}</title><style>{CSS}</style></head><body>
<h1>Incident report: Binance API key {escape(facts.key)}</h1>
{_status(facts)}
<h2>What happened</h2><p>{escape(what_happened(facts))}</p>
{f"<p>This account's normal in the 7 days before the window: {escape(facts.baseline)}.</p>" if facts.baseline else ""}
<h2>What to do now</h2>{_steps(facts)}
{f"<h2>Flagged trades against the market</h2>{_trade_charts(facts)}" if audited and _has_trades(facts) else ""}
<h2>Flagged activity</h2>{_flag_tables(facts) if audited else "<p>Nothing could be audited.</p>"}
{f"<h2>Balances (daily snapshots, then now)</h2>{_balance_charts(facts)}" if audited else ""}
<h2>Timeline (UTC)</h2>{lanes(facts.timeline)}
<table><thead><tr><th>time (UTC)</th><th>event</th><th>detail</th></tr></thead><tbody>{rows}</tbody></table>
<h2>About this evidence</h2>
{_audit_notes(facts)}
<p>Key {escape(facts.key)} (SHA-256 fingerprint {escape(facts.fingerprint)}); account UID
{facts.account_uid or "not read"}; window examined {when(facts.data.start)} to {when(facts.data.end)}.
Raw answers from Binance are in <code>raw/</code>, normalised tables in the CSV files, flags in
<code>flags.json</code>.</p>
<p>This folder is sealed by <code>manifest.json</code>: the SHA-256 of every file, signed with a key made for this
case. The signature proves {escape(PROVES)}. It does not prove {escape(DOES_NOT_PROVE)}. The manifest's SHA-256 is
printed when the case is sealed and is written in support-ticket.md and police-report.md (which are therefore
written after sealing and are not in the manifest). Check the folder with
<code>keyguard evidence verify DIR --expect HASH</code>.</p>
</body></html>
"""


def _audit_notes(facts: CaseFacts) -> str:
    """What the audit could and could not see: permissions the key lacked, and its coverage."""
    notes = list(dict.fromkeys(facts.data.notes))
    if not notes:
        return ""
    return "<p>What the audit could see:</p><ul>" + "".join(f"<li>{escape(note)}</li>" for note in notes) + "</ul>"


def _has_trades(facts: CaseFacts) -> bool:
    return any(f.kind == "trade" for f in facts.detection.flags)


def _clock(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%d %b %H:%M:%S").lstrip("0")
