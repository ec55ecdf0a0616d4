"""The minute grid built from a frame of bars: sessions split by New York date, each with
the symbols that traded in it, and unclean bars refused with a reason."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from tests.support.builders import day_bars
from trading_runtime.features.grid import session_grids
from trading_runtime.marketdata import calendar

# The last session on daylight time and the first on standard time (2026-11-01).
BEFORE_DST_ENDS, AFTER_DST_ENDS = dt.date(2026, 10, 30), dt.date(2026, 11, 2)


@pytest.fixture(scope="module")
def two_sessions() -> pd.DataFrame:
    first = day_bars(BEFORE_DST_ENDS, ("AAPL", "MSFT"))
    second = day_bars(AFTER_DST_ENDS, ("AAPL",))
    return pd.concat([second, first], ignore_index=True)  # not in time order


def test_sessions_are_split_by_new_york_date_across_a_clock_change(
    two_sessions: pd.DataFrame,
) -> None:
    grids = session_grids(two_sessions)
    assert [g.session.date for g in grids] == [BEFORE_DST_ENDS, AFTER_DST_ENDS]
    assert grids[0].symbols == ("AAPL", "MSFT", "SPY")
    assert grids[1].symbols == ("AAPL", "SPY")  # only the symbols that traded that day
    for grid in grids:
        day = two_sessions[
            two_sessions["timestamp"].dt.tz_convert(calendar.NEW_YORK).dt.date == grid.session.date
        ]
        assert int(grid.traded.sum()) == len(day)
        aapl = day[day["symbol"] == "AAPL"].sort_values("timestamp")
        row = grid.symbols.index("AAPL")
        assert grid.close[row, -1] == aapl["close"].iloc[-1]
        assert grid.first_open[row] == aapl["open"].iloc[0]


def test_one_session_gives_the_same_grid_alone_and_among_others(
    two_sessions: pd.DataFrame,
) -> None:
    alone = session_grids(day_bars(AFTER_DST_ENDS, ("AAPL",)))[0]
    among = session_grids(two_sessions)[1]
    assert alone.symbols == among.symbols
    for name in ("traded", "close", "high", "low", "volume", "bar_vwap", "first_index"):
        np.testing.assert_array_equal(getattr(alone, name), getattr(among, name), err_msg=name)


def _broken(change: str) -> pd.DataFrame:
    bars = day_bars(BEFORE_DST_ENDS, ("AAPL",))
    if change == "duplicate":
        return pd.concat([bars, bars.iloc[[5]]], ignore_index=True)
    if change == "off the minute":
        bars.loc[5, "timestamp"] += pd.Timedelta(seconds=30)
    elif change == "after the close":
        bars.loc[5, "timestamp"] = pd.Timestamp(calendar.session(BEFORE_DST_ENDS).close)
    elif change == "no symbol":
        bars.loc[5, "symbol"] = None
    elif change == "naive timestamps":
        bars["timestamp"] = bars["timestamp"].dt.tz_localize(None)
    return bars


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("duplicate", "duplicate bars"),
        ("off the minute", "not on a regular-hours minute"),
        ("after the close", "not on a regular-hours minute"),
        ("no symbol", "without a symbol"),
        ("naive timestamps", "tz-aware"),
    ],
)
def test_unclean_bars_are_refused_with_the_reason(change: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        session_grids(_broken(change))
