from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from tests.support.builders import EARLY_CLOSE_DAY, FULL_DAY
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.quality import quality_report
from trading_runtime.marketdata.synthetic import SyntheticMarket, SyntheticMarketParameters
from trading_runtime.marketdata.universe import NASDAQ_100


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
def test_regular_bars_stay_in_the_session_and_are_sound(day: dt.date, minutes: int) -> None:
    bars = SyntheticMarket(7).day_bars(day, ["AAPL", "MSFT"])
    session = calendar.session(day)
    assert len(bars) <= 3 * minutes  # two symbols plus SPY, some minutes without a bar
    report = quality_report(bars, session)
    assert report.rejected == 0
    assert bars["timestamp"].min() >= pd.Timestamp(session.open)
    assert bars["timestamp"].max() < pd.Timestamp(session.close)


def test_thin_names_miss_many_minutes_and_liquid_ones_few() -> None:
    market = SyntheticMarket(7)
    tiers = {s: market.profile(s).tier for s in NASDAQ_100}
    assert set(tiers.values()) == {"liquid", "mid", "thin"}
    thin = [s for s, tier in tiers.items() if tier == "thin"][:3]
    liquid = [s for s, tier in tiers.items() if tier == "liquid"][:3]
    bars = market.day_bars(FULL_DAY, thin + liquid)
    coverage = bars.groupby("symbol").size() / 390
    assert coverage[thin].max() < 0.6
    assert coverage[liquid].min() > 0.9
    assert coverage["SPY"] > 0.99


def test_a_halted_symbol_is_silent_for_a_stretch_and_reopens() -> None:
    parameters = SyntheticMarketParameters(halt_probability=1.0, halt_minutes=(30, 30))
    bars = SyntheticMarket(7, parameters=parameters).day_bars(FULL_DAY, ["AAPL"])
    aapl = bars[bars["symbol"] == "AAPL"]
    assert aapl["timestamp"].diff().max() >= pd.Timedelta(minutes=31)


def test_extended_hours_are_returned_on_request_and_only_then() -> None:
    market = SyntheticMarket(7)
    session = calendar.session(FULL_DAY)
    regular = market.day_bars(FULL_DAY, ["AAPL"])
    extended = market.day_bars(FULL_DAY, ["AAPL"], extended_hours=True)
    outside = ~extended["timestamp"].between(
        pd.Timestamp(session.open), pd.Timestamp(session.close), inclusive="left"
    )
    assert outside.sum() > 20
    pd.testing.assert_frame_equal(extended[~outside].reset_index(drop=True), regular)
    assert quality_report(extended[outside], session).outside_session == outside.sum()
    local = extended.loc[outside, "timestamp"].dt.tz_convert(calendar.NEW_YORK)
    assert local.dt.hour.min() >= 4 and local.dt.hour.max() < 20


def test_a_split_divides_raw_prices_overnight_and_is_listed() -> None:
    market = SyntheticMarket(7)
    window = calendar.previous_sessions(FULL_DAY, 60)
    splits = market.splits(NASDAQ_100, window[0], window[-1])
    assert splits, "a 60-session window holds at least one split"
    split = splits[0]
    before = calendar.previous_sessions(split.effective_date, 1)[0]
    last_close = market.day_bars(before, [split.symbol]).query("symbol == @split.symbol")
    first_open = market.day_bars(split.effective_date, [split.symbol]).query(
        "symbol == @split.symbol"
    )
    gap = first_open["open"].iloc[0] / last_close["close"].iloc[-1]
    assert gap == pytest.approx(1.0 / split.ratio, rel=0.1)
    assert market.splits([split.symbol], split.effective_date, split.effective_date) == [split]


def test_predictability_zero_leaves_no_reversal_after_shocks() -> None:
    """At full strength a shock partly reverts over the next ten minutes; at zero it does not."""

    def reversal(predictability: float) -> float:
        parameters = SyntheticMarketParameters(
            predictability=predictability, shock_probability=0.03, halt_probability=0.0
        )
        market = SyntheticMarket(11, parameters=parameters)
        ratios = []
        for day in calendar.previous_sessions(FULL_DAY, 5):
            bars = market.day_bars(day, list(NASDAQ_100[:20]))
            for _, group in bars[bars["symbol"] != "SPY"].groupby("symbol"):
                grid = group.set_index("timestamp")["close"]
                grid = grid.reindex(calendar.session(day).bar_timestamps()).ffill().to_numpy()
                moves = np.diff(np.log(grid))
                shocks = np.flatnonzero(np.abs(moves) > 0.006)
                shocks = shocks[shocks < len(moves) - 10]
                after = np.log(grid[shocks + 11] / grid[shocks + 1])
                ratios.extend(after / moves[shocks])
        return float(np.nanmean(ratios))

    full, none = reversal(1.0), reversal(0.0)
    assert full < -0.2
    assert abs(none) < 0.1


def test_no_bars_on_a_holiday() -> None:
    with pytest.raises(ValueError, match="not an NYSE trading day"):
        SyntheticMarket(7).day_bars(dt.date(2026, 11, 26), ["AAPL"])


def test_volume_is_u_shaped_over_the_day() -> None:
    bars = SyntheticMarket(7).day_bars(FULL_DAY, ["AAPL", "MSFT", "NVDA", "AMZN"])
    by_minute = bars.groupby("timestamp")["volume"].sum().to_numpy()
    assert by_minute[:30].mean() > by_minute[150:240].mean()
    assert by_minute[-30:].mean() > by_minute[150:240].mean()
