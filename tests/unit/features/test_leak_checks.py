"""Leak checks over stored partitions: a leak written into a feature file, or a formula that
reads ahead only late in the session, fails ``no_lookahead`` on that day; clean days pass."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.support.builders import FULL_DAY, day_bars
from trading_runtime.features import build as build_module
from trading_runtime.features.batch import compute_features
from trading_runtime.features.build import build_feature_day, check_no_lookahead
from trading_runtime.features.checks import (
    check_stored_day,
    lookahead_cutoffs,
    streaming_sample,
)
from trading_runtime.features.spec import FEATURE_SPEC
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.coverage import CoverageThresholds
from trading_runtime.marketdata.ingest import ingest_days
from trading_runtime.marketdata.sources import SyntheticBarSource
from trading_runtime.marketdata.storage import ParquetLake

SYMBOLS = ["SPY", "AAPL", "MSFT", "NVDA"]
LATE_MINUTE = 330  # of 390: a leak that starts in the last hour


@pytest.fixture
def lake(tmp_path) -> ParquetLake:
    lake = ParquetLake(str(tmp_path))
    list(
        ingest_days(
            [FULL_DAY], SYMBOLS, SyntheticBarSource(7, "SPY"), lake, CoverageThresholds(0.2, 0.05)
        )
    )
    build_feature_day(FULL_DAY, lake, "SPY")
    return lake


def _next_minute_return(features: pd.DataFrame) -> pd.Series:
    """Each row's one-minute return of the *next* minute (the label's future)."""
    ordered = features.sort_values(["symbol", "timestamp"])
    return ordered.groupby("symbol")["ret_1"].shift(-1).reindex(features.index)


def test_a_clean_stored_day_passes_both_checks(lake: ParquetLake) -> None:
    checks = check_stored_day(FULL_DAY, lake, "SPY", cutoffs=4, seed=1, streaming=True)
    assert checks.lookahead_passed and checks.parity_passed
    assert checks.lookahead is not None and len(checks.lookahead.cutoffs) == 5
    assert checks.streaming is not None and checks.streaming.passed


def test_a_next_minute_return_written_into_a_partition_fails_both_checks(
    lake: ParquetLake,
) -> None:
    stored = lake.read_features(FULL_DAY, FEATURE_SPEC.hash)
    stored["ret_5"] = _next_minute_return(stored).fillna(0.0)
    lake.write_features(FULL_DAY, FEATURE_SPEC.hash, stored)

    checks = check_stored_day(FULL_DAY, lake, "SPY", cutoffs=4, seed=1)

    assert not checks.lookahead_passed
    assert not checks.parity_passed
    assert "rows change when the future is removed" in checks.lookahead_reason()
    assert "stored table differs" in checks.parity_reason()


def _leaky_late(bars: pd.DataFrame, reference: str = "SPY", spec=FEATURE_SPEC) -> pd.DataFrame:
    """The batch features with the next minute's return in ``ret_1`` from minute 330 on: a
    formula that reads ahead late in the session only."""
    features = compute_features(bars, reference, spec)
    late = features["minute_of_session"] >= LATE_MINUTE
    future = _next_minute_return(features)
    features.loc[late, "ret_1"] = future[late].fillna(0.0)
    return features


def test_a_formula_that_reads_ahead_late_in_the_session_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bars = day_bars(FULL_DAY, tuple(SYMBOLS[1:]))
    monkeypatch.setattr(build_module, "compute_features", _leaky_late)
    # One cutoff at mid-session, as a single fixed check would do, cannot see it...
    assert check_no_lookahead(bars, "SPY").passed
    # ...the seeded random cutoffs (plus the penultimate minute) do, whatever the seed.
    minutes = bars["timestamp"].unique()
    for seed in range(5):
        report = check_no_lookahead(bars, "SPY", lookahead_cutoffs(minutes, 4, seed, FULL_DAY))
        assert not report.passed
        assert report.failed_cutoffs


def test_cutoffs_are_seeded_spread_over_the_session_and_end_at_the_penultimate_minute() -> None:
    minutes = calendar.session(FULL_DAY).bar_timestamps()
    first = lookahead_cutoffs(minutes, 4, 3, FULL_DAY)
    assert first == lookahead_cutoffs(minutes, 4, 3, FULL_DAY)
    assert first != lookahead_cutoffs(minutes, 4, 4, FULL_DAY)
    assert first[-1] == minutes[-2]
    index = {m: i for i, m in enumerate(minutes)}
    strata = [index[c] * 4 // (len(minutes) - 1) for c in first[:-1]]
    assert strata == sorted(set(strata)) and len(strata) == 4  # one per quarter


def test_the_streaming_sample_always_holds_the_newest_day() -> None:
    days = list(calendar.previous_sessions(FULL_DAY, 10))
    sample = streaming_sample(days, 3, seed=0)
    assert len(sample) == 3 and days[-1] in sample
    assert streaming_sample(days, 3, seed=0) == sample
    assert np.all([d in days for d in sample])
