"""Alpaca behaviours a move to paper trading relies on, checked through alpaca-py's own
clients where alpaca-py supports them (raw HTTP/websocket otherwise): rate limits, replace,
notional orders, sub-minute and strictly ordered timestamps, exclusive ``until``, UUID v4 ids,
binary trade-stream frames, and a clock that runs without a data client in speed pacing."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from decimal import Decimal

import aiohttp
import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.enums import OrderSide, OrderStatus, QueryOrderStatus, TimeInForce
from alpaca.trading.models import TradeUpdate
from alpaca.trading.requests import (
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
)
from alpaca.trading.stream import TradingStream

from tests.support.emulator import API_KEY, SECRET_KEY, running_emulator, trading_client
from tests.support.eventually import eventually, eventually_async
from trading_runtime.sim import FillModelConfig, Pacing
from trading_runtime.sim.__main__ import _parser, config_from_args

HEADERS = {"APCA-API-KEY-ID": API_KEY, "APCA-API-SECRET-KEY": SECRET_KEY}
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def limit_buy(symbol: str, qty: int, limit: float, **extra) -> LimitOrderRequest:
    return LimitOrderRequest(
        symbol=symbol,
        qty=qty,
        side=OrderSide.BUY,
        limit_price=limit,
        time_in_force=TimeInForce.DAY,
        **extra,
    )


# --- rate limits ---------------------------------------------------------------------------------
def test_rate_limit_headers_on_every_response_and_429_with_alpacas_body_beyond_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APCA_RETRY_MAX", "0")  # alpaca-py would otherwise retry the 429 itself
    with running_emulator(rate_limit_per_minute=4) as server:
        client = trading_client(server)
        client.get_account()
        client.get_clock()
        ok = requests.get(f"{server.base_url}/v2/positions", headers=HEADERS, timeout=5)
        missing = requests.get(f"{server.base_url}/v2/orders/nope", headers=HEADERS, timeout=5)
        with pytest.raises(APIError) as limited:
            client.get_account()
        raw = requests.get(f"{server.base_url}/v2/account", headers=HEADERS, timeout=5)
        # The data API has its own allowance.
        bars = requests.get(
            f"{server.base_url}/v2/stocks/bars",
            params={"symbols": "AAPL", "timeframe": "1Min"},
            headers=HEADERS,
            timeout=5,
        )
    assert ok.status_code == 200 and missing.status_code == 404
    for response in (ok, missing, raw, bars):
        assert all(name in response.headers for name in RATE_HEADERS)
    assert ok.headers["X-RateLimit-Limit"] == "4"
    assert ok.headers["X-RateLimit-Remaining"] == "1"
    assert missing.headers["X-RateLimit-Remaining"] == "0"
    assert limited.value.status_code == 429
    assert raw.status_code == 429
    assert raw.json() == {"code": 42910000, "message": "rate limit exceeded"}
    reset = int(raw.headers["X-RateLimit-Reset"])
    assert 0 < reset - dt.datetime.now(dt.UTC).timestamp() <= 61
    assert bars.status_code == 200 and bars.headers["X-RateLimit-Remaining"] == "3"


def test_the_standalone_emulator_limits_at_200_per_minute_and_the_library_default_is_off() -> None:
    assert config_from_args(_parser().parse_args([])).rate_limit_per_minute == 200
    assert (
        config_from_args(_parser().parse_args(["--rate-limit", "0"])).rate_limit_per_minute is None
    )
    with running_emulator() as server:
        answer = requests.get(f"{server.base_url}/v2/clock", headers=HEADERS, timeout=5)
    assert answer.status_code == 200 and "X-RateLimit-Limit" not in answer.headers


# --- replace ----------------------------------------------------------------------------------
def test_replace_returns_a_new_order_and_the_old_one_becomes_replaced_with_a_trade_update() -> None:
    with running_emulator() as server:
        client = trading_client(server)

        async def scenario() -> tuple[list[TradeUpdate], object, object, object]:
            updates: list[TradeUpdate] = []

            async def on_update(update: TradeUpdate) -> None:
                updates.append(update)

            stream = TradingStream(API_KEY, SECRET_KEY, url_override=server.trading_stream_url)
            stream.subscribe_trade_updates(on_update)
            task = asyncio.create_task(stream._run_forever(), name="test-trade-stream")
            await eventually_async(lambda: server.status().trade_update_listeners == 1)

            def trade() -> tuple[object, object, object]:
                old = client.submit_order(limit_buy("AAPL", 5, 1.00, client_order_id="old"))
                new = client.replace_order_by_id(
                    old.id, ReplaceOrderRequest(qty=7, limit_price=1.50, client_order_id="new")
                )
                return old, new, client.get_order_by_id(old.id)

            old, new, old_after = await asyncio.to_thread(trade)
            await eventually_async(lambda: len(updates) >= 3)
            await stream.stop_ws()
            await stream.close()
            await asyncio.wait_for(task, timeout=10)
            return updates, old, new, old_after

        updates, old, new, old_after = asyncio.run(scenario())
    assert new.id != old.id and new.client_order_id == "new"
    assert str(new.replaces) == str(old.id)
    assert (new.qty, new.limit_price, new.status) == ("7", "1.5", OrderStatus.NEW)
    assert old_after.status == OrderStatus.REPLACED
    assert str(old_after.replaced_by) == str(new.id) and old_after.replaced_at is not None
    events = [(u.event, u.order.client_order_id) for u in updates]
    assert events == [("new", "old"), ("replaced", "old"), ("new", "new")]


def test_replace_of_a_closed_order_is_refused_with_422() -> None:
    with running_emulator() as server:
        client = trading_client(server)
        order = client.submit_order(limit_buy("AAPL", 1, 1.00))
        client.cancel_order_by_id(order.id)
        with pytest.raises(APIError) as refused:
            client.replace_order_by_id(order.id, ReplaceOrderRequest(limit_price=1.25))
    assert refused.value.status_code == 422


# --- notional orders ----------------------------------------------------------------------------
def test_notional_market_day_orders_are_accepted_and_fill_a_fractional_quantity() -> None:
    with running_emulator() as server:
        client = trading_client(server)
        order = client.submit_order(
            MarketOrderRequest(
                symbol="AAPL", notional=500, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
            )
        )
        assert order.qty is None and Decimal(order.notional) == 500
        server.advance(1)
        filled = client.get_order_by_id(order.id)
        account = client.get_account()
    assert filled.status == OrderStatus.FILLED
    qty, price = Decimal(filled.filled_qty), Decimal(filled.filled_avg_price)
    assert qty != qty.to_integral_value(), "a dollar amount buys a fraction of a share"
    assert Decimal(500) - price < qty * price <= Decimal(500)
    assert Decimal(account.cash) == Decimal(100000) - qty * price


def test_notional_orders_must_be_market_day_orders() -> None:
    with running_emulator() as server:
        answer = requests.post(
            f"{server.base_url}/v2/orders",
            json={
                "symbol": "AAPL",
                "notional": "500",
                "side": "buy",
                "type": "limit",
                "limit_price": "1",
                "time_in_force": "day",
            },
            headers=HEADERS,
            timeout=5,
        )
    assert answer.status_code == 422


# --- time -------------------------------------------------------------------------------------------
def test_orders_get_strictly_increasing_sub_minute_times_and_fill_one_latency_after_arrival() -> (
    None
):
    with running_emulator() as server:
        client = trading_client(server)
        orders = [
            client.submit_order(
                MarketOrderRequest(
                    symbol=symbol, qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
                )
            )
            for symbol in ("AAPL", "MSFT", "SPY")
        ]
        server.advance(1)
        filled = [client.get_order_by_id(o.id) for o in orders]
    created = [o.created_at for o in orders]
    assert created == sorted(set(created)), "unique and strictly increasing"
    assert created[1] - created[0] < dt.timedelta(seconds=1)
    latency = FillModelConfig().latency
    assert [f.filled_at for f in filled] == [c + latency for c in created]


def test_until_on_the_order_list_is_exclusive_and_after_too() -> None:
    with running_emulator() as server:
        client = trading_client(server)
        first, second, third = (
            client.submit_order(limit_buy("AAPL", 1, 1.00 + k / 100)) for k in range(3)
        )
        listed = client.get_orders(
            GetOrdersRequest(
                status=QueryOrderStatus.ALL, after=first.created_at, until=third.created_at
            )
        )
    assert [o.id for o in listed] == [second.id]


def test_speed_pacing_runs_the_clock_without_a_data_client_so_a_market_order_fills() -> None:
    with running_emulator(pacing=Pacing.SPEED, speed=200.0) as server:
        client = trading_client(server)
        order = client.submit_order(
            MarketOrderRequest(
                symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
            )
        )
        eventually(lambda: client.get_order_by_id(order.id).status == OrderStatus.FILLED)
        assert server.status().market_data_clients == 0
        assert server.status().bars_published >= 1


# --- ids and frames -------------------------------------------------------------------------------
def test_every_id_is_a_uuid_version_4() -> None:
    with running_emulator() as server:
        client = trading_client(server)
        order = client.submit_order(
            MarketOrderRequest(
                symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
            )
        )
        server.advance(1)
        ids = [
            order.id,
            order.asset_id,
            client.get_account().id,
            client.get_asset("AAPL").id,
            client.get_open_position("AAPL").asset_id,
        ]
    assert all(uuid.UUID(str(value)).version == 4 for value in ids)


def test_the_trading_stream_sends_binary_frames_as_paper_does() -> None:
    with running_emulator() as server:

        async def scenario() -> list[tuple[aiohttp.WSMsgType, dict]]:
            async with (
                aiohttp.ClientSession() as session,
                session.ws_connect(server.trading_stream_url) as ws,
            ):
                await ws.send_str(
                    json.dumps(
                        {
                            "action": "authenticate",
                            "data": {"key_id": API_KEY, "secret_key": SECRET_KEY},
                        }
                    )
                )
                authorization = await ws.receive()
                await ws.send_str(
                    json.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}})
                )
                listening = await ws.receive()
                await asyncio.to_thread(
                    trading_client(server).submit_order, limit_buy("AAPL", 1, 1.00)
                )
                update = await ws.receive()
                return [(m.type, json.loads(m.data)) for m in (authorization, listening, update)]

        frames = asyncio.run(scenario())
    assert [kind for kind, _ in frames] == [aiohttp.WSMsgType.BINARY] * 3
    assert frames[0][1]["data"]["status"] == "authorized"
    assert frames[2][1]["stream"] == "trade_updates" and frames[2][1]["data"]["event"] == "new"
