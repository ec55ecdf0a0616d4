"""The simulated venue: one cash account, its orders, and their matching against minute bars.

A pure state machine: no I/O, no clock, no asyncio. Time arrives as arguments (``now`` for
requests, the bar minute for matching); each command returns the trade updates it produced,
which the driver delivers (the emulator on its trading stream, the backtester to its book).

Order states: ``new`` -> ``partially_filled`` -> ``filled``, or -> ``canceled`` / ``expired`` /
``rejected`` / ``replaced`` (all terminal).

Submission checks, in order: known symbol, injected refusal, unique ``client_order_id``,
price increments (no sub-penny limits), wash trades (no order that could execute against an
open opposite-side order), then buying power for buys and available quantity for sells.
Refusals raise :class:`~trading_runtime.venue.errors.OrderRefusedError`.

Time and arrival. Every accepted order gets a unique ``created_at``, strictly increasing across
orders (``now``, or 1 µs after the previous order's). It *arrives* in the minute that contains
``created_at`` and meets the first bar of its symbol from that minute on
(:meth:`Venue.on_minute`). The rule for a symbol without a bar in the arrival minute (a sparse
feed, a halt): an **IOC** order is canceled (it found no trade to take); a **DAY/GTC** order
waits for the symbol's next bar, which it meets as its arrival bar. Events of an order's
arrival bar are stamped ``created_at + latency``; of later bars, ``bar minute + latency``.
After the session (:meth:`Venue.end_session`) IOC orders still open are canceled and DAY
orders expire; GTC orders keep working.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal

from trading_runtime.domain.bars import Bar
from trading_runtime.domain.enums import (
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    TradeEventType,
)
from trading_runtime.venue import rules
from trading_runtime.venue.account import Account
from trading_runtime.venue.errors import not_found, unprocessable
from trading_runtime.venue.fills import Execution, FillModelConfig, match_order, notional_qty
from trading_runtime.venue.orders import (
    IdSource,
    OrderRequest,
    ReplaceRequest,
    TradeUpdateEvent,
    VenueOrder,
)

ONE_MINUTE = dt.timedelta(minutes=1)
_TICK = dt.timedelta(microseconds=1)
Events = list[TradeUpdateEvent]


def minute_of(timestamp: dt.datetime) -> dt.datetime:
    return timestamp.replace(second=0, microsecond=0)


class Venue:
    """One cash account at the simulated venue. Not thread-safe: drive it from one thread."""

    def __init__(
        self,
        *,
        starting_cash: Decimal,
        symbols: Iterable[str],
        fill_model: FillModelConfig | None = None,
        ids: IdSource | None = None,
        reject_symbols: frozenset[str] = frozenset(),
        reject_after_accept_symbols: frozenset[str] = frozenset(),
        quote: Callable[[str], Decimal | None] | None = None,
    ) -> None:
        """``quote`` gives the last close of a symbol for drivers that do not :meth:`mark`
        every bar (the backtester); it reserves buying power for market buys."""
        self.account = Account(starting_cash, quote)
        self.symbols = frozenset(symbols)
        self.fill_model = fill_model if fill_model is not None else FillModelConfig()
        self.ids = ids if ids is not None else IdSource(0)
        self.reject_symbols = reject_symbols
        self.reject_after_accept_symbols = reject_after_accept_symbols
        self._orders: dict[str, VenueOrder] = {}
        self._by_client_id: dict[str, VenueOrder] = {}
        self._open: dict[str, VenueOrder] = {}  # insertion (creation) order
        self._last_created: dt.datetime | None = None

    # --- market prices ------------------------------------------------------------------------
    def set_reference_prices(self, prices: Mapping[str, Decimal]) -> None:
        """Prices that reserve buying power for market orders before any close is marked."""
        self.account.reference_prices.update(prices)

    def mark(self, closes: Mapping[str, Decimal]) -> None:
        """Mark positions to the closes of the bars just published."""
        self.account.mark(closes)

    # --- queries (money and positions: ``venue.account``) ------------------------------------
    def get_order(self, order_id: str) -> VenueOrder | None:
        return self._orders.get(order_id)

    def get_order_by_client_id(self, client_order_id: str) -> VenueOrder | None:
        return self._by_client_id.get(client_order_id)

    def orders(self) -> list[VenueOrder]:
        """Every order, in creation order."""
        return list(self._orders.values())

    def open_orders(self) -> list[VenueOrder]:
        return list(self._open.values())

    def open_order_symbols(self) -> set[str]:
        return {order.symbol for order in self._open.values()}

    def reserved_buying_power(self) -> Decimal:
        return self.account.reserved(self._open.values())

    def buying_power(self) -> Decimal:
        return max(self.account.cash - self.reserved_buying_power(), Decimal(0))

    # --- commands -----------------------------------------------------------------------------
    def submit(
        self, request: OrderRequest, *, now: dt.datetime, expires_at: dt.datetime | None
    ) -> tuple[VenueOrder, Events]:
        """Accept an order (``new``) or raise ``OrderRefusedError``; ``expires_at`` for DAY."""
        symbol = request.symbol
        if symbol not in self.symbols:
            raise unprocessable(f'asset "{symbol}" not found')
        if symbol in self.reject_symbols:
            raise unprocessable(f"order rejected: trading in {symbol} is halted (injected)")
        client_order_id = request.client_order_id or self.ids.client_order_id()
        rules.check_unique(client_order_id, self._by_client_id)
        if request.limit_price is not None:
            rules.check_price_increment(request.limit_price)
        rules.check_wash_trade(
            request.symbol,
            request.side,
            request.order_type,
            request.limit_price,
            self._open.values(),
        )
        reserve_price = self.account.reserve_price(
            request.symbol, request.side, request.limit_price, self.fill_model
        )
        amount = request.qty if request.qty is not None else request.notional
        assert amount is not None, "a request has a qty or a notional"
        rules.check_affordable(
            self.account,
            self._open.values(),
            request.side,
            symbol,
            amount,
            reserve_price,
            notional=request.qty is None,
        )
        created = self._stamp(now)
        order = VenueOrder(
            id=self.ids.order_id(client_order_id),
            client_order_id=client_order_id,
            symbol=symbol,
            side=request.side,
            order_type=request.order_type,
            time_in_force=request.time_in_force,
            qty=request.qty,
            limit_price=request.limit_price,
            status=OrderStatus.NEW,
            created_at=created,
            updated_at=created,
            expires_at=expires_at if request.time_in_force is TimeInForce.DAY else None,
            reserve_price=reserve_price,
            notional=request.notional,
            reject_on_arrival=symbol in self.reject_after_accept_symbols,
        )
        self._add(order)
        return order, [self._event(TradeEventType.NEW, order, created)]

    def replace(
        self, order_id: str, request: ReplaceRequest, *, now: dt.datetime
    ) -> tuple[VenueOrder, Events]:
        """Replace an open order by a new one (Alpaca's ``PATCH /v2/orders/{id}``).

        The old order becomes ``replaced`` (``replaced_by`` the new id) and keeps its fills;
        the new order (``replaces`` the old id) is for ``request.qty`` or the old order's
        remaining quantity. Buying power and quantity checks count the old order as released.
        """
        old = self._orders.get(order_id)
        if old is None:
            raise not_found("order not found")
        if not old.is_open:
            raise unprocessable(f"order is not replaceable (status {old.status.value})")
        if old.notional is not None:
            raise unprocessable("notional orders cannot be replaced")
        if request.limit_price is not None and old.order_type is OrderType.MARKET:
            raise unprocessable("cannot set limit_price on a market order")
        client_order_id = request.client_order_id or self.ids.client_order_id()
        rules.check_unique(client_order_id, self._by_client_id)
        limit_price = request.limit_price if request.limit_price is not None else old.limit_price
        if request.limit_price is not None:
            rules.check_price_increment(request.limit_price)
        qty = request.qty if request.qty is not None else old.remaining_qty
        others = [o for o in self._open.values() if o is not old]
        rules.check_wash_trade(old.symbol, old.side, old.order_type, limit_price, others)
        reserve_price = self.account.reserve_price(
            old.symbol, old.side, limit_price, self.fill_model
        )
        rules.check_affordable(self.account, others, old.side, old.symbol, qty, reserve_price)
        created = self._stamp(now)
        new = VenueOrder(
            id=self.ids.order_id(client_order_id),
            client_order_id=client_order_id,
            symbol=old.symbol,
            side=old.side,
            order_type=old.order_type,
            time_in_force=request.time_in_force or old.time_in_force,
            qty=qty,
            limit_price=limit_price,
            status=OrderStatus.NEW,
            created_at=created,
            updated_at=created,
            expires_at=old.expires_at,
            reserve_price=reserve_price,
            replaces=old.id,
            reject_on_arrival=old.reject_on_arrival,
        )
        old.replaced_at = old.updated_at = created
        old.replaced_by = new.id
        self._close(old, OrderStatus.REPLACED)
        self._add(new)
        return new, [
            self._event(TradeEventType.REPLACED, old, created),
            self._event(TradeEventType.NEW, new, created),
        ]

    def cancel(self, order_id: str, *, now: dt.datetime) -> Events:
        """Cancel an open order; 404 when unknown, 422 when no longer cancelable."""
        order = self._orders.get(order_id)
        if order is None:
            raise not_found("order not found")
        if not order.is_open:
            raise unprocessable("order is not cancelable")
        return [self._cancel(order, now)]

    def cancel_all(self, *, now: dt.datetime) -> tuple[list[VenueOrder], Events]:
        canceled = self.open_orders()
        return canceled, [self._cancel(order, now) for order in canceled]

    def close_position(
        self,
        symbol: str,
        *,
        now: dt.datetime,
        expires_at: dt.datetime | None,
        qty: Decimal | None = None,
    ) -> tuple[VenueOrder, Events]:
        """Submit a market DAY sell for the position (or ``qty`` of it); 404 when flat."""
        position = self.account.positions.get(symbol)
        if position is None:
            raise not_found("position does not exist")
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

    def on_minute(self, minute: dt.datetime, bars: Mapping[str, Bar]) -> Events:
        """The minute starting at ``minute`` is over and these were its bars: match orders.

        ``bars`` must hold the bar of every symbol with an open order that traded in this
        minute (other symbols may be left out); a bar with problems counts as no bar.
        Orders created after this minute are left for later.
        """
        events: Events = []
        minute_end = minute + ONE_MINUTE
        for order in list(self._open.values()):
            if order.created_at >= minute_end:
                continue
            bar = bars.get(order.symbol)
            if bar is not None and bar.problems():
                bar = None
            first_bar = not order.met_market
            if (
                first_bar
                and order.time_in_force is TimeInForce.IOC
                and (bar is None or minute_of(order.created_at) < minute)
            ):
                # No trade in its arrival minute: nothing to take, so nothing is left.
                events.append(self._cancel(order, self._arrival_time(order)))
                continue
            if bar is None:
                continue
            order.met_market = True
            when = minute + self.fill_model.latency
            if first_bar:
                when = max(when, self._arrival_time(order))
            if first_bar and order.reject_on_arrival:
                order.failed_at = order.updated_at = when
                self._close(order, OrderStatus.REJECTED)
                events.append(self._event(TradeEventType.REJECTED, order, when))
                continue
            if order.qty is None:
                assert order.notional is not None
                held = self.account.position_qty(order.symbol)
                order.qty = notional_qty(order.notional, order.side, bar, self.fill_model, held)
            result = match_order(
                side=order.side,
                order_type=order.order_type,
                time_in_force=order.time_in_force,
                remaining_qty=order.remaining_qty,
                limit_price=order.limit_price,
                bar=bar,
                first_bar=first_bar,
                config=self.fill_model,
                first_execution=order.executions == 0,
                draw_key=(order.id, order.executions),
            )
            if result.execution is not None:
                events.append(self._execute(order, result.execution, when))
            if result.finished and order.is_open:
                events.append(self._cancel(order, when))
        return events

    def end_session(self, *, close: dt.datetime) -> Events:
        """The session is over: IOC orders still open are canceled, DAY orders expire."""
        events: Events = []
        for order in list(self._open.values()):
            if order.time_in_force is TimeInForce.IOC:
                events.append(self._cancel(order, close))
            elif order.time_in_force is TimeInForce.DAY:
                order.expired_at = order.updated_at = close
                self._close(order, OrderStatus.EXPIRED)
                events.append(self._event(TradeEventType.EXPIRED, order, close))
        return events

    # --- internals ----------------------------------------------------------------------------
    def _stamp(self, now: dt.datetime) -> dt.datetime:
        created = now if self._last_created is None else max(now, self._last_created + _TICK)
        self._last_created = created
        return created

    def _arrival_time(self, order: VenueOrder) -> dt.datetime:
        end_of_minute = minute_of(order.created_at) + ONE_MINUTE - _TICK
        return min(order.created_at + self.fill_model.latency, end_of_minute)

    def _add(self, order: VenueOrder) -> None:
        self._orders[order.id] = order
        self._by_client_id[order.client_order_id] = order
        self._open[order.id] = order

    def _close(self, order: VenueOrder, status: OrderStatus) -> None:
        order.status = status
        self._open.pop(order.id, None)

    def _cancel(self, order: VenueOrder, when: dt.datetime) -> TradeUpdateEvent:
        order.canceled_at = order.updated_at = when
        self._close(order, OrderStatus.CANCELED)
        return self._event(TradeEventType.CANCELED, order, when)

    def _execute(
        self, order: VenueOrder, execution: Execution, when: dt.datetime
    ) -> TradeUpdateEvent:
        qty, price, fee = execution.qty, execution.price, execution.fee
        position_qty = self.account.apply_execution(order.symbol, order.side, qty, price, fee)
        order.executions += 1
        order.filled_qty += qty
        order.filled_notional += qty * price
        order.fees += fee
        order.updated_at = when
        if order.remaining_qty == 0:
            order.filled_at = when
            self._close(order, OrderStatus.FILLED)
            event_type = TradeEventType.FILL
        else:
            order.status = OrderStatus.PARTIALLY_FILLED
            event_type = TradeEventType.PARTIAL_FILL
        return TradeUpdateEvent.of(
            event_type,
            order,
            when,
            execution_id=self.ids.execution_id(order.id, order.executions),
            price=price,
            qty=qty,
            fee=fee,
            position_qty=position_qty,
            reference_price=execution.reference_price,
        )

    def _event(
        self, event: TradeEventType, order: VenueOrder, when: dt.datetime
    ) -> TradeUpdateEvent:
        position_qty = self.account.position_qty(order.symbol)
        return TradeUpdateEvent.of(event, order, when, position_qty=position_qty)
