"""``GET /v2/account/activities`` on the emulator, read through alpaca-py's TradingClient and
parsed by its ``TradeActivity`` model: fills nobody listened to are found later, with the
execution ids the trading stream carried, and paged as Alpaca documents."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import ActivityType, OrderSide, TimeInForce
from alpaca.trading.models import TradeActivity, TradeUpdate
from alpaca.trading.requests import MarketOrderRequest
from alpaca.trading.stream import TradingStream

from tests.support.emulator import API_KEY, SECRET_KEY, running_emulator, trading_client
from tests.support.eventually import eventually_async
from trading_runtime.sim import FaultConfig


def activities(client: TradingClient, **params: Any) -> list[TradeActivity]:
    # alpaca-py's TradingClient has no typed call for this endpoint; its REST client does.
    rows = client.get("/account/activities", {"activity_types": "FILL", **params})
    assert isinstance(rows, list)
    return [TradeActivity(**row) for row in rows]


def buy(client: TradingClient, symbol: str, qty: int, client_order_id: str) -> None:
    client.submit_order(
        MarketOrderRequest(
            symbol=symbol,
            qty=qty,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.DAY,
            client_order_id=client_order_id,
        )
    )


def test_fills_missed_by_the_stream_are_listed_with_their_execution_ids() -> None:
    # One share per bar: a 3-share order fills in three executions.
    faults = FaultConfig(max_participation=Decimal("0.00001"))
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
            await asyncio.to_thread(buy, client, "AAPL", 3, "heard")
            await asyncio.to_thread(server.advance, 4)
            await eventually_async(lambda: any(u.event == "fill" for u in updates))
            await stream.stop_ws()
            await stream.close()
            await asyncio.wait_for(task, timeout=10)
            return updates

        updates = asyncio.run(scenario())
        # Nobody listens any more: these fills only exist at the broker.
        buy(client, "MSFT", 2, "missed")
        server.advance(3)
        listed = activities(client, direction="asc")
        missed_order = client.get_order_by_client_id("missed")

    heard = [u for u in updates if u.execution_id is not None]
    assert len(heard) == 3
    assert [a.id.split("::")[1] for a in listed[:3]] == [str(u.execution_id) for u in heard]
    assert [a.qty for a in listed] == [1, 1, 1, 1, 1]
    assert [a.type.value for a in listed] == [
        "partial_fill",
        "partial_fill",
        "fill",
        "partial_fill",
        "fill",
    ]
    assert [a.cum_qty for a in listed] == [1, 2, 3, 1, 2]
    assert [a.leaves_qty for a in listed] == [2, 1, 0, 1, 0]
    missed = [a for a in listed if a.symbol == "MSFT"]
    assert {a.side for a in missed} == {OrderSide.BUY}
    assert all(a.activity_type is ActivityType.FILL for a in listed)
    times = [a.transaction_time for a in listed]
    assert times == sorted(times)
    assert {a.order_id for a in missed} == {missed_order.id}
    assert missed[-1].order_status == "filled"


def test_paging_filters_and_errors_follow_alpacas_rules() -> None:
    faults = FaultConfig(max_participation=Decimal("0.00001"))
    with running_emulator(faults=faults) as server:
        client = trading_client(server)
        buy(client, "AAPL", 3, "a")
        buy(client, "MSFT", 2, "b")
        server.advance(5)
        every = activities(client)  # desc by default
        assert len(every) == 5
        stamps = [a.transaction_time for a in every]
        assert stamps == sorted(stamps, reverse=True)

        first = activities(client, page_size=2)
        second = activities(client, page_size=2, page_token=first[-1].id)
        third = activities(client, page_size=2, page_token=second[-1].id)
        assert [a.id for a in first + second + third] == [a.id for a in every]

        ascending = activities(client, direction="asc", page_size=3)
        rest = activities(client, direction="asc", page_token=ascending[-1].id)
        assert [a.id for a in ascending + rest] == [a.id for a in reversed(every)]

        middle = sorted(stamps)[2]
        after = activities(client, after=middle.isoformat())
        until = activities(client, until=middle.isoformat())
        # Both bounds are exclusive (two fills of one bar share their time).
        assert [a.id for a in after] == [a.id for a in every if a.transaction_time > middle]
        assert [a.id for a in until] == [a.id for a in every if a.transaction_time < middle]
        assert after and until

        day = every[0].transaction_time.date()
        assert len(activities(client, date=day.isoformat())) == 5
        assert activities(client, date=(day - dt.timedelta(days=1)).isoformat()) == []
        by_path = client.get("/account/activities/FILL")
        assert isinstance(by_path, list) and len(by_path) == 5
        assert client.get("/account/activities", {"activity_types": "DIV"}) == []

        with pytest.raises(APIError) as unknown:
            client.get("/account/activities", {"activity_types": "NOPE"})
        assert unknown.value.status_code == 422
        with pytest.raises(APIError) as too_big:
            client.get("/account/activities", {"page_size": 101})
        assert too_big.value.status_code == 422
