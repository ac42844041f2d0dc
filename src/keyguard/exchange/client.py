"""Binance calls through ccxt: any base URL, clock sync on -1021, waits that honour Retry-After and the weight
headers (so a 418 ban never comes), retries on 5xx and timeouts, and errors that never carry a secret."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from keyguard.exchange.credentials import Credential

DEFAULT_BASE_URL = "https://api.binance.com"
WEIGHT_LIMIT = 6000
# binance-api.md §1.5: /api 6,000 a minute per IP, /sapi 12,000 per IP and 180,000 per account
WEIGHT_HEADERS = (
    ("x-mbx-used-weight-1m", WEIGHT_LIMIT),
    ("x-sapi-used-ip-weight-1m", 12_000),
    ("x-sapi-used-uid-weight-1m", 180_000),
)
REJECTIONS = (-2014, -2015, -1022, -1002)
WEIGHT_HEADROOM = 0.8  # past this share of the minute's weight, wait for the next minute
MAX_WAIT_SECONDS = 120
log = logging.getLogger("keyguard.exchange")

_CODE = re.compile(r'"code"\s*:\s*(-?\d+)')
_SIGNATURE = re.compile(r"signature=[^&\s\"']+")


class _ScrubFilter(logging.Filter):
    def __init__(self, scrub: Callable[[str], str]) -> None:
        super().__init__()
        self._scrub = scrub

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self._scrub(record.getMessage()), ()
        return True


class ExchangeError(Exception):
    """A Binance answer or failure, with the secret, key and signatures scrubbed from its text.

    kind: `rejected` (Binance refused the key: -2014/-2015), `clock`, `unavailable` (network, 5xx,
    timeouts or rate limits that outlasted the retries), `error` (anything else Binance said).
    """

    def __init__(self, kind: str, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code


@dataclass
class CallStats:
    calls: int = 0
    retries: int = 0
    waited_seconds: float = 0.0
    last_weight: int = 0


class BinanceClient:
    def __init__(
        self,
        credential: Credential,
        base_url: str | None = None,
        timeout_seconds: float = 10,
        max_retries: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import ccxt

        self._ccxt_module = ccxt
        self.credential = credential
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.max_retries = max_retries
        self.sleep = sleep
        self.stats = CallStats()
        self._exchange = ccxt.binance(
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
    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        ccxt = self._ccxt_module
        synced = False
        for attempt in range(self.max_retries + 1):
            self.stats.calls += 1
            try:
                result = getattr(self._exchange, method)(params or {})
            except ccxt.InvalidNonce as error:  # -1021: our clock is off; sync once and retry
                if synced:
                    raise self._error("clock", error) from None
                self._sync_clock()
                synced = True
                continue
            except ccxt.DDoSProtection as error:  # 429 (or 418): wait as long as Binance asks
                if self._code(error) in REJECTIONS:  # ccxt sometimes files a refused key under DDoSProtection
                    raise self._error("rejected", error) from None
                self._wait(self._retry_after(attempt), f"rate limited ({self._code(error)})")
                continue
            except (ccxt.ExchangeNotAvailable, ccxt.RequestTimeout, ccxt.NetworkError) as error:
                if attempt == self.max_retries:
                    raise self._error("unavailable", error) from None
                self._wait(min(0.5 * 2**attempt, 8), f"{type(error).__name__}, retrying")
                continue
            except ccxt.AuthenticationError as error:
                raise self._error("rejected", error) from None
            except ccxt.BaseError as error:
                raise self._error("error", error) from None
            self._observe_weight()
            log.debug("%s ok (used weight %s)", method, self.stats.last_weight)
            return result
        raise ExchangeError("unavailable", f"{method}: no answer after {self.max_retries + 1} attempts")

    def _sync_clock(self) -> None:
        log.info("timestamp rejected (-1021): syncing with the server clock")
        self._exchange.options["adjustForTimeDifference"] = True
        self._exchange.load_time_difference()

    def _retry_after(self, attempt: int) -> float:
        headers = {k.lower(): v for k, v in (self._exchange.last_response_headers or {}).items()}
        try:
            return float(headers.get("retry-after", ""))
        except ValueError:
            return min(2.0**attempt, 30)

    def _observe_weight(self) -> None:
        headers = {k.lower(): v for k, v in (self._exchange.last_response_headers or {}).items()}
        for header, limit in WEIGHT_HEADERS:
            used = headers.get(header, "")
            if not used.isdigit():
                continue
            self.stats.last_weight = int(used)
            if int(used) > limit * WEIGHT_HEADROOM:
                self._wait(60 - time.time() % 60 + 1, f"used weight {used}/{limit}: waiting for the next minute")

    def _wait(self, seconds: float, why: str) -> None:
        seconds = max(0.0, min(seconds, MAX_WAIT_SECONDS))
        log.info("%s; waiting %.1f s", why, seconds)
        self.stats.retries += 1
        self.stats.waited_seconds += seconds
        self.sleep(seconds)

    @staticmethod
    def _code(error: Exception) -> int | None:
        match = _CODE.search(str(error))
        return int(match.group(1)) if match else None

    def _error(self, kind: str, error: Exception) -> ExchangeError:
        return ExchangeError(kind, self.scrub(str(error)), self._code(error))

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
        return _SIGNATURE.sub("signature=<redacted>", text)
