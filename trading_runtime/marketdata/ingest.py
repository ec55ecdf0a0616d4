"""Ingest sessions: fetch bars, keep regular hours, reject bad bars (counted, never kept), store
the rest with their provenance and a coverage record, one session at a time.

A session is recorded as soon as it is stored (bars first, then coverage: the coverage file
marks the day complete), so a run that fails half-way loses nothing, and a re-run fetches
only the sessions that are missing (or lack a requested symbol).

:func:`verify_stored_day` is the bar-quality check: it reads back what was stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pandas as pd

from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.corporate_actions import dump_splits
from trading_runtime.marketdata.coverage import (
    CoverageThresholds,
    coverage_table,
    session_problems,
)
from trading_runtime.marketdata.quality import BarQualityReport, quality_report, split_clean
from trading_runtime.marketdata.sources import BarSource, FetchedDay
from trading_runtime.marketdata.storage import ParquetLake


@dataclass(frozen=True)
class IngestResult:
    """One session: fetched now (``fetched``) or found complete in the lake."""

    day: dt.date
    fetched: bool
    stored_rows: int
    coverage: pd.DataFrame
    report: BarQualityReport | None = None  # of the fetched regular-hours bars
    extended_hours_rows: int = 0
    rejected_examples: list[dict[str, object]] = field(default_factory=list)


def ingest_days(
    days: Sequence[dt.date],
    symbols: Sequence[str],
    source: BarSource,
    lake: ParquetLake,
    thresholds: CoverageThresholds,
    *,
    refetch: bool = False,
) -> Iterator[IngestResult]:
    """Results for ``days`` in order, storing each fetched session as it arrives.

    Sessions already complete in the lake for ``symbols`` from this source are not fetched
    again unless ``refetch``. Errors of the source propagate; sessions yielded before them are stored.
    """
    wanted = sorted(set(days))
    missing = [d for d in wanted if refetch or not lake.has_day(d, symbols, source.name)]
    fetched = source.fetch(missing, symbols)
    for day in wanted:
        if day not in missing:
            coverage = lake.read_coverage(day)
            yield IngestResult(
                day, False, int(coverage["bars"].sum()), coverage[coverage["symbol"].isin(symbols)]
            )
            continue
        result = next(fetched, None)
        if result is None or result.day != day:
            raise RuntimeError(f"{source.name} did not deliver {day} in order")
        yield store_day(result, symbols, lake, thresholds)


def store_day(
    fetched: FetchedDay, symbols: Sequence[str], lake: ParquetLake, thresholds: CoverageThresholds
) -> IngestResult:
    """Keep ``fetched``'s regular-hours bars, drop bad ones, store bars and coverage."""
    session = calendar.session(fetched.day)
    raw = fetched.bars[fetched.bars["symbol"].isin(symbols)]
    timestamps = pd.DatetimeIndex(raw["timestamp"])
    same_date = timestamps.tz_convert(calendar.NEW_YORK).date == fetched.day
    regular = (timestamps >= session.open) & (timestamps < session.close)
    extended = raw[same_date & ~regular]
    candidates = raw[~(same_date & ~regular)]
    report = quality_report(candidates, session)
    clean, rejected = split_clean(candidates, session)
    metadata = {
        "source": fetched.provenance.source,
        "feed": fetched.provenance.feed,
        "adjustment": fetched.provenance.adjustment,
        "session_date": fetched.day.isoformat(),
        "symbols_requested": len(set(symbols)),
        "splits": dump_splits(fetched.splits),
    }
    lake.write_bars(fetched.day, clean, metadata)
    coverage = coverage_table(
        clean,
        symbols,
        session,
        thresholds,
        rejected=rejected.groupby("symbol").size() if len(rejected) else None,
        extended_hours=extended.groupby("symbol").size() if len(extended) else None,
    )
    lake.write_coverage(fetched.day, coverage)
    examples = (
        rejected.head(5).astype({"timestamp": str}).to_dict("records") if len(rejected) else []
    )
    return IngestResult(fetched.day, True, len(clean), coverage, report, len(extended), examples)


@dataclass(frozen=True)
class StoredDayCheck:
    """What the stored files of a session say; ``problems`` empty means usable."""

    day: dt.date
    rows: int
    report: BarQualityReport
    problems: list[str]


def verify_stored_day(
    lake: ParquetLake,
    day: dt.date,
    symbols: Sequence[str],
    reference_symbol: str,
    thresholds: CoverageThresholds,
    max_rejected_fraction: float = 0.01,
) -> StoredDayCheck:
    """Read ``day``'s stored bars and coverage and check them: every stored bar sound and in
    regular hours, none duplicated, every requested symbol accounted for, bar counts equal to
    the coverage record, at most ``max_rejected_fraction`` of the fetched regular-hours bars
    rejected, and the session usable (reference symbol and most of the universe present)."""
    session = calendar.session(day)
    bars = lake.read_bars(day)
    coverage = lake.read_coverage(day)
    report = quality_report(bars, session)
    problems = [f"{count} stored bars {name}" for name, count in _defects(report) if count]
    absent = sorted(set(symbols) - set(coverage["symbol"]))
    if absent:
        problems.append(f"no coverage record for {', '.join(absent)}")
    stored = bars.groupby("symbol").size()
    recorded = coverage.set_index("symbol")["bars"]
    differing = [s for s in recorded.index if int(stored.get(s, 0)) != int(recorded[s])]
    if differing:
        problems.append(f"stored bars differ from the coverage record for {', '.join(differing)}")
    rejected = int(coverage["rejected_bars"].sum())
    fetched = rejected + int(coverage["bars"].sum())
    if fetched and rejected / fetched > max_rejected_fraction:
        problems.append(f"{rejected / fetched:.2%} of the fetched bars were rejected")
    problems += session_problems(
        coverage[coverage["symbol"].isin(symbols)], reference_symbol, thresholds
    )
    return StoredDayCheck(day, len(bars), report, problems)


def _defects(report: BarQualityReport) -> list[tuple[str, int]]:
    return [
        ("duplicated", report.duplicates),
        ("with non-finite prices", report.non_finite),
        ("with non-positive prices", report.non_positive),
        ("with high below low", report.inverted_high_low),
        ("with open/close outside the range", report.open_close_outside_range),
        ("with negative volume", report.negative_volume),
        ("outside regular hours", report.outside_session),
    ]
