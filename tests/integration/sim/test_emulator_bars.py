"""``GET /v2/stocks/bars`` in every documented timeframe and adjustment, with whatever the bar
source holds (extended hours included), checked through alpaca-py against an independent
aggregation of the source's minute bars."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import requests
from alpaca.data.enums import Adjustment
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

from tests.support.emulator import (
    API_KEY,
    SECRET_KEY,
    SESSION_DATE,
    data_client,
    dense_market,
    running_emulator,
)
from trading_runtime.marketdata import calendar
from trading_runtime.sim import EmulatorServer

HEADERS = {"APCA-API-KEY-ID": API_KEY, "APCA-API-SECRET-KEY": SECRET_KEY}
PREVIOUS_DAY = dt.date(2026, 2, 27)
MARKET = dense_market()  # what running_emulator() serves
PRICES = ["open", "high", "low", "close"]


def source_bars(days: list[dt.date]) -> pd.DataFrame:
    frame = pd.concat([MARKET.day_bars(day, ["AAPL"]) for day in days])
    return frame[frame["symbol"] == "AAPL"].reset_index(drop=True)


def oracle(bars: pd.DataFrame, bucket: pd.Series) -> pd.DataFrame:
    """Plain pandas aggregation of minute bars by ``bucket`` (the test's own definition)."""
    grouped = bars.assign(bucket=bucket).sort_values("timestamp").groupby("bucket")
    return pd.DataFrame(
        {
            "open": grouped["open"].first(),
            "high": grouped["high"].max(),
            "low": grouped["low"].min(),
            "close": grouped["close"].last(),
            "volume": grouped["volume"].sum(),
        }
    )


def served(
    server: EmulatorServer, timeframe: TimeFrame, start: dt.datetime, end: dt.datetime, **extra
) -> pd.DataFrame:
    barset = data_client(server).get_stock_bars(
        StockBarsRequest(
            symbol_or_symbols="AAPL", timeframe=timeframe, start=start, end=end, **extra
        )
    )
    return barset.df.reset_index().set_index("timestamp")


def assert_same(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(actual.index) == list(expected.index)
    for column in [*PRICES, "volume"]:
        assert actual[column].tolist() == pytest.approx(expected[column].tolist())


@pytest.mark.parametrize(
    ("amount", "unit", "step"),
    [
        (5, TimeFrameUnit.Minute, "5min"),
        (15, TimeFrameUnit.Minute, "15min"),
        (1, TimeFrameUnit.Hour, "1h"),
    ],
)
def test_intraday_timeframes_aggregate_the_minute_bars(amount, unit, step) -> None:
    session = calendar.session(PREVIOUS_DAY)
    midnight = dt.datetime.combine(PREVIOUS_DAY, dt.time(), tzinfo=dt.UTC)
    with running_emulator() as server:
        actual = served(server, TimeFrame(amount, unit), midnight, session.close)
    bars = source_bars([PREVIOUS_DAY])
    expected = oracle(bars, bars["timestamp"].dt.floor(step))
    assert len(actual) == len(expected) > 1
    assert_same(actual, expected)


def test_daily_weekly_and_monthly_bars_start_at_midnight_new_york() -> None:
    days = calendar.sessions_between(dt.date(2026, 2, 2), dt.date(2026, 2, 27))
    bars = source_bars(days)
    local = bars["timestamp"].dt.tz_convert(calendar.NEW_YORK)
    midnight = local.dt.normalize()
    start = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    end = dt.datetime(2026, 2, 28, tzinfo=dt.UTC)
    with running_emulator() as server:
        daily = served(server, TimeFrame.Day, start, end)
        weekly = served(server, TimeFrame.Week, start, end)
        monthly = served(server, TimeFrame.Month, start, end)
    assert_same(daily, oracle(bars, midnight.dt.tz_convert("UTC")))
    monday = midnight - pd.to_timedelta(local.dt.day_of_week, unit="D")
    assert_same(weekly, oracle(bars, monday.dt.tz_convert("UTC")))
    assert_same(
        monthly,
        oracle(bars, pd.Series(pd.Timestamp("2026-02-01 05:00", tz="UTC"), index=bars.index)),
    )
    assert daily.index[0] == pd.Timestamp("2026-02-02 05:00", tz="UTC")
    assert len(daily) == len(days) and len(weekly) == 4 and len(monthly) == 1


def test_the_daily_bar_of_the_emulated_day_holds_only_published_minutes() -> None:
    session = calendar.session(SESSION_DATE)
    with running_emulator() as server:
        server.advance(3)
        midnight = dt.datetime.combine(SESSION_DATE, dt.time(), tzinfo=dt.UTC)
        (bar,) = served(server, TimeFrame.Day, midnight, session.close).itertuples()
    published = source_bars([SESSION_DATE])
    published = published[published["timestamp"] < session.open + dt.timedelta(minutes=33)]
    assert bar.volume == pytest.approx(published["volume"].sum())
    assert bar.close == pytest.approx(published["close"].iloc[-1])


def split_source(day: dt.date, symbols: list[str]) -> pd.DataFrame:
    """The synthetic market with pre-market bars and a 2-for-1 split effective on the
    emulated day (``split_factor`` 2 before it)."""
    bars = MARKET.day_bars(day, symbols)
    session = calendar.session(day)
    early = bars.groupby("symbol").head(1).copy()
    early["timestamp"] = session.open - dt.timedelta(minutes=90)
    bars = pd.concat([early, bars], ignore_index=True)
    bars["split_factor"] = 2.0 if day < SESSION_DATE else 1.0
    return bars


def test_extended_hours_bars_of_the_source_are_served_but_not_replayed() -> None:
    session = calendar.session(PREVIOUS_DAY)
    with running_emulator(bar_source=split_source, minute_count=None, first_minute=0) as server:
        actual = served(
            server, TimeFrame.Minute, session.open - dt.timedelta(hours=2), session.close
        )
        today = served(
            server,
            TimeFrame.Minute,
            calendar.session(SESSION_DATE).open - dt.timedelta(hours=2),
            calendar.session(SESSION_DATE).close,
        )
        status = server.status()
    assert len(actual) == 390 + 1 and actual.index[0] < pd.Timestamp(session.open)
    assert len(today) == 1, "before the replay only the pre-market bar is history"
    assert status.minutes == calendar.session(SESSION_DATE).minutes, "regular hours only"


def test_split_adjustment_applies_the_sources_split_factor_and_dividends_stay_raw() -> None:
    session = calendar.session(PREVIOUS_DAY)
    with running_emulator(bar_source=split_source) as server:
        frames = {
            adjustment: served(
                server, TimeFrame.Hour, session.open, session.close, adjustment=adjustment
            )
            for adjustment in Adjustment
        }
        unknown = requests.get(
            f"{server.base_url}/v2/stocks/bars",
            params={"symbols": "AAPL", "timeframe": "1Day", "adjustment": "splits"},
            headers=HEADERS,
            timeout=5,
        )
    raw, split = frames[Adjustment.RAW], frames[Adjustment.SPLIT]
    for column in PRICES:
        assert split[column].tolist() == pytest.approx((raw[column] / 2).tolist())
    assert split["volume"].tolist() == pytest.approx((raw["volume"] * 2).tolist())
    assert_same(frames[Adjustment.ALL], split)
    assert_same(frames[Adjustment.DIVIDEND], raw)
    assert unknown.status_code == 400
