"""Incremental features for the live loop: O(window) memory per symbol, O(window) work per bar.

``StreamingFeatures.update(bars)`` takes the bars of one minute (any subset of symbols, the
reference symbol among them or not) and returns the feature rows for the non-reference bars,
in the order of :data:`FEATURE_SPEC.names`. The definitions are those of
``features.spec``; the values equal ``features.batch.compute_features`` on the same bars.

State resets at each new session. A bar that is not newer than the symbol's previous bar
(duplicate or out of order) is not applied and is reported in ``FeatureRows.rejected``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np

from trading_runtime.domain.bars import Bar
from trading_runtime.features.spec import FEATURE_SPEC, FeatureSpec
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.universe import REFERENCE_SYMBOL

_NEW_YORK = ZoneInfo(calendar.NEW_YORK)
_NAN = math.nan


@dataclass(slots=True)
class FeatureRows:
    """Feature rows of one update; ``values`` is (len(symbols), len(spec.names))."""

    symbols: list[str]
    timestamps: list[dt.datetime]
    closes: np.ndarray
    values: np.ndarray
    complete: np.ndarray
    rejected: list[tuple[Bar, str]] = field(default_factory=list)


def _session_date(timestamp: dt.datetime) -> dt.date:
    return timestamp.astimezone(_NEW_YORK).date()


def _sum_last(values: deque[float], n: int) -> float:
    if len(values) < n:
        return _NAN
    total = 0.0
    for value in list(values)[-n:]:
        total += value
    return total


def _std_last(values: deque[float], n: int) -> float:
    if len(values) < n:
        return _NAN
    return float(np.std(np.fromiter(list(values)[-n:], dtype=float, count=n), ddof=1))


class _ReferenceState:
    __slots__ = ("last_close", "returns", "session_date")

    def __init__(self, session_date: dt.date, first_open: float, window: int) -> None:
        self.session_date = session_date
        self.last_close = first_open
        self.returns: deque[float] = deque(maxlen=window)

    def apply(self, bar: Bar) -> None:
        self.returns.append(math.log(bar.close / self.last_close))
        self.last_close = bar.close


class _SymbolState:
    __slots__ = (
        "atr",
        "average_gain",
        "average_loss",
        "count",
        "cumulative_price_volume",
        "cumulative_volume",
        "first_open",
        "last_close",
        "log_volumes",
        "returns",
        "session",
        "true_range_sum",
    )

    def __init__(self, session: calendar.Session, first_open: float, spec: FeatureSpec) -> None:
        self.session = session
        self.first_open = first_open
        self.last_close = first_open
        self.count = 0
        self.returns: deque[float] = deque(
            maxlen=max(max(spec.return_windows), max(spec.volatility_windows))
        )
        self.log_volumes: deque[float] = deque(maxlen=spec.volume_window)
        self.average_gain = 0.0
        self.average_loss = 0.0
        self.atr = _NAN
        self.true_range_sum = 0.0
        self.cumulative_price_volume = 0.0
        self.cumulative_volume = 0.0


class StreamingFeatures:
    """Per-symbol incremental state for every feature of ``spec``."""

    def __init__(
        self, reference_symbol: str = REFERENCE_SYMBOL, spec: FeatureSpec = FEATURE_SPEC
    ) -> None:
        self.reference_symbol = reference_symbol
        self.spec = spec
        self._names = spec.names
        self._index = {name: i for i, name in enumerate(spec.names)}
        self._symbols: dict[str, _SymbolState] = {}
        self._reference: _ReferenceState | None = None
        self._last_timestamp: dict[str, dt.datetime] = {}

    def update(self, bars: Iterable[Bar]) -> FeatureRows:
        ordered = sorted(
            bars, key=lambda b: (b.timestamp, b.symbol != self.reference_symbol, b.symbol)
        )
        rejected: list[tuple[Bar, str]] = []
        symbols: list[str] = []
        timestamps: list[dt.datetime] = []
        closes: list[float] = []
        rows: list[np.ndarray] = []
        for bar in ordered:
            previous = self._last_timestamp.get(bar.symbol)
            if previous is not None and bar.timestamp <= previous:
                reason = "duplicate bar" if bar.timestamp == previous else "out-of-order bar"
                rejected.append((bar, reason))
                continue
            self._last_timestamp[bar.symbol] = bar.timestamp
            if bar.symbol == self.reference_symbol:
                self._apply_reference(bar)
                continue
            rows.append(self._apply_symbol(bar))
            symbols.append(bar.symbol)
            timestamps.append(bar.timestamp)
            closes.append(bar.close)
        values = np.vstack(rows) if rows else np.empty((0, len(self._names)))
        complete = np.asarray(~np.isnan(values).any(axis=1), dtype=bool)
        return FeatureRows(
            symbols, timestamps, np.asarray(closes, dtype=float), values, complete, rejected
        )

    # --- internals --------------------------------------------------------------------------
    def _apply_reference(self, bar: Bar) -> None:
        day = _session_date(bar.timestamp)
        state = self._reference
        if state is None or state.session_date != day:
            state = _ReferenceState(day, bar.open, max(self.spec.reference_windows_needed))
            self._reference = state
        state.apply(bar)

    def _reference_return(self, day: dt.date, n: int) -> float:
        state = self._reference
        if state is None or state.session_date != day:
            return _NAN
        return _sum_last(state.returns, n)

    def _apply_symbol(self, bar: Bar) -> np.ndarray:
        spec = self.spec
        day = _session_date(bar.timestamp)
        state = self._symbols.get(bar.symbol)
        if state is None or state.session.date != day:
            state = _SymbolState(calendar.session(day), bar.open, spec)
            self._symbols[bar.symbol] = state
        k = state.count
        previous_close = state.last_close

        # one-bar return, RSI and ATR recursions
        state.returns.append(math.log(bar.close / previous_close))
        change = 0.0 if k == 0 else bar.close - previous_close
        gain, loss = (change, 0.0) if change > 0 else (0.0, -change if change < 0 else 0.0)
        alpha = 1.0 / spec.rsi_window
        if k == 0:
            state.average_gain, state.average_loss = gain, loss
        else:
            state.average_gain += alpha * (gain - state.average_gain)
            state.average_loss += alpha * (loss - state.average_loss)
        if k == 0:
            true_range = bar.high - bar.low
        else:
            true_range = max(
                bar.high - bar.low, abs(bar.high - previous_close), abs(bar.low - previous_close)
            )
        window = spec.atr_window
        if k < window - 1:
            state.true_range_sum += true_range
        elif k == window - 1:
            state.atr = (state.true_range_sum + true_range) / window
        else:
            state.atr = (state.atr * (window - 1) + true_range) / window
        state.log_volumes.append(math.log1p(bar.volume))
        bar_vwap = (
            bar.vwap
            if bar.vwap is not None and math.isfinite(bar.vwap)
            else (bar.high + bar.low + bar.close) / 3.0
        )
        state.cumulative_price_volume += bar_vwap * bar.volume
        state.cumulative_volume += bar.volume
        state.last_close = bar.close
        state.count = k + 1

        row = np.empty(len(self._names))
        index = self._index
        for n in spec.return_windows:
            row[index[f"ret_{n}"]] = _sum_last(state.returns, n)
        reference = {n: self._reference_return(day, n) for n in spec.reference_windows_needed}
        for n in spec.reference_return_windows:
            row[index[f"spy_ret_{n}"]] = reference[n]
        for n in spec.relative_return_windows:
            row[index[f"rel_ret_{n}"]] = row[index[f"ret_{n}"]] - reference[n]
        for n in spec.volatility_windows:
            row[index[f"vol_{n}"]] = _std_last(state.returns, n)
        row[index["range_1"]] = (bar.high - bar.low) / bar.close
        row[index[f"atr_{window}"]] = state.atr / bar.close
        if k >= spec.rsi_window - 1:
            rsi = (
                100.0
                if state.average_loss == 0
                else 100.0 - 100.0 / (1.0 + state.average_gain / state.average_loss)
            )
        else:
            rsi = _NAN
        row[index[f"rsi_{spec.rsi_window}"]] = rsi
        row[index[f"volume_z_{spec.volume_window}"]] = self._volume_z(state)
        if state.cumulative_volume > 0:
            row[index["vwap_dev"]] = (
                bar.close / (state.cumulative_price_volume / state.cumulative_volume) - 1.0
            )
        else:
            row[index["vwap_dev"]] = 0.0
        row[index["open_dev"]] = math.log(bar.close / state.first_open)
        row[index["minute_of_session"]] = (
            bar.timestamp - state.session.open
        ).total_seconds() / 60.0
        row[index["minutes_to_close"]] = (
            state.session.close - bar.timestamp
        ).total_seconds() / 60.0
        return row

    def _volume_z(self, state: _SymbolState) -> float:
        window = self.spec.volume_window
        if len(state.log_volumes) < window:
            return _NAN
        values = np.fromiter(state.log_volumes, dtype=float, count=window)
        std = float(values.std(ddof=1))
        if std <= 0:
            return 0.0
        return float((values[-1] - values.mean()) / std)
