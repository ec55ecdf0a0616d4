"""Errors the trading core reacts to, independent of any broker SDK.

    BrokerError                    anything that went wrong talking to the broker
    ├── TransientBrokerError       network, timeout, HTTP 429/5xx: retry with backoff
    ├── OrderRejectedError         the broker refused an order (4xx): an event, not a crash
    ├── OrderNotFoundError         no such order
    └── BrokerAuthError            keys refused: configuration, stop trading

Adapters translate their SDK's exceptions into these (``raise ... from error``).
"""

from __future__ import annotations


class BrokerError(Exception):
    """A broker call failed."""


class TransientBrokerError(BrokerError):
    """The call may succeed if retried (network error, timeout, rate limit, server error)."""


class OrderRejectedError(BrokerError):
    """The broker refused the order; nothing was placed."""

    def __init__(self, message: str, code: int | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


class OrderNotFoundError(BrokerError):
    """The broker has no order with that id."""


class BrokerAuthError(BrokerError):
    """The broker refused the credentials."""
