"""Orders at the venue: requests (validated for form), the venue's order record, its events,
and ids.

Ids are UUID version 4, as Alpaca's. They are derived from a seed and what they identify
(an order's ``client_order_id``, an execution's order id and number), so two drivers of the
same decisions get the same ids whatever order concurrent submissions arrive in.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import operator
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from trading_runtime.domain.enums import (
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    TradeEventType,
)
from trading_runtime.domain.orders import Fill, OrderIntent, OrderSnapshot, OrderUpdated
from trading_runtime.venue.errors import CODE_BAD_REQUEST, bad_request, unprocessable

MAX_CLIENT_ORDER_ID_LENGTH = 128
MIN_NOTIONAL = Decimal(1)
_FILLED_AVERAGE_QUANTUM = Decimal("0.0001")


def stable_uuid4(*key: object) -> str:
    """A UUID version 4 derived from ``key`` (same key, same id)."""
    digest = hashlib.blake2b(repr(key).encode(), digest_size=16).digest()
    return str(uuid.UUID(bytes=digest, version=4))


def asset_id(symbol: str) -> str:
    """A stable asset id per symbol."""
    return stable_uuid4("asset", symbol)


class IdSource:
    """Order and execution ids (UUID v4), seeded."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._random = random.Random(seed)

    def client_order_id(self) -> str:
        """For orders submitted without one (drawn in submission order)."""
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def order_id(self, client_order_id: str) -> str:
        return stable_uuid4(self.seed, "order", client_order_id)

    def execution_id(self, order_id: str, number: int) -> str:
        return stable_uuid4(self.seed, "execution", order_id, number)


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A submission, validated for form (not yet against the account).

    Exactly one of ``qty`` and ``notional`` (dollars; market DAY orders only) is set.
    """

    symbol: str
    side: OrderSide
    order_type: OrderType
    time_in_force: TimeInForce
    qty: Decimal | None
    limit_price: Decimal | None
    client_order_id: str | None
    notional: Decimal | None = None

    @classmethod
    def from_intent(cls, intent: OrderIntent) -> OrderRequest:
        return cls(
            symbol=intent.symbol,
            side=intent.side,
            order_type=intent.order_type,
            time_in_force=intent.time_in_force,
            qty=intent.qty,
            limit_price=intent.limit_price,
            client_order_id=intent.client_order_id,
        )

    @classmethod
    def from_json(cls, body: Any) -> OrderRequest:
        """Parse Alpaca's ``POST /v2/orders`` body; raises ``OrderRefusedError`` (422)."""
        if not isinstance(body, Mapping):
            raise bad_request("request body must be a JSON object")
        symbol = body.get("symbol")
        if not isinstance(symbol, str) or not symbol.strip():
            raise bad_request("symbol is required")
        if body.get("order_class") not in (None, "", "simple"):
            raise unprocessable(f"order_class {body.get('order_class')!r} is not supported")
        if body.get("extended_hours"):
            raise unprocessable("extended hours orders are not supported")
        side = _enum(OrderSide, body.get("side"), "side")
        order_type = _enum(OrderType, body.get("type", body.get("order_type")), "type")
        time_in_force = _enum(TimeInForce, body.get("time_in_force"), "time_in_force")
        qty = _decimal(body.get("qty"), "qty")
        notional = _decimal(body.get("notional"), "notional")
        if qty is not None and notional is not None:
            raise bad_request("qty and notional are mutually exclusive")
        if notional is not None:
            if order_type is not OrderType.MARKET or time_in_force is not TimeInForce.DAY:
                raise unprocessable("notional orders must be market orders with time_in_force day")
            if notional < MIN_NOTIONAL:
                raise unprocessable(f"notional must be at least {MIN_NOTIONAL}")
        else:
            if qty is None or qty <= 0:
                raise bad_request("qty must be > 0")
            if qty != qty.to_integral_value() and time_in_force is not TimeInForce.DAY:
                raise unprocessable("fractional orders must be DAY orders")
        limit_price = _decimal(body.get("limit_price"), "limit_price")
        _check_limit(order_type, limit_price)
        if body.get("stop_price") is not None:
            raise bad_request("stop_price is not supported")
        return cls(
            symbol=symbol.strip().upper(),
            side=side,
            order_type=order_type,
            time_in_force=time_in_force,
            qty=qty,
            limit_price=limit_price,
            client_order_id=_client_order_id(body.get("client_order_id")),
            notional=notional,
        )


@dataclass(frozen=True, slots=True)
class ReplaceRequest:
    """``PATCH /v2/orders/{id}``: each field given overrides the replaced order's."""

    qty: Decimal | None = None
    limit_price: Decimal | None = None
    time_in_force: TimeInForce | None = None
    client_order_id: str | None = None

    @classmethod
    def from_json(cls, body: Any) -> ReplaceRequest:
        if not isinstance(body, Mapping):
            raise bad_request("request body must be a JSON object")
        for unsupported in ("stop_price", "trail"):
            if body.get(unsupported) is not None:
                raise bad_request(f"{unsupported} is not supported")
        qty = _decimal(body.get("qty"), "qty")
        if qty is not None and (qty <= 0 or qty != qty.to_integral_value()):
            raise bad_request("qty must be a positive whole number of shares")
        limit_price = _decimal(body.get("limit_price"), "limit_price")
        if limit_price is not None and limit_price <= 0:
            raise bad_request("limit_price must be positive")
        raw_tif = body.get("time_in_force")
        time_in_force = _enum(TimeInForce, raw_tif, "time_in_force") if raw_tif else None
        return cls(qty, limit_price, time_in_force, _client_order_id(body.get("client_order_id")))


def _check_limit(order_type: OrderType, limit_price: Decimal | None) -> None:
    if order_type is OrderType.LIMIT:
        if limit_price is None or limit_price <= 0:
            raise bad_request("limit orders require a positive limit_price")
    elif limit_price is not None:
        raise bad_request("market orders must not have a limit_price")


def _client_order_id(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise bad_request("client_order_id must be a non-empty string")
    if len(value) > MAX_CLIENT_ORDER_ID_LENGTH:
        raise bad_request(
            f"client_order_id must be no more than {MAX_CLIENT_ORDER_ID_LENGTH} characters"
        )
    return value


def _enum(kind: Any, value: Any, name: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise unprocessable(f"invalid {name}: {value!r}", CODE_BAD_REQUEST) from None


def _decimal(value: Any, name: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise bad_request(f"invalid {name}: {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise bad_request(f"invalid {name}: {value!r}") from None
    if not number.is_finite():
        raise bad_request(f"invalid {name}: {value!r}")
    return number


@dataclass(slots=True)
class VenueOrder:
    """The venue's mutable record of one order (events carry copies).

    ``notional`` orders have no ``qty`` until their first execution fixes it (dollars / price).
    ``arrival`` is the instant the order reaches the market: ``created_at`` (strictly
    increasing across orders) plus nothing; executions happen ``latency`` later.
    """

    id: str
    client_order_id: str
    symbol: str
    side: OrderSide
    order_type: OrderType
    time_in_force: TimeInForce
    qty: Decimal | None
    limit_price: Decimal | None
    status: OrderStatus
    created_at: dt.datetime
    updated_at: dt.datetime
    expires_at: dt.datetime | None
    reserve_price: Decimal
    notional: Decimal | None = None
    filled_qty: Decimal = Decimal(0)
    filled_notional: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    executions: int = 0
    filled_at: dt.datetime | None = None
    canceled_at: dt.datetime | None = None
    expired_at: dt.datetime | None = None
    failed_at: dt.datetime | None = None
    replaced_at: dt.datetime | None = None
    replaced_by: str | None = None
    replaces: str | None = None
    met_market: bool = False
    reject_on_arrival: bool = False

    @property
    def remaining_qty(self) -> Decimal:
        return (self.qty if self.qty is not None else Decimal(0)) - self.filled_qty

    @property
    def reserved(self) -> Decimal:
        """Buying power this order holds while open (buys only)."""
        if self.side is not OrderSide.BUY or not self.is_open:
            return Decimal(0)
        if self.qty is None:
            return self.notional or Decimal(0)
        return self.remaining_qty * self.reserve_price

    @property
    def is_open(self) -> bool:
        return not self.status.is_terminal

    @property
    def filled_avg_price(self) -> Decimal | None:
        if self.filled_qty <= 0:
            return None
        return (self.filled_notional / self.filled_qty).quantize(
            _FILLED_AVERAGE_QUANTUM, ROUND_HALF_EVEN
        )

    def __copy__(self) -> VenueOrder:
        """A shallow copy, field by field (``copy.copy`` of a slotted dataclass otherwise
        goes through pickling's state protocol, several times slower)."""
        return VenueOrder(*_venue_order_fields(self))

    def snapshot(self) -> OrderSnapshot:
        return OrderSnapshot(
            broker_order_id=self.id,
            client_order_id=self.client_order_id,
            symbol=self.symbol,
            side=self.side,
            order_type=self.order_type,
            time_in_force=self.time_in_force,
            qty=self.qty if self.qty is not None else Decimal(0),
            limit_price=self.limit_price,
            status=self.status,
            filled_qty=self.filled_qty,
            filled_avg_price=self.filled_avg_price,
            submitted_at=self.created_at,
            updated_at=self.updated_at,
        )


_venue_order_fields = operator.attrgetter(*(f.name for f in fields(VenueOrder)))


@dataclass(frozen=True, slots=True)
class TradeUpdateEvent:
    """One ``trade_updates`` message; ``order`` is a copy taken when it happened.

    Executions carry ``execution_id``, ``price``, ``qty``, ``fee`` (dollars; Alpaca's stream
    does not send fees, the backtest books them) and ``reference_price`` (the price before
    costs, see :class:`~trading_runtime.venue.fills.Execution`).
    """

    event: TradeEventType
    order: VenueOrder
    timestamp: dt.datetime
    execution_id: str | None = None
    price: Decimal | None = None
    qty: Decimal | None = None
    fee: Decimal = Decimal(0)
    position_qty: Decimal | None = None
    reference_price: Decimal | None = None

    @classmethod
    def of(
        cls, event: TradeEventType, order: VenueOrder, timestamp: dt.datetime, **fields: Any
    ) -> TradeUpdateEvent:
        return cls(event, copy.copy(order), timestamp, **fields)

    def to_domain(self) -> OrderUpdated:
        """The domain's ``OrderUpdated``, as the engine gets it from the trade stream."""
        fill = None
        if self.execution_id is not None and self.price is not None and self.qty is not None:
            fill = Fill(
                execution_id=self.execution_id,
                broker_order_id=self.order.id,
                client_order_id=self.order.client_order_id,
                symbol=self.order.symbol,
                side=self.order.side,
                qty=self.qty,
                price=self.price,
                timestamp=self.timestamp,
                fee=self.fee,
            )
        return OrderUpdated(
            event=self.event,
            order=self.order.snapshot(),
            timestamp=self.timestamp,
            fill=fill,
            position_qty=self.position_qty,
        )
