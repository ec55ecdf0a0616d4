"""The training window read one partition at a time equals the dataset of the whole range."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trading_runtime.features.build import build_feature_day
from trading_runtime.features.spec import FEATURE_SPEC
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.coverage import CoverageThresholds
from trading_runtime.marketdata.ingest import store_day
from trading_runtime.marketdata.sources import FetchedDay, Provenance
from trading_runtime.marketdata.storage import MissingPartitionError, ParquetLake
from trading_runtime.marketdata.synthetic import SyntheticMarket
from trading_runtime.modeling.dataset import build_dataset, load_window
from trading_runtime.modeling.labels import label_bars

SYMBOLS = ["AAPL", "MSFT", "NVDA"]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[ParquetLake, list[dt.date]]:
    root: Path = tmp_path_factory.mktemp("lake")
    lake = ParquetLake(str(root))
    market = SyntheticMarket(5)
    days = calendar.previous_sessions(dt.date(2026, 11, 25), 3)
    for day in days:
        bars = market.day_bars(day, SYMBOLS)
        fetched = FetchedDay(day, bars, Provenance(source="synthetic", feed="synthetic"))
        store_day(fetched, ["SPY", *SYMBOLS], lake, CoverageThresholds())
        build_feature_day(day, lake, "SPY")
    return lake, list(days)


def test_partitioned_loading_equals_the_whole_range(
    lake: tuple[ParquetLake, list[dt.date]],
) -> None:
    store, days = lake
    expected = build_dataset(
        store.read_features_range(days, FEATURE_SPEC.hash),
        pd.concat([label_bars(store.read_bars(day)) for day in days], ignore_index=True),
    )
    got = load_window(store, list(reversed(days)))
    assert got.features.dtype == np.float32
    np.testing.assert_array_equal(got.features, expected.features)
    np.testing.assert_array_equal(got.labels, expected.labels)
    pd.testing.assert_frame_equal(got.index, expected.index)
    assert got.days == days


def test_a_missing_partition_is_refused(lake: tuple[ParquetLake, list[dt.date]]) -> None:
    store, days = lake
    with pytest.raises(MissingPartitionError):
        load_window(store, [*days, dt.date(2026, 11, 25)])
    with pytest.raises(MissingPartitionError):
        load_window(store, [])
