"""What every sandbox request goes through: parameters, rate limits, key, timestamp, signature, IP.

The order of checks follows binance-api.md §1.4: key header missing or malformed (-2014), unknown key
(-2015), missing mandatory parameters (-1102), timestamp (-1021), signature (-1022), IP or permission (-2015).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, unquote

from keyguard.sandbox import errors
from keyguard.sandbox.errors import BinanceError
from keyguard.sandbox.keys import SandboxKey

API_KEY_FORMAT = re.compile(r"[A-Za-z0-9]{64}")
MAX_BODY_BYTES = 64 * 1024
DEFAULT_RECV_WINDOW = 5000
MAX_RECV_WINDOW = 60000

NONE, MARKET_DATA, USER_STREAM, SIGNED = "NONE", "MARKET_DATA", "USER_STREAM", "SIGNED"


@dataclass
class Call:
    """One authenticated request as the endpoint handlers see it."""

    params: dict[str, str]
    ip: str
    now: int
    key: SandboxKey | None = None

    def get(self, name: str, default: str | None = None) -> str | None:
        value = self.params.get(name)
        return default if value in (None, "") else value

    def required(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise errors.mandatory(name)
        return value

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.get(name)
        if value is None:
            return default
        if not re.fullmatch(r"-?[0-9]{1,20}", value):
            raise errors.illegal_value(name)
        return int(value)

    def decimal(self, name: str) -> Decimal | None:
        value = self.get(name)
        if value is None:
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise errors.mandatory(name) from None
        if not number.is_finite() or number <= 0:
            raise errors.mandatory(name)
        return number

    def flag(self, name: str) -> bool:
        return (self.get(name) or "").lower() == "true"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    security: str
    weight: int
    handler: Callable[[Call], Any]
    permission: str | None = None  # apiRestrictions field the key must have
    uid_weight: int = 0  # /sapi endpoints weighted per account
    required: tuple[str, ...] = ()

    @property
    def family(self) -> str:
        return self.path.split("/")[1]


def parse_params(raw_query: bytes, body: bytes, content_type: str) -> dict[str, str]:
    """Query-string and form-body parameters; a parameter in both takes the query string's value."""
    if len(body) > MAX_BODY_BYTES:
        raise BinanceError(-1000, "Request body too large.", 413)
    params: dict[str, str] = {}
    sources = [raw_query.decode("latin-1")]
    if body and "json" not in content_type:
        sources.insert(0, body.decode("latin-1"))
    for index, source in enumerate(sources):
        seen: set[str] = set()
        for name, value in parse_qsl(source, keep_blank_values=True):
            if name in seen:
                raise errors.duplicate_parameter()
            seen.add(name)
            if index == len(sources) - 1 or name not in params:
                params[name] = value
    return params


def signature_payload(raw_query: bytes, body: bytes) -> tuple[bytes, str | None]:
    """The signed bytes (query then body, the signature parameter left out) and the signature sent."""
    signature = None
    parts = []
    for source in (raw_query, body):
        kept = []
        for item in source.split(b"&") if source else []:
            if item.startswith(b"signature="):
                signature = unquote(item[len(b"signature=") :].decode("latin-1"))
            else:
                kept.append(item)
        parts.append(b"&".join(kept))
    return b"".join(parts), signature


def authenticate(
    endpoint: Endpoint,
    call: Call,
    api_key_header: str | None,
    keys: dict[str, SandboxKey],
    payload: bytes,
    signature: str | None,
    account_disabled: Callable[[SandboxKey], bool],
) -> SandboxKey | None:
    if endpoint.security == NONE:
        for name in endpoint.required:
            call.required(name)
        return None
    if not api_key_header or not API_KEY_FORMAT.fullmatch(api_key_header):
        raise errors.bad_api_key_format()
    key = keys.get(api_key_header)
    if key is None or key.deleted or account_disabled(key):
        raise errors.rejected_key()
    if endpoint.security == SIGNED:
        for name in ("timestamp", "signature", *endpoint.required):
            call.required(name)
        check_timestamp(call)
        if signature is None or not key.verify(payload, signature):
            raise errors.invalid_signature()
    else:
        for name in endpoint.required:
            call.required(name)
    if not key.ip_allowed(call.ip) or (endpoint.permission and not key.allows(endpoint.permission)):
        raise errors.rejected_key()
    return key


def check_timestamp(call: Call) -> None:
    timestamp = call.integer("timestamp")
    assert timestamp is not None
    if timestamp > 10**14:  # microseconds are accepted too
        timestamp //= 1000
    window_text = call.get("recvWindow")
    try:
        recv_window = Decimal(window_text) if window_text is not None else Decimal(DEFAULT_RECV_WINDOW)
    except InvalidOperation:
        raise errors.mandatory("recvWindow") from None
    if recv_window > MAX_RECV_WINDOW:
        raise BinanceError(-1131, "recvWindow must be less than 60000", 400)
    if timestamp >= call.now + 1000:
        raise errors.ahead_of_server()
    if call.now - timestamp > recv_window:
        raise errors.outside_recv_window()
