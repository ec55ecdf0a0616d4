"""The ledger's day against the broker's positions, as a restart checks them."""

from __future__ import annotations

from decimal import Decimal

from trading_runtime.domain.enums import OrderSide
from trading_runtime.domain.portfolio import Position
from trading_runtime.engine.recovery import position_mismatches

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def test_overnight_plus_fills_matching_the_broker_is_no_mismatch() -> None:
    fills = [("AAPL", BUY, Decimal(20)), ("AAPL", SELL, Decimal(5)), ("MSFT", SELL, Decimal(3))]
    broker = {"AAPL": Position("AAPL", Decimal(25), Decimal(1))}
    assert (
        position_mismatches({"AAPL": Decimal(10), "MSFT": Decimal(3)}, fills, broker, Decimal(0))
        == {}
    )


def test_a_fill_missing_from_the_ledger_is_a_mismatch_beyond_the_tolerance() -> None:
    broker = {"AAPL": Position("AAPL", Decimal(20), Decimal("144.22"))}
    assert position_mismatches({}, [], broker, Decimal(0)) == {"AAPL": (Decimal(0), Decimal(20))}
    assert position_mismatches({}, [], broker, Decimal(20)) == {}
