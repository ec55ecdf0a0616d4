"""Translation of Alpaca messages into domain types."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

import msgpack
import pandas as pd
import pytest
from alpaca.trading.models import Clock, Order, TradeAccount
from alpaca.trading.models import Position as AlpacaPosition

from trading_runtime.adapters.alpaca import parsing
from trading_runtime.domain.enums import (
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    TradeEventType,
)
from trading_runtime.marketdata.storage import BAR_SCHEMA

STAMP = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)


def stream_bar(**changes: Any) -> dict[str, Any]:
    bar = {
        "T": "b",
        "S": "AAPL",
        "o": 100.0,
        "h": 101.0,
        "l": 99.5,
        "c": 100.5,
        "v": 1200,
        "t": msgpack.Timestamp.from_unix_nano(int(STAMP.timestamp()) * 10**9),
        "n": 12,
        "vw": 100.2,
    }
    bar.update(changes)
    return bar


def raw_order(**changes: Any) -> dict[str, Any]:
    order = {
        "id": "6513270e-269e-4d37-b2a7-4de452e6b438",
        "client_order_id": "tp-b-1",
        "created_at": "2026-03-02T15:00:00Z",
        "updated_at": "2026-03-02T15:01:00.123456789Z",
        "submitted_at": "2026-03-02T15:00:00Z",
        "symbol": "AAPL",
        "asset_class": "us_equity",
        "qty": "10",
        "filled_qty": "4",
        "filled_avg_price": "100.125",
        "order_class": "simple",
        "type": "limit",
        "order_type": "limit",
        "side": "buy",
        "time_in_force": "ioc",
        "limit_price": "100.2",
        "status": "partially_filled",
        "extended_hours": False,
    }
    order.update(changes)
    return order


def test_stream_bar_becomes_a_utc_bar() -> None:
    bar = parsing.bar_from_stream(stream_bar())
    assert bar.timestamp == STAMP and bar.timestamp.tzinfo is not None
    assert (bar.symbol, bar.open, bar.high, bar.low, bar.close, bar.volume) == (
        "AAPL",
        100.0,
        101.0,
        99.5,
        100.5,
        1200,
    )
    assert (bar.trade_count, bar.vwap) == (12, 100.2)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"c": None}, "missing"),
        ({"c": math.nan}, "non-finite"),
        ({"o": 0.0}, "non-positive"),
        ({"h": 99.0, "l": 101.0}, "high below low"),
        ({"o": "100"}, "not a number"),
        ({"t": "yesterday"}, "timestamp"),
    ],
)
def test_malformed_stream_bars_are_refused_with_a_reason(
    changes: dict[str, Any], reason: str
) -> None:
    with pytest.raises(parsing.MalformedBarError, match=reason):
        parsing.bar_from_stream(stream_bar(**changes))


def test_missing_stream_bar_fields_are_named() -> None:
    raw = stream_bar()
    del raw["h"]
    with pytest.raises(parsing.MalformedBarError, match="'h'"):
        parsing.bar_from_stream(raw)


def test_rest_bars_become_a_frame_with_the_lake_schema() -> None:
    raw = {
        "MSFT": [
            {
                "t": "2026-03-02T14:31:00Z",
                "o": 1,
                "h": 2,
                "l": 0.5,
                "c": 1.5,
                "v": 10,
                "n": 2,
                "vw": 1.2,
            }
        ],
        "AAPL": [
            {
                "t": "2026-03-02T14:30:00Z",
                "o": 1,
                "h": 2,
                "l": 0.5,
                "c": 1.5,
                "v": 10,
                "n": 2,
                "vw": 1.2,
            },
            {
                "t": "2026-03-02T14:31:00Z",
                "o": 1,
                "h": 2,
                "l": 0.5,
                "c": 1.5,
                "v": 11,
                "n": None,
                "vw": None,
            },
        ],
    }
    frame, token = parsing.bars_page({"bars": raw, "next_page_token": "abc"}, "2026-03-02")
    assert token == "abc"
    assert list(frame.columns) == BAR_SCHEMA.names
    assert str(frame["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert list(zip(frame["symbol"], frame["timestamp"].dt.minute, strict=True)) == [
        ("AAPL", 30),
        ("AAPL", 31),
        ("MSFT", 31),
    ]
    assert frame["trade_count"].isna().sum() == 1
    empty, token = parsing.bars_page({"bars": {}, "next_page_token": None}, "2026-03-02")
    assert empty.empty and token is None
    assert list(empty.columns) == BAR_SCHEMA.names


def _bars_body(**changes: object) -> dict[str, object]:
    bar: dict[str, object] = {
        "t": "2026-03-02T15:00:00Z",
        "o": 1.0,
        "h": 2.0,
        "l": 0.5,
        "c": 1.5,
        "v": 10,
    }
    bar.update(changes)
    return {"bars": {"AAPL": [bar]}, "next_page_token": None}


@pytest.mark.parametrize(
    "body, expected",
    [
        ({"next_page_token": None}, r"day 2026-03-02\.\.2026-03-04, field bars\): no 'bars'"),
        ({"bars": [1, 2]}, r"field bars\): 'bars' is not an object"),
        (
            {
                "bars": {
                    "AAPL": [{k: v for k, v in _bars_body()["bars"]["AAPL"][0].items() if k != "c"}]
                }
            },
            r"day 2026-03-02, symbol AAPL, field c\): a bar without 'c'",
        ),
        (_bars_body(c="1.5"), r"day 2026-03-02, symbol AAPL, field c\): 'c' is not a number"),
        (_bars_body(h=True), r"symbol AAPL, field h\): 'h' is not a number"),
        (_bars_body(t="yesterday"), r"symbol AAPL, field t\)"),
        (_bars_body(v=float("nan")), r"symbol AAPL, field v\): 'v' is not finite"),
    ],
)
def test_a_malformed_bars_body_names_day_symbol_and_field(body: object, expected: str) -> None:
    with pytest.raises(parsing.MalformedBarsResponseError, match=expected):
        parsing.bars_page(body, "2026-03-02..2026-03-04")


def test_order_snapshot_keeps_exact_decimals() -> None:
    snapshot = parsing.order_snapshot(Order(**raw_order()))
    assert snapshot.broker_order_id == "6513270e-269e-4d37-b2a7-4de452e6b438"
    assert (snapshot.side, snapshot.order_type, snapshot.time_in_force) == (
        OrderSide.BUY,
        OrderType.LIMIT,
        TimeInForce.IOC,
    )
    assert snapshot.status is OrderStatus.PARTIALLY_FILLED
    assert (snapshot.qty, snapshot.filled_qty) == (Decimal(10), Decimal(4))
    assert snapshot.filled_avg_price == Decimal("100.125")
    assert snapshot.limit_price == Decimal("100.2")
    assert snapshot.remaining_qty == Decimal(6)
    assert snapshot.updated_at.tzinfo is not None


def test_unfilled_order_has_no_average_price() -> None:
    snapshot = parsing.order_snapshot(
        raw_order(filled_qty="0", filled_avg_price=None, status="new")
    )
    assert snapshot.filled_avg_price is None and snapshot.filled_qty == 0


def test_orders_the_platform_does_not_model_are_unrecognized() -> None:
    with pytest.raises(parsing.UnrecognizedMessageError):
        parsing.order_snapshot(raw_order(type="stop", order_type="stop", stop_price="90"))
    with pytest.raises(parsing.UnrecognizedMessageError):
        parsing.order_snapshot(raw_order(qty=None, notional="1000"))


def test_fill_update_carries_this_executions_quantity_and_price() -> None:
    data = {
        "event": "partial_fill",
        "execution_id": "0d9f3c3e-4b0b-4c8e-9a53-4a3d5e6f7a8b",
        "order": raw_order(),
        "timestamp": "2026-03-02T15:01:00Z",
        "price": "100.13",
        "qty": "3",
        "position_qty": "7",
    }
    update = parsing.order_updated(data)
    assert update.event is TradeEventType.PARTIAL_FILL
    assert update.fill is not None
    assert (update.fill.qty, update.fill.price) == (Decimal(3), Decimal("100.13"))
    assert update.fill.execution_id == "0d9f3c3e-4b0b-4c8e-9a53-4a3d5e6f7a8b"
    assert update.fill.client_order_id == "tp-b-1"
    assert update.position_qty == Decimal(7)
    assert update.order.filled_qty == Decimal(4)


def test_non_fill_update_has_no_fill() -> None:
    update = parsing.order_updated(
        {
            "event": "canceled",
            "order": raw_order(status="canceled"),
            "timestamp": "2026-03-02T15:01:00Z",
        }
    )
    assert update.event is TradeEventType.CANCELED and update.fill is None


def test_fill_update_without_execution_id_is_unrecognized() -> None:
    with pytest.raises(parsing.UnrecognizedMessageError):
        parsing.order_updated(
            {
                "event": "fill",
                "order": raw_order(),
                "timestamp": "2026-03-02T15:01:00Z",
                "price": "1",
                "qty": "1",
            }
        )
    with pytest.raises(parsing.UnrecognizedMessageError):
        parsing.order_updated(
            {"event": "pending_cancel", "order": raw_order(), "timestamp": "2026-03-02T15:01:00Z"}
        )


def test_positions_account_and_clock() -> None:
    alpaca_position = AlpacaPosition(
        asset_id="13eba9f8-860e-50eb-b602-f65971dee2f3",
        symbol="AAPL",
        exchange="NASDAQ",
        asset_class="us_equity",
        avg_entry_price="100.125",
        qty="7",
        side="long",
        cost_basis="700.875",
    )
    assert parsing.positions([alpaca_position])["AAPL"].avg_entry_price == Decimal("100.125")
    account = TradeAccount(
        id="13eba9f8-860e-50eb-b602-f65971dee2f3",
        account_number="PA1",
        status="ACTIVE",
        cash="99299.125",
        buying_power="99000",
        equity="100001.5",
    )
    snapshot = parsing.account_snapshot(account, STAMP)
    assert (snapshot.cash, snapshot.buying_power, snapshot.equity) == (
        Decimal("99299.125"),
        Decimal(99000),
        Decimal("100001.5"),
    )
    clock = parsing.market_clock(
        Clock(
            timestamp="2026-03-02T10:01:00-05:00",
            is_open=True,
            next_open="2026-03-03T09:30:00-05:00",
            next_close="2026-03-02T16:00:00-05:00",
        )
    )
    assert clock.timestamp == pd.Timestamp("2026-03-02T15:01:00Z").to_pydatetime()
    assert clock.next_close.tzinfo == dt.UTC
