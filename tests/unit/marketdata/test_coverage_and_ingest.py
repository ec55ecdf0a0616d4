"""Coverage records, ingestion session by session, and the check that reads what was stored."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

import pandas as pd
import pytest

from tests.support.builders import FULL_DAY, day_bars
from trading_runtime.adapters.alpaca.history import RequestPacer
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.corporate_actions import load_splits
from trading_runtime.marketdata.coverage import (
    CoverageThresholds,
    coverage_table,
    excluded_symbols,
    session_problems,
)
from trading_runtime.marketdata.ingest import ingest_days, verify_stored_day
from trading_runtime.marketdata.sources import FetchedDay, SyntheticBarSource, request_groups
from trading_runtime.marketdata.storage import ParquetLake
from trading_runtime.marketdata.synthetic import SyntheticMarket
from trading_runtime.marketdata.universe import NASDAQ_100

THRESHOLDS = CoverageThresholds(warn_below=0.5, exclude_below=0.1)
SESSION = calendar.session(FULL_DAY)


def _minutes(*indices: int) -> list[pd.Timestamp]:
    return [pd.Timestamp(SESSION.open) + pd.Timedelta(minutes=k) for k in indices]


def _bars(symbol: str, minutes: list[pd.Timestamp]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": symbol,
            "timestamp": minutes,
            "open": 10.0,
            "high": 10.0,
            "low": 10.0,
            "close": 10.0,
            "volume": 1.0,
            "trade_count": 1.0,
            "vwap": 10.0,
        }
    )


def test_every_requested_symbol_gets_a_status_and_a_reason() -> None:
    bars = pd.concat(
        [
            _bars("SPY", _minutes(*range(390))),
            _bars("THIN", _minutes(*range(0, 390, 3))),  # a third of the minutes
            _bars("RARE", _minutes(0, 1, 2)),
        ]
    )
    coverage = coverage_table(bars, ["SPY", "THIN", "RARE", "GONE"], SESSION, THRESHOLDS)
    rows = coverage.set_index("symbol")
    assert rows["status"].to_dict() == {
        "SPY": "ok",
        "THIN": "warn",
        "RARE": "excluded",
        "GONE": "excluded",
    }
    assert rows.loc["GONE", "reason"] == "no bars"
    assert rows.loc["RARE", "reason"] == "coverage 0.8% below 10.0%"
    assert rows.loc["THIN", "longest_gap_minutes"] == 2
    assert excluded_symbols(coverage) == {"RARE": rows.loc["RARE", "reason"], "GONE": "no bars"}


def test_a_session_is_unusable_without_the_reference_or_most_of_the_universe() -> None:
    bars = pd.concat([_bars(s, _minutes(*range(390))) for s in ("SPY", "A", "B")])
    coverage = coverage_table(bars, ["SPY", "A", "B", "C"], SESSION, THRESHOLDS)
    assert session_problems(coverage, "SPY", THRESHOLDS) == []
    no_reference = coverage_table(bars[bars["symbol"] != "SPY"], ["SPY", "A"], SESSION, THRESHOLDS)
    assert session_problems(no_reference, "SPY", THRESHOLDS) == ["reference symbol SPY: no bars"]
    mostly_missing = coverage_table(bars, ["SPY", "A", "C", "D", "E"], SESSION, THRESHOLDS)
    assert session_problems(mostly_missing, "SPY", THRESHOLDS) == [
        "3 of 4 symbols excluded (more than 50%)"
    ]


def test_ingestion_stores_regular_hours_with_provenance_and_coverage(tmp_path) -> None:
    lake = ParquetLake(str(tmp_path))
    source = SyntheticBarSource(7, "SPY")
    [result] = list(ingest_days([FULL_DAY], ["SPY", "AAPL"], source, lake, THRESHOLDS))
    stored = lake.read_bars(FULL_DAY)
    expected = day_bars(FULL_DAY, ("AAPL",))
    pd.testing.assert_frame_equal(stored, expected[list(stored.columns)], check_dtype=False)
    assert result.extended_hours_rows > 0
    assert (
        int(lake.read_coverage(FULL_DAY)["extended_hours_bars"].sum()) == result.extended_hours_rows
    )
    metadata = lake.read_bar_metadata(FULL_DAY)
    assert metadata["source"] == "synthetic(seed=7, predictability=1)"
    assert (metadata["feed"], metadata["adjustment"]) == ("synthetic", "raw")
    assert load_splits(str(metadata["splits"])) == []


def test_the_splits_of_a_session_are_stored_with_its_bars(tmp_path) -> None:
    market = SyntheticMarket(7)
    window = calendar.previous_sessions(FULL_DAY, 60)
    split = market.splits(NASDAQ_100, window[0], window[-1])[0]
    lake = ParquetLake(str(tmp_path))
    symbols = ["SPY", split.symbol]
    list(
        ingest_days([split.effective_date], symbols, SyntheticBarSource(7, "SPY"), lake, THRESHOLDS)
    )
    stored = load_splits(str(lake.read_bar_metadata(split.effective_date)["splits"]))
    assert stored == [split]


class CountingSource:
    """Delegates to a source and records which days were fetched."""

    def __init__(self, inner: SyntheticBarSource) -> None:
        self.name = inner.name
        self.inner = inner
        self.fetched: list[dt.date] = []

    @property
    def requests_made(self) -> int:
        return 0

    def fetch(self, days: Sequence[dt.date], symbols: Sequence[str]) -> Iterator[FetchedDay]:
        for fetched in self.inner.fetch(days, symbols):
            self.fetched.append(fetched.day)
            yield fetched


def test_a_rerun_fetches_only_missing_sessions_or_sessions_missing_a_symbol(tmp_path) -> None:
    lake = ParquetLake(str(tmp_path))
    days = calendar.previous_sessions(FULL_DAY, 3)
    source = CountingSource(SyntheticBarSource(7, "SPY"))
    list(ingest_days(days[:2], ["SPY", "AAPL"], source, lake, THRESHOLDS))
    results = list(ingest_days(days, ["SPY", "AAPL"], source, lake, THRESHOLDS))
    assert [r.fetched for r in results] == [False, False, True]
    assert source.fetched == [*days[:2], days[2]]
    list(ingest_days(days[:1], ["SPY", "AAPL", "MSFT"], source, lake, THRESHOLDS))
    assert source.fetched[-1] == days[0]  # a new symbol: the session is fetched again


def test_the_stored_file_is_what_gets_checked(tmp_path) -> None:
    lake = ParquetLake(str(tmp_path))
    symbols = ["SPY", "AAPL"]
    list(ingest_days([FULL_DAY], symbols, SyntheticBarSource(7, "SPY"), lake, THRESHOLDS))
    assert verify_stored_day(lake, FULL_DAY, symbols, "SPY", THRESHOLDS).problems == []
    stored = lake.read_bars(FULL_DAY)
    lake.write_bars(FULL_DAY, pd.concat([stored, stored.iloc[:5]]))  # a writer that duplicates
    problems = verify_stored_day(lake, FULL_DAY, symbols, "SPY", THRESHOLDS).problems
    assert problems[0] == "5 stored bars duplicated"
    assert "stored bars differ from the coverage record" in problems[1]


def test_sessions_are_grouped_into_runs_of_consecutive_days() -> None:
    days = calendar.sessions_between(dt.date(2026, 3, 2), dt.date(2026, 3, 13))
    assert request_groups([*days[:3], *days[5:]], 4) == [days[:3], days[5:9], days[9:]]


def test_the_pacer_keeps_a_rolling_window_of_completed_requests() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    pacer = RequestPacer(3, 10.0, clock=lambda: now[0], sleep=sleep)
    started = []
    for _ in range(7):
        with pacer.slot():
            started.append(now[0])
            now[0] += 1.0  # each request takes a second
    assert started == [0.0, 1.0, 2.0, 11.0, 12.0, 13.0, 22.0]
    with pytest.raises(ValueError):
        RequestPacer(0)
