"""Vectorised feature computation over whole sessions (training, backtests, parity oracle).

``compute_features(bars)`` takes bars of one or more sessions for any symbols (the reference
symbol among them) and returns one row per non-reference symbol and minute of the grid,
from the symbol's first bar of the session to the close (see ``features.spec`` and
``features.grid``): ``symbol``, ``timestamp``, ``session_date``, ``close`` (the grid close),
``traded`` (the symbol has a bar in that minute), every feature of :data:`FEATURE_SPEC`, and
``complete``. Bars must already be clean (see ``marketdata.quality``); rows are sorted by
timestamp, then symbol.

A session is computed minute-major, ``(minutes, symbols)`` as the streaming state is, and in
the same arithmetic, so the two agree to rounding: window sums are differences of running
sums of returns; window deviations are two-pass (the window's mean summed minute by minute,
then the squared deviations from it), never a difference of running sums of squares, which
cancels; the Wilder averages run minute by minute over all symbols at once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

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
    if len(parts) == 1:
        return parts[0]
    return pd.concat(parts, ignore_index=True)


def _empty(spec: FeatureSpec) -> pd.DataFrame:
    frame = pd.DataFrame({name: pd.Series(dtype=float) for name in feature_columns(spec)})
    frame["symbol"] = frame["symbol"].astype(object)
    frame["timestamp"] = pd.Series(dtype="datetime64[ns, UTC]")
    frame["session_date"] = frame["session_date"].astype(object)
    frame["traded"] = frame["traded"].astype(bool)
    frame["complete"] = frame["complete"].astype(bool)
    return frame


def _window_sums(cumulative: np.ndarray, window: int) -> np.ndarray:
    """Sums over the last ``window`` minutes, ``(minutes, symbols)``, from running sums
    ``cumulative`` (``(minutes + 1, symbols)``: row ``k + 1`` sums minutes ``0 .. k``);
    NaN before minute ``window - 1``."""
    n = cumulative.shape[0] - 1
    out = np.full((n, cumulative.shape[1]), np.nan)
    if n >= window:
        np.subtract(cumulative[window:], cumulative[: n + 1 - window], out=out[window - 1 :])
    return out


def _window_mean_std(values: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample standard deviation (ddof=1) of ``values`` (``(minutes, symbols)``)
    over each full window of ``window`` minutes: row ``i`` covers minutes ``i .. i + window
    - 1``. Two-pass, summed in minute order; empty when the session is shorter."""
    count = values.shape[0] - window + 1
    if count <= 0:
        empty = np.empty((0, values.shape[1]))
        return empty, empty
    total = values[:count].copy()
    for j in range(1, window):
        total += values[j : j + count]
    mean = total / window
    squares = np.zeros_like(mean)
    deviation = np.empty_like(mean)
    for j in range(window):
        np.subtract(values[j : j + count], mean, out=deviation)
        deviation *= deviation
        squares += deviation
    return mean, np.sqrt(squares / (window - 1))


def _window_std(values: np.ndarray, window: int) -> np.ndarray:
    out = np.full(values.shape, np.nan)
    out[window - 1 :] = _window_mean_std(values, window)[1]
    return out


def _window_zscore(values: np.ndarray, window: int) -> np.ndarray:
    """z-score of each minute within its window; 0 where the window's values are all equal
    (decided exactly: a rounded mean of equal values can differ from them by an ulp)."""
    out = np.full(values.shape, np.nan)
    mean, std = _window_mean_std(values, window)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (values[window - 1 :] - mean) / std
    changes = np.zeros(values.shape, dtype=np.int64)
    np.cumsum(values[1:] != values[:-1], axis=0, out=changes[1:])
    constant = changes[window - 1 :] == changes[: len(values) - window + 1]
    out[window - 1 :] = np.where(constant | ~(std > 0), 0.0, z)
    return out


def wilder_rsi(change: np.ndarray, window: int) -> np.ndarray:
    """RSI of ``change`` (``(minutes, symbols)``) with Wilder smoothing (``alpha = 1/window``),
    averages starting at 0 before the first minute; NaN before minute ``window - 1``."""
    alpha = 1.0 / window
    moves = np.concatenate(
        (np.where(change > 0, change, 0.0), np.where(change < 0, -change, 0.0)), axis=1
    )
    averages = np.empty_like(moves)  # gains, then losses
    last = np.zeros(moves.shape[1])
    for k in range(len(moves)):  # a_k = a_{k-1} + alpha * (move_k - a_{k-1})
        average = averages[k]
        np.subtract(moves[k], last, out=average)
        average *= alpha
        average += last
        last = average
    gain, loss = np.split(averages, 2, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rsi = 100.0 - 100.0 / (1.0 + gain / loss)
    rsi = np.where(loss == 0, 100.0, rsi)
    rsi[: window - 1] = np.nan
    return rsi


def wilder_atr(true_range: np.ndarray, window: int) -> np.ndarray:
    """Average true range of ``(minutes, symbols)`` true ranges, seeded with the mean of the
    first ``window``; NaN before minute ``window - 1``."""
    out = np.full(true_range.shape, np.nan)
    if len(true_range) < window:
        return out
    out[window - 1] = true_range[:window].mean(axis=0)
    for k in range(window, len(true_range)):  # a_k = (a_{k-1} * (window - 1) + x_k) / window
        average = out[k]
        np.multiply(out[k - 1], window - 1, out=average)
        average += true_range[k]
        average /= window
    return out


def _session_features(grid: SessionGrid, reference_symbol: str, spec: FeatureSpec) -> pd.DataFrame:
    n = grid.minutes
    # Minute-major copies: the last ``w`` minutes of every symbol are a block of rows.
    close = np.ascontiguousarray(grid.close.T)
    previous = np.concatenate((grid.first_open[None, :], close[:-1]))
    returns = np.log(close / previous)
    cumulative = np.zeros((n + 1, len(grid.symbols)))
    np.cumsum(returns, axis=0, out=cumulative[1:])
    sums = {
        window: _window_sums(cumulative, window)
        for window in sorted(set(spec.return_windows) | set(spec.reference_windows_needed))
    }
    if reference_symbol in grid.symbols:
        r = grid.symbols.index(reference_symbol)
        traded_yet = np.arange(n) >= grid.first_index[r]
        reference = {
            window: np.where(traded_yet, sums[window][:, r], np.nan)
            for window in spec.reference_windows_needed
        }
    else:
        reference = {window: np.full(n, np.nan) for window in spec.reference_windows_needed}

    keep = np.array([s != reference_symbol for s in grid.symbols])
    if not keep.any():
        return _empty(spec)

    def minute_major(array: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(array[keep].T)

    close, previous, returns = close[:, keep], previous[:, keep], returns[:, keep]
    high, low, volume = minute_major(grid.high), minute_major(grid.low), minute_major(grid.volume)
    # Features as (minutes, symbols), and those equal for every symbol as (minutes,).
    columns: dict[str, np.ndarray] = {}
    per_minute: dict[str, np.ndarray] = {}
    for window in spec.return_windows:
        columns[f"ret_{window}"] = sums[window][:, keep]
    for window in spec.reference_return_windows:
        per_minute[f"spy_ret_{window}"] = reference[window]
    for window in spec.volatility_windows:
        columns[f"vol_{window}"] = _window_std(returns, window)
    columns["range_1"] = (high - low) / close
    true_range = np.fmax(high - low, np.fmax(np.abs(high - previous), np.abs(low - previous)))
    columns[f"atr_{spec.atr_window}"] = wilder_atr(true_range, spec.atr_window) / close
    columns[f"rsi_{spec.rsi_window}"] = wilder_rsi(close - previous, spec.rsi_window)
    columns[f"volume_z_{spec.volume_window}"] = _window_zscore(np.log1p(volume), spec.volume_window)
    cumulative_volume = np.cumsum(volume, axis=0)
    cumulative_value = np.cumsum(minute_major(grid.bar_vwap) * volume, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        deviation = close / (cumulative_value / cumulative_volume) - 1.0
    columns["vwap_dev"] = np.where(cumulative_volume > 0, deviation, 0.0)
    columns["open_dev"] = np.log(close / grid.first_open[keep][None, :])
    minute = np.arange(n, dtype=float)
    per_minute["minute_of_session"] = minute
    per_minute["minutes_to_close"] = n - minute
    columns["close"] = close
    return _rows(grid, keep, columns, per_minute, reference, spec)


def _rows(
    grid: SessionGrid,
    keep: np.ndarray,
    columns: dict[str, np.ndarray],
    per_minute: dict[str, np.ndarray],
    reference: dict[int, np.ndarray],
    spec: FeatureSpec,
) -> pd.DataFrame:
    """The table's rows: every minute from each kept symbol's first bar on, ordered by minute
    then symbol. ``columns`` are ``(minutes, kept symbols)``, ``per_minute`` ``(minutes,)``;
    relative returns are taken here, from the gathered returns and ``reference``."""
    has_row = np.arange(grid.minutes)[:, None] >= grid.first_index[keep][None, :]
    cells = np.flatnonzero(has_row)
    minute_index, symbol_index = np.divmod(cells, has_row.shape[1])
    # The float columns are gathered into one block, which the frame takes without a copy
    # (the indices are in range: mode 'clip' spares numpy a buffered copy of ``out``).
    names = ["close", *spec.names]
    block = np.empty((len(names), len(cells)))
    for i, name in enumerate(names):
        if name in columns:
            np.take(columns[name].reshape(-1), cells, out=block[i], mode="clip")
        elif name in per_minute:
            np.take(per_minute[name], minute_index, out=block[i], mode="clip")
    for window in spec.relative_return_windows:
        np.subtract(
            block[names.index(f"ret_{window}")],
            reference[window][minute_index],
            out=block[names.index(f"rel_ret_{window}")],
        )
    frame = pd.DataFrame(block.T, columns=names, copy=False)
    symbols = pd.Series(np.asarray(grid.symbols, dtype=object)[keep]).array
    frame.insert(0, "symbol", symbols.take(symbol_index))
    frame.insert(1, "timestamp", grid.timestamps[minute_index])
    frame.insert(2, "session_date", np.full(len(cells), grid.session.date, dtype=object))
    frame.insert(4, "traded", np.ascontiguousarray(grid.traded[keep].T).reshape(-1)[cells])
    frame["complete"] = ~np.isnan(block[1:]).any(axis=0)
    return frame
