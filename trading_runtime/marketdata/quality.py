"""Bar quality: what makes a bar unusable, and a report of a day's bars.

Used by ingestion (bad bars are dropped and counted, never silently kept), by the Dagster
bar-quality asset check on the stored files, and by the live loop (the same rules, one bar at
a time, through ``Bar.problems``). Minutes without a bar are not a quality problem: see
``marketdata.coverage``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from trading_runtime.marketdata.calendar import Session


@dataclass(frozen=True)
class BarQualityReport:
    rows: int
    symbols: int
    duplicates: int
    non_finite: int
    non_positive: int
    inverted_high_low: int
    open_close_outside_range: int
    negative_volume: int
    outside_session: int

    @property
    def rejected(self) -> int:
        return (
            self.duplicates
            + self.non_finite
            + self.non_positive
            + self.inverted_high_low
            + self.open_close_outside_range
            + self.negative_volume
            + self.outside_session
        )

    def as_dict(self) -> dict[str, float | int]:
        data: dict[str, float | int] = dict(asdict(self))
        data["rejected"] = self.rejected
        return data


def bar_problems(bars: pd.DataFrame, session: Session) -> pd.Series:
    """Per row, the first reason it is unusable, or '' when it is sound."""
    prices = bars[["open", "high", "low", "close"]].to_numpy(dtype=float)
    reason = np.full(len(bars), "", dtype=object)

    def mark(mask: np.ndarray, text: str) -> None:
        reason[(reason == "") & mask] = text

    mark(~np.isfinite(prices).all(axis=1), "non-finite price")
    mark((prices <= 0).any(axis=1), "non-positive price")
    high, low = bars["high"].to_numpy(float), bars["low"].to_numpy(float)
    open_, close = bars["open"].to_numpy(float), bars["close"].to_numpy(float)
    mark(high < low, "high below low")
    mark(
        (open_ < low) | (open_ > high) | (close < low) | (close > high), "open/close outside range"
    )
    volume = bars["volume"].to_numpy(float)
    mark(~np.isfinite(volume) | (volume < 0), "negative or missing volume")
    timestamps = pd.DatetimeIndex(bars["timestamp"])
    in_session = (timestamps >= session.open) & (timestamps < session.close)
    mark(~np.asarray(in_session), "outside regular session")
    duplicated = bars.duplicated(subset=["symbol", "timestamp"], keep="first").to_numpy()
    mark(duplicated, "duplicate")
    return pd.Series(reason, index=bars.index, name="problem")


def split_clean(bars: pd.DataFrame, session: Session) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(clean bars sorted by timestamp/symbol, rejected bars with a ``problem`` column)."""
    problems = bar_problems(bars, session)
    clean = bars[problems == ""].sort_values(["timestamp", "symbol"], kind="stable")
    rejected = bars[problems != ""].assign(problem=problems[problems != ""])
    return clean.reset_index(drop=True), rejected.reset_index(drop=True)


def quality_report(bars: pd.DataFrame, session: Session) -> BarQualityReport:
    problems = bar_problems(bars, session)
    counts = problems.value_counts()
    return BarQualityReport(
        rows=len(bars),
        symbols=int(bars["symbol"].nunique()),
        duplicates=int(counts.get("duplicate", 0)),
        non_finite=int(counts.get("non-finite price", 0)),
        non_positive=int(counts.get("non-positive price", 0)),
        inverted_high_low=int(counts.get("high below low", 0)),
        open_close_outside_range=int(counts.get("open/close outside range", 0)),
        negative_volume=int(counts.get("negative or missing volume", 0)),
        outside_session=int(counts.get("outside regular session", 0)),
    )
