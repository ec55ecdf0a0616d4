"""AlpacaHistory against the emulator: paginated bars in the lake's schema."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa

from tests.support.emulator import endpoints, running_emulator
from trading_runtime.adapters.alpaca import AlpacaHistory
from trading_runtime.marketdata.storage import BAR_SCHEMA
from trading_runtime.marketdata.synthetic import SyntheticMarket


def test_bars_over_several_pages_equal_the_source_in_the_lake_schema() -> None:
    with running_emulator(max_bars_page_size=250) as server:
        history = AlpacaHistory(endpoints(server))
        frame = history.bars(
            ["MSFT", "SPY"],
            dt.datetime(2026, 2, 26, tzinfo=dt.UTC),
            dt.datetime(2026, 2, 27, 23, 59, tzinfo=dt.UTC),
        )
    expected = pd.concat(
        [
            SyntheticMarket(7).day_bars(day, ["MSFT"])
            for day in (dt.date(2026, 2, 26), dt.date(2026, 2, 27))
        ]
    ).reset_index(drop=True)
    assert list(frame.columns) == BAR_SCHEMA.names
    pa.Table.from_pandas(
        frame, schema=BAR_SCHEMA, preserve_index=False
    )  # the lake accepts it as is
    assert len(frame) == len(expected) == 2 * 2 * 390
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)


def test_no_bars_is_an_empty_frame() -> None:
    with running_emulator() as server:
        frame = AlpacaHistory(endpoints(server)).bars(
            ["AAPL"],
            dt.datetime(2026, 2, 28, tzinfo=dt.UTC),
            dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
        )
    assert frame.empty
    assert list(frame.columns) == BAR_SCHEMA.names
