"""Ingest one session: fetch bars, reject bad ones (counted, never kept), store the rest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.quality import BarQualityReport, quality_report, split_clean
from trading_runtime.marketdata.sources import BarSource
from trading_runtime.marketdata.storage import ParquetLake


@dataclass(frozen=True)
class IngestResult:
    day: dt.date
    report: BarQualityReport
    stored_rows: int
    path: str
    rejected_examples: list[dict[str, object]]


def ingest_day(
    day: dt.date, symbols: Sequence[str], source: BarSource, lake: ParquetLake
) -> IngestResult:
    """Fetch ``day``'s bars for ``symbols`` and store the clean ones as one Parquet file."""
    session = calendar.session(day)
    raw = source.day_bars(day, symbols)
    report = quality_report(raw, session)
    clean, rejected = split_clean(raw, session)
    path = lake.write_bars(day, clean)
    examples = (
        rejected.head(5).astype({"timestamp": str}).to_dict("records") if len(rejected) else []
    )
    return IngestResult(day, report, len(clean), str(path), examples)
