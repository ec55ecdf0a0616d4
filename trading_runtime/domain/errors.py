"""Errors the trading core reacts to, independent of any broker SDK.

::

    BrokerError                  anything that went wrong talking to the broker
    ├── TransientBrokerError     network error, timeout, HTTP 429 or 5xx: retry later,
    │                            with backoff and jitter
    ├── OrderRejectedError       the broker refused an order (4xx): nothing was placed; an
    │                            event (``OrderRejected``) that strategy and risk get to see
    ├── OrderNotFoundError       the broker does not know the order (404)
    └── BrokerAuthError          bad keys or a forbidden account: a configuration problem;
                                 stop trading, say why

Adapters translate their SDK's exceptions into these (``raise ... from error``).
"""

from __future__ import annotations


class BrokerError(Exception):
    """A broker call failed. ``status`` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class TransientBrokerError(BrokerError):
    """Temporary failure (network, timeout, rate limit, server error): retry with backoff."""


class OrderRejectedError(BrokerError):
    """The broker refused an order submission; no order was placed."""

    def __init__(self, code: int | None, message: str, *, status: int | None = None) -> None:
        super().__init__(message, status=status, code=code)


class OrderNotFoundError(BrokerError):
    """The broker has no such order."""


class BrokerAuthError(BrokerError):
    """The keys are wrong or the account may not do this: stop and tell the operator."""
