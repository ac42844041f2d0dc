"""Binance calls through ccxt: any base URL, clock sync on -1021, rate limits waited out per Retry-After within
a time budget, Binance-side failures retried with backoff, and errors that never carry a secret.

Errors are classified by what answered, not by ccxt's exception class: ccxt files a bare HTTP 401 from a proxy
under AuthenticationError and a -1001 under OperationFailed, so the HTTP status and the parsed Binance body
{"code": <int>, "msg": <str>} decide here (binance-api.md §1.4, binance-spot-api-docs rest-api.md).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ccxt

from keyguard.exchange.credentials import Credential
from keyguard.model import redact

DEFAULT_BASE_URL = "https://api.binance.com"
WEIGHT_LIMIT = 6000
# binance-api.md §1.5: /api 6,000 a minute per IP, /sapi 12,000 per IP and 180,000 per account
WEIGHT_HEADERS = (
    ("x-mbx-used-weight-1m", WEIGHT_LIMIT),
    ("x-sapi-used-ip-weight-1m", 12_000),
    ("x-sapi-used-uid-weight-1m", 180_000),
)
WEIGHT_HEADROOM = 0.8  # past this share of the minute's weight, wait for the next minute
DEFAULT_WAIT_BUDGET_SECONDS = 300.0
DEFAULT_MAX_RETRIES = 4
REJECTED_CODES = (-2014, -2015)  # BAD_API_KEY_FMT, REJECTED_MBX_KEY
RATE_LIMIT_CODE = -1003
CLOCK_CODE = -1021
# Binance's side (errors.md 10xx): UNKNOWN, DISCONNECTED, UNEXPECTED_RESP, TIMEOUT, SERVER_BUSY
SERVER_SIDE_CODES = (-1000, -1001, -1006, -1007, -1008)
RATE_LIMITED_STATUSES = (418, 429)
REPEATABLE_VERBS = ("get", "delete")
log = logging.getLogger("keyguard.exchange")

_KEY_PARAMETER = re.compile(r"(subAccountApiKey|apiKey)=([A-Za-z0-9]{16,})")  # another key, in a master's URL
_SIGNATURE = re.compile(r"signature=[^&\s\"']+")
_DETAIL_CHARS = 300


class _ScrubFilter(logging.Filter):
    def __init__(self, scrub: Callable[[str], str]) -> None:
        super().__init__()
        self._scrub = scrub

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self._scrub(record.getMessage()), ()
        return True


class ExchangeError(Exception):
    """A Binance answer or failure, with the secret, key and signatures scrubbed from its text.

    kind:
      `rejected`    Binance refused the key: -2014/-2015 in Binance's own error body, nothing else.
      `clock`       -1021 again after syncing with the server clock.
      `unavailable` no verdict from Binance: network errors, timeouts, 5xx and -1000/-1001/-1006/-1007/-1008
                    after the retries, 429/418 past the wait budget, or an answer without Binance's error body
                    (a bare 401/403 from a proxy or firewall).
      `error`       anything else Binance said in its error body (-1022 bad signature, -1102, -2011…), or a
                    request ccxt refused to send.
    code: Binance's error code from the body when there was one; status: the HTTP status when there was one.
    """

    def __init__(self, kind: str, message: str, code: int | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.status = status


@dataclass(frozen=True)
class Answer:
    """One HTTP answer as it came: status, headers and Binance's error code when the body is Binance's."""

    status: int
    headers: dict[str, str]
    code: int | None

    @classmethod
    def parse(cls, status: int, headers: Any, body: str) -> Answer:
        code = binance_error_code(body) if status >= 400 else None
        return cls(status, {str(k).lower(): str(v) for k, v in (headers or {}).items()}, code)

    def retry_after(self) -> float | None:
        try:
            seconds = float(self.headers.get("retry-after", ""))
        except ValueError:
            return None
        return seconds if seconds >= 0 else None


def binance_error_code(body: str | None) -> int | None:
    """The code of a Binance error body {"code": <int>, "msg": <str>}; None for anything else (HTML, empty…)."""
    try:
        parsed = json.loads(body or "")
    except ValueError:
        return None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("msg"), str):
        return None
    code = parsed.get("code")
    return code if isinstance(code, int) and not isinstance(code, bool) else None


class _Binance(ccxt.binance):
    """ccxt's Binance, keeping the last HTTP answer's status (ccxt keeps the body and headers, not the status)."""

    last_answer: Answer | None = None

    def on_rest_response(self, code, reason, url, method, response_headers, response_body, request_headers, body):
        self.last_answer = Answer.parse(code, response_headers, response_body)
        return super().on_rest_response(
            code, reason, url, method, response_headers, response_body, request_headers, body
        )


@dataclass
class _CallState:
    may_repeat: bool
    waited: float = 0.0
    failures: int = 0
    rate_limited: int = 0
    synced: bool = False


@dataclass
class CallStats:
    calls: int = 0  # HTTP attempts
    retries: int = 0  # waits before another attempt (rate limits, backoff, weight headroom)
    waited_seconds: float = 0.0
    rate_limited: int = 0  # 429/418 answers
    last_weight: int = 0


def repeatable(method: str) -> bool:
    """Whether repeating the call after an unknown outcome (5xx, timeout) is harmless: GET and DELETE
    (ccxt's implicit names carry the verb: sapi_get_…, private_delete_…) and ccxt's fetch_* reads."""
    words = method.lower().split("_")
    verb = next((word for word in words if word in ("get", "post", "put", "delete", "patch")), None)
    return verb in REPEATABLE_VERBS if verb else method.startswith("fetch_")


class BinanceClient:
    """The one door to Binance.

    wait_budget_seconds: how long one call may spend waiting (Retry-After of 429/418, backoff after 5xx and
    timeouts) before it fails with kind `unavailable`. max_retries: how many Binance-side failures (5xx,
    -1001…, timeouts, network errors) one call retries; rate-limit waits are bounded by the budget only.
    sleep: how the client waits (tests pass a function that only records).
    """

    def __init__(
        self,
        credential: Credential,
        base_url: str | None = None,
        timeout_seconds: float = 10,
        max_retries: int = DEFAULT_MAX_RETRIES,
        sleep: Callable[[float], None] = time.sleep,
        wait_budget_seconds: float = DEFAULT_WAIT_BUDGET_SECONDS,
    ) -> None:
        self.credential = credential
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.max_retries = max_retries
        self.wait_budget_seconds = wait_budget_seconds
        self.sleep = sleep
        self.stats = CallStats()
        self._exchange = _Binance(
            {
                "logger": self._scrubbed_logger(),  # ccxt's DEBUG log prints request headers, the API key too
                "apiKey": credential.api_key,
                "secret": credential.secret,
                "timeout": int(timeout_seconds * 1000),
                "enableRateLimit": False,  # pacing comes from Binance's own weight headers (see _observe_weight)
                "options": {"fetchMarkets": {"types": ["spot"]}, "fetchMargins": False, "fetchCurrencies": False},
            }
        )
        if self.base_url != DEFAULT_BASE_URL:
            self._exchange.urls["api"] = {
                name: f"{self.base_url}/{url.split('/', 3)[3]}"
                for name, url in self._exchange.urls["api"].items()
                if isinstance(url, str)
            }

    @classmethod
    def public_data(cls, base_url: str | None = None) -> BinanceClient:
        """A client with no key: Binance's public market data (exchange info, klines) needs none."""
        return cls(Credential("", ""), base_url)

    # --- typed calls -----------------------------------------------------------------------------
    def api_restrictions(self) -> dict[str, Any]:
        return self.call("sapi_get_account_apirestrictions")

    def account_status(self) -> dict[str, Any]:
        return self.call("sapi_get_account_status")

    def trading_status(self) -> dict[str, Any]:
        return self.call("sapi_get_account_apitradingstatus")

    def spot_account(self) -> dict[str, Any]:
        return self.call("private_get_account")

    # --- the one way in --------------------------------------------------------------------------
    def call(self, method: str, params: dict[str, Any] | None = None, *, idempotent: bool | None = None) -> Any:
        """One Binance call by ccxt method name. `idempotent` overrides the verb's rule (see `repeatable`)
        for repeating after an unknown outcome (5xx, timeout); 429/418 are always waited out (not run)."""
        state = _CallState(repeatable(method) if idempotent is None else idempotent)
        while True:
            self.stats.calls += 1
            self._exchange.last_answer = None
            try:
                result = getattr(self._exchange, method)(dict(params or {}))
            except ccxt.BaseError as error:
                try:
                    self._recover(method, error, self._exchange.last_answer, state)
                except ExchangeError as classified:
                    raise classified from None  # ccxt's own text names the signed URL
                continue
            self._observe_weight()
            log.debug("%s ok (used weight %s)", method, self.stats.last_weight)
            return result

    def _recover(self, method: str, error: ccxt.BaseError, answer: Answer | None, state: _CallState) -> None:
        """Waits (or syncs the clock) before the next attempt, or raises the classified ExchangeError."""
        status, code = (answer.status, answer.code) if answer else (None, None)
        if answer is not None and (status in RATE_LIMITED_STATUSES or code == RATE_LIMIT_CODE):
            self.stats.rate_limited += 1
            state.rate_limited += 1
            delay = answer.retry_after()
            if delay is None:
                delay = min(2.0**state.rate_limited, 60)
            why = f"rate limited (HTTP {status}, {code}): Binance asks to wait {delay:g} s"
            self._wait_in_budget(method, delay, state, why, error, answer)
            return
        if code in REJECTED_CODES:
            raise self._error("rejected", method, "Binance refuses the key", error, answer)
        if code == CLOCK_CODE:
            if state.synced:
                raise self._error("clock", method, "timestamp refused after a clock sync", error, answer)
            self._sync_clock(method, error)
            state.synced = True
            return
        transient = self._transient(error, answer)
        if transient:
            if not state.may_repeat:
                why = f"{transient}; the outcome is unknown, check it before repeating"
                raise self._error("unavailable", method, why, error, answer)
            if state.failures >= self.max_retries:
                why = f"{transient}, {state.failures + 1} attempts"
                raise self._error("unavailable", method, why, error, answer)
            delay = min(0.5 * 2**state.failures, 30)
            state.failures += 1
            self._wait_in_budget(method, delay, state, f"{transient}; retrying", error, answer)
            return
        if code is not None:
            raise self._error("error", method, f"Binance answered {code}", error, answer)
        if answer is not None:
            why = f"HTTP {status} without Binance's error body: a proxy or firewall answered, not Binance"
            raise self._error("unavailable", method, why, error, answer)
        raise self._error("error", method, "not sent", error, None)

    @staticmethod
    def _transient(error: ccxt.BaseError, answer: Answer | None) -> str | None:
        """Why the failure is Binance's side or the network's (worth another attempt), or None."""
        if answer is None:
            return f"no answer ({type(error).__name__})" if isinstance(error, ccxt.NetworkError) else None
        if answer.code in SERVER_SIDE_CODES:
            return f"Binance-side error {answer.code} (HTTP {answer.status})"
        if answer.status >= 500 or answer.status == 408:
            return f"HTTP {answer.status}" + (f" ({answer.code})" if answer.code is not None else "")
        return None

    def _wait_in_budget(
        self, method: str, seconds: float, state: _CallState, why: str, error: Exception, answer: Answer | None
    ) -> None:
        left = self.wait_budget_seconds - state.waited
        if seconds > left:
            why += (
                f", but only {max(left, 0):.0f} s are left of the {self.wait_budget_seconds:.0f} s wait budget "
                f"(waited {state.waited:.0f} s)"
            )
            raise self._error("unavailable", method, why, error, answer)
        log.warning(
            "%s: %s; waiting %.1f s (%.0f of %.0f s budget used)",
            method,
            why,
            seconds,
            state.waited,
            self.wait_budget_seconds,
        )
        state.waited += seconds
        self._sleep(seconds)

    def _sync_clock(self, method: str, error: Exception) -> None:
        log.info("timestamp rejected (-1021): syncing with the server clock")
        self._exchange.options["adjustForTimeDifference"] = True
        try:
            self._exchange.load_time_difference()
        except ccxt.BaseError as failure:
            why = f"timestamp refused (-1021) and the server time could not be read ({type(failure).__name__})"
            raise self._error("clock", method, why, error, None) from None

    def _observe_weight(self) -> None:
        headers = {k.lower(): v for k, v in (self._exchange.last_response_headers or {}).items()}
        for header, limit in WEIGHT_HEADERS:
            used = headers.get(header, "")
            if not used.isdigit():
                continue
            self.stats.last_weight = int(used)
            if int(used) > limit * WEIGHT_HEADROOM:
                seconds = 60 - time.time() % 60 + 1
                log.info("used weight %s/%s: waiting %.1f s for the next minute", used, limit, seconds)
                self._sleep(seconds)

    def _sleep(self, seconds: float) -> None:
        self.stats.retries += 1
        self.stats.waited_seconds += seconds
        self.sleep(seconds)

    def _error(self, kind: str, method: str, why: str, error: Exception, answer: Answer | None) -> ExchangeError:
        detail = self.scrub(str(error))
        if len(detail) > _DETAIL_CHARS:
            detail = detail[:_DETAIL_CHARS] + "…"
        code = answer.code if answer else None
        return ExchangeError(kind, f"{method}: {why}: {detail}", code, answer.status if answer else None)

    def _scrubbed_logger(self) -> logging.Logger:
        logger = logging.getLogger(f"keyguard.exchange.ccxt.{self.credential.fingerprint[:12]}")
        if not any(isinstance(f, _ScrubFilter) for f in logger.filters):
            logger.addFilter(_ScrubFilter(self.scrub))
        return logger

    def scrub(self, text: str) -> str:
        """The text with the key, the secret (or PEM) and any request signature replaced."""
        for value, shown in (
            (self.credential.secret, "<secret>"),
            (self.credential.api_key, self.credential.redacted_key),
        ):
            if value:
                text = text.replace(value, shown)
        text = _KEY_PARAMETER.sub(lambda m: f"{m.group(1)}={redact(m.group(2).encode())}", text)
        return _SIGNATURE.sub("signature=<redacted>", text)
