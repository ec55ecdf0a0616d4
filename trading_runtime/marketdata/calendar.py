"""The NYSE session calendar (exchange_calendars ``XNYS``): holidays, early closes, minutes.

Every time the platform reasons about the market day it goes through here, in UTC, with
New York local time derived by the calendar, never by a fixed UTC offset.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import exchange_calendars as xcals
import pandas as pd

NEW_YORK = "America/New_York"


@dataclass(frozen=True, slots=True)
class Session:
    """One regular trading session. ``open``/``close`` are UTC; bars run [open, close)."""

    date: dt.date
    open: dt.datetime
    close: dt.datetime

    @property
    def minutes(self) -> int:
        return int((self.close - self.open).total_seconds() // 60)

    @property
    def is_early_close(self) -> bool:
        return self.minutes < 390

    def minute_index(self, timestamp: dt.datetime) -> int:
        """Zero-based minute of the session for a bar labelled ``timestamp``."""
        return int((timestamp - self.open).total_seconds() // 60)

    def contains_bar(self, timestamp: dt.datetime) -> bool:
        return self.open <= timestamp < self.close

    def bar_timestamps(self) -> pd.DatetimeIndex:
        return pd.date_range(self.open, self.close, freq="1min", inclusive="left")


@lru_cache(maxsize=1)
def _calendar() -> xcals.ExchangeCalendar:
    return xcals.get_calendar("XNYS")


def _to_utc(ts: pd.Timestamp) -> dt.datetime:
    return (
        ts.tz_convert("UTC").to_pydatetime() if ts.tzinfo else ts.tz_localize("UTC").to_pydatetime()
    )


class CalendarRangeError(ValueError):
    """A date outside the range the exchange calendar covers."""


def is_session(day: dt.date) -> bool:
    calendar = _calendar()
    if not calendar.first_session.date() <= day <= calendar.last_session.date():
        raise CalendarRangeError(f"{day} is outside the NYSE calendar's range")
    return bool(calendar.is_session(pd.Timestamp(day)))


@lru_cache(maxsize=4096)
def session(day: dt.date) -> Session:
    """The session on ``day``; raises ``ValueError`` when the exchange is closed that day."""
    if not is_session(day):
        raise ValueError(f"{day} is not an NYSE trading day")
    calendar = _calendar()
    label = pd.Timestamp(day)
    return Session(
        date=day,
        open=_to_utc(calendar.session_open(label)),
        close=_to_utc(calendar.session_close(label)),
    )


def sessions_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """Trading days in [start, end], oldest first."""
    if end < start:
        return []
    labels = _calendar().sessions_in_range(pd.Timestamp(start), pd.Timestamp(end))
    return [label.date() for label in labels]


def previous_sessions(before: dt.date, count: int) -> list[dt.date]:
    """The ``count`` trading days strictly before ``before``, oldest first."""
    calendar = _calendar()
    label = calendar.date_to_session(pd.Timestamp(before), direction="next")
    if label.date() >= before:
        label = calendar.previous_session(label)
    window = calendar.sessions_window(label, -count)
    return [s.date() for s in window]


def next_session(after: dt.date) -> dt.date:
    """The first trading day strictly after ``after``."""
    calendar = _calendar()
    label = calendar.date_to_session(pd.Timestamp(after), direction="next")
    if label.date() <= after:
        label = calendar.next_session(label)
    return label.date()


def last_completed_session(now: dt.datetime) -> dt.date:
    """The most recent session whose close is at or before ``now`` (tz-aware)."""
    day = now.astimezone(dt.UTC).date()
    for candidate in reversed(previous_sessions(day + dt.timedelta(days=1), 3)):
        if session(candidate).close <= now:
            return candidate
    raise CalendarRangeError(f"no completed session near {now}")


def session_for_timestamp(timestamp: dt.datetime) -> Session | None:
    """The session whose regular hours contain ``timestamp``, or None outside them."""
    local_day = pd.Timestamp(timestamp).tz_convert(NEW_YORK).date()
    if not is_session(local_day):
        return None
    candidate = session(local_day)
    return candidate if candidate.contains_bar(timestamp) else None
