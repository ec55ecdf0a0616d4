"""Vectorised feature computation over whole sessions (training, backtests, parity oracle).

``compute_features(bars)`` takes bars of one or more sessions for any symbols (the reference
symbol among them) and returns one row per non-reference symbol and minute of the grid,
from the symbol's first bar of the session to the close (see ``features.spec`` and
``features.grid``): ``symbol``, ``timestamp``, ``session_date``, ``close`` (the grid close),
``traded`` (the symbol has a bar in that minute), every feature of :data:`FEATURE_SPEC`, and
``complete``. Bars must already be clean (see ``marketdata.quality``); rows are sorted by
timestamp, then symbol.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from trading_runtime.features.grid import SessionGrid, session_grids
from trading_runtime.features.spec import FEATURE_SPEC, FeatureSpec
from trading_runtime.marketdata.universe import REFERENCE_SYMBOL

KEY_COLUMNS = ("symbol", "timestamp", "session_date", "close", "traded")


def feature_columns(spec: FeatureSpec = FEATURE_SPEC) -> list[str]:
    """Columns of a feature table, in order."""
    return [*KEY_COLUMNS, *spec.names, "complete"]


def compute_features(
    bars: pd.DataFrame,
    reference_symbol: str = REFERENCE_SYMBOL,
    spec: FeatureSpec = FEATURE_SPEC,
) -> pd.DataFrame:
    """Features for every non-reference symbol and grid minute (see module docstring)."""
    parts = [_session_features(grid, reference_symbol, spec) for grid in session_grids(bars)]
    parts = [p for p in parts if len(p)]
    if not parts:
        return _empty(spec)
    return pd.concat(parts, ignore_index=True)


def _empty(spec: FeatureSpec) -> pd.DataFrame:
    frame = pd.DataFrame({name: pd.Series(dtype=float) for name in feature_columns(spec)})
    frame["symbol"] = frame["symbol"].astype(object)
    frame["timestamp"] = pd.Series(dtype="datetime64[ns, UTC]")
    frame["session_date"] = frame["session_date"].astype(object)
    frame["traded"] = frame["traded"].astype(bool)
    frame["complete"] = frame["complete"].astype(bool)
    return frame


def _window_sum(values: np.ndarray, window: int) -> np.ndarray:
    out = np.full(values.shape, np.nan)
    if values.shape[1] >= window:
        out[:, window - 1 :] = sliding_window_view(values, window, axis=1).sum(axis=-1)
    return out


def _window_std(values: np.ndarray, window: int) -> np.ndarray:
    out = np.full(values.shape, np.nan)
    if values.shape[1] >= window:
        out[:, window - 1 :] = sliding_window_view(values, window, axis=1).std(axis=-1, ddof=1)
    return out


def _window_zscore(values: np.ndarray, window: int) -> np.ndarray:
    out = np.full(values.shape, np.nan)
    if values.shape[1] >= window:
        windows = sliding_window_view(values, window, axis=1)
        std = windows.std(axis=-1, ddof=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            z = (values[:, window - 1 :] - windows.mean(axis=-1)) / std
        out[:, window - 1 :] = np.where(std > 0, z, 0.0)
    return out


def wilder_rsi(change: np.ndarray, window: int) -> np.ndarray:
    """RSI of ``change`` (``(symbols, minutes)``) with Wilder smoothing (``alpha = 1/window``),
    averages starting at 0 before the first minute; NaN before minute ``window - 1``."""
    gains = np.where(change > 0, change, 0.0)
    losses = np.where(change < 0, -change, 0.0)
    out = np.full(change.shape, np.nan)
    alpha = 1.0 / window
    average_gain = np.zeros(change.shape[0])
    average_loss = np.zeros(change.shape[0])
    for k in range(change.shape[1]):
        average_gain = average_gain + alpha * (gains[:, k] - average_gain)
        average_loss = average_loss + alpha * (losses[:, k] - average_loss)
        if k >= window - 1:
            with np.errstate(invalid="ignore", divide="ignore"):
                rsi = 100.0 - 100.0 / (1.0 + average_gain / average_loss)
            out[:, k] = np.where(average_loss == 0, 100.0, rsi)
    return out


def wilder_atr(true_range: np.ndarray, window: int) -> np.ndarray:
    """Average true range of ``(symbols, minutes)`` true ranges, seeded with the mean of the
    first ``window``; NaN before minute ``window - 1``."""
    out = np.full(true_range.shape, np.nan)
    if true_range.shape[1] < window:
        return out
    atr = true_range[:, :window].mean(axis=1)
    out[:, window - 1] = atr
    for k in range(window, true_range.shape[1]):
        atr = (atr * (window - 1) + true_range[:, k]) / window
        out[:, k] = atr
    return out


def _session_features(grid: SessionGrid, reference_symbol: str, spec: FeatureSpec) -> pd.DataFrame:
    n = grid.minutes
    previous = grid.previous_close
    returns = np.log(grid.close / previous)
    reference = {}
    if reference_symbol in grid.symbols:
        r = grid.symbols.index(reference_symbol)
        traded_yet = np.arange(n) >= grid.first_index[r]
        for window in spec.reference_windows_needed:
            sums = _window_sum(returns[r : r + 1], window)[0]
            reference[window] = np.where(traded_yet, sums, np.nan)
    else:
        reference = {window: np.full(n, np.nan) for window in spec.reference_windows_needed}

    keep = np.array([s != reference_symbol for s in grid.symbols])
    if not keep.any():
        return _empty(spec)
    close = grid.close[keep]
    high, low, volume = grid.high[keep], grid.low[keep], grid.volume[keep]
    returns = returns[keep]
    previous = previous[keep]
    symbols = np.asarray(grid.symbols, dtype=object)[keep]
    columns: dict[str, np.ndarray] = {}
    for window in spec.return_windows:
        columns[f"ret_{window}"] = _window_sum(returns, window)
    for window in spec.reference_return_windows:
        columns[f"spy_ret_{window}"] = np.broadcast_to(reference[window], close.shape)
    for window in spec.relative_return_windows:
        columns[f"rel_ret_{window}"] = columns[f"ret_{window}"] - reference[window][None, :]
    for window in spec.volatility_windows:
        columns[f"vol_{window}"] = _window_std(returns, window)
    columns["range_1"] = (high - low) / close
    true_range = np.fmax(high - low, np.fmax(np.abs(high - previous), np.abs(low - previous)))
    columns[f"atr_{spec.atr_window}"] = wilder_atr(true_range, spec.atr_window) / close
    columns[f"rsi_{spec.rsi_window}"] = wilder_rsi(close - previous, spec.rsi_window)
    columns[f"volume_z_{spec.volume_window}"] = _window_zscore(np.log1p(volume), spec.volume_window)
    cumulative_volume = np.cumsum(volume, axis=1)
    cumulative_value = np.cumsum(grid.bar_vwap[keep] * volume, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        deviation = close / (cumulative_value / cumulative_volume) - 1.0
    columns["vwap_dev"] = np.where(cumulative_volume > 0, deviation, 0.0)
    columns["open_dev"] = np.log(close / grid.first_open[keep][:, None])
    minute = np.arange(n, dtype=float)
    columns["minute_of_session"] = np.broadcast_to(minute, close.shape)
    columns["minutes_to_close"] = np.broadcast_to(n - minute, close.shape)

    # Rows: every minute from each symbol's first bar on, ordered by minute then symbol.
    has_row = grid.row_mask()[keep].T  # (minutes, symbols)
    minute_index, symbol_index = np.nonzero(has_row)
    out: dict[str, object] = {
        "symbol": symbols[symbol_index],
        "timestamp": grid.timestamps[minute_index],
        "session_date": np.full(len(minute_index), grid.session.date, dtype=object),
        "close": close[symbol_index, minute_index],
        "traded": grid.traded[keep][symbol_index, minute_index],
    }
    for name in spec.names:
        out[name] = columns[name][symbol_index, minute_index]
    frame = pd.DataFrame(out)
    frame["complete"] = frame[list(spec.names)].notna().all(axis=1)
    return frame
