"""The book counts day trades through count_day_trades: overnight shares, new days."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from tests.support.builders import FULL_DAY, minute
from trading_runtime.core.book import Book
from trading_runtime.domain import Fill, OrderSide, Position

NEXT_DAY = dt.date(2026, 11, 27)


def fill(execution_id: str, side: OrderSide, qty: str, price: str = "100") -> Fill:
    return Fill(
        execution_id,
        "b-1",
        f"c-{execution_id}",
        "AAPL",
        side,
        Decimal(qty),
        Decimal(price),
        minute(),
    )


def test_selling_the_overnight_position_is_no_day_trade_but_a_same_day_round_trip_is() -> None:
    book = Book(
        cash=Decimal("10000"), positions={"AAPL": Position("AAPL", Decimal("50"), Decimal("90"))}
    )
    book.apply_fill(fill("e1", OrderSide.SELL, "50"), FULL_DAY)
    book.apply_fill(fill("e2", OrderSide.BUY, "50"), FULL_DAY)
    assert book.day_trades == []
    book.apply_fill(fill("e3", OrderSide.SELL, "20"), FULL_DAY)
    book.apply_fill(fill("e4", OrderSide.SELL, "30"), FULL_DAY)  # same run: same day trade
    assert book.day_trades == [FULL_DAY]
    state = book.state(minute())
    assert state.day_trades == (FULL_DAY,)
    assert state.overnight_qty == {"AAPL": Decimal("50")}
    assert [side for side, _ in state.fills_today["AAPL"]] == ["sell", "buy", "sell", "sell"]


def test_a_new_day_keeps_earlier_day_trades_and_starts_from_the_positions_held() -> None:
    book = Book(cash=Decimal("10000"))
    book.apply_fill(fill("e1", OrderSide.BUY, "10"), FULL_DAY)
    book.apply_fill(fill("e2", OrderSide.SELL, "5"), FULL_DAY)
    book.new_day()
    assert book.day_trades == [FULL_DAY]
    assert book.overnight_qty == {"AAPL": Decimal("5")}
    book.apply_fill(fill("e3", OrderSide.SELL, "5"), NEXT_DAY)  # overnight shares: exempt
    assert book.day_trades == [FULL_DAY]
    book.apply_fill(fill("e4", OrderSide.BUY, "5"), NEXT_DAY)
    book.apply_fill(fill("e5", OrderSide.SELL, "5"), NEXT_DAY)
    assert book.day_trades == [FULL_DAY, NEXT_DAY]
