"""Day trades counted as FINRA counts them (Rule 4210(f)(8)(B), Interpretation /02)."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from trading_runtime.domain import OrderSide
from trading_runtime.risk import count_day_trades, day_trades_in_window
from trading_runtime.risk.day_trades import day_trade_window


def fills(text: str) -> list[tuple[str, Decimal]]:
    """'b250 b250 s500' -> [("buy", 250), ("buy", 250), ("sell", 500)]."""
    sides = {"b": "buy", "s": "sell"}
    return [(sides[item[0]], Decimal(item[1:])) for item in text.split()]


@pytest.mark.parametrize(
    ("executions", "overnight", "expected"),
    [
        # Regulatory Notice 21-13's examples (direction changes; one symbol each).
        ("b250 b250 s500", "0", 1),  # A
        ("b100 s100 b100 s100", "0", 2),  # B
        ("b500 s100 s100 s300", "0", 1),  # C
        ("b250 b300 b100 s150 s175", "0", 1),  # D
        ("b199 b142 s1 b45 s100 s200", "0", 2),  # E
        # The overnight exception: a sale before any new purchase liquidates, it is no
        # day trade; the purchase after it opens a new position.
        ("s50 b50", "50", 0),
        ("s50 b50 s50", "50", 1),
        # A sale after a same-day purchase closes that purchase first (no FIFO against the
        # overnight shares): one day trade.
        ("b25 s25", "50", 1),
        ("s20 b10 s10", "50", 1),
        # Partial executions of one order are one run: one day trade.
        ("b3 b4 b3 s5 s5", "0", 1),
        # A purchase that is never sold, a sale never bought back: no day trade.
        ("b100", "0", 0),
        ("s100", "100", 0),
        ("", "0", 0),
        # Selling more than the overnight position opens a short; covering it the same day
        # is a day trade (selling short and buying back).
        ("s80 b30", "50", 1),
        # A short held overnight: buying it back first is exempt, like (b) of the rule.
        ("b40 s40", "-40", 0),
        ("b40 s10 b10", "-40", 1),
    ],
)
def test_day_trades_are_counted_by_finra_examples(
    executions: str, overnight: str, expected: int
) -> None:
    assert count_day_trades(fills(executions), Decimal(overnight)) == expected


def test_sides_may_be_order_sides_or_their_wire_names() -> None:
    trades = [(OrderSide.BUY, Decimal(1)), ("sell", Decimal(1))]
    assert count_day_trades(trades) == 1


@pytest.mark.parametrize(
    "bad",
    [
        [("short", Decimal(1))],
        [("buy", Decimal(0))],
        [("buy", Decimal(-1))],
        [("buy", Decimal("NaN"))],
        [("buy", 1.5)],
    ],
)
def test_bad_fills_are_refused_with_a_clear_error(bad: list[tuple[str, object]]) -> None:
    with pytest.raises(ValueError, match=r"side|quantity"):
        count_day_trades(bad)  # type: ignore[arg-type]


def test_the_window_is_five_trading_days_so_a_holiday_does_not_shorten_it() -> None:
    # Thanksgiving (Thursday 2026-11-26) is no trading day: the five trading days ending
    # Monday 11-30 reach back to Monday 11-23 (business days would stop at 11-24).
    monday = dt.date(2026, 11, 30)
    assert day_trade_window(monday) == (dt.date(2026, 11, 23), monday)
    history = [dt.date(2026, 11, 20), dt.date(2026, 11, 23), dt.date(2026, 11, 27)]
    assert day_trades_in_window(history, monday) == 2


# --- properties -----------------------------------------------------------------------------

quantities = st.integers(min_value=1, max_value=500).map(Decimal)
executions = st.lists(st.tuples(st.sampled_from(["buy", "sell"]), quantities), max_size=30)


@given(executions, st.integers(min_value=-300, max_value=300).map(Decimal))
def test_at_most_one_day_trade_per_change_of_direction(
    trades: list[tuple[str, Decimal]], overnight: Decimal
) -> None:
    changes = sum(1 for a, b in itertools.pairwise(trades) if a[0] != b[0])
    assert 0 <= count_day_trades(trades, overnight) <= changes


@st.composite
def long_only(draw: st.DrawFn) -> tuple[list[tuple[str, Decimal]], Decimal]:
    """Executions that never sell more than is held (the platform never goes short)."""
    overnight = draw(st.integers(min_value=0, max_value=300).map(Decimal))
    held, trades = overnight, []
    for _ in range(draw(st.integers(min_value=0, max_value=30))):
        if held > 0 and draw(st.booleans()):
            qty = draw(st.integers(min_value=1, max_value=int(held)).map(Decimal))
            trades.append(("sell", qty))
            held -= qty
        else:
            qty = draw(quantities)
            trades.append(("buy", qty))
            held += qty
    return trades, overnight


@given(long_only())
def test_never_more_day_trades_than_buy_or_sell_executions(
    case: tuple[list[tuple[str, Decimal]], Decimal],
) -> None:
    trades, overnight = case
    buys = sum(1 for side, _ in trades if side == "buy")
    sells = len(trades) - buys
    assert 0 <= count_day_trades(trades, overnight) <= min(buys, sells)


@given(
    st.lists(quantities, max_size=10),
    st.lists(quantities, max_size=10),
    st.integers(min_value=0, max_value=200).map(Decimal),
)
def test_sales_of_overnight_shares_before_any_purchase_are_no_day_trades(
    sales: list[Decimal], purchases: list[Decimal], spare: Decimal
) -> None:
    overnight = sum(sales, Decimal(0)) + spare
    trades = [("sell", q) for q in sales] + [("buy", q) for q in purchases]
    assert count_day_trades(trades, overnight) == 0


@given(executions, st.integers(min_value=0, max_value=300).map(Decimal), st.data())
def test_splitting_an_execution_into_partial_fills_changes_nothing(
    trades: list[tuple[str, Decimal]], overnight: Decimal, data: st.DataObject
) -> None:
    assume(trades)
    index = data.draw(st.integers(min_value=0, max_value=len(trades) - 1))
    side, qty = trades[index]
    assume(qty >= 2)
    part = data.draw(st.integers(min_value=1, max_value=int(qty) - 1).map(Decimal))
    split = [*trades[:index], (side, part), (side, qty - part), *trades[index + 1 :]]
    assert count_day_trades(split, overnight) == count_day_trades(trades, overnight)


@given(st.lists(st.tuples(quantities, quantities), max_size=8))
def test_round_trips_that_return_flat_add_one_day_trade_each(
    round_trips: list[tuple[Decimal, Decimal]],
) -> None:
    # Each round trip buys in two lots and sells everything back in one.
    trades = []
    for first, second in round_trips:
        trades += [("buy", first), ("buy", second), ("sell", first + second)]
    assert count_day_trades(trades) == len(round_trips)
