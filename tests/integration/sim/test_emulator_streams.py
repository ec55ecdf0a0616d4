"""The emulator's websockets, checked by alpaca-py's StockDataStream and TradingStream."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from decimal import Decimal

import aiohttp
import msgpack
from alpaca.data.live.stock import StockDataStream
from alpaca.data.models import Bar as AlpacaBar
from alpaca.trading.enums import OrderSide, TimeInForce, TradeEvent
from alpaca.trading.models import TradeUpdate
from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest
from alpaca.trading.stream import TradingStream

from tests.support.emulator import (
    API_KEY,
    SECRET_KEY,
    SESSION_DATE,
    SYMBOLS,
    dense_market,
    running_emulator,
    trading_client,
)
from tests.support.eventually import eventually, eventually_async
from trading_runtime.marketdata import calendar
from trading_runtime.sim import EmulatorControl, FaultConfig, Pacing


async def stop_stream(stream: StockDataStream | TradingStream, task: asyncio.Task) -> None:
    await stream.stop_ws()
    await stream.close()
    await asyncio.wait_for(task, timeout=10)


def test_data_stream_receives_every_bar_of_a_lockstep_replay() -> None:
    with running_emulator(pacing=Pacing.LOCKSTEP) as server:

        async def scenario() -> list[list[AlpacaBar]]:
            # The handler only enqueues (it never suspends), so the bars of one frame (one
            # minute) are all queued before the consumer runs; it acks after the whole minute.
            queue: asyncio.Queue[AlpacaBar] = asyncio.Queue()
            batches: list[list[AlpacaBar]] = []

            async def on_bar(bar: AlpacaBar) -> None:
                queue.put_nowait(bar)

            async def consume(control: EmulatorControl) -> None:
                while True:
                    batch = [await queue.get()]
                    while not queue.empty():
                        batch.append(queue.get_nowait())
                    batches.append(batch)
                    await control.ack(max(bar.timestamp for bar in batch))

            async with EmulatorControl(server.base_url, API_KEY, SECRET_KEY) as control:
                consumer = asyncio.create_task(consume(control), name="test-consumer")
                stream = StockDataStream(API_KEY, SECRET_KEY, url_override=server.data_stream_url)
                stream.subscribe_bars(on_bar, *SYMBOLS)
                task = asyncio.create_task(stream._run_forever(), name="test-data-stream")
                await eventually_async(lambda: server.status().phase == "finished", timeout_s=20)
                await stop_stream(stream, task)
                consumer.cancel()
            return batches

        batches = asyncio.run(scenario())
        status = server.status()
    assert status.acked_through == status.last_bar
    assert len(batches) == 10
    assert all(len(batch) == 3 and len({bar.timestamp for bar in batch}) == 1 for batch in batches)
    received = [bar for batch in batches for bar in batch]
    session = calendar.session(SESSION_DATE)
    expected = dense_market().day_bars(SESSION_DATE, list(SYMBOLS))
    window = expected[
        (expected["timestamp"] >= session.open + dt.timedelta(minutes=30))
        & (expected["timestamp"] < session.open + dt.timedelta(minutes=40))
    ]
    assert len(received) == len(window) == 30
    assert [(b.symbol, b.timestamp) for b in received] == [
        (row.symbol, row.timestamp.to_pydatetime()) for row in window.itertuples()
    ]
    assert [b.close for b in received] == window["close"].tolist()
    assert all(b.timestamp.tzinfo is not None for b in received)


async def _raw_data_client(url: str, secret: str) -> list[dict]:
    """Connect and authenticate with msgpack as alpaca-py does; the replies until close."""
    replies: list[dict] = []
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(url, headers={"Content-Type": "application/msgpack"}) as ws,
    ):
        replies.extend(msgpack.unpackb((await ws.receive()).data))
        await ws.send_bytes(msgpack.packb({"action": "auth", "key": API_KEY, "secret": secret}))
        async for message in ws:
            if message.type is aiohttp.WSMsgType.BINARY:
                replies.extend(msgpack.unpackb(message.data))
    return replies


def test_wrong_keys_on_the_data_stream_get_402() -> None:
    with running_emulator() as server:
        replies = asyncio.run(_raw_data_client(server.data_stream_url, "wrong"))
    assert replies == [
        {"T": "success", "msg": "connected"},
        {"T": "error", "code": 402, "msg": "auth failed"},
    ]


def test_a_second_data_connection_for_the_key_gets_406() -> None:
    with running_emulator(pacing=Pacing.LOCKSTEP) as server:

        async def scenario() -> list[dict]:
            async def on_bar(bar: AlpacaBar) -> None:
                return None

            first = StockDataStream(API_KEY, SECRET_KEY, url_override=server.data_stream_url)
            first.subscribe_bars(on_bar, "AAPL")
            task = asyncio.create_task(first._run_forever(), name="test-first-connection")
            await eventually_async(lambda: server.status().market_data_clients == 1)
            replies = await _raw_data_client(server.data_stream_url, SECRET_KEY)
            assert server.status().market_data_clients == 1
            await stop_stream(first, task)
            return replies

        replies = asyncio.run(scenario())
    assert replies[-1] == {"T": "error", "code": 406, "msg": "connection limit exceeded"}


def test_trade_updates_cover_the_order_lifecycle() -> None:
    faults = FaultConfig(
        max_participation=Decimal("0.00001"), reject_after_accept_symbols=frozenset({"MSFT"})
    )
    with running_emulator(faults=faults) as server:
        client = trading_client(server)

        async def scenario() -> list[TradeUpdate]:
            updates: list[TradeUpdate] = []

            async def on_update(update: TradeUpdate) -> None:
                updates.append(update)

            stream = TradingStream(API_KEY, SECRET_KEY, url_override=server.trading_stream_url)
            stream.subscribe_trade_updates(on_update)
            task = asyncio.create_task(stream._run_forever(), name="test-trade-stream")
            await eventually_async(lambda: server.status().trade_update_listeners == 1)

            def trade() -> None:
                # One share per bar: a 3-share market order fills partially twice, then fully.
                client.submit_order(
                    MarketOrderRequest(
                        symbol="AAPL",
                        qty=3,
                        side=OrderSide.BUY,
                        time_in_force=TimeInForce.DAY,
                        client_order_id="partial",
                    )
                )
                client.submit_order(
                    LimitOrderRequest(
                        symbol="SPY",
                        qty=1,
                        side=OrderSide.BUY,
                        limit_price=1.0,
                        time_in_force=TimeInForce.IOC,
                        client_order_id="ioc",
                    )
                )
                client.submit_order(
                    LimitOrderRequest(
                        symbol="SPY",
                        qty=1,
                        side=OrderSide.BUY,
                        limit_price=1.0,
                        time_in_force=TimeInForce.DAY,
                        client_order_id="expires",
                    )
                )
                client.submit_order(
                    MarketOrderRequest(
                        symbol="MSFT",
                        qty=1,
                        side=OrderSide.BUY,
                        time_in_force=TimeInForce.DAY,
                        client_order_id="rejected",
                    )
                )
                server.advance(20)

            await asyncio.to_thread(trade)
            await eventually_async(lambda: any(u.event == "expired" for u in updates))
            await stop_stream(stream, task)
            return updates

        updates = asyncio.run(scenario())
    events = [(u.order.client_order_id, TradeEvent(u.event).value) for u in updates]
    assert [e for c, e in events if c == "partial"] == [
        "new",
        "partial_fill",
        "partial_fill",
        "fill",
    ]
    assert [e for c, e in events if c == "ioc"] == ["new", "canceled"]
    assert [e for c, e in events if c == "expires"] == ["new", "expired"]
    assert [e for c, e in events if c == "rejected"] == ["new", "rejected"]
    fills = [
        u for u in updates if u.order.client_order_id == "partial" and u.execution_id is not None
    ]
    assert sum(u.qty for u in fills) == 3
    assert [u.position_qty for u in fills] == [1, 2, 3]
    assert len({u.execution_id for u in fills}) == 3


def test_wrong_keys_on_the_trading_stream_are_unauthorized() -> None:
    with running_emulator() as server:

        async def scenario() -> dict:
            async with (
                aiohttp.ClientSession() as session,
                session.ws_connect(server.trading_stream_url) as ws,
            ):
                await ws.send_str(
                    json.dumps(
                        {
                            "action": "authenticate",
                            "data": {"key_id": API_KEY, "secret_key": "wrong"},
                        }
                    )
                )
                return json.loads((await ws.receive()).data)

        reply = asyncio.run(scenario())
        eventually(lambda: server.status().trade_update_listeners == 0)
    assert reply == {
        "stream": "authorization",
        "data": {"status": "unauthorized", "action": "authenticate"},
    }
