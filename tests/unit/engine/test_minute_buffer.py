"""Which minute a bar belongs to, and when a minute is over (engine.minutes)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from tests.support.builders import EARLY_CLOSE_DAY, FULL_DAY
from trading_runtime.domain.bars import Bar
from trading_runtime.engine.minutes import ONE_MINUTE, Arrival, MinuteBuffer
from trading_runtime.marketdata import calendar

SESSION = calendar.session(FULL_DAY)


def bar(symbol: str, minute: int, close: float = 10.0) -> Bar:
    stamp = SESSION.open + dt.timedelta(minutes=minute)
    return Bar(symbol, stamp, close, close, close, close, 100.0)


def test_bars_arriving_out_of_order_are_reordered_into_their_minutes() -> None:
    buffer = MinuteBuffer(SESSION, SESSION.open)
    for item in (bar("MSFT", 1), bar("AAPL", 0), bar("SPY", 1), bar("MSFT", 0)):
        assert buffer.add(item) is Arrival.BUFFERED
    assert buffer.close_next() == (SESSION.open, [bar("AAPL", 0), bar("MSFT", 0)])
    assert buffer.close_next() == (SESSION.open + ONE_MINUTE, [bar("MSFT", 1), bar("SPY", 1)])


def test_a_minute_without_bars_closes_empty_and_the_clock_never_waits_for_symbols() -> None:
    buffer = MinuteBuffer(SESSION, SESSION.open)
    buffer.add(bar("AAPL", 2))
    assert buffer.close_next() == (SESSION.open, [])
    assert buffer.deadline(2.0) == SESSION.open + 2 * ONE_MINUTE + dt.timedelta(seconds=2)


def test_a_bar_of_a_closed_minute_is_late_and_a_different_repeat_is_an_update() -> None:
    buffer = MinuteBuffer(SESSION, SESSION.open)
    buffer.add(bar("AAPL", 0))
    assert buffer.add(bar("AAPL", 0)) is Arrival.DUPLICATE
    corrected = dataclasses.replace(bar("AAPL", 0), close=10.5, high=10.5)
    assert buffer.add(corrected) is Arrival.UPDATED
    assert buffer.close_next()[1] == [corrected]
    assert buffer.add(bar("AAPL", 0, close=11.0)) is Arrival.LATE


def test_the_buffer_is_finished_after_the_last_minute_of_an_early_close() -> None:
    session = calendar.session(EARLY_CLOSE_DAY)
    buffer = MinuteBuffer(session, session.close - 2 * ONE_MINUTE)
    assert buffer.final_minute == session.close - ONE_MINUTE
    buffer.close_next()
    assert not buffer.finished
    buffer.close_next()
    assert buffer.finished
