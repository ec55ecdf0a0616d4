"""A FILL account activity becomes the execution it describes, with its real id."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from trading_runtime.adapters.alpaca.parsing import UnrecognizedMessageError, fill_activity
from trading_runtime.domain.enums import OrderSide

ACTIVITY = {
    "id": "20261127150400020::3e4071ab-97c5-42c5-9808-e77ce1a79a2f",
    "activity_type": "FILL",
    "transaction_time": "2026-11-27T15:04:00.020Z",
    "type": "partial_fill",
    "price": "144.22",
    "qty": "20",
    "side": "buy",
    "symbol": "AAPL",
    "leaves_qty": "5",
    "order_id": "order-1",
    "cum_qty": "20",
    "order_status": "partially_filled",
}


def test_the_execution_id_and_our_client_order_id_are_recovered() -> None:
    fill = fill_activity(ACTIVITY, {"order-1": "tp-b-abc"})
    assert fill.execution_id == "3e4071ab-97c5-42c5-9808-e77ce1a79a2f"
    assert fill.client_order_id == "tp-b-abc" and fill.broker_order_id == "order-1"
    assert (fill.symbol, fill.side, fill.qty, fill.price) == (
        "AAPL",
        OrderSide.BUY,
        Decimal(20),
        Decimal("144.22"),
    )
    assert fill.timestamp == dt.datetime(2026, 11, 27, 15, 4, 0, 20000, tzinfo=dt.UTC)


def test_other_activities_and_incomplete_ones_are_refused() -> None:
    with pytest.raises(UnrecognizedMessageError):
        fill_activity({**ACTIVITY, "activity_type": "DIV"}, {})
    with pytest.raises(UnrecognizedMessageError):
        fill_activity({k: v for k, v in ACTIVITY.items() if k != "order_id"}, {})
