"""Trading-day partitions: one key per NYSE session (weekdays minus exchange holidays)."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import exchange_calendars as xcals
import pandas as pd

PARTITION_FORMAT = "%Y-%m-%d"
NEW_YORK = "America/New_York"


def _holidays(start: dt.date) -> list[dt.datetime]:
    calendar = xcals.get_calendar("XNYS")
    end = calendar.last_session.date()
    weekdays = pd.bdate_range(start, end)
    sessions = set(calendar.sessions_in_range(pd.Timestamp(start), pd.Timestamp(end)).date)
    return [
        dt.datetime.combine(day.date(), dt.time()) for day in weekdays if day.date() not in sessions
    ]


def trading_day_partitions(start: dt.date) -> dg.TimeWindowPartitionsDefinition:
    """Keys are session dates (``YYYY-MM-DD``); today's key exists from midnight New York time,
    so the after-close schedule can materialize the day that just ended."""
    return dg.TimeWindowPartitionsDefinition(
        cron_schedule="0 0 * * 1-5",
        start=start.strftime(PARTITION_FORMAT),
        fmt=PARTITION_FORMAT,
        timezone=NEW_YORK,
        end_offset=1,
        exclusions=_holidays(start),
    )


def partition_day(key: str) -> dt.date:
    return dt.date.fromisoformat(key)


def partition_key(day: dt.date) -> str:
    return day.strftime(PARTITION_FORMAT)


def _configured_start() -> dt.date:
    from trading_runtime.config import load_settings

    return load_settings().history_start


TRADING_DAYS = trading_day_partitions(_configured_start())
