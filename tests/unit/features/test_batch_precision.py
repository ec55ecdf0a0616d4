"""Batch window features stay exact on the prices where floating point is tested hardest:
a high-priced symbol (near 5000) and a low-priced one (near 1) moving one tick at a time
after an active stretch. Returns and volatilities are checked against exactly rounded
oracles (``math.fsum`` and ``statistics``, which sum in rational arithmetic) a thousand
times inside the tolerance of streaming/batch parity (``rtol=1e-9, atol=1e-12``); volume
z-scores, of order one, within it; and the streaming features equal the batch ones."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest

from tests.support.builders import FULL_DAY, day_bars
from trading_runtime.features.batch import compute_features
from trading_runtime.features.build import check_parity
from trading_runtime.features.spec import FEATURE_SPEC
from trading_runtime.marketdata import calendar

RTOL, ATOL = 1e-12, 1e-15


def _tick_path(start: float, tick: float, seed: int) -> pd.DataFrame:
    """A bar every minute: 150 active minutes (moves of up to 40 ticks), then quiet ones
    (unchanged, or one tick), with volumes that are steady when quiet."""
    rng = np.random.default_rng(seed)
    n = calendar.session(FULL_DAY).minutes
    active = np.arange(n) < 150
    moves = np.where(active, rng.integers(-40, 41, n), rng.choice([-1, 0, 0, 0, 1], n))
    close = np.round(start / tick + np.cumsum(moves)) * tick
    open_ = np.concatenate(([start], close[:-1]))
    volume = np.where(active, rng.integers(1_000, 50_000, n), 100 * rng.integers(1, 3, n))
    return pd.DataFrame(
        {
            "timestamp": calendar.session(FULL_DAY).bar_timestamps(),
            "open": open_,
            "high": np.maximum(open_, close) + tick,
            "low": np.minimum(open_, close) - tick,
            "close": close,
            "volume": volume.astype(float),
            "trade_count": 1.0,
            "vwap": (open_ + close) / 2,
        }
    )


@pytest.mark.parametrize(("symbol", "start", "tick"), [("BKNG", 5000.0, 0.01), ("PENY", 1.0, 1e-4)])
def test_window_features_of_high_and_low_priced_symbols_match_exact_oracles_and_streaming(
    symbol: str, start: float, tick: float
) -> None:
    path = _tick_path(start, tick, seed=len(symbol))
    bars = pd.concat([day_bars(FULL_DAY, ()), path.assign(symbol=symbol)], ignore_index=True)
    features = compute_features(bars)
    ours = features[features["symbol"] == symbol].reset_index(drop=True)
    returns = np.log(path["close"] / path["open"]).to_list()  # the grid's r_k: a bar a minute
    log_volume = np.log1p(path["volume"]).to_list()

    def check(name: str, exact: list[float], atol: float = ATOL) -> None:
        window = len(returns) - len(exact)
        np.testing.assert_allclose(ours[name].iloc[window:], exact, rtol=RTOL, atol=atol)

    for window in FEATURE_SPEC.return_windows:
        check(
            f"ret_{window}",
            [math.fsum(returns[k - window + 1 : k + 1]) for k in range(window - 1, len(returns))],
        )
    for window in FEATURE_SPEC.volatility_windows:
        check(
            f"vol_{window}",
            [
                statistics.stdev(returns[k - window + 1 : k + 1])
                for k in range(window - 1, len(returns))
            ],
        )
    window = FEATURE_SPEC.volume_window
    z = []
    for k in range(window - 1, len(log_volume)):
        block = log_volume[k - window + 1 : k + 1]
        std = statistics.stdev(block)
        z.append((block[-1] - statistics.fmean(block)) / std if std > 0 else 0.0)
    check(f"volume_z_{window}", z, atol=1e3 * ATOL)  # a z-score is of order one
    assert check_parity(bars, "SPY").passed


def test_volume_z_is_zero_where_the_windows_volumes_are_all_equal_in_batch_and_streaming() -> None:
    """The spec's "0 when they are all equal", decided on the values themselves: the window
    mean of thirty equal logs can differ from them by an ulp, and a z-score of two rounding
    errors is anything (it came out near -1)."""
    path = _tick_path(100.0, 0.01, seed=3)
    steady = np.arange(len(path)) >= 100
    path["volume"] = np.where(steady, 300.0, path["volume"])
    bars = pd.concat([day_bars(FULL_DAY, ()), path.assign(symbol="FLAT")], ignore_index=True)
    features = compute_features(bars)
    z = features.loc[features["symbol"] == "FLAT", f"volume_z_{FEATURE_SPEC.volume_window}"]
    window = FEATURE_SPEC.volume_window
    all_equal = np.arange(len(path)) >= 100 + window - 1
    assert (z.to_numpy()[all_equal] == 0.0).all()
    # the first minute of steady volume stands out of a window of busier ones
    assert z.to_numpy()[100] < -1.0
    assert check_parity(bars, "SPY").passed
