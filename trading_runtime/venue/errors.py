"""Refusals of the venue, with Alpaca's HTTP status and ``{"code", "message"}`` body."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

# Alpaca's error codes.
CODE_BAD_REQUEST = 40010001
CODE_UNAUTHORIZED = 40110000
CODE_FORBIDDEN = 40310000
CODE_NOT_FOUND = 40410000
CODE_UNPROCESSABLE = 42210000
CODE_RATE_LIMITED = 42910000
CODE_INTERNAL = 50010000


class OrderRefusedError(Exception):
    """A request the venue refuses: HTTP ``status`` with Alpaca's ``{"code", "message"}``."""

    def __init__(
        self, status: int, code: int, message: str, extra: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = dict(extra or {})

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.extra}


def unprocessable(message: str, code: int = CODE_UNPROCESSABLE) -> OrderRefusedError:
    return OrderRefusedError(422, code, message)


def bad_request(message: str) -> OrderRefusedError:
    return OrderRefusedError(422, CODE_BAD_REQUEST, message)


def not_found(message: str) -> OrderRefusedError:
    return OrderRefusedError(404, CODE_NOT_FOUND, message)


def plain_decimal(value: Decimal) -> str:
    """A Decimal as Alpaca writes numbers: no exponent, no trailing zeros."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"
