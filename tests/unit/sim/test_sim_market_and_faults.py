"""The replay tape, the bars query and pagination, and deterministic fault draws."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pandas as pd
import pytest

from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.synthetic import SyntheticMarket
from trading_runtime.sim.config import FaultConfig
from trading_runtime.sim.faults import FaultInjector
from trading_runtime.sim.market import (
    BarHistory,
    BarsQuery,
    InvalidBarsRequestError,
    SessionTape,
    decode_page_token,
    encode_page_token,
)

DAY = dt.date(2026, 3, 2)
SYMBOLS = ["SPY", "AAPL", "MSFT"]


def synthetic(day: dt.date, symbols: list[str]) -> pd.DataFrame:
    return SyntheticMarket(7).day_bars(day, symbols)


def tape(first_minute: int = 30, minute_count: int | None = 10) -> SessionTape:
    session = calendar.session(DAY)
    return SessionTape.build(
        session, synthetic(DAY, SYMBOLS), first_minute=first_minute, minute_count=minute_count
    )


def test_tape_replays_the_requested_window_minute_by_minute() -> None:
    built = tape(first_minute=30, minute_count=10)
    open_ = calendar.session(DAY).open
    assert built.minutes[0] == open_ + dt.timedelta(minutes=30)
    assert len(built.minutes) == 10
    frame = synthetic(DAY, SYMBOLS)
    for minute, bars in zip(built.minutes, built.bars_by_minute, strict=True):
        assert set(bars) == set(frame.loc[frame["timestamp"] == minute, "symbol"])
    # Market buys before the first published bar reserve at the last close before the window.
    spy = frame.query("symbol == 'SPY'")
    spy_before = spy[spy["timestamp"] < built.window_start].iloc[-1]
    assert float(built.reference_prices["SPY"]) == spy_before["close"]


def test_tape_bars_are_the_source_rows_with_missing_counts_as_none() -> None:
    frame = synthetic(DAY, SYMBOLS)
    frame.loc[frame["symbol"] == "MSFT", "trade_count"] = float("nan")
    frame.loc[frame["symbol"] == "AAPL", "vwap"] = float("nan")
    session = calendar.session(DAY)
    built = SessionTape.build(session, frame, first_minute=0, minute_count=None)
    assert len(built.bars_by_minute) == len(built.minutes) == session.minutes
    rows = frame.set_index(["timestamp", "symbol"]).sort_index()
    for index in (0, 17, len(built.minutes) - 1):
        minute = built.minutes[index]
        bars = built.bars_by_minute[index]
        assert list(bars) == sorted(bars), "a minute's bars are in symbol order"
        for symbol, bar in bars.items():
            row = rows.loc[(pd.Timestamp(minute), symbol)]
            assert (bar.symbol, bar.timestamp) == (symbol, minute)
            assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == tuple(
                float(row[c]) for c in ("open", "high", "low", "close", "volume")
            )
            assert (
                bar.trade_count is None if symbol == "MSFT" else bar.trade_count == row.trade_count
            )
            assert bar.vwap is None if symbol == "AAPL" else bar.vwap == row.vwap
    assert built.bars_by_minute[-1] == built.bars_by_minute[len(built.minutes) - 1]
    with pytest.raises(IndexError):
        built.bars_by_minute[len(built.minutes)]


def test_page_tokens_round_trip() -> None:
    stamp = dt.datetime(2026, 3, 2, 15, 4, tzinfo=dt.UTC)
    symbol, decoded = decode_page_token(encode_page_token("MSFT", stamp))
    assert (symbol, decoded.to_pydatetime()) == ("MSFT", stamp)
    with pytest.raises(InvalidBarsRequestError):
        decode_page_token("not-a-token")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"symbols": "AAPL", "timeframe": "60Min"}, "timeframe"),
        ({"symbols": "AAPL", "timeframe": "5Month"}, "timeframe"),
        ({"symbols": "AAPL", "timeframe": "1Min", "adjustment": "splits"}, "adjustment"),
        ({"timeframe": "1Min"}, "symbols"),
        ({"symbols": "AAPL", "timeframe": "1Min", "limit": "0"}, "limit"),
        ({"symbols": "AAPL", "timeframe": "1Min", "limit": "10001"}, "limit"),
        (
            {"symbols": "AAPL", "timeframe": "1Min", "start": "2026-03-03", "end": "2026-03-02"},
            "before",
        ),
        ({"symbols": "AAPL", "timeframe": "1Min", "sort": "sideways"}, "sort"),
    ],
)
def test_invalid_bars_queries_are_refused(params: dict, message: str) -> None:
    now = dt.datetime(2026, 3, 2, 16, 0, tzinfo=dt.UTC)
    with pytest.raises(InvalidBarsRequestError, match=message):
        BarsQuery.from_params(params, now=now, max_page_size=10_000)


def test_history_pages_cover_every_bar_once_in_symbol_then_time_order() -> None:
    built = tape(first_minute=0, minute_count=None)
    history = BarHistory(synthetic, built)
    now = dt.datetime(2026, 3, 3, 0, 0, tzinfo=dt.UTC)
    params = {
        "symbols": "AAPL,SPY",
        "timeframe": "1Min",
        "start": "2026-02-27T00:00:00Z",
        "limit": "250",
    }

    async def collect() -> list[tuple[str, str]]:
        rows, token, pages = [], None, 0
        while True:
            query = BarsQuery.from_params(
                {**params, **({"page_token": token} if token else {})},
                now=now,
                max_page_size=10_000,
            )
            page, token = await history.page(query, cutoff=now)
            pages += 1
            rows.extend((symbol, bar["t"]) for symbol, bars in page.items() for bar in bars)
            if token is None:
                assert pages > 3
                return rows

    rows = asyncio.run(collect())
    stored = sum(
        len(synthetic(day, ["AAPL", "SPY"])) for day in (dt.date(2026, 2, 27), DAY)
    )  # two sessions, two symbols
    assert len(rows) == len(set(rows)) == stored
    assert rows == sorted(rows)


def test_history_hides_bars_of_the_session_that_are_not_published_yet() -> None:
    built = tape(first_minute=30, minute_count=10)
    history = BarHistory(synthetic, built)
    cutoff = built.window_start + dt.timedelta(minutes=3)
    query = BarsQuery.from_params(
        {"symbols": "AAPL", "timeframe": "1Min", "start": "2026-03-02"},
        now=cutoff,
        max_page_size=10_000,
    )
    page, token = asyncio.run(history.page(query, cutoff=cutoff))
    assert token is None
    frame = synthetic(DAY, ["AAPL"])
    published = frame[(frame["symbol"] == "AAPL") & (frame["timestamp"] < cutoff)]
    assert len(page["AAPL"]) == len(published)
    assert page["AAPL"][-1]["t"] == published["timestamp"].iloc[-1].strftime("%Y-%m-%dT%H:%M:%SZ")


def test_fault_draws_repeat_for_a_seed() -> None:
    config = FaultConfig(
        seed=11,
        duplicate_bar_probability=0.3,
        out_of_order_probability=0.3,
        malformed_bar_probability=0.3,
    )
    first, second = FaultInjector(config), FaultInjector(config)
    other = FaultInjector(dataclasses.replace(config, seed=12))
    sequence = [first.minute(is_last=False) for _ in range(50)]
    assert sequence == [second.minute(is_last=False) for _ in range(50)]
    assert sequence != [other.minute(is_last=False) for _ in range(50)]
    assert any(m.duplicate for m in sequence) and any(m.malformed for m in sequence)
    assert (
        not FaultInjector(FaultConfig(out_of_order_probability=1.0))
        .minute(is_last=True)
        .out_of_order
    )


def test_http_faults_are_consumed_in_order() -> None:
    faults = FaultInjector(FaultConfig(http_429_next_requests=1, http_500_next_requests=1))
    faults.inject_http_errors(503, 1)
    assert [faults.take_http_error() for _ in range(4)] == [429, 500, 503, None]
    assert faults.snapshot() == {"http_429": 1, "http_500": 1, "http_503": 1}


def test_malformed_messages_are_broken_copies() -> None:
    faults = FaultInjector(FaultConfig(seed=3))
    message = {"T": "b", "S": "AAPL", "o": 10.0, "h": 11.0, "l": 9.0, "c": 10.5, "v": 100}
    broken = [faults.malformed_message([message]) for _ in range(20)]
    assert message == {"T": "b", "S": "AAPL", "o": 10.0, "h": 11.0, "l": 9.0, "c": 10.5, "v": 100}
    assert all(b != message for b in broken)
    assert faults.counts["malformed_bar"] == 20
