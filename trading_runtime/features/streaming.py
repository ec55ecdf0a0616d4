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
tolerance). State is one session of the grid, minute-major (``session minutes x symbols``,
allocated when the session starts, reset at the next one), so the window of the last ``n``
minutes for every symbol is a contiguous block and a closed minute is a handful of numpy
operations over all symbols at once: the bars are written with one scatter, the recursions
(RSI, ATR, session VWAP, running sums of returns) advance one row, window sums are
differences of running sums, and window deviations are computed over the contiguous block.
No Python loop runs per symbol except the one reading the bar objects.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from trading_runtime.domain.bars import Bar
from trading_runtime.features.grid import session_minute
from trading_runtime.features.spec import FEATURE_SPEC, FeatureSpec
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.universe import REFERENCE_SYMBOL

_ALL = slice(None)


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
    """The grid of one session: rows are minutes, columns symbols (column 0: the reference)."""

    def __init__(self, session: calendar.Session, symbols: int) -> None:
        n = session.minutes
        shape = (n, symbols)
        self.session = session
        self.closed_through = -1  # last closed minute
        self.first_index = np.full(symbols, n, dtype=np.int64)  # n: no bar yet
        self.first_open = np.full(symbols, np.nan)
        self.all_started = False  # every symbol has had its first bar
        # the bars as received
        self.has_bar = np.zeros(shape, dtype=bool)
        self.bar_high = np.full(shape, np.nan)
        self.bar_low = np.full(shape, np.nan)
        self.bar_close = np.full(shape, np.nan)
        self.bar_volume = np.full(shape, np.nan)
        self.bar_vwap = np.full(shape, np.nan)
        # the grid and the recursions after each minute
        self.close = np.full(shape, np.nan)
        self.high = np.full(shape, np.nan)
        self.low = np.full(shape, np.nan)
        self.returns = np.zeros(shape)
        # running sum of returns: row k + 1 is r_0 + ... + r_k (row 0 is 0)
        self.cumulative_returns = np.zeros((n + 1, symbols))
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
        self._traded_symbols = list(self.symbols[1:])
        self._column = {name: i for i, name in enumerate(spec.names)}
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
        accepted: list[Bar] = []
        rows: list[int] = []
        row_of = self._row
        seen: set[int] = set()
        for bar in bars:
            row = row_of.get(bar.symbol)
            if row is None:
                rejected.append((bar, "unknown symbol"))
            elif bar.timestamp != minute:
                rejected.append((bar, "bar of another minute"))
            elif row in seen:
                rejected.append((bar, "duplicate bar"))
            else:
                seen.add(row)
                rows.append(row)
                accepted.append(bar)
        if accepted:
            self._record(state, np.array(rows, dtype=np.int64), k, accepted)
        for m in range(state.closed_through + 1, k + 1):
            self._advance(state, _ALL, m)
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
        self._record(state, np.array([row]), k, [bar])
        rows = np.array([row])
        for m in range(k, state.closed_through + 1):
            self._advance(state, rows, m)
        return None

    # --- internals --------------------------------------------------------------------------
    def _state_for(self, minute: dt.datetime) -> _SessionState:
        moment = minute.astimezone(dt.UTC)
        state = self._state
        if state is not None and state.session.open <= moment < state.session.close:
            return state
        found = calendar.session_for_timestamp(moment)
        if found is None:
            raise ValueError(f"{minute} is not within a regular session")
        if state is None or state.session.date != found.date:
            if state is not None and found.open < state.session.open:
                raise ValueError(f"minute {minute} belongs to an earlier session")
            self._state = _SessionState(found, len(self.symbols))
        assert self._state is not None
        return self._state

    def _record(self, state: _SessionState, rows: np.ndarray, k: int, bars: list[Bar]) -> None:
        """Write ``bars`` (one per row of ``rows``, all of minute ``k``) with one scatter."""
        values = np.array(
            [
                (
                    b.open,
                    b.high,
                    b.low,
                    b.close,
                    b.volume,
                    np.nan if b.vwap is None else b.vwap,
                )
                for b in bars
            ],
            dtype=float,
        ).reshape(len(bars), 6)
        open_, high, low, close, volume, vwap = values.T
        typical = (high + low + close) / 3.0
        state.has_bar[k, rows] = True
        state.bar_high[k, rows] = high
        state.bar_low[k, rows] = low
        state.bar_close[k, rows] = close
        state.bar_volume[k, rows] = volume
        state.bar_vwap[k, rows] = np.where(np.isfinite(vwap), vwap, typical)
        new_first = rows[k < state.first_index[rows]]
        if len(new_first):
            # A new first bar: the minutes before it are flat at its open (see the grid).
            opens = open_[k < state.first_index[rows]]
            state.first_index[new_first] = k
            state.first_open[new_first] = opens
            state.all_started = bool((state.first_index < state.session.minutes).all())
            for row in new_first:
                self._fill_prefix(state, int(row), k)

    def _advance(self, state: _SessionState, rows: np.ndarray | slice, k: int) -> None:
        """Compute grid minute ``k`` for ``rows`` (indices, or every column) from ``k - 1``."""
        spec = self.spec
        if isinstance(rows, slice) and state.all_started:
            started: np.ndarray | slice = rows
        else:
            index = np.arange(len(self.symbols))[rows]
            started = index[state.first_index[index] <= k]
            if not len(started):
                return  # no bar yet: the prefix is filled when the first one comes
        previous = state.close[k - 1, started] if k else state.first_open[started]
        bar = state.has_bar[k, started]
        close = np.where(bar, state.bar_close[k, started], previous)
        high = np.where(bar, state.bar_high[k, started], close)
        low = np.where(bar, state.bar_low[k, started], close)
        volume = np.where(bar, state.bar_volume[k, started], 0.0)
        state.close[k, started] = close
        state.high[k, started] = high
        state.low[k, started] = low
        returns = np.log(close / previous)
        state.returns[k, started] = returns
        state.cumulative_returns[k + 1, started] = state.cumulative_returns[k, started] + returns
        state.log_volume[k, started] = np.log1p(volume)
        true_range = np.fmax(high - low, np.fmax(np.abs(high - previous), np.abs(low - previous)))
        state.true_range[k, started] = true_range
        change = close - previous
        alpha = 1.0 / spec.rsi_window
        last_gain = state.average_gain[k - 1, started] if k else 0.0
        last_loss = state.average_loss[k - 1, started] if k else 0.0
        state.average_gain[k, started] = last_gain + alpha * (
            np.where(change > 0, change, 0.0) - last_gain
        )
        state.average_loss[k, started] = last_loss + alpha * (
            np.where(change < 0, -change, 0.0) - last_loss
        )
        window = spec.atr_window
        if k == window - 1:
            state.atr[k, started] = state.true_range[:window, started].mean(axis=0)
        elif k >= window:
            state.atr[k, started] = (state.atr[k - 1, started] * (window - 1) + true_range) / window
        value = np.where(bar, state.bar_vwap[k, started], 0.0) * volume
        state.cumulative_value[k, started] = (
            state.cumulative_value[k - 1, started] if k else 0.0
        ) + value
        state.cumulative_volume[k, started] = (
            state.cumulative_volume[k - 1, started] if k else 0.0
        ) + volume

    def _fill_prefix(self, state: _SessionState, row: int, end: int) -> None:
        """Minutes ``0 .. end-1``, before the row's first bar: flat at its first open, zero
        returns, changes, true ranges and volume."""
        price = state.first_open[row]
        for array in (state.close, state.high, state.low):
            array[:end, row] = price
        for array in (
            state.returns,
            state.log_volume,
            state.true_range,
            state.average_gain,
            state.average_loss,
            state.cumulative_value,
            state.cumulative_volume,
        ):
            array[:end, row] = 0.0
        state.cumulative_returns[: end + 1, row] = 0.0
        seeded = self.spec.atr_window - 1
        state.atr[: min(end, seeded), row] = np.nan
        state.atr[seeded:end, row] = 0.0

    def _rows(self, state: _SessionState, k: int, rejected: list[tuple[Bar, str]]) -> FeatureRows:
        """Every feature of minute ``k``, computed for all columns at once, then the rows of
        the non-reference symbols that have started."""
        spec = self.spec
        column = self._column
        width = len(self.symbols)
        values = np.full((width, len(spec.names)), np.nan)
        close = state.close[k]
        cumulative = state.cumulative_returns
        sums: dict[int, np.ndarray] = {}
        for window in sorted(set(spec.return_windows) | set(spec.reference_windows_needed)):
            if k >= window - 1:
                sums[window] = cumulative[k + 1] - cumulative[k + 1 - window]
        reference_started = state.first_index[0] <= k
        for window in spec.return_windows:
            if window in sums:
                values[:, column[f"ret_{window}"]] = sums[window]
        reference = {
            window: float(sums[window][0]) if reference_started and window in sums else np.nan
            for window in spec.reference_windows_needed
        }
        for window in spec.reference_return_windows:
            values[:, column[f"spy_ret_{window}"]] = reference[window]
        for window in spec.relative_return_windows:
            values[:, column[f"rel_ret_{window}"]] = (
                values[:, column[f"ret_{window}"]] - reference[window]
            )
        with np.errstate(invalid="ignore", divide="ignore"):
            for window in spec.volatility_windows:
                if k >= window - 1:
                    block = state.returns[k - window + 1 : k + 1]
                    values[:, column[f"vol_{window}"]] = _sample_std(block)
            values[:, column["range_1"]] = (state.high[k] - state.low[k]) / close
            values[:, column[f"atr_{spec.atr_window}"]] = state.atr[k] / close
            if k >= spec.rsi_window - 1:
                gain, loss = state.average_gain[k], state.average_loss[k]
                rsi = 100.0 - 100.0 / (1.0 + gain / loss)
                values[:, column[f"rsi_{spec.rsi_window}"]] = np.where(loss == 0, 100.0, rsi)
            window = spec.volume_window
            if k >= window - 1:
                block = state.log_volume[k - window + 1 : k + 1]
                std = _sample_std(block)
                z = (block[-1] - block.mean(axis=0)) / std
                constant = np.all(block == block[-1], axis=0)  # exactly, not via the std
                values[:, column[f"volume_z_{window}"]] = np.where(constant | ~(std > 0), 0.0, z)
            cumulative_volume = state.cumulative_volume[k]
            deviation = close / (state.cumulative_value[k] / cumulative_volume) - 1.0
            values[:, column["vwap_dev"]] = np.where(cumulative_volume > 0, deviation, 0.0)
            values[:, column["open_dev"]] = np.log(close / state.first_open)
        values[:, column["minute_of_session"]] = float(k)
        values[:, column["minutes_to_close"]] = float(state.session.minutes - k)
        if state.all_started:
            selected: np.ndarray | slice = slice(1, None)
            symbols = list(self._traded_symbols)
        else:
            candidates = self._traded_rows
            selected = candidates[state.first_index[candidates] <= k]
            symbols = [self.symbols[i] for i in selected]
        values = values[selected]
        minute = state.session.open + dt.timedelta(minutes=k)
        return FeatureRows(
            symbols=symbols,
            timestamps=[minute] * len(symbols),
            closes=close[selected].copy(),
            values=values,
            complete=~np.isnan(values).any(axis=1),
            traded=state.has_bar[k, selected].copy(),
            rejected=rejected,
        )


def _sample_std(block: np.ndarray) -> np.ndarray:
    """Sample standard deviation (ddof=1) down the minutes of a ``(window, symbols)`` block."""
    deviations = block - block.mean(axis=0)
    return np.sqrt(np.einsum("ij,ij->j", deviations, deviations) / (len(block) - 1))
