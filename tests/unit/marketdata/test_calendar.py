"""Sessions come from the exchange calendar in UTC; New York hours follow daylight saving."""

from __future__ import annotations

import datetime as dt

import pytest

from trading_runtime.marketdata import calendar

UTC = dt.UTC


def test_open_is_9_30_new_york_in_winter_and_in_summer() -> None:
    winter = calendar.session(dt.date(2026, 1, 15))
    summer = calendar.session(dt.date(2026, 7, 15))
    assert winter.open == dt.datetime(2026, 1, 15, 14, 30, tzinfo=UTC)
    assert summer.open == dt.datetime(2026, 7, 15, 13, 30, tzinfo=UTC)
    assert winter.minutes == summer.minutes == 390


def test_early_close_after_thanksgiving() -> None:
    session = calendar.session(dt.date(2026, 11, 27))
    assert session.is_early_close
    assert session.close == dt.datetime(2026, 11, 27, 18, 0, tzinfo=UTC)


def test_holidays_and_weekends_are_not_sessions() -> None:
    assert not calendar.is_session(dt.date(2026, 11, 26))  # Thanksgiving
    assert not calendar.is_session(dt.date(2026, 11, 28))  # Saturday
    assert calendar.sessions_between(dt.date(2026, 11, 25), dt.date(2026, 11, 30)) == [
        dt.date(2026, 11, 25),
        dt.date(2026, 11, 27),
        dt.date(2026, 11, 30),
    ]


def test_previous_and_next_sessions_skip_closed_days() -> None:
    assert calendar.previous_sessions(dt.date(2026, 11, 27), 2) == [
        dt.date(2026, 11, 24),
        dt.date(2026, 11, 25),
    ]
    assert calendar.next_session(dt.date(2026, 11, 25)) == dt.date(2026, 11, 27)


def test_last_completed_session_waits_for_the_close() -> None:
    during = dt.datetime(2026, 11, 25, 20, 0, tzinfo=UTC)
    after = dt.datetime(2026, 11, 25, 21, 0, tzinfo=UTC)
    assert calendar.last_completed_session(during) == dt.date(2026, 11, 24)
    assert calendar.last_completed_session(after) == dt.date(2026, 11, 25)


def test_session_for_timestamp_uses_new_york_dates() -> None:
    # 01:00 UTC on the 26th is still the evening of the 25th in New York: outside hours.
    assert calendar.session_for_timestamp(dt.datetime(2026, 11, 26, 1, 0, tzinfo=UTC)) is None
    inside = calendar.session_for_timestamp(dt.datetime(2026, 11, 25, 20, 59, tzinfo=UTC))
    assert inside is not None and inside.date == dt.date(2026, 11, 25)


def test_calendar_range_is_enforced() -> None:
    with pytest.raises(calendar.CalendarRangeError):
        calendar.is_session(dt.date(1990, 1, 2))
