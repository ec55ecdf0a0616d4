"""The order desk against the emulator through alpaca-py: unknown outcomes stay pending and
are resolved by client_order_id, transient errors are retried under the same id."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from tests.support.emulator import endpoints, running_emulator, trading_client
from tests.support.ledgers import RecordingLedger
from trading_runtime.adapters.alpaca import AlpacaBroker
from trading_runtime.core.book import Book
from trading_runtime.domain.enums import OrderSide, OrderType, TimeInForce
from trading_runtime.domain.orders import OrderIntent
from trading_runtime.engine.orders import OrderDesk, OrderDeskConfig
from trading_runtime.sim import EmulatorServer
from trading_runtime.store.operations import (
    RecordOrderRejected,
    RecordOrderSubmitted,
)

CREATED = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
FAST = OrderDeskConfig(
    submit_attempts=2,
    retry_initial_s=0.01,
    retry_max_s=0.02,
    confirm_attempts=1,
    confirm_initial_s=0.01,
    confirm_max_s=0.02,
)


def buy(client_order_id: str) -> OrderIntent:
    return OrderIntent(
        client_order_id=client_order_id,
        symbol="AAPL",
        side=OrderSide.BUY,
        qty=Decimal(5),
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.DAY,
        limit_price=Decimal(1),  # far below the market: stays working
        created_at=CREATED,
        reason="test",
    )


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with running_emulator() as running:
        yield running


async def _desk_run(broker: AlpacaBroker, steps: Any, config: OrderDeskConfig = FAST) -> Any:
    executor = ThreadPoolExecutor(4)

    async def in_thread(function: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(executor, function, *args)

    ledger = RecordingLedger()
    book = Book(Decimal(100000))
    desk = OrderDesk(broker, ledger, book, in_thread, lambda: CREATED, config)
    try:
        return await steps(desk, book, ledger)
    finally:
        await desk.close()
        executor.shutdown()


def test_an_unknown_outcome_stays_pending_until_the_broker_confirms_it(
    server: EmulatorServer,
) -> None:
    broker = AlpacaBroker(endpoints(server), timeout_s=0.3)
    # Every answer comes too late: the submission (placed), its lookup, the resubmission's
    # lookup (the resubmission itself is refused at once as a duplicate) and the first
    # confirmation lookup all time out.
    server.inject_slow_requests(4, 1.0)

    async def steps(desk: OrderDesk, book: Book, ledger: RecordingLedger) -> None:
        desk.submit(buy("unknown-1"), None, CREATED)
        assert desk.blocks("AAPL")
        await desk.drain(timeout_s=30.0)
        # Outcome unknown: pending in the book and the ledger, never recorded as refused.
        assert set(desk.pending) == {"unknown-1"}
        assert "unknown-1" in book.working and book.buys_today == {"AAPL": 1}
        assert desk.blocks("AAPL")
        assert ledger.events("order_pending_confirmation")
        assert not any(isinstance(o, RecordOrderRejected) for o in ledger.operations)
        await asyncio.sleep(1.5)  # the late answers have been sent; the broker answers again
        await desk.check()
        assert desk.pending == {} and not desk.blocks("AAPL")
        assert desk.counts.orders_confirmed == 1
        confirmed = [
            o
            for o in ledger.operations
            if isinstance(o, RecordOrderSubmitted) and o.snapshot is not None
        ]
        assert [o.snapshot.client_order_id for o in confirmed] == ["unknown-1"]  # type: ignore[union-attr]
        assert "unknown-1" in book.working  # still working at the broker

    try:
        asyncio.run(_desk_run(broker, steps))
        orders = trading_client(server).get_orders()
    finally:
        broker.close()
    assert [o.client_order_id for o in orders] == ["unknown-1"]  # no duplicate order


def test_transient_errors_are_retried_under_the_same_client_order_id(
    server: EmulatorServer,
) -> None:
    broker = AlpacaBroker(endpoints(server), timeout_s=2.0)
    server.inject_http_errors(500, 2)  # the submission and its lookup fail

    async def steps(desk: OrderDesk, book: Book, ledger: RecordingLedger) -> None:
        desk.submit(buy("retried-1"), None, CREATED)
        await desk.drain(timeout_s=30.0)
        assert desk.counts.submit_retries == 1 and desk.counts.orders_submitted == 1
        assert desk.pending == {} and not desk.blocks("AAPL")
        answered = [
            o.snapshot
            for o in ledger.operations
            if isinstance(o, RecordOrderSubmitted) and o.snapshot is not None
        ]
        assert [s.client_order_id for s in answered] == ["retried-1"]

    try:
        asyncio.run(_desk_run(broker, steps))
        orders = trading_client(server).get_orders()
        faults = server.status().faults
    finally:
        broker.close()
    assert [o.client_order_id for o in orders] == ["retried-1"]
    assert faults == {"http_500": 2}


def test_an_order_the_broker_never_got_is_released_after_the_lookup(
    server: EmulatorServer,
) -> None:
    broker = AlpacaBroker(endpoints(server), timeout_s=2.0)
    server.inject_http_errors(500, 4)  # both submissions and both lookups fail

    async def steps(desk: OrderDesk, book: Book, ledger: RecordingLedger) -> None:
        desk.submit(buy("never-1"), None, CREATED)
        await desk.drain(timeout_s=30.0)
        assert desk.pending == {} and desk.counts.orders_not_placed == 1
        assert book.working == {} and book.buys_today == {"AAPL": 0}
        [rejected] = [o for o in ledger.operations if isinstance(o, RecordOrderRejected)]
        assert "not placed" in rejected.rejection.message

    try:
        asyncio.run(_desk_run(broker, steps))
        orders = trading_client(server).get_orders()
    finally:
        broker.close()
    assert orders == []


def test_the_in_flight_check_finds_an_order_whose_updates_were_missed(
    server: EmulatorServer,
) -> None:
    broker = AlpacaBroker(endpoints(server), timeout_s=2.0)
    quiet = OrderDeskConfig(stale_order_s=0.0)

    async def steps(desk: OrderDesk, book: Book, ledger: RecordingLedger) -> None:
        desk.submit(buy("quiet-1"), None, CREATED)
        await desk.drain(timeout_s=30.0)
        assert "quiet-1" in book.working
        # Canceled at the broker; no trade update reaches the desk (no stream here).
        client = trading_client(server)
        [order] = client.get_orders()
        client.cancel_order_by_id(order.id)
        await desk.check()
        assert book.working == {}
        assert desk.counts.orders_checked == 1

    try:
        asyncio.run(_desk_run(broker, steps, quiet))
    finally:
        broker.close()
