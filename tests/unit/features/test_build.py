"""A feature partition is stored as float32 values of the batch computation."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from tests.support.builders import FULL_DAY
from trading_runtime.features.batch import compute_features
from trading_runtime.features.build import build_feature_day
from trading_runtime.features.spec import FEATURE_SPEC
from trading_runtime.marketdata.coverage import CoverageThresholds
from trading_runtime.marketdata.ingest import store_day
from trading_runtime.marketdata.sources import FetchedDay, Provenance
from trading_runtime.marketdata.storage import ParquetLake
from trading_runtime.marketdata.synthetic import SyntheticMarket

SYMBOLS = ["AAPL", "MSFT", "NVDA"]


def test_stored_features_are_the_batch_values_in_float32(tmp_path: Path) -> None:
    lake = ParquetLake(str(tmp_path))
    bars = SyntheticMarket(3).day_bars(FULL_DAY, SYMBOLS)
    fetched = FetchedDay(FULL_DAY, bars, Provenance(source="synthetic", feed="synthetic"))
    store_day(fetched, ["SPY", *SYMBOLS], lake, CoverageThresholds())
    result = build_feature_day(FULL_DAY, lake, "SPY")
    # the result holds no frame: the bars are read back from the lake when asked for
    assert not any(
        isinstance(getattr(result, f.name), pd.DataFrame) for f in dataclasses.fields(result)
    )
    stored = lake.read_features(FULL_DAY, FEATURE_SPEC.hash)
    expected = compute_features(result.bars, "SPY")
    assert len(stored) == len(expected) == result.rows
    for name in FEATURE_SPEC.names:
        assert stored[name].dtype == np.float32, name
        np.testing.assert_array_equal(
            stored[name].to_numpy(), expected[name].to_numpy(dtype=np.float32), err_msg=name
        )
    assert stored["close"].dtype == np.float64  # prices keep their precision
    np.testing.assert_array_equal(stored["close"].to_numpy(), expected["close"].to_numpy())
