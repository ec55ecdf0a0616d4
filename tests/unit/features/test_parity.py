"""Streaming features equal batch features; both match independent oracles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import ta

from tests.support.builders import EARLY_CLOSE_DAY, FULL_DAY, bars_from_frame, day_bars
from trading_runtime.features.batch import compute_features
from trading_runtime.features.spec import FEATURE_SPEC
from trading_runtime.features.streaming import StreamingFeatures

SYMBOLS = ("AAPL", "MSFT", "NVDA", "TSLA")


def _stream(frame: pd.DataFrame) -> pd.DataFrame:
    engine = StreamingFeatures()
    rows = []
    for _, group in frame.groupby("timestamp", sort=True):
        out = engine.update(bars_from_frame(group))
        assert not out.rejected
        for i, symbol in enumerate(out.symbols):
            rows.append(
                (symbol, pd.Timestamp(out.timestamps[i]), *out.values[i], bool(out.complete[i]))
            )
    return pd.DataFrame(rows, columns=["symbol", "timestamp", *FEATURE_SPEC.names, "complete"])


@pytest.fixture(scope="module")
def two_days() -> pd.DataFrame:
    return pd.concat(
        [day_bars(FULL_DAY, SYMBOLS), day_bars(EARLY_CLOSE_DAY, SYMBOLS)], ignore_index=True
    )


def test_streaming_equals_batch_over_a_full_day_and_an_early_close(two_days: pd.DataFrame) -> None:
    batch = compute_features(two_days)
    streamed = _stream(two_days)
    merged = batch.merge(
        streamed, on=["symbol", "timestamp"], suffixes=("", "_stream"), validate="1:1"
    )
    assert len(merged) == len(batch) == len(streamed) == (390 + 210) * len(SYMBOLS)
    for name in FEATURE_SPEC.names:
        np.testing.assert_allclose(
            merged[f"{name}_stream"],
            merged[name],
            rtol=1e-9,
            atol=1e-12,
            equal_nan=True,
            err_msg=name,
        )
    assert (merged["complete"] == merged["complete_stream"]).all()


def test_rsi_and_atr_match_the_ta_library() -> None:
    frame = day_bars(FULL_DAY, ("AAPL",))
    aapl = frame[frame["symbol"] == "AAPL"].reset_index(drop=True)
    features = compute_features(frame)
    ours = features[features["symbol"] == "AAPL"].reset_index(drop=True)
    rsi = ta.momentum.RSIIndicator(aapl["close"], window=14).rsi()
    atr = ta.volatility.AverageTrueRange(
        aapl["high"], aapl["low"], aapl["close"], window=14
    ).average_true_range()
    np.testing.assert_allclose(ours["rsi_14"].iloc[13:], rsi.iloc[13:], rtol=1e-9)
    assert ours["rsi_14"].iloc[:13].isna().all()
    np.testing.assert_allclose(
        ours["atr_14"].iloc[13:] * aapl["close"].iloc[13:], atr.iloc[13:], rtol=1e-9
    )


def test_features_do_not_look_ahead(two_days: pd.DataFrame) -> None:
    full = compute_features(two_days)
    cutoff = two_days["timestamp"].sort_values().unique()[200]
    truncated = compute_features(two_days[two_days["timestamp"] <= cutoff])
    kept = full[full["timestamp"] <= cutoff].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, truncated.reset_index(drop=True))


def test_windows_do_not_cross_sessions(two_days: pd.DataFrame) -> None:
    features = compute_features(two_days)
    second_day = features[features["session_date"] == EARLY_CLOSE_DAY]
    first_bars = second_day.groupby("symbol").head(1)
    assert first_bars["ret_5"].isna().all()
    assert (first_bars["minute_of_session"] == 0).all()
    assert (first_bars["minutes_to_close"] == 210).all()


def test_a_row_is_complete_after_the_warmup(two_days: pd.DataFrame) -> None:
    features = compute_features(two_days[two_days["timestamp"].dt.date == FULL_DAY])
    aapl = features[features["symbol"] == "AAPL"].reset_index(drop=True)
    warmup = FEATURE_SPEC.warmup_bars
    assert not aapl["complete"].iloc[: warmup - 1].any()
    assert aapl["complete"].iloc[warmup - 1 :].all()


def test_reference_features_are_taken_as_of_the_bar() -> None:
    frame = day_bars(FULL_DAY, ("AAPL",))
    missing_at = frame["timestamp"].unique()[50]
    gapped = frame[~((frame["symbol"] == "SPY") & (frame["timestamp"] == missing_at))]
    full = compute_features(frame).set_index("timestamp")
    with_gap = compute_features(gapped).set_index("timestamp")
    previous = frame["timestamp"].unique()[49]
    assert with_gap.loc[missing_at, "spy_ret_1"] == full.loc[previous, "spy_ret_1"]
    streamed = _stream(gapped).set_index("timestamp")
    assert streamed.loc[missing_at, "spy_ret_1"] == pytest.approx(
        with_gap.loc[missing_at, "spy_ret_1"], rel=1e-12
    )


def test_streaming_rejects_duplicate_and_out_of_order_bars() -> None:
    bars = bars_from_frame(day_bars(FULL_DAY, ("AAPL",)))
    aapl = [b for b in bars if b.symbol == "AAPL"]
    engine = StreamingFeatures()
    engine.update(aapl[:3])
    out = engine.update([aapl[2], aapl[1]])
    assert sorted(reason for _, reason in out.rejected) == ["duplicate bar", "out-of-order bar"]
    assert out.symbols == []


def test_streaming_memory_is_bounded_by_the_window() -> None:
    bars = bars_from_frame(day_bars(FULL_DAY, ("AAPL",)))
    engine = StreamingFeatures()
    for bar in bars:
        engine.update([bar])
    state = engine._symbols["AAPL"]
    assert len(state.returns) <= FEATURE_SPEC.warmup_bars
    assert len(state.log_volumes) <= FEATURE_SPEC.volume_window
