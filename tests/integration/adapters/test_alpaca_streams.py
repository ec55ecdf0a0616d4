"""BarStream and TradeUpdateStream against the emulator, with injected faults."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

from tests.support.emulator import (
    API_KEY,
    SECRET_KEY,
    SESSION_DATE,
    SYMBOLS,
    endpoints,
    running_emulator,
)
from tests.support.eventually import eventually_async
from trading_runtime.adapters.alpaca import AlpacaBroker, BarStream, TradeUpdateStream
from trading_runtime.domain.bars import Bar
from trading_runtime.domain.enums import (
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    TradeEventType,
)
from trading_runtime.domain.orders import OrderIntent, OrderUpdated
from trading_runtime.marketdata import calendar
from trading_runtime.sim import EmulatorControl, EmulatorServer, FaultConfig, Pacing


def expected_keys() -> list[tuple[str, dt.datetime]]:
    start = calendar.session(SESSION_DATE).open + dt.timedelta(minutes=30)
    return [
        (symbol, start + dt.timedelta(minutes=m)) for m in range(10) for symbol in sorted(SYMBOLS)
    ]


async def replay_through_bar_stream(
    server: EmulatorServer,
) -> tuple[list[Bar], list[tuple[dict, str]], BarStream, list[int]]:
    """Consume a lockstep replay as the engine does: enqueue in the handler, ack per minute."""
    queue: asyncio.Queue[Bar] = asyncio.Queue()
    rejected: list[tuple[dict, str]] = []
    received: list[Bar] = []

    async def on_bar(bar: Bar) -> None:
        queue.put_nowait(bar)

    async def on_rejected(raw: dict, reason: str) -> None:
        rejected.append((raw, reason))

    async def consume(control: EmulatorControl) -> None:
        while True:
            batch = [await queue.get()]
            while not queue.empty():
                batch.append(queue.get_nowait())
            received.extend(batch)
            await control.ack(max(bar.timestamp for bar in batch))

    stream = BarStream(endpoints(server), SYMBOLS, on_bar, on_rejected)
    reconnects: list[int] = []

    async def on_reconnect() -> None:
        reconnects.append(stream.connections)

    stream.on_reconnect = on_reconnect
    async with EmulatorControl(server.base_url, API_KEY, SECRET_KEY) as control:
        consumer = asyncio.create_task(consume(control), name="test-consumer")
        await stream.start()
        assert stream.running
        await eventually_async(lambda: server.status().phase == "finished", timeout_s=30)
        await stream.stop(timeout_s=5)
        consumer.cancel()
    return received, rejected, stream, reconnects


def test_bar_stream_delivers_every_bar_and_rejects_malformed_ones() -> None:
    faults = FaultConfig(seed=2, malformed_bar_probability=0.5)
    with running_emulator(pacing=Pacing.LOCKSTEP, faults=faults) as server:
        received, rejected, stream, _ = asyncio.run(replay_through_bar_stream(server))
        injected = server.status().faults["malformed_bar"]
    assert [(bar.symbol, bar.timestamp) for bar in received] == expected_keys()
    assert all(not bar.problems() for bar in received)
    assert injected > 0
    assert len(rejected) == injected == stream.bars_rejected
    assert all(reason for _, reason in rejected)
    assert stream.bars_received == 30
    assert not stream.running


def test_bar_stream_reconnects_after_dropped_connections_without_losing_or_repeating_bars() -> None:
    faults = FaultConfig(drop_data_connection_after_frames=3, max_data_connection_drops=2)
    with running_emulator(pacing=Pacing.LOCKSTEP, faults=faults) as server:
        received, rejected, stream, reconnects = asyncio.run(replay_through_bar_stream(server))
        drops = server.status().faults["data_connection_drop"]
    assert drops == 2
    assert rejected == []
    assert stream.connections == 3
    assert reconnects == [2, 3]  # told after each re-opening
    assert [(bar.symbol, bar.timestamp) for bar in received] == expected_keys()


def test_trade_update_stream_reports_fills_with_exact_decimals() -> None:
    faults = FaultConfig(max_participation=Decimal("0.00001"))  # one share per bar
    with running_emulator(faults=faults) as server:
        broker = AlpacaBroker(endpoints(server))

        async def scenario() -> list[OrderUpdated]:
            updates: list[OrderUpdated] = []

            async def on_update(update: OrderUpdated) -> None:
                updates.append(update)

            stream = TradeUpdateStream(endpoints(server), on_update)
            await stream.start()
            await eventually_async(lambda: server.status().trade_update_listeners == 1)
            intent = OrderIntent(
                client_order_id="three-shares",
                symbol="MSFT",
                side=OrderSide.BUY,
                qty=Decimal(3),
                order_type=OrderType.LIMIT,
                time_in_force=TimeInForce.DAY,
                limit_price=Decimal("5000.00"),
                created_at=dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC),
                reason="test",
            )
            await asyncio.to_thread(broker.submit_order, intent)
            await asyncio.to_thread(server.advance, 3)
            await eventually_async(lambda: any(u.event is TradeEventType.FILL for u in updates))
            await stream.stop(timeout_s=5)
            assert stream.updates_received == len(updates) and stream.handler_errors == 0
            return updates

        updates = asyncio.run(scenario())
        broker.close()
    assert [u.event for u in updates] == [
        TradeEventType.NEW,
        TradeEventType.PARTIAL_FILL,
        TradeEventType.PARTIAL_FILL,
        TradeEventType.FILL,
    ]
    fills = [u.fill for u in updates if u.fill is not None]
    assert [f.qty for f in fills] == [Decimal(1)] * 3
    assert all(
        isinstance(f.price, Decimal) and f.price == f.price.quantize(Decimal("0.01")) for f in fills
    )
    assert len({f.execution_id for f in fills}) == 3
    assert [u.position_qty for u in updates[1:]] == [Decimal(1), Decimal(2), Decimal(3)]
    final = updates[-1].order
    assert final.status is OrderStatus.FILLED and final.filled_qty == Decimal(3)
    assert final.filled_avg_price == (sum(f.qty * f.price for f in fills) / 3).quantize(
        Decimal("0.0001")
    )
    assert all(f.client_order_id == "three-shares" and f.side is OrderSide.BUY for f in fills)
