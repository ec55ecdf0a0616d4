"""The minute grid: what a session looks like for one symbol when minutes go by without bars.

Alpaca's feeds (IEX above all) send a bar only for a minute with a trade, and a halted symbol
sends nothing, so "the last n bars" can span an hour. Features and labels are therefore
defined on the grid of the session's minutes, ``k = 0 .. n-1`` (bar ``k`` starts ``k``
minutes after the open; ``n`` is 390, or 210 on early closes):

* a minute with a bar takes the bar's high, low, close, volume and vwap;
* a minute without a bar is a minute without trades: high = low = close = the previous grid
  close (carried forward), volume 0, so its one-minute return is 0;
* before the symbol's first bar of the session its grid close is that bar's *open* (the first
  price the session revealed; it is known only once the first bar is, so no row exists for
  those minutes); the close before minute 0, ``G_{-1}``, is the same first open. Nothing is
  carried over from the previous session.

:class:`SessionGrid` holds one session's grid for every symbol that traded in it, as
``(symbols, minutes)`` arrays; :func:`session_grids` builds it from a frame of bars. Batch
features and labels are computed on it; the streaming features keep the same grid minute by
minute (see ``features.streaming``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trading_runtime.marketdata import calendar

_NANOSECONDS_PER_MINUTE = 60_000_000_000
_NANOSECONDS_PER_DAY = 1_440 * _NANOSECONDS_PER_MINUTE
_EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class SessionGrid:
    """One session on the minute grid. Arrays are ``(len(symbols), session.minutes)``.

    Every listed symbol has at least one bar in the session; ``first_index[s]`` is the minute
    of its first bar and ``first_open[s]`` that bar's open.
    """

    session: calendar.Session
    symbols: tuple[str, ...]
    traded: np.ndarray  # bool: the symbol has a bar in this minute
    close: np.ndarray  # the grid close G (carried forward; the first open before the first bar)
    high: np.ndarray  # bar high, or G without a bar
    low: np.ndarray  # bar low, or G without a bar
    volume: np.ndarray  # bar volume, or 0 without a bar
    bar_vwap: np.ndarray  # bar vwap (typical price when absent), or G without a bar
    first_index: np.ndarray  # int
    first_open: np.ndarray

    @property
    def minutes(self) -> int:
        return self.session.minutes

    @property
    def timestamps(self) -> pd.DatetimeIndex:
        return self.session.bar_timestamps()

    @property
    def previous_close(self) -> np.ndarray:
        """``G_{k-1}``, with ``G_{-1}`` = the first open."""
        return np.concatenate((self.first_open[:, None], self.close[:, :-1]), axis=1)

    def row_mask(self) -> np.ndarray:
        """True from each symbol's first bar on: the minutes that have a row."""
        return np.arange(self.minutes)[None, :] >= self.first_index[:, None]


def _session_of(day_number: int) -> calendar.Session:
    return calendar.session(_EPOCH + dt.timedelta(days=day_number))


@dataclass(frozen=True)
class _BarColumns:
    """The bars' columns as arrays: symbol codes into ``symbols`` (sorted) and prices."""

    codes: np.ndarray
    symbols: tuple[str, ...]
    values: dict[str, np.ndarray]

    def select(self, mask: np.ndarray) -> _BarColumns:
        return _BarColumns(
            self.codes[mask], self.symbols, {k: v[mask] for k, v in self.values.items()}
        )


def session_grids(bars: pd.DataFrame) -> list[SessionGrid]:
    """The grids of every session present in ``bars``, oldest first.

    ``bars`` has the lake's columns (``vwap`` optional) with tz-aware UTC timestamps. Raises
    ``ValueError`` for a bar without a symbol, outside regular hours, off the minute, or
    duplicated per (symbol, timestamp): bars must have been cleaned (``marketdata.quality``)
    first.
    """
    if bars.empty:
        return []
    timestamps = pd.DatetimeIndex(bars["timestamp"])
    if timestamps.tz is None:
        raise ValueError("bar timestamps must be tz-aware (UTC)")
    instants = timestamps.as_unit("ns").asi8  # nanoseconds since the epoch, UTC
    # The New York calendar day of each bar, as days since the epoch (wall clock, so DST
    # is the calendar's, not a fixed offset).
    wall_clock = timestamps.tz_convert(calendar.NEW_YORK).tz_localize(None).as_unit("ns").asi8
    days = wall_clock // _NANOSECONDS_PER_DAY
    codes, uniques = pd.factorize(bars["symbol"], sort=True)
    if (codes < 0).any():
        raise ValueError("bars without a symbol (clean them first)")
    columns = _BarColumns(
        codes=codes,
        symbols=tuple(str(s) for s in uniques),
        values={
            name: bars[name].to_numpy(dtype=float)
            for name in ("open", "high", "low", "close", "volume", "vwap")
            if name in bars
        },
    )
    first, last = int(days.min()), int(days.max())
    if first == last:  # one session: no selection to make
        return [_grid(_session_of(first), instants, columns)]
    grids = []
    for day in np.unique(days):
        mask = days == day
        grids.append(_grid(_session_of(int(day)), instants[mask], columns.select(mask)))
    return grids


def _grid(session: calendar.Session, instants: np.ndarray, bars: _BarColumns) -> SessionGrid:
    n = session.minutes
    minute, remainder = np.divmod(
        instants - pd.Timestamp(session.open).value, _NANOSECONDS_PER_MINUTE
    )
    outside = (remainder != 0) | (minute < 0) | (minute >= n)
    if outside.any():
        raise ValueError(
            f"{int(outside.sum())} bars of {session.date} are not on a regular-hours minute "
            "(clean them first)"
        )
    # The session's symbols: those with a bar in it, in sorted order.
    present = np.bincount(bars.codes, minlength=len(bars.symbols)) > 0
    codes = (np.cumsum(present) - 1)[bars.codes]
    symbols = tuple(s for s, p in zip(bars.symbols, present, strict=True) if p)
    shape = (len(symbols), n)
    cell = codes * n + minute
    counts = np.bincount(cell, minlength=shape[0] * n)
    if counts.max() > 1:
        raise ValueError(f"duplicate bars per (symbol, timestamp) on {session.date}")
    traded = counts.reshape(shape).astype(bool)

    def raw(column: str) -> np.ndarray:
        values = np.full(shape, np.nan)
        values.reshape(-1)[cell] = bars.values[column]
        return values

    open_, high, low, close, volume = (raw(c) for c in ("open", "high", "low", "close", "volume"))
    vwap = raw("vwap") if "vwap" in bars.values else np.full(shape, np.nan)
    first_index = np.argmax(traded, axis=1)
    rows = np.arange(len(symbols))
    first_open = open_[rows, first_index]
    # Forward fill: the index of the latest minute with a bar, -1 before the first one.
    latest = np.maximum.accumulate(np.where(traded, np.arange(n)[None, :], -1), axis=1)
    grid_close = np.where(
        latest >= 0, close[rows[:, None], np.maximum(latest, 0)], first_open[:, None]
    )
    typical = (high + low + close) / 3.0
    return SessionGrid(
        session=session,
        symbols=symbols,
        traded=traded,
        close=grid_close,
        high=np.where(traded, high, grid_close),
        low=np.where(traded, low, grid_close),
        volume=np.where(traded, volume, 0.0),
        bar_vwap=np.where(traded, np.where(np.isfinite(vwap), vwap, typical), grid_close),
        first_index=first_index,
        first_open=first_open,
    )


def session_minute(session: calendar.Session, timestamp: dt.datetime) -> int:
    """Grid index of the bar labelled ``timestamp``; raises ValueError off the grid."""
    seconds = (timestamp - session.open).total_seconds()
    index = int(seconds // 60)
    if seconds % 60 or not 0 <= index < session.minutes:
        raise ValueError(f"{timestamp} is not a regular-hours minute of {session.date}")
    return index
