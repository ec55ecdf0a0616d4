"""The intraday equity curve, drawdown and slippage, against values worked out by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.unit.reports.builders import at, fill, mark, slippage_of
from trading_runtime.domain import Position
from trading_runtime.reports.equity import (
    EquityPoint,
    drawdown_series,
    marked_equity,
    max_drawdown,
)
from trading_runtime.reports.slippage import combine, fill_bps, fill_cost, summarize

BUY = fill("buy", "10", "100.05", 1.5)
SELL = fill("sell", "10", "101.9", 3.5)
MARKS = [mark(0, "100"), mark(1, "101"), mark(2, "99"), mark(3, "102")]


def test_equity_is_marked_every_minute_from_the_brokers_starting_equity() -> None:
    curve = marked_equity(Decimal("100000"), at(-1), [SELL, BUY], MARKS)
    assert [(p.timestamp, p.equity) for p in curve] == [
        (at(-1), Decimal("100000")),
        (at(1), Decimal("100000")),  # nothing held yet
        (at(2), Decimal("100009.50")),  # -1000.50 cash, 10 x 101
        (at(3), Decimal("99989.50")),  # 10 x 99
        (at(4), Decimal("100018.5")),  # sold at 101.90: flat again
    ]


def test_a_position_held_at_the_start_counts_from_its_first_price() -> None:
    opening = {"AAPL": Position("AAPL", Decimal("10"), Decimal("90"))}
    curve = marked_equity(Decimal("101000"), at(-1), [], [mark(0, "100"), mark(1, "105")], opening)
    # The broker's starting equity already values the position at the market.
    assert [p.equity for p in curve] == [Decimal("101000"), Decimal("101000"), Decimal("101050")]


def test_fills_after_the_last_decision_price_end_the_curve() -> None:
    late = fill("sell", "10", "98", 10)
    curve = marked_equity(Decimal("100000"), at(-1), [BUY, late], MARKS[:2])
    assert curve[-1] == EquityPoint(at(10), Decimal("99979.5"))  # 980 - 1000.50


def test_drawdown_is_the_deepest_fall_from_a_running_peak() -> None:
    curve = marked_equity(Decimal("100000"), at(-1), [BUY, SELL], MARKS)
    drawdown = max_drawdown(curve)
    assert drawdown.amount == Decimal("-20.00")
    assert drawdown.fraction == pytest.approx(99989.5 / 100009.5 - 1)
    assert (drawdown.peak_at, drawdown.trough_at) == (at(2), at(3))
    assert drawdown_series(curve) == pytest.approx([0, 0, 0, 99989.5 / 100009.5 - 1, 0])


def test_a_curve_that_never_falls_has_no_drawdown() -> None:
    rising = [EquityPoint(at(i), Decimal(100 + i)) for i in range(3)]
    drawdown = max_drawdown(rising)
    assert (drawdown.fraction, drawdown.amount, drawdown.peak_at) == (0.0, 0, None)


def test_slippage_is_adverse_movement_from_the_decision_price() -> None:
    bought, sold = slippage_of(BUY, "100"), slippage_of(SELL, "102")
    assert fill_bps(bought) == pytest.approx(5.0)  # paid 0.05 more on 100
    assert fill_cost(bought) == Decimal("0.50")
    assert fill_bps(sold) == pytest.approx(0.1 / 102 * 10_000)  # got 0.10 less
    assert fill_cost(sold) == Decimal("1.0")


def test_the_session_mean_is_weighted_by_notional_and_skips_fills_without_a_decision() -> None:
    summary = summarize([slippage_of(BUY, "100"), slippage_of(SELL, "102"), slippage_of(BUY, None)])
    assert (summary.fills_compared, summary.fills_without_decision_price) == (2, 1)
    assert summary.cost == Decimal("1.50")
    assert summary.mean_bps == pytest.approx(1.5 / 2020 * 10_000)
    assert summary.worst_bps == pytest.approx(0.1 / 102 * 10_000)
    both = combine([summary, summarize([slippage_of(BUY, "100")])])
    assert both.mean_bps == pytest.approx(2.0 / 3020 * 10_000)
    assert summarize([]).mean_bps is None
