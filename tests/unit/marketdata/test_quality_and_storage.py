from __future__ import annotations

import math

import pandas as pd
import pytest

from tests.support.builders import FULL_DAY, day_bars
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.quality import quality_report, split_clean
from trading_runtime.marketdata.storage import MissingPartitionError, ParquetLake


def _corrupt(bars: pd.DataFrame) -> pd.DataFrame:
    bad = bars.copy()
    bad.loc[0, "close"] = math.nan
    bad.loc[1, "low"] = -1.0
    bad.loc[2, ["high", "low"]] = [1.0, 2.0]
    bad.loc[3, "volume"] = -5
    late = bars.iloc[[4]].assign(timestamp=pd.Timestamp(calendar.session(FULL_DAY).close))
    return pd.concat([bad, bars.iloc[[10]], late], ignore_index=True)


def test_bad_bars_are_counted_and_split_out() -> None:
    bars = day_bars(FULL_DAY, ("AAPL",))
    session = calendar.session(FULL_DAY)
    corrupted = _corrupt(bars)
    report = quality_report(corrupted, session)
    assert report.non_finite == 1
    assert report.non_positive == 1
    assert report.inverted_high_low == 1
    assert report.negative_volume == 1
    assert report.duplicates == 1
    assert report.outside_session == 1
    assert report.rejected == 6
    clean, rejected = split_clean(corrupted, session)
    assert len(clean) == len(bars) - 4
    assert len(rejected) == 6
    assert set(rejected["problem"]) == {
        "non-finite price",
        "non-positive price",
        "high below low",
        "negative or missing volume",
        "duplicate",
        "outside regular session",
    }


def test_bars_round_trip_through_parquet(tmp_path) -> None:
    lake = ParquetLake(str(tmp_path))
    bars = day_bars(FULL_DAY, ("AAPL",))
    lake.write_bars(FULL_DAY, bars)
    pd.testing.assert_frame_equal(
        lake.read_bars(FULL_DAY), bars[list(lake.read_bars(FULL_DAY).columns)]
    )
    assert lake.bar_days() == [FULL_DAY]
    assert not list(tmp_path.rglob("*.tmp"))
    assert lake.read_bar_metadata(FULL_DAY) == {}


def test_provenance_is_stored_with_the_bars(tmp_path) -> None:
    lake = ParquetLake(str(tmp_path))
    lake.write_bars(FULL_DAY, day_bars(FULL_DAY, ("AAPL",)), {"feed": "iex", "adjustment": "raw"})
    assert lake.read_bar_metadata(FULL_DAY) == {"feed": "iex", "adjustment": "raw"}


def test_reading_a_missing_day_says_so(tmp_path) -> None:
    with pytest.raises(MissingPartitionError, match="has not been materialized"):
        ParquetLake(str(tmp_path)).read_bars(FULL_DAY)
