"""Vectorised feature computation over whole sessions (training, backtests, parity oracle).

``compute_features(bars)`` takes bars of one or more sessions for any symbols (the reference
symbol among them) and returns one row per non-reference bar: ``symbol``, ``timestamp``,
``session_date``, ``close``, every feature of :data:`FEATURE_SPEC`, and ``complete``.
Bars must already be clean (see ``marketdata.quality``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from trading_runtime.features.spec import FEATURE_SPEC, FeatureSpec
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.universe import REFERENCE_SYMBOL

KEY_COLUMNS = ("symbol", "timestamp", "session_date", "close")


def compute_features(
    bars: pd.DataFrame,
    reference_symbol: str = REFERENCE_SYMBOL,
    spec: FeatureSpec = FEATURE_SPEC,
) -> pd.DataFrame:
    """Features for every non-reference bar in ``bars`` (see module docstring)."""
    columns = [*KEY_COLUMNS, *spec.names, "complete"]
    if bars.empty:
        return pd.DataFrame({name: pd.Series(dtype=float) for name in columns})
    frame = bars.sort_values(["symbol", "timestamp"], kind="stable").reset_index(drop=True)
    timestamps = pd.DatetimeIndex(frame["timestamp"])
    if timestamps.tz is None:
        raise ValueError("bar timestamps must be tz-aware (UTC)")
    frame["session_date"] = timestamps.tz_convert(calendar.NEW_YORK).date

    reference_parts = []
    symbol_parts = []
    for (symbol, day), group in frame.groupby(["symbol", "session_date"], sort=False):
        session = calendar.session(day)
        if symbol == reference_symbol:
            reference_parts.append(_reference_returns(group, spec))
        else:
            symbol_parts.append(_symbol_features(group, session, spec))
    if not symbol_parts:
        return pd.DataFrame({name: pd.Series(dtype=float) for name in columns})
    features = pd.concat(symbol_parts, ignore_index=True)

    reference_names = [f"spy_ret_{n}" for n in spec.reference_windows_needed]
    if reference_parts:
        reference = pd.concat(reference_parts, ignore_index=True).sort_values("timestamp")
        features = features.sort_values("timestamp", kind="stable")
        features = pd.merge_asof(
            features,
            reference,
            on="timestamp",
            by="session_date",
            direction="backward",
            allow_exact_matches=True,
        )
    else:
        for name in reference_names:
            features[name] = np.nan
    for n in spec.relative_return_windows:
        features[f"rel_ret_{n}"] = features[f"ret_{n}"] - features[f"spy_ret_{n}"]
    features["complete"] = features[list(spec.names)].notna().all(axis=1)
    features = features.sort_values(["timestamp", "symbol"], kind="stable").reset_index(drop=True)
    return features[columns]


def _one_bar_returns(group: pd.DataFrame) -> np.ndarray:
    close = group["close"].to_numpy(dtype=float)
    previous = np.concatenate(([float(group["open"].iloc[0])], close[:-1]))
    return np.log(close / previous)


def _window_sum(values: np.ndarray, window: int) -> np.ndarray:
    out = np.full(len(values), np.nan)
    if len(values) >= window:
        out[window - 1 :] = sliding_window_view(values, window).sum(axis=1)
    return out


def _window_std(values: np.ndarray, window: int) -> np.ndarray:
    out = np.full(len(values), np.nan)
    if len(values) >= window:
        out[window - 1 :] = sliding_window_view(values, window).std(axis=1, ddof=1)
    return out


def _window_zscore(values: np.ndarray, window: int) -> np.ndarray:
    out = np.full(len(values), np.nan)
    if len(values) >= window:
        windows = sliding_window_view(values, window)
        std = windows.std(axis=1, ddof=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            z = (values[window - 1 :] - windows.mean(axis=1)) / std
        out[window - 1 :] = np.where(std > 0, z, 0.0)
    return out


def wilder_rsi(close: np.ndarray, window: int) -> np.ndarray:
    """RSI with Wilder smoothing (``alpha = 1/window``), first change taken as 0."""
    change = np.diff(close, prepend=close[0])
    gains = np.where(change > 0, change, 0.0)
    losses = np.where(change < 0, -change, 0.0)
    out = np.full(len(close), np.nan)
    alpha = 1.0 / window
    average_gain = average_loss = 0.0
    for k in range(len(close)):
        if k == 0:
            average_gain, average_loss = gains[0], losses[0]
        else:
            average_gain += alpha * (gains[k] - average_gain)
            average_loss += alpha * (losses[k] - average_loss)
        if k >= window - 1:
            out[k] = (
                100.0 if average_loss == 0 else 100.0 - 100.0 / (1.0 + average_gain / average_loss)
            )
    return out


def wilder_atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, window: int) -> np.ndarray:
    """Average true range seeded with the mean of the first ``window`` true ranges."""
    previous_close = np.concatenate(([np.nan], close[:-1]))
    true_range = np.fmax(
        high - low, np.fmax(np.abs(high - previous_close), np.abs(low - previous_close))
    )
    out = np.full(len(close), np.nan)
    if len(close) < window:
        return out
    atr = float(true_range[:window].mean())
    out[window - 1] = atr
    for k in range(window, len(close)):
        atr = (atr * (window - 1) + true_range[k]) / window
        out[k] = atr
    return out


def _reference_returns(group: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    returns = _one_bar_returns(group)
    out = pd.DataFrame(
        {
            "timestamp": group["timestamp"].to_numpy(),
            "session_date": group["session_date"].to_numpy(),
        }
    )
    for n in spec.reference_windows_needed:
        out[f"spy_ret_{n}"] = _window_sum(returns, n)
    return out


def _symbol_features(
    group: pd.DataFrame, session: calendar.Session, spec: FeatureSpec
) -> pd.DataFrame:
    open_ = group["open"].to_numpy(dtype=float)
    high = group["high"].to_numpy(dtype=float)
    low = group["low"].to_numpy(dtype=float)
    close = group["close"].to_numpy(dtype=float)
    volume = group["volume"].to_numpy(dtype=float)
    vwap = group["vwap"].to_numpy(dtype=float) if "vwap" in group else np.full(len(close), np.nan)
    bar_vwap = np.where(np.isfinite(vwap), vwap, (high + low + close) / 3.0)
    timestamps = pd.DatetimeIndex(group["timestamp"])
    returns = _one_bar_returns(group)

    out: dict[str, np.ndarray | list] = {
        "symbol": group["symbol"].to_numpy(),
        "timestamp": timestamps,
        "session_date": group["session_date"].to_numpy(),
        "close": close,
    }
    for n in spec.return_windows:
        out[f"ret_{n}"] = _window_sum(returns, n)
    for n in spec.volatility_windows:
        out[f"vol_{n}"] = _window_std(returns, n)
    out["range_1"] = (high - low) / close
    out[f"atr_{spec.atr_window}"] = wilder_atr(high, low, close, spec.atr_window) / close
    out[f"rsi_{spec.rsi_window}"] = wilder_rsi(close, spec.rsi_window)
    out[f"volume_z_{spec.volume_window}"] = _window_zscore(np.log1p(volume), spec.volume_window)
    cumulative_volume = np.cumsum(volume)
    with np.errstate(invalid="ignore", divide="ignore"):
        session_vwap = np.cumsum(bar_vwap * volume) / cumulative_volume
    out["vwap_dev"] = np.where(cumulative_volume > 0, close / session_vwap - 1.0, 0.0)
    out["open_dev"] = np.log(close / open_[0])
    start = session.open
    out["minute_of_session"] = ((timestamps - start).total_seconds() / 60.0).to_numpy()
    out["minutes_to_close"] = ((session.close - timestamps).total_seconds() / 60.0).to_numpy()
    return pd.DataFrame(out)
