"""Coverage per symbol and session: how much of the session each requested symbol traded.

A symbol's coverage is the share of the session's minutes with a stored bar. Every requested
symbol gets a row, including one the source left out of its answer (0 bars). Status:

* ``ok``: coverage at or above ``warn_below``;
* ``warn``: below ``warn_below`` (kept, reported as a warning);
* ``excluded``: no bars, or coverage below ``exclude_below``: kept in the lake but left out
  of feature tables (hence of training and backtests), with the reason.

A session is *unusable* (:func:`session_problems` says why) only when the reference symbol is
excluded or more than ``max_unusable_fraction`` of the traded symbols are.

The record is stored next to the bars (``ParquetLake.write_coverage``); its columns are
:data:`COVERAGE_SCHEMA`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd
import pyarrow as pa

from trading_runtime.marketdata.calendar import Session


class CoverageStatus(StrEnum):
    OK = "ok"
    WARN = "warn"
    EXCLUDED = "excluded"


COVERAGE_SCHEMA = pa.schema(
    [
        ("session_date", pa.date32()),
        ("symbol", pa.string()),
        ("status", pa.string()),
        ("reason", pa.string()),
        ("bars", pa.int32()),
        ("expected_minutes", pa.int32()),
        ("coverage", pa.float64()),
        ("first_bar", pa.timestamp("us", tz="UTC")),
        ("last_bar", pa.timestamp("us", tz="UTC")),
        ("longest_gap_minutes", pa.int32()),
        ("rejected_bars", pa.int32()),
        ("extended_hours_bars", pa.int32()),
    ]
)


@dataclass(frozen=True)
class CoverageThresholds:
    """Fractions of the session's minutes (``warn_below``, ``exclude_below``) and of the
    traded symbols (``max_unusable_fraction``)."""

    warn_below: float = 0.2
    exclude_below: float = 0.05
    max_unusable_fraction: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.exclude_below <= self.warn_below <= 1.0:
            raise ValueError("coverage thresholds need 0 <= exclude_below <= warn_below <= 1")
        if not 0.0 <= self.max_unusable_fraction <= 1.0:
            raise ValueError("max_unusable_fraction must be within [0, 1]")


def coverage_table(
    bars: pd.DataFrame,
    symbols: Sequence[str],
    session: Session,
    thresholds: CoverageThresholds,
    rejected: pd.Series | None = None,
    extended_hours: pd.Series | None = None,
) -> pd.DataFrame:
    """One row per requested symbol for the clean regular-hours ``bars`` of ``session``.

    ``rejected`` / ``extended_hours``: per-symbol counts of bars dropped by the quality rules
    and outside regular hours. ``longest_gap_minutes`` is the longest run of minutes without
    a bar between the first and the last bar (a halt shows up here).
    """
    minutes = session.minutes
    grouped = {str(s): g for s, g in bars.groupby("symbol")} if len(bars) else {}
    rows = []
    for symbol in dict.fromkeys(symbols):
        group = grouped.get(symbol)
        count = 0 if group is None else int(group["timestamp"].nunique())
        stamps = pd.DatetimeIndex([]) if group is None else pd.DatetimeIndex(group["timestamp"])
        fraction = count / minutes
        status, reason = _status(count, fraction, thresholds)
        rows.append(
            {
                "session_date": session.date,
                "symbol": symbol,
                "status": status.value,
                "reason": reason,
                "bars": count,
                "expected_minutes": minutes,
                "coverage": fraction,
                "first_bar": stamps.min() if count else pd.NaT,
                "last_bar": stamps.max() if count else pd.NaT,
                "longest_gap_minutes": _longest_gap(stamps),
                "rejected_bars": int(rejected.get(symbol, 0)) if rejected is not None else 0,
                "extended_hours_bars": int(extended_hours.get(symbol, 0))
                if extended_hours is not None
                else 0,
            }
        )
    frame = pd.DataFrame(rows, columns=COVERAGE_SCHEMA.names)
    frame["first_bar"] = pd.to_datetime(frame["first_bar"], utc=True)
    frame["last_bar"] = pd.to_datetime(frame["last_bar"], utc=True)
    return frame


def _status(
    count: int, fraction: float, thresholds: CoverageThresholds
) -> tuple[CoverageStatus, str]:
    if count == 0:
        return CoverageStatus.EXCLUDED, "no bars"
    if fraction < thresholds.exclude_below:
        return (
            CoverageStatus.EXCLUDED,
            f"coverage {fraction:.1%} below {thresholds.exclude_below:.1%}",
        )
    if fraction < thresholds.warn_below:
        return CoverageStatus.WARN, f"coverage {fraction:.1%} below {thresholds.warn_below:.1%}"
    return CoverageStatus.OK, ""


def _longest_gap(stamps: pd.DatetimeIndex) -> int:
    if len(stamps) < 2:
        return 0
    steps = np.diff(np.sort(stamps.as_unit("ns").asi8)) // 60_000_000_000
    return int(max(int(steps.max()) - 1, 0))


def excluded_symbols(coverage: pd.DataFrame) -> dict[str, str]:
    """``{symbol: reason}`` of the excluded rows of a coverage record."""
    rows = coverage[coverage["status"] == CoverageStatus.EXCLUDED.value]
    return dict(zip(rows["symbol"].astype(str), rows["reason"].astype(str), strict=True))


def session_problems(
    coverage: pd.DataFrame, reference_symbol: str, thresholds: CoverageThresholds
) -> list[str]:
    """Why a session cannot be used at all (empty when it can): the reference symbol is
    excluded, or too much of the universe is."""
    problems = []
    excluded = excluded_symbols(coverage)
    if reference_symbol in excluded:
        problems.append(f"reference symbol {reference_symbol}: {excluded[reference_symbol]}")
    traded = coverage[coverage["symbol"] != reference_symbol]
    unusable = sum(1 for s in traded["symbol"] if s in excluded)
    if len(traded) and unusable / len(traded) > thresholds.max_unusable_fraction:
        problems.append(
            f"{unusable} of {len(traded)} symbols excluded "
            f"(more than {thresholds.max_unusable_fraction:.0%})"
        )
    return problems


@dataclass(frozen=True)
class CoverageSummary:
    day: dt.date
    symbols: int
    ok: int
    warned: int
    excluded: int
    mean_coverage: float

    @classmethod
    def of(cls, day: dt.date, coverage: pd.DataFrame) -> CoverageSummary:
        status = coverage["status"]
        return cls(
            day=day,
            symbols=len(coverage),
            ok=int((status == CoverageStatus.OK.value).sum()),
            warned=int((status == CoverageStatus.WARN.value).sum()),
            excluded=int((status == CoverageStatus.EXCLUDED.value).sum()),
            mean_coverage=float(coverage["coverage"].mean()) if len(coverage) else 0.0,
        )
