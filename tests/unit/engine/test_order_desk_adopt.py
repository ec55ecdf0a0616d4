"""What the in-flight check does with an order the broker reports final: released when the
book has every execution of it, kept working while an execution is still on its way, so
the strategy never sends a second sell of shares already sold."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

from trading_runtime.core.book import Book
from trading_runtime.domain.enums import OrderSide, OrderStatus, OrderType, TimeInForce
from trading_runtime.domain.orders import OrderIntent, OrderSnapshot
from trading_runtime.domain.portfolio import Position
from trading_runtime.engine.orders import OrderDesk

AT = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
SELL = OrderIntent(
    client_order_id="exit-1",
    symbol="AAPL",
    side=OrderSide.SELL,
    qty=Decimal(5),
    order_type=OrderType.MARKET,
    time_in_force=TimeInForce.DAY,
    limit_price=None,
    created_at=AT,
    reason="exit",
)
ACCEPTED = OrderSnapshot(
    broker_order_id="b-1",
    client_order_id="exit-1",
    symbol="AAPL",
    side=OrderSide.SELL,
    order_type=OrderType.MARKET,
    time_in_force=TimeInForce.DAY,
    qty=Decimal(5),
    limit_price=None,
    status=OrderStatus.ACCEPTED,
    filled_qty=Decimal(0),
    filled_avg_price=None,
    submitted_at=AT,
    updated_at=AT,
)


class Broker:
    """Accepts the order; later lookups answer with ``later``."""

    def __init__(self, later: OrderSnapshot) -> None:
        self.later = later

    def submit_order(self, intent: OrderIntent) -> OrderSnapshot:
        return ACCEPTED

    def get_order_by_client_id(self, client_order_id: str) -> OrderSnapshot | None:
        return self.later


class Ledger:
    session_id = 1

    def submit(self, operation: Any) -> None:
        pass


def _checked(later: OrderSnapshot) -> tuple[Book, OrderDesk, list[str]]:
    book = Book(Decimal(100000), {"AAPL": Position("AAPL", Decimal(5), Decimal(100))})
    released: list[str] = []

    async def in_thread(function: Any, *args: Any) -> Any:
        return function(*args)

    async def run() -> OrderDesk:
        desk = OrderDesk(
            Broker(later), Ledger(), book, in_thread, lambda: AT, on_released=released.append
        )
        desk.submit(SELL, None, AT)
        await desk.drain(timeout_s=5.0)
        await desk.check_orders(["exit-1"])
        await desk.close()
        return desk

    return book, asyncio.run(run()), released


def test_a_final_order_whose_fill_has_not_reached_the_book_keeps_its_side_busy() -> None:
    filled = dataclasses.replace(
        ACCEPTED, status=OrderStatus.FILLED, filled_qty=Decimal(5), filled_avg_price=Decimal(99)
    )
    book, desk, released = _checked(filled)
    assert "exit-1" in book.working  # still blocks a second sell of the same shares
    assert book.positions["AAPL"].qty == Decimal(5)  # the fill is applied when it arrives
    assert desk.counts.orders_with_missed_fills == 1  # so the engine catches it up
    assert released == []


def test_a_final_order_without_executions_is_released() -> None:
    canceled = dataclasses.replace(ACCEPTED, status=OrderStatus.CANCELED)
    book, desk, released = _checked(canceled)
    assert "exit-1" not in book.working
    assert released == ["exit-1"]
    assert desk.counts.orders_with_missed_fills == 0
