"""Round trips from fills, against trips worked out by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.unit.reports.builders import at, fill
from trading_runtime.domain import Position
from trading_runtime.reports.trips import TripSide, round_trips


def test_partial_fills_of_one_order_make_one_trip_at_their_average_price() -> None:
    # One buy order of 10 filled as 4 @ 100.00 and 6 @ 100.10; one sell of 10 @ 101.
    fills = [
        fill("buy", "4", "100.00", 1, fee="0.01"),
        fill("buy", "6", "100.10", 1.01, fee="0.01"),
        fill("sell", "10", "101.00", 31, fee="0.02"),
    ]
    [trip] = round_trips(fills)
    assert trip.side is TripSide.LONG and not trip.is_open
    assert trip.entry_qty == trip.exit_qty == Decimal("10")
    assert trip.entry_price == Decimal("100.06")  # (400 + 600.6) / 10
    assert trip.exit_price == Decimal("101")
    assert trip.fees == Decimal("0.04")
    assert trip.pnl == Decimal("9.36")  # 1010 - 1000.6 - 0.04
    assert (trip.entry_time, trip.exit_time) == (at(1), at(31))
    assert trip.holding_time == dt.timedelta(minutes=30)
    assert trip.fills == 3


def test_scaling_in_averages_the_entry_and_holds_from_the_first_fill() -> None:
    fills = [
        fill("buy", "5", "50", 10),
        fill("buy", "5", "52", 20),
        fill("sell", "10", "53", 40),
    ]
    [trip] = round_trips(fills)
    assert trip.entry_qty == Decimal("10") and trip.entry_price == Decimal("51")
    assert trip.pnl == Decimal("20")  # 530 - 510
    assert trip.holding_time == dt.timedelta(minutes=30)
    assert trip.return_fraction == pytest.approx(20 / 510)


def test_partial_exits_close_the_trip_with_the_last_one() -> None:
    fills = [
        fill("buy", "10", "20", 0),
        fill("sell", "4", "21", 5),
        fill("sell", "6", "19", 9),
    ]
    [trip] = round_trips(fills)
    assert trip.exit_qty == Decimal("10")
    assert trip.exit_price == Decimal("19.8")  # (84 + 114) / 10
    assert trip.pnl == Decimal("-2")
    assert trip.exit_time == at(9)


def test_a_position_left_open_at_the_close_is_marked_at_the_last_price() -> None:
    fills = [fill("buy", "10", "30", 0), fill("sell", "3", "31", 100)]
    [trip] = round_trips(fills, marks={"AAPL": Decimal("32")}, marked_at=at(390))
    assert trip.is_open and trip.exit_time is None
    assert trip.open_qty == Decimal("7")
    assert trip.exit_price == Decimal("31")
    assert trip.pnl == Decimal("17")  # 93 + 7 * 32 - 300
    assert trip.holding_time == dt.timedelta(minutes=390)


def test_an_open_trip_without_a_mark_is_valued_at_its_last_fill() -> None:
    [trip] = round_trips([fill("buy", "2", "10", 0), fill("buy", "2", "12", 1)])
    assert trip.mark_price == Decimal("12")
    assert trip.pnl == Decimal("4")  # 4 * 12 - 44
    assert trip.holding_time is None  # nothing says until when it was held


def test_each_return_to_flat_ends_a_trip_and_symbols_are_separate() -> None:
    fills = [
        fill("buy", "1", "10", 0),
        fill("buy", "3", "200", 1, symbol="MSFT"),
        fill("sell", "1", "11", 2),
        fill("buy", "2", "10", 3),
        fill("sell", "3", "199", 4, symbol="MSFT"),
        fill("sell", "2", "9", 5),
    ]
    trips = round_trips(fills)
    assert [(t.symbol, t.entry_time, t.exit_time, t.pnl) for t in trips] == [
        ("AAPL", at(0), at(2), Decimal("1")),
        ("MSFT", at(1), at(4), Decimal("-3")),
        ("AAPL", at(3), at(5), Decimal("-2")),
    ]


def test_a_fill_through_zero_closes_the_trip_and_opens_the_other_side() -> None:
    fills = [fill("buy", "5", "10", 0), fill("sell", "8", "12", 1, fee="0.8")]
    long, short = round_trips(fills, marks={"AAPL": Decimal("11")})
    assert (long.side, long.exit_time, long.pnl) == (TripSide.LONG, at(1), Decimal("9.2"))
    assert short.side is TripSide.SHORT and short.is_open
    assert (short.entry_qty, short.entry_price) == (Decimal("3"), Decimal("12"))
    assert short.pnl == Decimal("3")  # sold 3 at 12, worth 11: fee stays with the long trip
    assert long.fees + short.fees == Decimal("0.8")


def test_a_position_held_at_the_start_is_a_carried_in_trip() -> None:
    opening = {"AAPL": Position("AAPL", Decimal("10"), Decimal("150"))}
    [trip] = round_trips([fill("sell", "10", "155", 60)], opening=opening, opened_at=at(-1))
    assert trip.carried_in and trip.entry_time == at(-1)
    assert trip.pnl == Decimal("50")
    assert trip.fills == 1


def test_fills_arrive_in_any_order() -> None:
    fills = [fill("sell", "10", "21", 5), fill("buy", "10", "20", 0)]
    [trip] = round_trips(fills)
    assert trip.pnl == Decimal("10") and trip.entry_time == at(0)


def test_bad_fills_and_opening_positions_without_a_time_are_refused() -> None:
    with pytest.raises(ValueError, match="qty 0"):
        round_trips([fill("buy", "0", "20", 0)])
    with pytest.raises(ValueError, match="opened_at"):
        round_trips([], opening={"AAPL": Position("AAPL", Decimal("1"), Decimal("1"))})
