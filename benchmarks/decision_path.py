"""Per-bar cost of the streaming decision path against a naive per-bar recomputation and
against the vectorised floor (inference alone: XGBoost's ``inplace_predict`` on the same
per-minute matrices); the model wrapper's predictor against ``inplace_predict`` per call."""

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
from trading_runtime.core.minute import build_predictions, decide_arrays, decide_minute
from trading_runtime.features.batch import compute_features
from trading_runtime.features.spec import FEATURE_SPEC
from trading_runtime.features.streaming import StreamingFeatures
from trading_runtime.marketdata import calendar

BASELINE_MINUTES = range(40, 50)  # the naive path is sampled: it is quadratic in the session


def _streaming(minutes: list[list[Any]], trained: Any) -> tuple[float, int, list[np.ndarray]]:
    """The engine's minute step without I/O: features, one prediction, strategy and risk."""
    session = calendar.session(SESSION)
    features = StreamingFeatures(SYMBOLS)
    book = Book(cash=Decimal("100000"))
    config = DECISION
    matrices: list[np.ndarray] = []
    bars = 0
    started = time.perf_counter()
    for minute_bars in minutes:
        rows = features.close_minute(minute_bars[0].timestamp, minute_bars)
        ready = np.flatnonzero(rows.complete)
        if len(ready):
            matrix = rows.values[ready]
            probabilities = trained.predict_proba(matrix)
            moment = rows.timestamps[0]
            symbols = (
                rows.symbols
                if len(ready) == len(rows.symbols)
                else [rows.symbols[i] for i in ready]
            )
            decide_arrays(
                symbols,
                moment,
                rows.closes[ready],
                probabilities,
                1,
                book.state(moment),
                session,
                config,
                "bench",
            )
            matrices.append(matrix)
        bars += len(minute_bars)
    return time.perf_counter() - started, bars, matrices


def _floor(matrices: list[np.ndarray], trained: Any) -> float:
    """Inference alone: one ``inplace_predict`` per minute on the same float32 matrices."""
    booster = trained.booster
    iteration_range = (0, trained.metadata.best_iteration + 1)
    inputs = [np.ascontiguousarray(m, dtype=np.float32) for m in matrices]
    started = time.perf_counter()
    for matrix in inputs:
        booster.inplace_predict(matrix, iteration_range=iteration_range, validate_features=False)
    return time.perf_counter() - started


def _per_call(matrix: np.ndarray, trained: Any, calls: int = 300) -> tuple[float, float]:
    """Seconds per call of ``inplace_predict`` and of the wrapper's predictor on ``matrix``."""
    booster = trained.booster
    iteration_range = (0, trained.metadata.best_iteration + 1)
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    trained.predict_proba(matrix)
    started = time.perf_counter()
    for _ in range(calls):
        booster.inplace_predict(matrix, iteration_range=iteration_range, validate_features=False)
    public = (time.perf_counter() - started) / calls
    started = time.perf_counter()
    for _ in range(calls):
        trained.predict_proba(matrix)
    cached = (time.perf_counter() - started) / calls
    return public, cached


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
    streaming, floor, naive = [], [], []
    for _ in range(repeats):
        seconds, bars, matrices = _streaming(minutes, trained)
        streaming.append(seconds / bars)
        floor.append(_floor(matrices, trained) / bars)
    for _ in range(repeats):
        seconds, bars = _naive(frame, trained)
        naive.append(seconds / bars)
    per_bar = statistics.median(streaming)
    floor_per_bar = statistics.median(floor)
    baseline = statistics.median(naive)
    one_row = [_per_call(matrices[-1][:1], trained) for _ in range(repeats)]
    full = [_per_call(matrices[-1], trained) for _ in range(repeats)]
    one_public, one_cached = (statistics.median(x) for x in zip(*one_row, strict=True))
    full_public, full_cached = (statistics.median(x) for x in zip(*full, strict=True))
    symbols = frame["symbol"].nunique()
    width = len(matrices[-1])
    return {
        "streaming_us_per_bar": per_bar * 1e6,
        "naive_us_per_bar": baseline * 1e6,
        "floor_us_per_bar": floor_per_bar * 1e6,
        "speedup": baseline / per_bar,
        "ratio_to_floor": per_bar / floor_per_bar,
        "streaming_ms_per_minute": per_bar * symbols * 1e3,
        "predict_1_row_us": {"inplace_predict": one_public * 1e6, "wrapper": one_cached * 1e6},
        f"predict_{width}_rows_us": {
            "inplace_predict": full_public * 1e6,
            "wrapper": full_cached * 1e6,
        },
        "symbols": int(symbols),
        "report": [
            f"streaming decision path: {per_bar * 1e6:,.1f} us per bar "
            f"({per_bar * symbols * 1e3:,.2f} ms per minute of {symbols} symbols)",
            f"naive per-bar recompute: {baseline * 1e6:,.1f} us per bar (sampled minutes {BASELINE_MINUTES.start}-{BASELINE_MINUTES.stop - 1})",
            f"vectorised floor (inplace_predict alone, one call per minute): {floor_per_bar * 1e6:,.2f} us per bar",
            f"ratio: streaming is {baseline / per_bar:,.0f}x faster than naive and "
            f"{per_bar / floor_per_bar:,.2f}x the floor (median of {repeats})",
            f"model call, 1 row: inplace_predict {one_public * 1e6:,.0f} us, wrapper "
            f"{one_cached * 1e6:,.0f} us ({one_public / one_cached:,.2f}x); {width} rows: "
            f"{full_public * 1e6:,.0f} us vs {full_cached * 1e6:,.0f} us ({full_public / full_cached:,.2f}x)",
        ],
    }
