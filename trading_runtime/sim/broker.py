"""The emulated brokerage account: orders, executions, positions and cash, in exact Decimals.

A pure state machine: no I/O and no clock (every method takes ``now``). Each method returns
the trade updates it produced; the server publishes them on the trading stream.

Rules, as Alpaca applies them to a cash account (multiplier 1, no shorting):

* Submission checks, in order: well-formed request, known symbol, injected rejection,
  unique ``client_order_id``, price increments (no sub-penny limits), wash trades (no order
  that could execute against an open opposite-side order), then buying power for buys and
  available quantity for sells. Refusals raise :class:`OrderRefusedError` with Alpaca's HTTP
  status and ``{"code", "message"}`` body.
* ``buying_power = cash - reserved``: each open buy reserves its remaining quantity at its
  limit price (market buys: at the reference price moved by the fill model's slippage).
* An accepted order is ``new`` at once. It meets the market in the next bar of its symbol
  (``first_bar=True``), where :func:`~trading_runtime.sim.fill_model.match_order` decides;
  IOC remainders are canceled, DAY/GTC orders keep working, DAY orders expire after the
  session's last bar.
* Positions are marked to the last published close (before any, to the average entry).
"""

from __future__ import annotations

import copy
import datetime as dt
import random
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from trading_runtime.domain.bars import Bar
from trading_runtime.domain.enums import (
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    TradeEventType,
)
from trading_runtime.sim.fill_model import BASIS_POINT, FillModelConfig, match_order

# Alpaca's error codes.
CODE_BAD_REQUEST = 40010001
CODE_UNAUTHORIZED = 40110000
CODE_FORBIDDEN = 40310000
CODE_NOT_FOUND = 40410000
CODE_UNPROCESSABLE = 42210000
CODE_RATE_LIMITED = 42910000
CODE_INTERNAL = 50010000

MAX_CLIENT_ORDER_ID_LENGTH = 128
_AVERAGE_QUANTUM = Decimal("0.000001")
_FILLED_AVERAGE_QUANTUM = Decimal("0.0001")


class OrderRefusedError(Exception):
    """A request the broker refuses: HTTP ``status`` with Alpaca's ``{"code", "message"}``."""

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


def _unprocessable(message: str, code: int = CODE_UNPROCESSABLE) -> OrderRefusedError:
    return OrderRefusedError(422, code, message)


class IdSource:
    """Order and execution ids: UUID4-shaped, drawn from a seeded generator."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def next_uuid(self) -> str:
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))


def asset_id(symbol: str) -> str:
    """A stable asset id per symbol."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"trading-runtime-emulator/asset/{symbol}"))


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A submission, validated for form (not yet against the account)."""

    symbol: str
    side: OrderSide
    order_type: OrderType
    time_in_force: TimeInForce
    qty: Decimal
    limit_price: Decimal | None
    client_order_id: str | None

    @classmethod
    def from_json(cls, body: Any) -> OrderRequest:
        """Parse Alpaca's ``POST /v2/orders`` body; raises :class:`OrderRefusedError` (422)."""
        if not isinstance(body, Mapping):
            raise _unprocessable("request body must be a JSON object", CODE_BAD_REQUEST)
        symbol = body.get("symbol")
        if not isinstance(symbol, str) or not symbol.strip():
            raise _unprocessable("symbol is required", CODE_BAD_REQUEST)
        if body.get("notional") is not None:
            raise _unprocessable("notional orders are not supported; send qty")
        if body.get("order_class") not in (None, "", "simple"):
            raise _unprocessable(f"order_class {body.get('order_class')!r} is not supported")
        if body.get("extended_hours"):
            raise _unprocessable("extended hours orders are not supported")
        side = _enum(OrderSide, body.get("side"), "side")
        order_type = _enum(OrderType, body.get("type", body.get("order_type")), "type")
        time_in_force = _enum(TimeInForce, body.get("time_in_force"), "time_in_force")
        qty = _decimal(body.get("qty"), "qty")
        if qty is None or qty <= 0:
            raise _unprocessable("qty must be > 0", CODE_BAD_REQUEST)
        if qty != qty.to_integral_value() and time_in_force is not TimeInForce.DAY:
            raise _unprocessable("fractional orders must be DAY orders")
        limit_price = _decimal(body.get("limit_price"), "limit_price")
        if order_type is OrderType.LIMIT:
            if limit_price is None or limit_price <= 0:
                raise _unprocessable(
                    "limit orders require a positive limit_price", CODE_BAD_REQUEST
                )
        elif limit_price is not None:
            raise _unprocessable("market orders must not have a limit_price", CODE_BAD_REQUEST)
        if body.get("stop_price") is not None:
            raise _unprocessable("stop_price is not supported", CODE_BAD_REQUEST)
        client_order_id = body.get("client_order_id")
        if client_order_id is not None:
            if not isinstance(client_order_id, str) or not client_order_id:
                raise _unprocessable("client_order_id must be a non-empty string", CODE_BAD_REQUEST)
            if len(client_order_id) > MAX_CLIENT_ORDER_ID_LENGTH:
                raise _unprocessable(
                    f"client_order_id must be no more than {MAX_CLIENT_ORDER_ID_LENGTH} characters",
                    CODE_BAD_REQUEST,
                )
        return cls(
            symbol=symbol.strip().upper(),
            side=side,
            order_type=order_type,
            time_in_force=time_in_force,
            qty=qty,
            limit_price=limit_price,
            client_order_id=client_order_id,
        )


def _enum(kind: Any, value: Any, name: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise _unprocessable(f"invalid {name}: {value!r}", CODE_BAD_REQUEST) from None


def _decimal(value: Any, name: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _unprocessable(f"invalid {name}: {value!r}", CODE_BAD_REQUEST)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise _unprocessable(f"invalid {name}: {value!r}", CODE_BAD_REQUEST) from None
    if not number.is_finite():
        raise _unprocessable(f"invalid {name}: {value!r}", CODE_BAD_REQUEST)
    return number


@dataclass(slots=True)
class SimOrder:
    """The broker's mutable record of one order (trade updates carry copies)."""

    id: str
    client_order_id: str
    symbol: str
    side: OrderSide
    order_type: OrderType
    time_in_force: TimeInForce
    qty: Decimal
    limit_price: Decimal | None
    status: OrderStatus
    created_at: dt.datetime
    updated_at: dt.datetime
    expires_at: dt.datetime | None
    reserve_price: Decimal
    filled_qty: Decimal = Decimal(0)
    filled_notional: Decimal = Decimal(0)
    filled_at: dt.datetime | None = None
    canceled_at: dt.datetime | None = None
    expired_at: dt.datetime | None = None
    failed_at: dt.datetime | None = None
    met_market: bool = False
    reject_on_arrival: bool = False

    @property
    def remaining_qty(self) -> Decimal:
        return self.qty - self.filled_qty

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


@dataclass(frozen=True, slots=True)
class TradeUpdateEvent:
    """One ``trade_updates`` message; ``order`` is a copy taken when it happened."""

    event: TradeEventType
    order: SimOrder
    timestamp: dt.datetime
    execution_id: str | None = None
    price: Decimal | None = None
    qty: Decimal | None = None
    position_qty: Decimal | None = None


@dataclass(slots=True)
class SimPosition:
    symbol: str
    qty: Decimal
    avg_entry_price: Decimal

    @property
    def cost_basis(self) -> Decimal:
        return self.qty * self.avg_entry_price


@dataclass(slots=True)
class _Book:
    orders: dict[str, SimOrder] = field(default_factory=dict)
    by_client_id: dict[str, SimOrder] = field(default_factory=dict)
    positions: dict[str, SimPosition] = field(default_factory=dict)


class SimBroker:
    """Cash account at the emulated broker. Not thread-safe: the server uses it from one loop."""

    def __init__(
        self,
        *,
        starting_cash: Decimal,
        symbols: Iterable[str],
        fill_model: FillModelConfig,
        ids: IdSource,
        reject_symbols: frozenset[str] = frozenset(),
        reject_after_accept_symbols: frozenset[str] = frozenset(),
    ) -> None:
        self.starting_cash = starting_cash
        self.cash = starting_cash
        self.symbols = frozenset(symbols)
        self.fill_model = fill_model
        self.ids = ids
        self.reject_symbols = reject_symbols
        self.reject_after_accept_symbols = reject_after_accept_symbols
        self._book = _Book()
        self._marks: dict[str, Decimal] = {}
        self._reference_prices: dict[str, Decimal] = {}

    # --- market prices ------------------------------------------------------------------------
    def set_reference_prices(self, prices: Mapping[str, Decimal]) -> None:
        """Prices used to reserve buying power for market buys before any close is published."""
        self._reference_prices.update(prices)

    def mark(self, closes: Mapping[str, Decimal]) -> None:
        """Mark positions to the closes of the bars just published."""
        self._marks.update(closes)

    def reference_price(self, symbol: str) -> Decimal | None:
        return self._marks.get(symbol, self._reference_prices.get(symbol))

    def mark_price(self, symbol: str) -> Decimal | None:
        return self._marks.get(symbol)

    # --- queries ------------------------------------------------------------------------------
    def get_order(self, order_id: str) -> SimOrder | None:
        return self._book.orders.get(order_id)

    def get_order_by_client_id(self, client_order_id: str) -> SimOrder | None:
        return self._book.by_client_id.get(client_order_id)

    def orders(self) -> list[SimOrder]:
        return list(self._book.orders.values())

    def open_orders(self) -> list[SimOrder]:
        return [order for order in self._book.orders.values() if order.is_open]

    def positions(self) -> list[SimPosition]:
        return sorted(self._book.positions.values(), key=lambda position: position.symbol)

    def position(self, symbol: str) -> SimPosition | None:
        return self._book.positions.get(symbol)

    def reserved_buying_power(self) -> Decimal:
        return sum(
            (
                o.remaining_qty * o.reserve_price
                for o in self.open_orders()
                if o.side is OrderSide.BUY
            ),
            Decimal(0),
        )

    def buying_power(self) -> Decimal:
        return max(self.cash - self.reserved_buying_power(), Decimal(0))

    def position_value(self, position: SimPosition) -> Decimal:
        mark = self._marks.get(position.symbol, position.avg_entry_price)
        return position.qty * mark

    def long_market_value(self) -> Decimal:
        return sum((self.position_value(p) for p in self._book.positions.values()), Decimal(0))

    def equity(self) -> Decimal:
        return self.cash + self.long_market_value()

    def held_for_sells(self, symbol: str) -> Decimal:
        return sum(
            (
                o.remaining_qty
                for o in self.open_orders()
                if o.symbol == symbol and o.side is OrderSide.SELL
            ),
            Decimal(0),
        )

    # --- commands -----------------------------------------------------------------------------
    def submit(
        self, request: OrderRequest, *, now: dt.datetime, expires_at: dt.datetime | None
    ) -> tuple[SimOrder, list[TradeUpdateEvent]]:
        """Accept an order (``new``) or raise :class:`OrderRefusedError`."""
        symbol = request.symbol
        if symbol not in self.symbols:
            raise _unprocessable(f'asset "{symbol}" not found')
        if symbol in self.reject_symbols:
            raise _unprocessable(f"order rejected: trading in {symbol} is halted (injected)")
        client_order_id = request.client_order_id or self.ids.next_uuid()
        if client_order_id in self._book.by_client_id:
            raise _unprocessable("client_order_id must be unique", CODE_BAD_REQUEST)
        if request.limit_price is not None:
            self._check_price_increment(request.limit_price)
        self._check_wash_trade(request)
        reserve_price = self._reserve_price(request)
        if request.side is OrderSide.BUY:
            cost = request.qty * reserve_price
            buying_power = self.buying_power()
            if cost > buying_power:
                raise OrderRefusedError(
                    403,
                    CODE_FORBIDDEN,
                    "insufficient buying power",
                    {
                        "buying_power": plain_decimal(buying_power),
                        "cost_basis": plain_decimal(cost),
                    },
                )
        else:
            position = self._book.positions.get(symbol)
            existing = position.qty if position else Decimal(0)
            held = self.held_for_sells(symbol)
            available = existing - held
            if request.qty > available:
                requested_text, available_text = (
                    plain_decimal(request.qty),
                    plain_decimal(available),
                )
                raise OrderRefusedError(
                    403,
                    CODE_FORBIDDEN,
                    "insufficient qty available for order "
                    f"(requested: {requested_text}, available: {available_text})",
                    {
                        "symbol": symbol,
                        "existing_qty": plain_decimal(existing),
                        "held_for_orders": plain_decimal(held),
                        "available": plain_decimal(available),
                    },
                )
        order = SimOrder(
            id=self.ids.next_uuid(),
            client_order_id=client_order_id,
            symbol=symbol,
            side=request.side,
            order_type=request.order_type,
            time_in_force=request.time_in_force,
            qty=request.qty,
            limit_price=request.limit_price,
            status=OrderStatus.NEW,
            created_at=now,
            updated_at=now,
            expires_at=expires_at if request.time_in_force is TimeInForce.DAY else None,
            reserve_price=reserve_price,
            reject_on_arrival=symbol in self.reject_after_accept_symbols,
        )
        self._book.orders[order.id] = order
        self._book.by_client_id[order.client_order_id] = order
        return order, [self._event(TradeEventType.NEW, order, now)]

    def cancel(self, order_id: str, *, now: dt.datetime) -> list[TradeUpdateEvent]:
        """Cancel an open order; 404 when unknown, 422 when no longer cancelable."""
        order = self._book.orders.get(order_id)
        if order is None:
            raise OrderRefusedError(404, CODE_NOT_FOUND, "order not found")
        if not order.is_open:
            raise _unprocessable("order is not cancelable")
        order.status = OrderStatus.CANCELED
        order.canceled_at = now
        order.updated_at = now
        return [self._event(TradeEventType.CANCELED, order, now)]

    def cancel_all(self, *, now: dt.datetime) -> tuple[list[SimOrder], list[TradeUpdateEvent]]:
        canceled: list[SimOrder] = []
        events: list[TradeUpdateEvent] = []
        for order in self.open_orders():
            events.extend(self.cancel(order.id, now=now))
            canceled.append(order)
        return canceled, events

    def close_position(
        self,
        symbol: str,
        *,
        now: dt.datetime,
        expires_at: dt.datetime | None,
        qty: Decimal | None = None,
    ) -> tuple[SimOrder, list[TradeUpdateEvent]]:
        """Submit a market DAY sell for the position (or ``qty`` of it); 404 when flat."""
        position = self._book.positions.get(symbol)
        if position is None:
            raise OrderRefusedError(404, CODE_NOT_FOUND, "position does not exist")
        request = OrderRequest(
            symbol=symbol,
            side=OrderSide.SELL,
            order_type=OrderType.MARKET,
            time_in_force=TimeInForce.DAY,
            qty=qty if qty is not None else position.qty,
            limit_price=None,
            client_order_id=None,
        )
        return self.submit(request, now=now, expires_at=expires_at)

    def match(self, bars: Mapping[str, Bar], *, now: dt.datetime) -> list[TradeUpdateEvent]:
        """Match every working order against its symbol's bar of this minute."""
        events: list[TradeUpdateEvent] = []
        for order in self.open_orders():
            bar = bars.get(order.symbol)
            if bar is None or bar.problems():
                continue
            first_bar = not order.met_market
            order.met_market = True
            if first_bar and order.reject_on_arrival:
                order.status = OrderStatus.REJECTED
                order.failed_at = now
                order.updated_at = now
                events.append(self._event(TradeEventType.REJECTED, order, now))
                continue
            result = match_order(
                side=order.side,
                order_type=order.order_type,
                time_in_force=order.time_in_force,
                remaining_qty=order.remaining_qty,
                limit_price=order.limit_price,
                bar=bar,
                first_bar=first_bar,
                config=self.fill_model,
            )
            if result.execution is not None:
                events.append(
                    self._execute(
                        order,
                        result.execution.qty,
                        result.execution.price,
                        result.execution.fee,
                        now,
                    )
                )
            if result.finished and order.is_open:
                order.status = OrderStatus.CANCELED
                order.canceled_at = now
                order.updated_at = now
                events.append(self._event(TradeEventType.CANCELED, order, now))
        return events

    def expire_day_orders(self, *, now: dt.datetime) -> list[TradeUpdateEvent]:
        """The session is over: DAY orders still working expire."""
        events = []
        for order in self.open_orders():
            if order.time_in_force is TimeInForce.DAY:
                order.status = OrderStatus.EXPIRED
                order.expired_at = now
                order.updated_at = now
                events.append(self._event(TradeEventType.EXPIRED, order, now))
        return events

    # --- internals ----------------------------------------------------------------------------
    def _execute(
        self, order: SimOrder, qty: Decimal, price: Decimal, fee: Decimal, now: dt.datetime
    ) -> TradeUpdateEvent:
        position = self._book.positions.get(order.symbol)
        if order.side is OrderSide.BUY:
            self.cash -= qty * price + fee
            if position is None:
                position = SimPosition(order.symbol, qty, price)
                self._book.positions[order.symbol] = position
            else:
                total = position.qty + qty
                average = (position.qty * position.avg_entry_price + qty * price) / total
                position.avg_entry_price = average.quantize(_AVERAGE_QUANTUM, ROUND_HALF_EVEN)
                position.qty = total
        else:
            if position is None or position.qty < qty:
                raise AssertionError(
                    f"sell of {qty} {order.symbol} exceeds the position: checked on submit"
                )
            self.cash += qty * price - fee
            position.qty -= qty
            if position.qty == 0:
                del self._book.positions[order.symbol]
        order.filled_qty += qty
        order.filled_notional += qty * price
        order.updated_at = now
        remaining = order.remaining_qty
        if remaining == 0:
            order.status = OrderStatus.FILLED
            order.filled_at = now
            event_type = TradeEventType.FILL
        else:
            order.status = OrderStatus.PARTIALLY_FILLED
            event_type = TradeEventType.PARTIAL_FILL
        position_after = self._book.positions.get(order.symbol)
        return TradeUpdateEvent(
            event=event_type,
            order=copy.copy(order),
            timestamp=now,
            execution_id=self.ids.next_uuid(),
            price=price,
            qty=qty,
            position_qty=position_after.qty if position_after else Decimal(0),
        )

    def _event(self, event: TradeEventType, order: SimOrder, now: dt.datetime) -> TradeUpdateEvent:
        position = self._book.positions.get(order.symbol)
        return TradeUpdateEvent(
            event=event,
            order=copy.copy(order),
            timestamp=now,
            position_qty=position.qty if position else Decimal(0),
        )

    def _reserve_price(self, request: OrderRequest) -> Decimal:
        if request.limit_price is not None:
            return request.limit_price
        reference = self.reference_price(request.symbol)
        if reference is None:
            # No price known at all for a listed symbol: the bar source has no bar for it.
            raise _unprocessable(
                f"no market price for {request.symbol}; cannot accept a market order"
            )
        if request.side is OrderSide.BUY:
            return reference * (1 + BASIS_POINT * self.fill_model.slippage_bps)
        return reference

    @staticmethod
    def _check_price_increment(price: Decimal) -> None:
        quantum = Decimal("0.01") if price >= 1 else Decimal("0.0001")
        if price != price.quantize(quantum):
            raise _unprocessable(
                f"invalid limit_price {plain_decimal(price)}. sub-penny increment does not fulfill "
                "minimum pricing criteria"
            )

    def _check_wash_trade(self, request: OrderRequest) -> None:
        for other in self.open_orders():
            if other.symbol != request.symbol or other.side is request.side:
                continue
            if request.order_type is OrderType.MARKET or other.order_type is OrderType.MARKET:
                crosses = True
            else:
                assert request.limit_price is not None and other.limit_price is not None
                crosses = (
                    request.limit_price >= other.limit_price
                    if request.side is OrderSide.BUY
                    else request.limit_price <= other.limit_price
                )
            if crosses:
                raise OrderRefusedError(
                    403,
                    CODE_FORBIDDEN,
                    "potential wash trade detected. use complex orders",
                    {"reject_reason": f"opposite side order {other.id} exists"},
                )


def plain_decimal(value: Decimal) -> str:
    """A Decimal as Alpaca writes numbers: no exponent, no trailing zeros."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"
