"""Backtest throughput against the live engine replaying the same session through the
emulator, against a plain numpy pass over the same bars, and against the model's inference
alone over the session's feature rows (the one batched call the replay makes per session:
the bound no replay of this model can pass). The replay's own work (everything but that
call, timed inside the same replays) is reported apart, so the floor and the rest are seen
separately. Replay, its own work and inference are the best of ``REPEATS`` runs."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.engine import engine_session
from benchmarks.fixtures import DECISION, SYMBOLS, model, session_bars
from trading_runtime.backtest.replay import BacktestConfig, run_backtest
from trading_runtime.features.batch import compute_features
from trading_runtime.features.spec import FEATURE_SPEC
from trading_runtime.modeling.artifact import TradingModel

REPEATS = 3


def _numpy_pass(frame: pd.DataFrame, repeats: int = 5) -> float:
    """Bars per second of a plain numpy pass over the same bars: every bar's notional and
    one-bar return, summed per minute (the floor any replay of these bars pays)."""
    ordered = frame.sort_values(["timestamp", "symbol"], kind="stable")
    stamps = pd.DatetimeIndex(ordered["timestamp"]).as_unit("ns").asi8
    close = ordered["close"].to_numpy(dtype=float)
    open_ = ordered["open"].to_numpy(dtype=float)
    volume = ordered["volume"].to_numpy(dtype=float)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        starts = np.flatnonzero(np.r_[True, stamps[1:] != stamps[:-1]])
        notional = np.add.reduceat(close * volume, starts)
        returns = np.add.reduceat(np.log(close / open_), starts)
        float(notional.sum() + returns.sum())
        best = min(best, time.perf_counter() - started)
    return len(frame) / best


class _TimedModel(TradingModel):
    """The served model, adding up the time its inference takes (``inference_s``)."""

    def __init__(self, model: TradingModel) -> None:
        super().__init__(model.booster, model.metadata)
        self.inference_s = 0.0

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        started = time.perf_counter()
        try:
            return super().predict_proba(features)
        finally:
            self.inference_s += time.perf_counter() - started


def run() -> dict[str, Any]:
    frame = session_bars()
    trained = model()
    # the model as a backtest loads it from the registry (a single-threaded booster)
    served = TradingModel.from_bytes(trained.to_bytes())
    features = compute_features(frame)
    timed = _TimedModel(served)
    backtest_seconds = own_seconds = float("inf")
    for _ in range(REPEATS):
        timed.inference_s = 0.0
        started = time.perf_counter()
        result = run_backtest(frame, features, timed, 1, BacktestConfig(decision=DECISION))
        elapsed = time.perf_counter() - started
        backtest_seconds = min(backtest_seconds, elapsed)
        own_seconds = min(own_seconds, elapsed - timed.inference_s)
    rows = features[features["complete"].to_numpy(dtype=bool)]
    matrix = rows[list(FEATURE_SPEC.names)].to_numpy(dtype=np.float32)
    inference = {}
    for threads in (1, 2):
        inference[threads] = float("inf")
        with served.threads(threads):
            for _ in range(REPEATS):
                started = time.perf_counter()
                served.predict_proba(matrix)
                inference[threads] = min(inference[threads], time.perf_counter() - started)
    inference_seconds = min(inference.values())
    engine_seconds, stats = asyncio.run(engine_session(frame, SYMBOLS, trained))
    numpy_rate = _numpy_pass(frame)
    bars = len(frame)
    backtest_rate = bars / backtest_seconds
    engine_rate = stats["bars_received"] / engine_seconds
    end_to_end = bars / (backtest_seconds + _feature_seconds(frame))
    inference_rate = bars / inference_seconds
    own_rate = bars / own_seconds
    one_thread_rate = bars / inference[1]
    return {
        "bars": bars,
        "backtest_bars_per_s": backtest_rate,
        "backtest_with_features_bars_per_s": end_to_end,
        "engine_bars_per_s": engine_rate,
        "ratio": backtest_rate / engine_rate,
        "numpy_pass_bars_per_s": numpy_rate,
        "ratio_to_numpy_pass": backtest_rate / numpy_rate,
        "backtest_without_inference_bars_per_s": own_rate,
        "backtest_without_inference_ms": own_seconds * 1e3,
        "inference_alone_bars_per_s": inference_rate,
        "inference_alone_one_thread_bars_per_s": one_thread_rate,
        "inference_share": inference_seconds / backtest_seconds,
        "backtest_orders": result.metrics["orders"],
        "backtest_gross_return": result.metrics["gross_return"],
        "backtest_net_return": result.metrics["net_return"],
        "engine_orders": stats["orders_submitted"] + stats["orders_rejected"],
        "report": [
            f"backtest replay: {backtest_rate:,.0f} bars/s ({bars:,} bars of one session, {len(SYMBOLS)} symbols + SPY); "
            f"{end_to_end:,.0f} bars/s including batch features; return "
            f"{result.metrics['gross_return']:+.4%} gross, {result.metrics['net_return']:+.4%} "
            f"net of costs",
            f"replay without inference (its own work, timed in the same replays): "
            f"{own_rate:,.0f} bars/s ({own_seconds * 1e3:.1f} ms of {backtest_seconds * 1e3:.1f} "
            f"ms; the rest is the model's one batched call, the floor)",
            f"plain numpy pass over the same bars: {numpy_rate:,.0f} bars/s; the replay runs at "
            f"{backtest_rate / numpy_rate:.4f} of it (1/{numpy_rate / backtest_rate:,.0f})",
            f"inference alone over the session's {len(matrix):,} feature rows: "
            f"{inference_rate:,.0f} bars/s, the faster of 1 and 2 threads "
            f"({inference_seconds * 1e6 / len(matrix):.2f} us per row, "
            f"{inference_seconds / backtest_seconds:.0%} of the replay's time; 1 thread: "
            f"{one_thread_rate:,.0f} bars/s)",
            f"live engine through the emulator (lockstep): {engine_rate:,.0f} bars/s",
            f"ratio: the backtest replays {backtest_rate / engine_rate:,.1f}x faster than the sim session"
            f" ({int(result.metrics['orders'])} vs {stats['orders_submitted'] + stats['orders_rejected']} orders)",
        ],
    }


def _feature_seconds(frame: pd.DataFrame) -> float:
    started = time.perf_counter()
    compute_features(frame)
    return time.perf_counter() - started
