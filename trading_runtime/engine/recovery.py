"""Restart as a first-class path: the broker's day, reconciled into the ledger and the book.

Map:
    LedgerDay          what the ledger knows of the day (read by a ``RecoverySource``)
    RecoverySource     the port the store implements (``runner.LedgerRecoverySource``)
    Reconciliation     what the restart found and did (recorded as a ``reconciliation`` event)
    recover            broker + ledger -> missing fills recorded, book's risk state rebuilt

When the previous engine of the same identity died (its lease expired, its session left
``running``), the new engine does not start from zero:

1. every order the broker has since ``since`` (the start of the day) and every execution
   (``GET /v2/account/activities?activity_types=FILL``, with the broker's execution ids)
   are read (the lease makes the account's orders this engine's); orders the ledger lacks
   are recorded with the broker's state, and executions the ledger lacks are recorded as fills, with their
   real execution ids (an idempotent write: a fill already stored is kept once);
2. the book (whose positions and cash are the broker's already) gets the day's risk state:
   buys per symbol (the larger of the ledger's count and the broker's, refused submissions
   excluded), the day's starting equity (the daily-loss baseline), the day's fills and
   overnight positions (today's day trades) and earlier day trades;
3. the ledger's net position per symbol (overnight + every fill of the day) is compared with
   the broker's: a difference beyond ``tolerance`` is corrupt state, and the session fails.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from trading_runtime.core.book import Book
from trading_runtime.domain.enums import OrderSide, OrderStatus, TradeEventType
from trading_runtime.domain.orders import Fill, OrderIntent, OrderSnapshot, OrderUpdated
from trading_runtime.domain.portfolio import Position
from trading_runtime.engine.ports import LedgerSink
from trading_runtime.store.operations import (
    RecordEngineEvent,
    RecordOrderSubmitted,
    RecordOrderUpdate,
)

logger = logging.getLogger(__name__)

_ZERO = Decimal(0)


@dataclass(frozen=True)
class LedgerDay:
    """The ledger's view of the identity's trading day (every session of it)."""

    execution_ids: frozenset[str]
    order_ids: frozenset[str]  # client order ids of the day's recorded orders
    fills: tuple[tuple[str, OrderSide, Decimal], ...]  # (symbol, side, qty) in time order
    buys_per_symbol: dict[str, int]
    day_start_equity: Decimal | None
    overnight: dict[str, Decimal]
    day_trades: tuple[dt.date, ...]  # the five-day window, today's included


class RecoverySource(Protocol):
    """Where a restarted engine reads the ledger's day; ``since`` bounds the broker reads."""

    @property
    def since(self) -> dt.datetime: ...
    @property
    def recovered_sessions(self) -> tuple[int, ...]: ...
    def ledger_day(self) -> LedgerDay: ...


class RecoveryBroker(Protocol):
    def orders_since(self, after: dt.datetime) -> list[OrderSnapshot]: ...
    def fills_since(
        self, after: dt.datetime, client_order_ids: dict[str, str]
    ) -> list[Fill] | None: ...


@dataclass
class Reconciliation:
    recovered_sessions: tuple[int, ...]
    broker_orders: int = 0
    broker_fills: int | None = None  # None: the broker lists no executions
    orders_recorded: list[str] = field(default_factory=list)  # client order ids
    fills_recorded: list[str] = field(default_factory=list)  # execution ids
    foreign_fills: int = 0  # executions of orders that are not the platform's
    buys_per_symbol: dict[str, int] = field(default_factory=dict)
    day_start_equity: Decimal | None = None
    mismatches: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)

    def as_detail(self) -> dict[str, Any]:
        return {
            "recovered_sessions": list(self.recovered_sessions),
            "broker_orders": self.broker_orders,
            "broker_fills": self.broker_fills,
            "orders_recorded": self.orders_recorded,
            "fills_recorded": len(self.fills_recorded),
            "execution_ids": self.fills_recorded,
            "foreign_fills": self.foreign_fills,
            "buys_per_symbol": self.buys_per_symbol,
            "day_start_equity": str(self.day_start_equity),
            "mismatches": {
                s: {"ledger": str(a), "broker": str(b)} for s, (a, b) in self.mismatches.items()
            },
        }


InThread = Callable[..., Awaitable[Any]]


async def recover(
    source: RecoverySource,
    broker: RecoveryBroker,
    book: Book,
    positions: dict[str, Position],
    ledger: LedgerSink,
    in_thread: InThread,
    *,
    trading_day: dt.date,
    now: dt.datetime,
    tolerance: Decimal = _ZERO,
) -> Reconciliation:
    """Reconcile the broker's day into the ledger and ``book`` (see the module docstring).

    ``positions`` are the broker's, read with the account the book was built from; ``book``
    already holds them. Raises :class:`~trading_runtime.domain.errors.BrokerError` when the
    broker cannot be read (a restart does not trade on a guess).
    """
    day: LedgerDay = await in_thread(source.ledger_day)
    orders: list[OrderSnapshot] = await in_thread(broker.orders_since, source.since)
    by_broker_id = {o.broker_order_id: o for o in orders}
    client_ids = {o.broker_order_id: o.client_order_id for o in orders}
    fills: list[Fill] | None = await in_thread(broker.fills_since, source.since, client_ids)
    result = Reconciliation(source.recovered_sessions, broker_orders=len(orders))
    for order in orders:
        if order.client_order_id not in day.order_ids:
            intent = intent_of(order)
            ledger.submit(RecordOrderSubmitted(ledger.session_id, intent, order, None, None))
            result.orders_recorded.append(order.client_order_id)
    day_fills = list(day.fills)
    if fills is None:
        logger.warning("the broker lists no executions; missed fills cannot be recorded")
    else:
        result.broker_fills = len(fills)
        for fill in fills:
            if fill.execution_id in day.execution_ids:
                continue
            filled = by_broker_id.get(fill.broker_order_id)
            if filled is None:
                result.foreign_fills += 1
                continue
            ledger.submit(RecordOrderUpdate(ledger.session_id, fill_update(filled, fill), None))
            result.fills_recorded.append(fill.execution_id)
            day_fills.append((fill.symbol, fill.side, fill.qty))

    broker_buys = Counter(
        o.symbol
        for o in orders
        if o.side is OrderSide.BUY and not (o.status is OrderStatus.REJECTED and o.filled_qty == 0)
    )
    buys = {
        symbol: max(day.buys_per_symbol.get(symbol, 0), broker_buys.get(symbol, 0))
        for symbol in set(day.buys_per_symbol) | set(broker_buys)
    }
    executions = set(day.execution_ids) | set(result.fills_recorded)
    book.resume_day(
        trading_day,
        buys_per_symbol=buys,
        day_start_equity=day.day_start_equity,
        fills=day_fills,
        overnight=day.overnight,
        earlier_day_trades=[d for d in day.day_trades if d != trading_day],
        seen_executions=executions,
    )
    result.buys_per_symbol = dict(sorted(buys.items()))
    result.day_start_equity = book.day_start_equity
    result.mismatches = position_mismatches(day.overnight, day_fills, positions, tolerance)
    ledger.submit(RecordEngineEvent(ledger.session_id, "reconciliation", result.as_detail(), now))
    logger.info(
        "recovered sessions %s: %d missed fills recorded, buys %s",
        list(source.recovered_sessions),
        len(result.fills_recorded),
        result.buys_per_symbol,
    )
    return result


def position_mismatches(
    overnight: dict[str, Decimal],
    fills: list[tuple[str, OrderSide, Decimal]],
    positions: dict[str, Position],
    tolerance: Decimal,
) -> dict[str, tuple[Decimal, Decimal]]:
    """{symbol: (ledger qty, broker qty)} where they differ by more than ``tolerance``."""
    net = dict(overnight)
    for symbol, side, qty in fills:
        net[symbol] = net.get(symbol, _ZERO) + (qty if side is OrderSide.BUY else -qty)
    differences = {}
    for symbol in set(net) | set(positions):
        mine = net.get(symbol, _ZERO)
        theirs = positions[symbol].qty if symbol in positions else _ZERO
        if abs(mine - theirs) > tolerance:
            differences[symbol] = (mine, theirs)
    return differences


def intent_of(order: OrderSnapshot) -> OrderIntent:
    """The submission a broker order answers, for an order the ledger never recorded (the
    engine died between the broker's acceptance and the ledger's flush)."""
    return OrderIntent(
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        qty=order.qty,
        order_type=order.order_type,
        time_in_force=order.time_in_force,
        limit_price=order.limit_price,
        created_at=order.submitted_at,
        reason="recorded from the broker at a restart",
    )


def fill_update(order: OrderSnapshot, fill: Fill) -> OrderUpdated:
    """The trade update a missed execution would have been (our client order id on it)."""
    event = (
        TradeEventType.FILL if order.status is OrderStatus.FILLED else TradeEventType.PARTIAL_FILL
    )
    stamped = Fill(
        execution_id=fill.execution_id,
        broker_order_id=fill.broker_order_id,
        client_order_id=order.client_order_id,
        symbol=fill.symbol,
        side=fill.side,
        qty=fill.qty,
        price=fill.price,
        timestamp=fill.timestamp,
        fee=fill.fee,
    )
    return OrderUpdated(event=event, order=order, timestamp=fill.timestamp, fill=stamped)


class LedgerRecoverySource:
    """:class:`RecoverySource` over the store's ``RecoveryReader`` for one identity: the
    day's reads aggregate every session of the account, day and mode (what the account did)."""

    def __init__(
        self,
        reader: Any,
        identity: Any,
        since: dt.datetime,
        recovered_sessions: tuple[int, ...],
    ) -> None:
        self._reader = reader
        self._identity = identity
        self._since = since
        self._recovered = recovered_sessions

    @property
    def since(self) -> dt.datetime:
        return self._since

    @property
    def recovered_sessions(self) -> tuple[int, ...]:
        return self._recovered

    def ledger_day(self) -> LedgerDay:
        fills = self._reader.day_fills(self._identity)
        return LedgerDay(
            execution_ids=frozenset(f.execution_id for f in fills),
            order_ids=self._reader.day_order_ids(self._identity),
            fills=tuple((f.symbol, f.side, f.qty) for f in fills),
            buys_per_symbol=self._reader.buys_submitted(self._identity),
            day_start_equity=self._reader.day_starting_equity(self._identity),
            overnight=self._reader.overnight_positions(self._identity),
            day_trades=self._reader.day_trades(self._identity),
        )
