"""Order commands and order/fill events.

``OrderIntent`` is a command (what the strategy wants and risk approved); ``OrderUpdated``
is a fact reported by the broker (Alpaca ``trade_updates``). Quantities and prices are
``Decimal``: they cross the broker boundary and land in the ledger.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from decimal import Decimal

from trading_runtime.domain.enums import (
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    TradeEventType,
)


def make_client_order_id(
    session_id: str, symbol: str, timestamp: dt.datetime, side: OrderSide
) -> str:
    """Deterministic id: one order per (session, symbol, minute, side).

    Re-submitting after a crash or a timeout produces the same id, so the broker's
    uniqueness check on ``client_order_id`` turns a duplicate into a rejection instead of a
    second position. At most 48 characters (Alpaca's limit).
    """
    key = f"{session_id}|{symbol}|{timestamp.astimezone(dt.UTC).isoformat()}|{side.value}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return f"tp-{side.value[0]}-{digest}"


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """A command to submit one order."""

    client_order_id: str
    symbol: str
    side: OrderSide
    qty: Decimal
    order_type: OrderType
    time_in_force: TimeInForce
    limit_price: Decimal | None
    created_at: dt.datetime
    reason: str

    def __post_init__(self) -> None:
        if self.qty <= 0:
            raise ValueError(f"order quantity must be positive, got {self.qty}")
        if self.order_type is OrderType.LIMIT and (
            self.limit_price is None or self.limit_price <= 0
        ):
            raise ValueError("a limit order needs a positive limit price")

    @property
    def notional(self) -> Decimal:
        return self.qty * (self.limit_price or Decimal(0))


@dataclass(frozen=True, slots=True)
class OrderSnapshot:
    """The broker's view of an order at one moment."""

    broker_order_id: str
    client_order_id: str
    symbol: str
    side: OrderSide
    order_type: OrderType
    time_in_force: TimeInForce
    qty: Decimal
    limit_price: Decimal | None
    status: OrderStatus
    filled_qty: Decimal
    filled_avg_price: Decimal | None
    submitted_at: dt.datetime
    updated_at: dt.datetime

    @property
    def remaining_qty(self) -> Decimal:
        return self.qty - self.filled_qty


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution. ``execution_id`` is unique per broker."""

    execution_id: str
    broker_order_id: str
    client_order_id: str
    symbol: str
    side: OrderSide
    qty: Decimal
    price: Decimal
    timestamp: dt.datetime
    fee: Decimal = Decimal(0)

    @property
    def signed_qty(self) -> Decimal:
        return self.qty if self.side is OrderSide.BUY else -self.qty


@dataclass(frozen=True, slots=True)
class OrderUpdated:
    """A trade update from the broker: the order's new state and, for fills, the execution."""

    event: TradeEventType
    order: OrderSnapshot
    timestamp: dt.datetime
    fill: Fill | None = None
    position_qty: Decimal | None = None


@dataclass(frozen=True, slots=True)
class OrderRejected:
    """The broker refused a submission (HTTP 4xx); nothing was placed."""

    intent: OrderIntent
    code: int | None
    message: str
    timestamp: dt.datetime
