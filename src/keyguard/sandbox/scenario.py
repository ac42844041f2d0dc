"""Scenarios as data: accounts, keys, markets, a history generator and attack scripts, from YAML with a seed.

History (days of ordinary trading by the victim in liquid pairs, crowd trading, deposits and withdrawals
to known addresses) is written straight into the ledger with balances applied, so trades, klines, daily
snapshots and balances agree. Attacks then run through the real matching engine in the last hours.
"""

from __future__ import annotations

import copy
import math
import random
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from keyguard.sandbox import BUILT_IN_SCENARIOS
from keyguard.sandbox.attacks import CATALOGUE, history_events, run_attack
from keyguard.sandbox.bots import Writer, generate
from keyguard.sandbox.clock import Clock
from keyguard.sandbox.errors import ScenarioError
from keyguard.sandbox.exchange import SandboxExchange
from keyguard.sandbox.keys import SandboxKey, make_key, permissions_from
from keyguard.sandbox.ledger import (
    COMMISSION_RATE,
    Account,
    Ledger,
    Order,
    Symbol,
    Trade,
    WalletRecord,
    address_book_entry,
)

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
BUILT_IN = BUILT_IN_SCENARIOS
ROLES = ("victim", "attacker", "market_maker", "other")


@dataclass
class Built:
    exchange: SandboxExchange
    credentials: list[dict[str, Any]]
    truth: dict[str, Any]


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


def _q(value: Decimal, places: str = "0.00000001") -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_DOWN)


class _LineLoader(yaml.SafeLoader):
    """Records the line of every mapping so errors can name it."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def packaged_scenarios() -> list[str]:
    """Every scenario shipped in the package: the built-ins, and the bot accounts clean and robbed."""
    files = resources.files("keyguard.sandbox.scenarios").iterdir()
    return sorted(f.name.removesuffix(".yaml") for f in files if f.name.endswith(".yaml"))


def load_spec(name_or_path: str) -> dict[str, Any]:
    """A packaged scenario by name, or a user's YAML file."""
    if name_or_path in BUILT_IN or name_or_path in packaged_scenarios():
        text = resources.files("keyguard.sandbox.scenarios").joinpath(f"{name_or_path}.yaml").read_text("utf-8")
        source = f"{name_or_path}.yaml"
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise ScenarioError(
                f"no built-in scenario {name_or_path!r} and no such file (built-in: {', '.join(packaged_scenarios())})"
            )
        text, source = path.read_text("utf-8"), str(path)
    try:
        spec = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        raise ScenarioError(f"{source}: not valid YAML: {error}") from None
    if not isinstance(spec, dict):
        raise ScenarioError(f"{source}: a scenario is a mapping with accounts, keys and symbols")
    spec["__source__"] = source
    return spec


def _field(spec: dict, name: str, kind: type | tuple[type, ...], source: str, default: Any = ...) -> Any:
    if name not in spec:
        if default is ...:
            raise ScenarioError(f"{source}:{spec.get('__line__', '?')}: missing field '{name}'")
        return default
    value = spec[name]
    if not isinstance(value, kind) or isinstance(value, bool) and kind in (int, float, (int, float)):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ScenarioError(f"{source}:{spec.get('__line__', '?')}: field '{name}' must be {expected}, not {value!r}")
    return value


class ScenarioBuilder:
    def __init__(self, spec: dict[str, Any], now_ms: int | None = None, seed: int | None = None) -> None:
        self.spec = spec
        self.source = spec.get("__source__", "scenario")
        self.seed = seed if seed is not None else _field(spec, "seed", int, self.source, 1)
        self.rng = random.Random(self.seed)
        self.clock = Clock()
        self.now = now_ms if now_ms is not None else self.clock.now_ms()
        self.ledger = Ledger()
        self.keys: list[SandboxKey] = []
        self.prices: dict[str, list[Decimal]] = {}  # hourly reference prices per symbol
        self.attack_clock = 0  # where the next of a combination's attacks may start
        self.truth: dict[str, Any] = {
            "scenario": spec.get("name", self.source),
            "seed": self.seed,
            "attack": None,
            "trade_ids": [],
            "order_ids": [],
            "withdrawal_ids": [],
            "transfer_ids": [],
        }

    # --- parsing ---------------------------------------------------------------------------------
    def _symbols(self) -> None:
        for raw in _field(self.spec, "symbols", list, self.source):
            name = _field(raw, "symbol", str, self.source)
            self.ledger.add_symbol(
                Symbol(name, _field(raw, "base", str, self.source), _field(raw, "quote", str, self.source))
            )
            raw.setdefault("liquid", True)

    def _accounts(self) -> None:
        for uid, raw in enumerate(_field(self.spec, "accounts", list, self.source), start=10_000_001):
            name = _field(raw, "name", str, self.source)
            role = _field(raw, "role", str, self.source, "other")
            if role not in ROLES:
                raise ScenarioError(f"{self.source}:{raw['__line__']}: field 'role' must be one of {ROLES}")
            account = Account(
                name,
                uid,
                _field(raw, "email", str, self.source, f"{name}@sandbox.invalid"),
                role,
                master=_field(raw, "master", str, self.source, None),
                created_ms=self.now - 365 * DAY_MS,
            )
            for asset, amount in _field(raw, "balances", dict, self.source, {}).items():
                if asset != "__line__":
                    account.balance(asset).free = _dec(amount)
            for wallet in ("funding", "futures", "earn_flexible", "earn_locked"):
                for asset, amount in _field(raw, wallet, dict, self.source, {}).items():
                    if asset != "__line__":
                        getattr(account, wallet)[asset] = _dec(amount)
            self.ledger.add_account(account)

    def _keys(self) -> None:
        for raw in _field(self.spec, "keys", list, self.source):
            account = _field(raw, "account", str, self.source)
            if account not in self.ledger.accounts:
                raise ScenarioError(f"{self.source}:{raw['__line__']}: field 'account' names no account: {account!r}")
            try:
                permissions = permissions_from(_field(raw, "permissions", list, self.source, ["reading"]))
            except ValueError as error:
                raise ScenarioError(f"{self.source}:{raw['__line__']}: field 'permissions': {error}") from None
            age_days = _field(raw, "age_days", int, self.source, 30)
            self.keys.append(
                make_key(
                    self.rng,
                    _field(raw, "label", str, self.source),
                    _field(raw, "type", str, self.source, "hmac"),
                    account,
                    self.ledger.accounts[account].role,
                    permissions,
                    [str(ip) for ip in _field(raw, "ip_whitelist", list, self.source, [])],
                    self.now - age_days * DAY_MS,
                )
            )

    # --- history ---------------------------------------------------------------------------------
    def _price_paths(self, days: int) -> None:
        hours = days * 24 + 2
        for raw in self.spec["symbols"]:
            price = float(_field(raw, "price", (int, float), self.source))
            volatility = float(_field(raw, "volatility", (int, float), self.source, 0.01))
            path = []
            for _ in range(hours):
                path.append(_q(_dec(price)))
                price *= math.exp(self.rng.gauss(0, volatility))
            self.prices[raw["symbol"]] = list(reversed(path))  # path[-1] is now

    def _price_at(self, symbol: str, time_ms: int) -> Decimal:
        hours_ago = (self.now - time_ms) // HOUR_MS
        path = self.prices[symbol]
        return path[max(0, len(path) - 1 - int(hours_ago))]

    def _historic_trade(
        self,
        symbol: Symbol,
        buyer: str,
        seller: str,
        price: Decimal,
        qty: Decimal,
        time: int,
        taker_is_buyer: bool,
    ) -> Trade:
        ledger = self.ledger
        buy_order, sell_order = ledger.next_order_id(), ledger.next_order_id()
        for order_id, account, side in ((buy_order, buyer, "BUY"), (sell_order, seller, "SELL")):
            is_taker = (side == "BUY") == taker_is_buyer
            order = Order(
                symbol.name,
                order_id,
                f"hist{order_id}",
                account,
                side,
                "MARKET" if is_taker else "LIMIT",
                "GTC",
                price,
                qty,
                time - (0 if is_taker else self.rng.randint(1000, 600_000)),
                executed_qty=qty,
                cumulative_quote=price * qty,
                status="FILLED",
                update_time=time,
            )
            ledger.orders[order_id] = order
        trade = Trade(
            ledger.next_trade_id(),
            symbol.name,
            price,
            qty,
            time,
            buyer,
            seller,
            buy_order,
            sell_order,
            buyer_is_maker=not taker_is_buyer,
        )
        ledger.record_trade(trade)
        return trade

    @staticmethod
    def _apply(account: Account, symbol: Symbol, is_buyer: bool, price: Decimal, qty: Decimal) -> None:
        quote = price * qty
        if is_buyer:
            account.balance(symbol.quote).free -= quote
            account.balance(symbol.base).free += qty * (1 - COMMISSION_RATE)
        else:
            account.balance(symbol.base).free -= qty
            account.balance(symbol.quote).free += quote * (1 - COMMISSION_RATE)

    def _history(self) -> None:
        history = _field(self.spec, "history", dict, self.source, {})
        days = _field(history, "days", int, self.source, 30)
        self._price_paths(days)
        start = self.now - days * DAY_MS
        end = self.now - _field(history, "quiet_hours", int, self.source, 6) * HOUR_MS
        victim = self._role("victim")
        maker = self._role("market_maker")
        crowd = self._role("other", required=False) or maker
        liquid = [self.ledger.symbols[r["symbol"]] for r in self.spec["symbols"] if r["liquid"]]
        behaviour = _field(history, "behaviour", str, self.source, None)
        events: list[tuple[int, str, Any]] = []
        for _ in range(_field(history, "victim_trades", int, self.source, 0 if behaviour else 200)):
            events.append((self.rng.randint(start, end), "victim", self.rng.choice(liquid)))
        for symbol in liquid:
            listed = self._listed(symbol.name, start)
            for _ in range(_field(history, "crowd_trades_per_symbol", int, self.source, 2000)):
                events.append((self.rng.randint(listed, end), "crowd", symbol))
        for raw in self.spec["symbols"]:
            if not raw["liquid"]:  # an illiquid coin still trades now and then, at its market price
                for _ in range(_field(history, "illiquid_trades", int, self.source, 60)):
                    events.append((self.rng.randint(start, end), "crowd", self.ledger.symbols[raw["symbol"]]))
        addresses = [str(a) for a in _field(history, "known_addresses", list, self.source, ["0xknown"])]
        victim.address_book = [  # the person saved and whitelisted the addresses they withdraw to
            address_book_entry(a, "USDT", "ETH", f"my wallet {n}", whitelisted=True) for n, a in enumerate(addresses, 1)
        ]
        for kind, count in (
            ("deposit", _field(history, "deposits", int, self.source, 4)),
            ("withdrawal", _field(history, "withdrawals", int, self.source, 2)),
        ):
            for _ in range(count):
                events.append((self.rng.randint(start, end), kind, self.rng.choice(addresses)))
        writer = None
        if behaviour:
            writer = Writer(self, victim, maker, crowd)
            events.extend((order.fills[0][0], "bot", order) for order in generate(self, history, start, end))
        events.extend(history_events(self, self.spec.get("attack"), end))
        events.sort(key=lambda e: e[0])
        day_end = start - start % DAY_MS + DAY_MS - 1
        snapshots = self.ledger.snapshots.setdefault(victim.name, [])
        for time, kind, subject in events:
            while time > day_end:
                snapshots.append((day_end, {a: b.free + b.locked for a, b in victim.balances.items()}))
                day_end += DAY_MS
            if kind == "victim":
                self._victim_trade(victim, maker, subject, time)
            elif kind == "crowd":
                self._crowd_trade(maker, crowd, subject, time)
            elif kind == "bot":
                writer.write(subject)
            elif kind == "attack":
                subject()
            else:
                self._wallet_event(victim, kind, subject, time)
        while day_end < self.now:
            snapshots.append((day_end, {a: b.free + b.locked for a, b in victim.balances.items()}))
            day_end += DAY_MS
        if writer:
            self.truth["legit_unusual"] = writer.unusual

    def _listed(self, symbol: str, start: int) -> int:
        """When a symbol's trading began: `listed_days_ago` in its entry, else before the history."""
        raw = next(r for r in self.spec["symbols"] if r["symbol"] == symbol)
        days = _field(raw, "listed_days_ago", (int, float), self.source, None)
        return start if days is None else max(start, self.now - int(days * DAY_MS))

    def _victim_trade(self, victim: Account, maker: Account, symbol: Symbol, time: int) -> None:
        price = self._price_at(symbol.name, time) * _dec(1 + self.rng.uniform(-0.001, 0.001))
        price = _q(price, "0.01") if price > 10 else _q(price)
        quote_free = victim.balance(symbol.quote).free
        base_free = victim.balance(symbol.base).free
        buy = self.rng.random() < 0.5 if base_free * price > 20 else True
        budget = (
            quote_free * _dec(self.rng.uniform(0.01, 0.05))
            if buy
            else base_free * price * _dec(self.rng.uniform(0.05, 0.2))
        )
        qty = _q(budget / price, "0.00001")
        if qty <= 0 or (buy and qty * price > quote_free):
            return
        buyer, seller = (victim, maker) if buy else (maker, victim)
        self._historic_trade(symbol, buyer.name, seller.name, price, qty, time, taker_is_buyer=buy)
        self._apply(victim, symbol, buy, price, qty)
        self._apply(maker, symbol, not buy, price, qty)

    def _crowd_trade(self, maker: Account, crowd: Account, symbol: Symbol, time: int) -> None:
        price = self._price_at(symbol.name, time) * _dec(1 + self.rng.uniform(-0.002, 0.002))
        price = _q(price, "0.01") if price > 10 else _q(price)
        qty = _q(_dec(self.rng.uniform(50, 2000)) / price, "0.00001")
        if qty <= 0:
            return
        buy = self.rng.random() < 0.5
        buyer, seller = (crowd, maker) if buy else (maker, crowd)
        self._historic_trade(symbol, buyer.name, seller.name, price, qty, time, taker_is_buyer=True)

    def _wallet_event(self, victim: Account, kind: str, address: str, time: int) -> None:
        asset = "USDT"
        amount = _q(_dec(self.rng.uniform(100, 1000)), "0.01")
        if kind == "withdrawal":
            if victim.balance(asset).free < amount:
                return
            victim.balance(asset).free -= amount
        else:
            victim.balance(asset).free += amount
        record_id = f"hist{kind[:3]}{len(self.ledger.wallet):06d}"
        self.ledger.wallet.append(
            WalletRecord(
                kind,
                record_id,
                victim.name,
                asset,
                amount,
                time,
                {
                    "status": 6,
                    "address": address,
                    "network": "ETH",
                    "txId": f"0x{self.rng.getrandbits(128):032x}",
                },
            )
        )

    def _role(self, role: str, required: bool = True) -> Account | None:
        for account in self.ledger.accounts.values():
            if account.role == role:
                return account
        if required:
            raise ScenarioError(f"{self.source}: needs an account with role '{role}'")
        return None

    # --- the market today --------------------------------------------------------------------------
    def _books(self) -> None:
        maker = self._role("market_maker")
        for raw in self.spec["symbols"]:
            symbol = self.ledger.symbols[raw["symbol"]]
            last = self.ledger.last_price(symbol.name) or self.prices[symbol.name][-1]
            levels = 10 if raw["liquid"] else 2
            for level in range(1, levels + 1):
                step = _dec(0.0005 * level) if raw["liquid"] else _dec(0.02 * level)
                size = _q(_dec(self.rng.uniform(200, 2000)) / last, "0.00001")
                for side, price in (("BUY", last * (1 - step)), ("SELL", last * (1 + step))):
                    price = _q(price, "0.01") if last > 10 else _q(price)
                    if side == "SELL":
                        maker.balance(symbol.base).free += size  # the maker is always stocked
                    else:
                        maker.balance(symbol.quote).free += price * size
                    self.ledger.place_order(
                        maker.name, symbol.name, side, "LIMIT", size, price, "GTC", self.now - HOUR_MS * 3
                    )

    def build(self) -> Built:
        self._symbols()
        self._accounts()
        self._keys()
        self._history()
        self._books()
        self.ledger.market_maker = self._role("market_maker").name
        self.ledger.replenished_symbols = {r["symbol"] for r in self.spec["symbols"] if r["liquid"]}
        attack = self.spec.get("attack")
        if attack:
            run_attack(self, attack)
        self.clock = Clock()
        exchange = SandboxExchange(self.ledger, self.keys, self.clock, self.truth)
        return Built(exchange, [k.credentials() for k in self.keys], self.truth)


def build_scenario(name_or_path: str, seed: int | None = None, now_ms: int | None = None) -> Built:
    return ScenarioBuilder(load_spec(name_or_path), now_ms=now_ms, seed=seed).build()


ACCOUNT_SCENARIOS = ("grid-bot", "dca-bot", "market-maker", "scalper", "app-person")


def build_account_scenario(
    account: str, attack: str | None = None, seed: int | None = None, now_ms: int | None = None
) -> Built:
    """A packaged bot account (ACCOUNT_SCENARIOS) robbed by a named attack of attacks.CATALOGUE, or clean."""
    spec = load_spec(account)
    if attack is not None:
        if attack not in CATALOGUE:
            raise ScenarioError(f"no attack {attack!r} in the catalogue ({', '.join(CATALOGUE)})")
        spec["attack"] = copy.deepcopy(CATALOGUE[attack])
        spec["name"] = f"{spec.get('name', account)}+{attack}"
    return ScenarioBuilder(spec, now_ms=now_ms, seed=seed).build()
