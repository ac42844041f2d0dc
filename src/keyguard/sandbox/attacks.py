"""Attack scripts run through the real matching engine, recording the ground truth of what they caused."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

from keyguard.sandbox.bots import BotOrder, Writer, client_order_id, lot, tick
from keyguard.sandbox.errors import ScenarioError
from keyguard.sandbox.ledger import WalletRecord

if TYPE_CHECKING:
    from keyguard.sandbox.scenario import ScenarioBuilder

HOUR_MS = 3_600_000
STEP_MS = 7_000


def _q(value: Decimal, places: str = "0.00000001") -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_DOWN)


class _Script:
    def __init__(self, builder: ScenarioBuilder, spec: dict[str, Any]) -> None:

        self.builder = builder
        self.ledger = builder.ledger
        self.spec = spec
        self.time = builder.now - int(float(spec.get("hours_ago", 2)) * HOUR_MS)
        self.time = max(self.time, builder.attack_clock)  # combined attacks follow each other
        self.start = self.time
        label = spec.get("key")
        key = next((k for k in builder.keys if k.label == label), None)
        if key is None:
            raise ScenarioError(f"{builder.source}:{spec.get('__line__', '?')}: field 'key' names no key: {label!r}")
        self.victim = builder.ledger.accounts[key.account]
        self.attacker = builder._role("attacker")
        self.truth = builder.truth
        self.victim_orders: list[int] = []

    def tick(self) -> int:
        self.time += STEP_MS + self.builder.rng.randint(0, 5000)
        return self.time

    def order(self, account: str, symbol: str, side: str, kind: str, qty: Decimal, price: Decimal | None) -> int:
        before = len(self.ledger.trades[symbol])
        time = self.tick()
        style = self.spec.get("client_ids")
        cid = client_order_id(self.builder.rng, style, side, self.ledger.symbols[symbol], time) if style else None
        order = self.ledger.place_order(account, symbol, side, kind, qty, price, "GTC", time, cid)
        if account == self.victim.name:
            self.truth["order_ids"].append(order.order_id)
        self.truth.setdefault("attacker_order_ids", [])
        if account == self.attacker.name:
            self.truth["attacker_order_ids"].append(order.order_id)
        for trade in self.ledger.trades[symbol][before:]:
            if self.victim.name in (trade.buyer, trade.seller):
                self.truth["trade_ids"].append({"symbol": symbol, "id": trade.id})
        return order.order_id

    def finish(self, kind: str) -> None:
        """Records this attack's window; truth["attack"] spans all of a combination's attacks."""
        attacks = self.truth.setdefault("attacks", [])
        attacks.append({"type": kind, "start": self.start, "end": self.time, "key": self.spec.get("key")})
        self.builder.attack_clock = self.time + STEP_MS
        self.truth["attack"] = {
            "type": "+".join(a["type"] for a in attacks),
            "start": min(a["start"] for a in attacks),
            "end": max(a["end"] for a in attacks),
            "victim": self.victim.name,
            "attacker": self.attacker.name,
            "key": attacks[0]["key"],
        }
        if len(attacks) > 1:
            self.truth["attack"]["keys"] = list(dict.fromkeys(a["key"] for a in attacks))


def wash_trade_theft(builder: ScenarioBuilder, spec: dict[str, Any]) -> None:
    """Sell the victim's coins, clear the thin book of an illiquid coin, then make the victim's key buy it
    from the attacker at many times its price, both as taker (attacker's asks) and as maker (attacker
    sells into the victim's bids)."""
    script = _Script(builder, spec)
    ledger, victim, attacker = script.ledger, script.victim, script.attacker
    target = ledger.symbols[spec["symbol"]]
    markup = Decimal(str(spec.get("markup", 8)))
    for name in spec.get("liquidate", []):
        symbol = ledger.symbols[name]
        qty = _q(victim.balance(symbol.base).free * Decimal("0.95"), "0.00001")
        if qty > 0:
            script.order(victim.name, name, "SELL", "MARKET", qty, None)
    book = ledger.books[target.name]
    for _, _, resting in list(book.asks):  # the attacker buys up the honest asks first
        script.order(attacker.name, target.name, "BUY", "LIMIT", resting.remaining, resting.price)
    market = builder.prices[target.name][-1]
    inflated = _q(market * markup)
    rounds = int(spec.get("rounds", 6))
    budget = victim.balance(target.quote).free * Decimal("0.9")
    chunk = _q(budget / inflated / (2 * rounds), "0.01")
    for _ in range(rounds):
        price = _q(inflated * Decimal(str(1 + builder.rng.uniform(-0.05, 0.05))))
        script.order(attacker.name, target.name, "SELL", "LIMIT", chunk, price)
        script.order(victim.name, target.name, "BUY", "LIMIT", chunk, price)
    for _ in range(rounds):
        price = _q(inflated * Decimal(str(1 + builder.rng.uniform(-0.05, 0.05))))
        script.order(victim.name, target.name, "BUY", "LIMIT", chunk, price)
        script.order(attacker.name, target.name, "SELL", "LIMIT", chunk, price)
    script.finish("wash-trade-theft")


def withdrawal_theft(builder: ScenarioBuilder, spec: dict[str, Any]) -> None:
    """Withdraw most of the victim's USDT and BTC to an address never used before."""
    script = _Script(builder, spec)
    address = str(spec.get("address", "0xa77ac4e2b1f0d9c3e5a6b7c8d9e0f1a2b3c4d5e6"))
    for asset in spec.get("assets", ["USDT"]):
        amount = _q(script.victim.balance(asset).free * Decimal("0.97"), "0.0001")
        if amount <= 0:
            continue
        script.victim.balance(asset).free -= amount
        record_id = f"theft{len(builder.ledger.wallet):06d}"
        builder.ledger.wallet.append(
            WalletRecord(
                "withdrawal",
                record_id,
                script.victim.name,
                asset,
                amount,
                script.tick(),
                {"status": 6, "address": address, "network": "ETH", "txId": f"0x{record_id}"},
            )
        )
        script.truth["withdrawal_ids"].append(record_id)
    move = spec.get("to_sub_account")
    if move:
        _transfer_to_sub_account(builder, script, move)
    script.finish("withdrawal-theft")


def _transfer_to_sub_account(builder: ScenarioBuilder, script: _Script, move: dict[str, Any]) -> None:
    """Moves a share of one asset to a sub-account of the victim's, as the master-account transfer does."""
    sub = next(a for a in builder.ledger.accounts.values() if a.master == script.victim.name)
    asset = str(move.get("asset", "BNB"))
    amount = _q(script.victim.balance(asset).free * Decimal(str(move.get("share", 0.9))), "0.0001")
    script.victim.balance(asset).free -= amount
    sub.balance(asset).free += amount
    tran_id = str(90_000_000 - len(builder.ledger.wallet))
    builder.ledger.wallet.append(
        WalletRecord(
            "sub_transfer",
            tran_id,
            script.victim.name,
            asset,
            amount,
            script.tick(),
            {
                "fromEmail": script.victim.email,
                "toEmail": sub.email,
                "clientTranId": "",
                "fromAccountType": "SPOT",
                "toAccountType": "SPOT",
            },
        )
    )
    script.truth["transfer_ids"].append(tran_id)


def sub_account_transfer(builder: ScenarioBuilder, spec: dict[str, Any]) -> None:
    """Move a share of one asset to the victim's own sub-account (a master account may; the attacker then
    uses a key of the sub-account, or its login, to take it from there)."""
    script = _Script(builder, spec)
    _transfer_to_sub_account(builder, script, spec)
    script.finish("sub-account-transfer")


def dump(builder: ScenarioBuilder, spec: dict[str, Any]) -> None:
    """Dump the victim's holdings of a thinly traded coin into the attacker's bids far below the market: the
    attacker first sells into the honest bids, then bids low, and the victim's key sells at market."""

    script = _Script(builder, spec)
    ledger, victim, attacker = script.ledger, script.victim, script.attacker
    symbol = ledger.symbols[spec["symbol"]]
    if symbol.name in ledger.replenished_symbols:
        raise ScenarioError(f"{builder.source}:{spec.get('__line__', '?')}: dump needs a thin book (liquid: false)")
    for _, _, resting in list(ledger.books[symbol.name].bids):
        attacker.balance(symbol.base).free += resting.remaining  # the attacker brings coins of its own
        script.order(attacker.name, symbol.name, "SELL", "LIMIT", resting.remaining, resting.price)
    qty = lot(victim.balance(symbol.base).free * Decimal(str(spec.get("share", 0.95))))
    price = tick(builder.prices[symbol.name][-1] * Decimal(str(spec.get("price_ratio", 0.5))))
    attacker.balance(symbol.quote).free += price * qty
    script.order(attacker.name, symbol.name, "BUY", "LIMIT", qty, price)
    script.order(victim.name, symbol.name, "SELL", "MARKET", qty, None)
    script.finish("dump")


def drip_events(builder: ScenarioBuilder, spec: dict[str, Any], end: int) -> list[tuple[int, str, Any]]:
    """A slow drip, written into the history: once an hour for `hours` hours up to `end`, the victim's key buys
    a small amount from the attacker at `markup` times the market, among the account's ordinary trades."""
    script = _Script(builder, spec)
    symbol = builder.ledger.symbols[spec["symbol"]]
    markup = Decimal(str(spec.get("markup", 1.5)))
    quote = Decimal(str(spec.get("quote", 150)))
    hours = int(spec.get("hours", 72))
    writer = Writer(builder, script.victim, script.attacker, script.attacker)
    first = end - end % HOUR_MS - hours * HOUR_MS
    times = [first + i * HOUR_MS + builder.rng.randint(0, HOUR_MS - 60_000) for i in range(hours)]

    def trade(time: int) -> None:
        price = tick(builder._price_at(symbol.name, time) * markup)
        qty = lot(quote / price)
        if script.attacker.balance(symbol.base).free < qty:
            script.attacker.balance(symbol.base).free += qty  # the attacker's coins come from elsewhere
        style = spec.get("client_ids", "binance")
        order = BotOrder(
            symbol.name, "BUY", "LIMIT", client_order_id(builder.rng, style, "BUY", symbol, time), time, price
        )
        order.fills = [(time, price, qty, False)]
        for made in writer.write(order, other=script.attacker):
            script.truth["trade_ids"].append({"symbol": symbol.name, "id": made.id, "market_before": time})
            script.truth["order_ids"].append(made.buy_order)
            script.truth.setdefault("attacker_order_ids", []).append(made.sell_order)
            done.append(time)

    def finish() -> None:
        script.start, script.time = (done[0], done[-1]) if done else (times[0], times[0])
        script.finish("drip")

    done: list[int] = []
    return [(t, "attack", lambda t=t: trade(t)) for t in times] + [(end, "attack", finish)]


def leaked_readonly(builder: ScenarioBuilder, spec: dict[str, Any]) -> None:
    """A read-only key leaked: the attacker can look but not move anything, so nothing changes."""
    script = _Script(builder, spec)
    script.finish("leaked-readonly")


ATTACKS = {
    "wash-trade-theft": wash_trade_theft,
    "withdrawal-theft": withdrawal_theft,
    "leaked-readonly": leaked_readonly,
    "sub-account-transfer": sub_account_transfer,
    "dump": dump,
}
IN_HISTORY = {"drip": drip_events}  # attacks spread over days, written among the account's ordinary trades

_WASH = {"type": "wash-trade-theft", "key": "victim-bot", "symbol": "KGTUSDT", "rounds": 4, "hours_ago": 2}
_WITHDRAW = {"type": "withdrawal-theft", "key": "victim-withdraw", "hours_ago": 1, "assets": ["USDT"]}
_TRANSFER = {"type": "sub-account-transfer", "key": "victim-withdraw", "asset": "USDT", "share": 0.3, "hours_ago": 1}
_DRIP = {"type": "drip", "key": "victim-bot", "symbol": "KGTUSDT", "markup": 2, "quote": 100, "hours": 48}
# Attacks any packaged bot account (bots.py's scenarios: KGTUSDT and ALTUSDT thin, a sub-account, a
# withdrawal key) can meet, by name; `build_account_scenario` puts one on an account.
CATALOGUE: dict[str, list[dict[str, Any]]] = {
    "wash-1.2x": [{**_WASH, "markup": 1.2}],
    "wash-3x": [{**_WASH, "markup": 3}],
    "wash-20x": [{**_WASH, "markup": 20}],
    "drip": [_DRIP],
    "dump": [{"type": "dump", "key": "victim-bot", "symbol": "ALTUSDT", "price_ratio": 0.4, "hours_ago": 1}],
    "withdrawal": [_WITHDRAW],
    "sub-account-transfer": [_TRANSFER],
    "combination": [_DRIP, _TRANSFER, _WITHDRAW],
}


def _specs(builder: ScenarioBuilder, spec: dict[str, Any] | list | None) -> list[dict[str, Any]]:
    """An `attack` is one mapping or a list of them (a combination, run in order)."""

    specs = [] if spec is None else spec if isinstance(spec, list) else [spec]
    for item in specs:
        kind = item.get("type") if isinstance(item, dict) else None
        if kind not in ATTACKS and kind not in IN_HISTORY:
            line = item.get("__line__", "?") if isinstance(item, dict) else "?"
            known = sorted([*ATTACKS, *IN_HISTORY])
            raise ScenarioError(f"{builder.source}:{line}: field 'type' must be one of {known}, not {kind!r}")
    return specs


def history_events(builder: ScenarioBuilder, spec: dict | list | None, end: int) -> list[tuple[int, str, Any]]:
    events: list[tuple[int, str, Any]] = []
    for item in _specs(builder, spec):
        if item["type"] in IN_HISTORY:
            events.extend(IN_HISTORY[item["type"]](builder, item, end))
    return events


def run_attack(builder: ScenarioBuilder, spec: dict[str, Any] | list) -> None:
    for item in _specs(builder, spec):
        if item["type"] in ATTACKS:
            ATTACKS[item["type"]](builder, item)
