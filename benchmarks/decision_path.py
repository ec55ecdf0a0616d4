"""Per-bar cost of the streaming decision path against a naive per-bar recomputation."""

from __future__ import annotations

import statistics
import time
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from benchmarks.fixtures import DECISION, SESSION, SYMBOLS, bars_by_minute, model, session_bars
from trading_runtime.core.book import Book
from trading_runtime.core.minute import build_predictions, decide_minute
from trading_runtime.features.batch import compute_features
from trading_runtime.features.spec import FEATURE_SPEC
from trading_runtime.features.streaming import StreamingFeatures
from trading_runtime.marketdata import calendar

BASELINE_MINUTES = range(40, 50)  # the naive path is sampled: it is quadratic in the session


def _streaming(minutes: list[list[Any]], trained: Any) -> tuple[float, int]:
    session = calendar.session(SESSION)
    features = StreamingFeatures(SYMBOLS)
    book = Book(cash=Decimal("100000"))
    config = DECISION
    bars = 0
    started = time.perf_counter()
    for minute_bars in minutes:
        rows = features.close_minute(minute_bars[0].timestamp, minute_bars)
        ready = np.flatnonzero(rows.complete)
        if len(ready):
            probabilities = trained.predict_proba(rows.values[ready])
            moment = rows.timestamps[0]
            predictions = build_predictions(
                [rows.symbols[i] for i in ready],
                [rows.timestamps[i] for i in ready],
                rows.closes[ready],
                probabilities,
                1,
            )
            decide_minute(predictions, book.state(moment), session, moment, config, "bench")
        bars += len(minute_bars)
    return time.perf_counter() - started, bars


def _naive(frame: pd.DataFrame, trained: Any) -> tuple[float, int]:
    """Per bar: the session so far as a DataFrame, batch features, last row, a DMatrix."""
    session = calendar.session(SESSION)
    config = DECISION
    book = Book(cash=Decimal("100000"))
    timestamps = sorted(frame["timestamp"].unique())
    booster = trained.booster
    bars = 0
    started = time.perf_counter()
    for index in BASELINE_MINUTES:
        now = timestamps[index]
        history = frame[frame["timestamp"] <= now]
        reference = history[history["symbol"] == "SPY"]
        for symbol, group in history.groupby("symbol", sort=False):
            if symbol == "SPY":
                continue
            window = pd.concat([reference, group], ignore_index=True)
            features = compute_features(window).iloc[[-1]]
            matrix = xgb.DMatrix(
                features[list(FEATURE_SPEC.names)].to_numpy(dtype=np.float32),
                feature_names=list(FEATURE_SPEC.names),
            )
            probabilities = booster.predict(
                matrix, iteration_range=(0, trained.metadata.best_iteration + 1)
            )
            moment = pd.Timestamp(now).to_pydatetime()
            predictions = build_predictions(
                [symbol], [moment], features["close"].to_numpy(), probabilities, 1
            )
            decide_minute(predictions, book.state(moment), session, moment, config, "bench")
            bars += 1
    return time.perf_counter() - started, bars


def run(repeats: int = 3) -> dict[str, Any]:
    frame = session_bars()
    minutes = bars_by_minute(frame)
    trained = model()
    trained.booster.set_param({"nthread": 1})
    streaming = []
    for _ in range(repeats):
        seconds, bars = _streaming(minutes, trained)
        streaming.append(seconds / bars)
    naive = []
    for _ in range(repeats):
        seconds, bars = _naive(frame, trained)
        naive.append(seconds / bars)
    per_bar = statistics.median(streaming)
    baseline = statistics.median(naive)
    symbols = frame["symbol"].nunique()
    return {
        "streaming_us_per_bar": per_bar * 1e6,
        "naive_us_per_bar": baseline * 1e6,
        "speedup": baseline / per_bar,
        "streaming_ms_per_minute": per_bar * symbols * 1e3,
        "symbols": int(symbols),
        "report": [
            f"streaming decision path: {per_bar * 1e6:,.1f} us per bar "
            f"({per_bar * symbols * 1e3:,.2f} ms per minute of {symbols} symbols)",
            f"naive per-bar recompute: {baseline * 1e6:,.1f} us per bar (sampled minutes {BASELINE_MINUTES.start}-{BASELINE_MINUTES.stop - 1})",
            f"ratio: streaming is {baseline / per_bar:,.0f}x faster (median of {repeats})",
        ],
    }
