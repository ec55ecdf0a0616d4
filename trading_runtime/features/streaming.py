"""Incremental features for the live loop, on the minute grid of ``features.spec``.

``StreamingFeatures.close_minute(minute, bars)`` closes one grid minute for *every* symbol at
once: the bars are those of that minute (any subset of the symbols; a symbol without one
gets its carried-forward row), minutes skipped since the last call are filled as minutes
without trades, and the result holds one row per non-reference symbol that has traded in the
session so far, in ``symbols`` order. A bar that arrives after its minute was closed (late,
or an update of the bar) is applied with :meth:`StreamingFeatures.amend`: the grid is
recomputed from that minute on, so later rows equal the batch computation over the final
bars, while rows already returned stay what they were.

Values equal ``features.batch.compute_features`` on the same bars (to floating-point
tolerance). State is one session of the grid per symbol, allocated when the session starts
(``symbols x session minutes``; it does not grow during the session) and reset at the next
session. The work per closed minute is O(symbols x window), vectorised across symbols.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from trading_runtime.domain.bars import Bar
from trading_runtime.features.grid import session_minute
from trading_runtime.features.spec import FEATURE_SPEC, FeatureSpec
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.universe import REFERENCE_SYMBOL


@dataclass(slots=True)
class FeatureRows:
    """Feature rows of one closed minute; ``values`` is (len(symbols), len(spec.names)).

    ``traded[i]``: symbol ``i`` has a bar in this minute (else its row is carried forward).
    ``rejected``: bars that were not applied, with the reason.
    """

    symbols: list[str]
    timestamps: list[dt.datetime]
    closes: np.ndarray
    values: np.ndarray
    complete: np.ndarray
    traded: np.ndarray
    rejected: list[tuple[Bar, str]] = field(default_factory=list)


class _SessionState:
    """The grid of one session for every symbol (rows) and minute (columns)."""

    def __init__(self, session: calendar.Session, symbols: int) -> None:
        n = session.minutes
        shape = (symbols, n)
        self.session = session
        self.closed_through = -1  # last closed minute
        self.first_index = np.full(symbols, n, dtype=np.int64)  # n: no bar yet
        self.first_open = np.full(symbols, np.nan)
        # the bars as received
        self.has_bar = np.zeros(shape, dtype=bool)
        self.bar = np.full((*shape, 4), np.nan)  # high, low, close, volume
        self.bar_vwap = np.full(shape, np.nan)
        # the grid and the recursions after each minute
        self.close = np.full(shape, np.nan)
        self.high = np.full(shape, np.nan)
        self.low = np.full(shape, np.nan)
        self.returns = np.zeros(shape)
        self.log_volume = np.zeros(shape)
        self.true_range = np.zeros(shape)
        self.average_gain = np.zeros(shape)
        self.average_loss = np.zeros(shape)
        self.atr = np.full(shape, np.nan)
        self.cumulative_value = np.zeros(shape)
        self.cumulative_volume = np.zeros(shape)


class StreamingFeatures:
    """Grid state for ``symbols`` (the reference symbol is added when absent)."""

    def __init__(
        self,
        symbols: Iterable[str],
        reference_symbol: str = REFERENCE_SYMBOL,
        spec: FeatureSpec = FEATURE_SPEC,
    ) -> None:
        ordered = [reference_symbol, *dict.fromkeys(s for s in symbols if s != reference_symbol)]
        self.reference_symbol = reference_symbol
        self.spec = spec
        self.symbols: tuple[str, ...] = tuple(ordered)
        self._row = {symbol: i for i, symbol in enumerate(self.symbols)}
        self._traded_rows = np.arange(1, len(self.symbols))  # everyone but the reference
        self._state: _SessionState | None = None

    @property
    def last_closed(self) -> dt.datetime | None:
        """Start of the last closed minute, or None before the first."""
        state = self._state
        if state is None or state.closed_through < 0:
            return None
        return state.session.open + dt.timedelta(minutes=state.closed_through)

    def close_minute(self, minute: dt.datetime, bars: Iterable[Bar]) -> FeatureRows:
        """Close grid minute ``minute`` (a bar timestamp, tz-aware) with its ``bars``.

        Bars of another minute, of unknown symbols, or repeated for a symbol are rejected
        (reported, not applied). Raises ``ValueError`` when ``minute`` is not a regular-hours
        minute or is not after the last closed minute.
        """
        state = self._state_for(minute)
        k = session_minute(state.session, minute)
        if k <= state.closed_through:
            raise ValueError(f"minute {minute} is already closed")
        rejected: list[tuple[Bar, str]] = []
        seen: set[str] = set()
        for bar in bars:
            reason = self._admit(bar, minute)
            if reason is None and bar.symbol in seen:
                reason = "duplicate bar"
            if reason is not None:
                rejected.append((bar, reason))
                continue
            seen.add(bar.symbol)
            self._record(state, self._row[bar.symbol], k, bar)
        all_rows = np.arange(len(self.symbols))
        for m in range(state.closed_through + 1, k + 1):
            self._advance(state, all_rows, m)
        state.closed_through = k
        return self._rows(state, k, rejected)

    def amend(self, bar: Bar) -> str | None:
        """Apply ``bar`` to a minute that is already closed (a late bar, or an update of one).

        The symbol's grid is recomputed from that minute to the last closed one; no row is
        produced. Returns the reason when the bar is not applied (unknown symbol, another
        session, not on the grid). Raises ``ValueError`` when its minute is not closed yet.
        """
        state = self._state
        if bar.symbol not in self._row:
            return "unknown symbol"
        if state is None or bar.timestamp.astimezone(dt.UTC) < state.session.open:
            return "bar of an earlier session"
        try:
            k = session_minute(state.session, bar.timestamp)
        except ValueError:
            return "outside the regular session"
        if k > state.closed_through:
            raise ValueError(f"minute {bar.timestamp} is not closed yet: close it instead")
        row = self._row[bar.symbol]
        self._record(state, row, k, bar)
        rows = np.array([row])
        for m in range(k, state.closed_through + 1):
            self._advance(state, rows, m)
        return None

    # --- internals --------------------------------------------------------------------------
    def _state_for(self, minute: dt.datetime) -> _SessionState:
        moment = minute.astimezone(dt.UTC)
        found = calendar.session_for_timestamp(moment)
        if found is None:
            raise ValueError(f"{minute} is not within a regular session")
        if self._state is None or self._state.session.date != found.date:
            if self._state is not None and found.open < self._state.session.open:
                raise ValueError(f"minute {minute} belongs to an earlier session")
            self._state = _SessionState(found, len(self.symbols))
        return self._state

    def _admit(self, bar: Bar, minute: dt.datetime) -> str | None:
        if bar.symbol not in self._row:
            return "unknown symbol"
        if bar.timestamp != minute:
            return "bar of another minute"
        return None

    def _record(self, state: _SessionState, row: int, k: int, bar: Bar) -> None:
        state.has_bar[row, k] = True
        state.bar[row, k] = (bar.high, bar.low, bar.close, bar.volume)
        vwap = bar.vwap
        typical = (bar.high + bar.low + bar.close) / 3.0
        state.bar_vwap[row, k] = vwap if vwap is not None and np.isfinite(vwap) else typical
        if k < state.first_index[row]:
            # A new first bar: the minutes before it are flat at its open (see the grid).
            state.first_index[row] = k
            state.first_open[row] = bar.open
            self._fill_prefix(state, row, k)

    def _advance(self, state: _SessionState, rows: np.ndarray, k: int) -> None:
        """Compute grid minute ``k`` for ``rows`` from minute ``k - 1``."""
        spec = self.spec
        started = rows[state.first_index[rows] <= k]
        if not len(started):
            return  # no bar yet: the prefix is filled when the first one comes
        previous = state.close[started, k - 1] if k else state.first_open[started]
        bar = state.has_bar[started, k]
        values = state.bar[started, k]
        close = np.where(bar, values[:, 2], previous)
        high = np.where(bar, values[:, 0], close)
        low = np.where(bar, values[:, 1], close)
        volume = np.where(bar, values[:, 3], 0.0)
        state.close[started, k] = close
        state.high[started, k] = high
        state.low[started, k] = low
        state.returns[started, k] = np.log(close / previous)
        state.log_volume[started, k] = np.log1p(volume)
        true_range = np.fmax(high - low, np.fmax(np.abs(high - previous), np.abs(low - previous)))
        state.true_range[started, k] = true_range
        change = close - previous
        alpha = 1.0 / spec.rsi_window
        last_gain = state.average_gain[started, k - 1] if k else 0.0
        last_loss = state.average_loss[started, k - 1] if k else 0.0
        state.average_gain[started, k] = last_gain + alpha * (
            np.where(change > 0, change, 0.0) - last_gain
        )
        state.average_loss[started, k] = last_loss + alpha * (
            np.where(change < 0, -change, 0.0) - last_loss
        )
        window = spec.atr_window
        if k == window - 1:
            state.atr[started, k] = state.true_range[started, :window].mean(axis=1)
        elif k >= window:
            state.atr[started, k] = (state.atr[started, k - 1] * (window - 1) + true_range) / window
        value = np.where(bar, state.bar_vwap[started, k], 0.0) * volume
        state.cumulative_value[started, k] = (
            state.cumulative_value[started, k - 1] if k else 0.0
        ) + value
        state.cumulative_volume[started, k] = (
            state.cumulative_volume[started, k - 1] if k else 0.0
        ) + volume

    def _fill_prefix(self, state: _SessionState, row: int, end: int) -> None:
        """Minutes ``0 .. end-1``, before the row's first bar: flat at its first open, zero
        returns, changes, true ranges and volume."""
        price = state.first_open[row]
        for array in (state.close, state.high, state.low):
            array[row, :end] = price
        for array in (
            state.returns,
            state.log_volume,
            state.true_range,
            state.average_gain,
            state.average_loss,
            state.cumulative_value,
            state.cumulative_volume,
        ):
            array[row, :end] = 0.0
        seeded = self.spec.atr_window - 1
        state.atr[row, : min(end, seeded)] = np.nan
        state.atr[row, seeded:end] = 0.0

    def _rows(self, state: _SessionState, k: int, rejected: list[tuple[Bar, str]]) -> FeatureRows:
        spec = self.spec
        candidates = self._traded_rows
        rows = candidates[state.first_index[candidates] <= k]
        names = spec.names
        values = np.full((len(rows), len(names)), np.nan)
        column = {name: i for i, name in enumerate(names)}
        close = state.close[rows, k]
        reference_started = state.first_index[0] <= k
        reference: dict[int, float] = {}
        for window in spec.reference_windows_needed:
            reference[window] = (
                float(_window(state.returns, np.array([0]), k, window).sum())
                if reference_started and k >= window - 1
                else np.nan
            )
        for window in spec.return_windows:
            if k >= window - 1:
                values[:, column[f"ret_{window}"]] = _window(state.returns, rows, k, window).sum(1)
        for window in spec.reference_return_windows:
            values[:, column[f"spy_ret_{window}"]] = reference[window]
        for window in spec.relative_return_windows:
            values[:, column[f"rel_ret_{window}"]] = (
                values[:, column[f"ret_{window}"]] - reference[window]
            )
        for window in spec.volatility_windows:
            if k >= window - 1:
                values[:, column[f"vol_{window}"]] = _window(state.returns, rows, k, window).std(
                    axis=1, ddof=1
                )
        values[:, column["range_1"]] = (state.high[rows, k] - state.low[rows, k]) / close
        values[:, column[f"atr_{spec.atr_window}"]] = state.atr[rows, k] / close
        if k >= spec.rsi_window - 1:
            gain, loss = state.average_gain[rows, k], state.average_loss[rows, k]
            with np.errstate(invalid="ignore", divide="ignore"):
                rsi = 100.0 - 100.0 / (1.0 + gain / loss)
            values[:, column[f"rsi_{spec.rsi_window}"]] = np.where(loss == 0, 100.0, rsi)
        window = spec.volume_window
        if k >= window - 1:
            volumes = _window(state.log_volume, rows, k, window)
            std = volumes.std(axis=1, ddof=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                z = (volumes[:, -1] - volumes.mean(axis=1)) / std
            values[:, column[f"volume_z_{window}"]] = np.where(std > 0, z, 0.0)
        cumulative_volume = state.cumulative_volume[rows, k]
        with np.errstate(invalid="ignore", divide="ignore"):
            deviation = close / (state.cumulative_value[rows, k] / cumulative_volume) - 1.0
        values[:, column["vwap_dev"]] = np.where(cumulative_volume > 0, deviation, 0.0)
        values[:, column["open_dev"]] = np.log(close / state.first_open[rows])
        values[:, column["minute_of_session"]] = float(k)
        values[:, column["minutes_to_close"]] = float(state.session.minutes - k)
        minute = state.session.open + dt.timedelta(minutes=k)
        return FeatureRows(
            symbols=[self.symbols[i] for i in rows],
            timestamps=[minute] * len(rows),
            closes=close,
            values=values,
            complete=~np.isnan(values).any(axis=1),
            traded=state.has_bar[rows, k].copy(),
            rejected=rejected,
        )


def _window(array: np.ndarray, rows: np.ndarray | Sequence[int], k: int, n: int) -> np.ndarray:
    return array[rows, k - n + 1 : k + 1]
