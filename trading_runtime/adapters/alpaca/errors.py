"""Translation of alpaca-py and ``requests`` failures into the domain's broker errors
(``trading_runtime.domain.errors``), and what the caller does about each.

::

    BrokerError                  anything the adapter raises about the broker
    ├── TransientBrokerError     network error, timeout, HTTP 429 or 5xx (after alpaca-py's
    │                            own 429/504 retries): retry later, with backoff and jitter
    ├── OrderRejectedError       HTTP 4xx on submit: nothing was placed; an event
    │                            (``OrderRejected``) that strategy and risk get to see
    ├── OrderNotFoundError       the broker does not know the order (404)
    └── BrokerAuthError          bad keys or a forbidden account (401, or 403 outside a
                                 submission): a configuration problem; stop trading, say why

Third-party exceptions (``alpaca.common.exceptions.APIError``, ``requests`` errors) are
translated here and re-raised ``from`` the original, so the cause stays in the traceback.
"""

from __future__ import annotations

import json

import requests
from alpaca.common.exceptions import APIError

from trading_runtime.domain.errors import (
    BrokerAuthError,
    BrokerError,
    OrderNotFoundError,
    OrderRejectedError,
    TransientBrokerError,
)

__all__ = [
    "BrokerAuthError",
    "BrokerError",
    "OrderNotFoundError",
    "OrderRejectedError",
    "TransientBrokerError",
    "translate_error",
]

UNAUTHORIZED_CODE = 40110000


def _error_body(error: APIError) -> tuple[int | None, str]:
    text = str(error)
    try:
        body = json.loads(text)
    except ValueError:
        return None, text
    if not isinstance(body, dict):
        return None, text
    code = body.get("code")
    message = body.get("message", text)
    return (code if isinstance(code, int) else None), str(message)


def translate_error(error: Exception, *, submitting: bool = False) -> BrokerError:
    """Our error for an alpaca-py or ``requests`` exception.

    ``submitting``: the call was an order submission, where a 4xx is a rejection.
    """
    if isinstance(error, BrokerError):
        return error
    if isinstance(error, requests.Timeout):
        return TransientBrokerError(f"broker request timed out: {error}")
    if isinstance(error, requests.RequestException):
        return TransientBrokerError(f"broker request failed: {error}")
    if isinstance(error, APIError):
        status = error.status_code
        code, message = _error_body(error)
        if status is None:
            return BrokerError(message, code=code)
        if status == 401 or code == UNAUTHORIZED_CODE:
            return BrokerAuthError(message, status=status, code=code)
        if status == 429 or status >= 500:
            return TransientBrokerError(message, status=status, code=code)
        if submitting and 400 <= status < 500:
            return OrderRejectedError(code, message, status=status)
        if status == 404:
            return OrderNotFoundError(message, status=status, code=code)
        if status == 403:
            return BrokerAuthError(message, status=status, code=code)
        return BrokerError(message, status=status, code=code)
    raise TypeError(f"not a broker error: {error!r}") from error
