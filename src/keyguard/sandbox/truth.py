"""The scenario's true loss, from the ledger the sandbox keeps: what a drill or a benchmark scores keyguard's
estimate against. Prices are the public tape's — the last trade between accounts other than the victim and
the attacker — because the price path behind the tape is not observable by any auditor."""

from __future__ import annotations

from typing import Any

from keyguard.sandbox.ledger import Ledger

STABLE = ("USDT", "FDUSD", "USDC", "BUSD", "TUSD", "DAI")


def public_price(ledger: Ledger, truth: dict[str, Any], symbol: str, before_ms: int) -> float | None:
    insiders = {truth["attack"]["victim"], truth["attack"]["attacker"]}
    tape = [t for t in ledger.trades.get(symbol, []) if t.time < before_ms and not {t.buyer, t.seller} & insiders]
    return float(tape[-1].price) if tape else None


def true_loss_usdt(ledger: Ledger, truth: dict[str, Any]) -> float:
    """Every attack trade against the market price before the attack (before the trade itself, for one marked
    `market_before`), plus every attack withdrawal and transfer out at the market price of its time."""
    attack = truth.get("attack")
    if not attack:
        return 0.0
    loss = 0.0
    for ref in truth["trade_ids"]:
        trade = next(t for t in ledger.trades[ref["symbol"]] if t.id == ref["id"])
        before = ref.get("market_before", attack["start"])  # a drip over days: the market of its own hour
        market = public_price(ledger, truth, ref["symbol"], before) or float(trade.price)
        bought = trade.buyer == attack["victim"]
        loss += (float(trade.price) - market if bought else market - float(trade.price)) * float(trade.qty)
    moved = set(truth["withdrawal_ids"]) | set(truth["transfer_ids"])
    for record in ledger.wallet:
        if record.id in moved:
            price = 1.0 if record.asset in STABLE else public_price(ledger, truth, f"{record.asset}USDT", record.time)
            loss += float(record.amount) * (price or 0.0)
    return loss
