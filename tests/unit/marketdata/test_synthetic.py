from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from tests.support.builders import EARLY_CLOSE_DAY, FULL_DAY
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.quality import quality_report
from trading_runtime.marketdata.synthetic import SyntheticMarket


def test_same_seed_same_bars_whatever_else_is_in_the_universe() -> None:
    small = SyntheticMarket(3).day_bars(FULL_DAY, ["AAPL"])
    large = SyntheticMarket(3).day_bars(FULL_DAY, ["AAPL", "MSFT", "TSLA", "AMD"])
    pick = lambda f: f[f["symbol"] == "AAPL"].reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(pick(small), pick(large))


def test_a_different_seed_gives_a_different_market() -> None:
    a = SyntheticMarket(1).day_bars(FULL_DAY, ["AAPL"])
    b = SyntheticMarket(2).day_bars(FULL_DAY, ["AAPL"])
    assert not a["close"].equals(b["close"])


@pytest.mark.parametrize("day, minutes", [(FULL_DAY, 390), (EARLY_CLOSE_DAY, 210)])
def test_bars_cover_the_regular_session_and_are_sound(day: dt.date, minutes: int) -> None:
    bars = SyntheticMarket(7).day_bars(day, ["AAPL", "MSFT"])
    session = calendar.session(day)
    assert len(bars) == 3 * minutes  # two symbols plus SPY
    report = quality_report(bars, session)
    assert report.rejected == 0
    assert report.missing_minutes == 0
    assert bars["timestamp"].min() == pd.Timestamp(session.open)
    assert bars["timestamp"].max() == pd.Timestamp(session.close) - pd.Timedelta(minutes=1)


def test_no_bars_on_a_holiday() -> None:
    with pytest.raises(ValueError, match="not an NYSE trading day"):
        SyntheticMarket(7).day_bars(dt.date(2026, 11, 26), ["AAPL"])


def test_volume_is_u_shaped_over_the_day() -> None:
    bars = SyntheticMarket(7).day_bars(FULL_DAY, ["AAPL", "MSFT", "NVDA", "AMZN"])
    by_minute = bars.groupby("timestamp")["volume"].sum().to_numpy()
    assert by_minute[:30].mean() > by_minute[150:240].mean()
    assert by_minute[-30:].mean() > by_minute[150:240].mean()
