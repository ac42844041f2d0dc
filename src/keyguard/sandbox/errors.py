"""Binance's error shape {"code": <negative int>, "msg": "..."} and HTTP statuses (binance-api.md §1.4);
and the error of a malformed scenario."""

from __future__ import annotations


class BinanceError(Exception):
    def __init__(self, code: int, msg: str, status: int = 400, headers: dict[str, str] | None = None) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.status = status
        self.headers = headers or {}

    def body(self) -> dict:
        return {"code": self.code, "msg": self.msg}


def bad_api_key_format() -> BinanceError:
    return BinanceError(-2014, "API-key format invalid.", 401)


def rejected_key() -> BinanceError:
    return BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)


def invalid_signature() -> BinanceError:
    return BinanceError(-1022, "Signature for this request is not valid.", 400)


def outside_recv_window() -> BinanceError:
    return BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.", 400)


def ahead_of_server() -> BinanceError:
    return BinanceError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.", 400)


def mandatory(name: str) -> BinanceError:
    return BinanceError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.", 400)


def bad_symbol() -> BinanceError:
    return BinanceError(-1121, "Invalid symbol.", 400)


def too_many_hours(hours: int) -> BinanceError:
    return BinanceError(-1127, f"More than {hours} hours between startTime and endTime.", 400)


def unknown_order() -> BinanceError:
    return BinanceError(-2011, "Unknown order sent.", 400)


def order_rejected(msg: str) -> BinanceError:
    return BinanceError(-2010, msg, 400)


def duplicate_parameter() -> BinanceError:
    return BinanceError(-1101, "Duplicate values for a parameter detected.", 400)


def illegal_value(name: str) -> BinanceError:
    return BinanceError(
        -1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'.", 400
    )


class ScenarioError(ValueError):
    """A scenario file is malformed; the message names the line and field."""
