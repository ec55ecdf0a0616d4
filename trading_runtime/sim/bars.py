"""Bar timeframes and adjustments of ``GET /v2/stocks/bars``, computed from one-minute bars.

Timeframes, as Alpaca documents them: ``[1-59]Min`` (or ``T``), ``[1-23]Hour`` (or ``H``),
``1Day`` (``D``), ``1Week`` (``W``) and ``[1,2,3,4,6,12]Month`` (``M``). A bar of N minutes
or hours starts at a multiple of N since midnight New York time; day, week (Monday) and month
bars start at midnight New York time (Alpaca stamps daily bars so). Aggregation: first open,
highest high, lowest low, last close, summed volume and trade count, volume-weighted vwap.

Adjustments: ``raw``, ``split``, ``dividend``, ``all``. A bar source may provide a
``split_factor`` column (how many shares one share of that bar has become by later splits);
``split`` and ``all`` divide prices by it and multiply volumes by it. Without it (the
synthetic market has no corporate actions) and for dividends (no source provides them) the
bars are raw.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd

from trading_runtime.marketdata import calendar

SPLIT_FACTOR = "split_factor"
ADJUSTMENTS = frozenset({"raw", "split", "dividend", "all"})
_PATTERN = re.compile(r"^(\d+)(Min|T|Hour|H|Day|D|Week|W|Month|M)$")
_ALLOWED_MONTHS = frozenset({1, 2, 3, 4, 6, 12})


class InvalidBarsRequestError(ValueError):
    """A ``/v2/stocks/bars`` request that Alpaca would answer with HTTP 400."""


class TimeUnit(StrEnum):
    MINUTE = "Min"
    HOUR = "Hour"
    DAY = "Day"
    WEEK = "Week"
    MONTH = "Month"


_UNIT_ALIASES = {
    "Min": TimeUnit.MINUTE,
    "T": TimeUnit.MINUTE,
    "Hour": TimeUnit.HOUR,
    "H": TimeUnit.HOUR,
    "Day": TimeUnit.DAY,
    "D": TimeUnit.DAY,
    "Week": TimeUnit.WEEK,
    "W": TimeUnit.WEEK,
    "Month": TimeUnit.MONTH,
    "M": TimeUnit.MONTH,
}


@dataclass(frozen=True, slots=True)
class Timeframe:
    amount: int
    unit: TimeUnit

    @classmethod
    def parse(cls, text: str | None) -> Timeframe:
        match = _PATTERN.match(text or "")
        if match is None:
            raise InvalidBarsRequestError(f"invalid timeframe {text!r}")
        amount, unit = int(match.group(1)), _UNIT_ALIASES[match.group(2)]
        valid = {
            TimeUnit.MINUTE: 1 <= amount <= 59,
            TimeUnit.HOUR: 1 <= amount <= 23,
            TimeUnit.DAY: amount == 1,
            TimeUnit.WEEK: amount == 1,
            TimeUnit.MONTH: amount in _ALLOWED_MONTHS,
        }[unit]
        if not valid:
            raise InvalidBarsRequestError(f"invalid timeframe {text!r}")
        return cls(amount, unit)

    @property
    def is_minute(self) -> bool:
        return self.unit is TimeUnit.MINUTE and self.amount == 1

    @property
    def lookback(self) -> dt.timedelta:
        """How far before a range's start its first bar's minutes can begin."""
        if self.unit is TimeUnit.MONTH:
            return dt.timedelta(days=31 * self.amount)
        if self.unit is TimeUnit.WEEK:
            return dt.timedelta(days=7)
        return dt.timedelta(days=1)

    def bucket_starts(self, timestamps: pd.Series) -> pd.Series:
        """The start (UTC) of the bar each minute timestamp belongs to."""
        local = timestamps.dt.tz_convert(calendar.NEW_YORK)
        midnight = local.dt.normalize()
        if self.unit in (TimeUnit.MINUTE, TimeUnit.HOUR):
            step = pd.Timedelta(minutes=self.amount * (60 if self.unit is TimeUnit.HOUR else 1))
            start = midnight + ((local - midnight) // step) * step
        elif self.unit is TimeUnit.DAY:
            start = midnight
        elif self.unit is TimeUnit.WEEK:
            start = midnight - pd.to_timedelta(local.dt.day_of_week, unit="D")
        else:
            months = (local.dt.year * 12 + local.dt.month - 1) // self.amount * self.amount
            start = pd.to_datetime(
                pd.DataFrame({"year": months // 12, "month": months % 12 + 1, "day": 1})
            ).dt.tz_localize(calendar.NEW_YORK)
            start.index = timestamps.index
        return start.dt.tz_convert("UTC")


def adjust(bars: pd.DataFrame, adjustment: str) -> pd.DataFrame:
    """Apply ``adjustment`` (see the module docstring) to minute bars."""
    if adjustment not in ADJUSTMENTS:
        raise InvalidBarsRequestError(f"invalid adjustment {adjustment!r}")
    if adjustment not in ("split", "all") or SPLIT_FACTOR not in bars.columns:
        return bars
    factor = bars[SPLIT_FACTOR].fillna(1.0).to_numpy(dtype=float)
    adjusted = bars.copy()
    for column in ("open", "high", "low", "close", "vwap"):
        adjusted[column] = adjusted[column] / factor
    adjusted["volume"] = adjusted["volume"] * factor
    return adjusted


def aggregate(bars: pd.DataFrame, timeframe: Timeframe) -> pd.DataFrame:
    """Minute bars (columns of ``BAR_COLUMNS``) -> bars of ``timeframe``, same columns."""
    if timeframe.is_minute or bars.empty:
        return bars
    frame = bars.assign(
        bucket=timeframe.bucket_starts(bars["timestamp"]),
        weighted=bars["vwap"] * bars["volume"],
    )
    grouped = frame.sort_values("timestamp", kind="stable").groupby(["symbol", "bucket"], sort=True)
    result = grouped.agg(
        open=("open", "first"),
        high=("high", "max"),
        low=("low", "min"),
        close=("close", "last"),
        volume=("volume", "sum"),
        trade_count=("trade_count", lambda values: values.sum(min_count=1)),
        weighted=("weighted", lambda values: values.sum(min_count=1)),
    ).reset_index()
    with np.errstate(divide="ignore", invalid="ignore"):
        vwap = result["weighted"] / result["volume"].where(result["volume"] > 0)
    result["vwap"] = vwap
    result = result.rename(columns={"bucket": "timestamp"})
    return result[list(bars.columns.intersection(result.columns))]
