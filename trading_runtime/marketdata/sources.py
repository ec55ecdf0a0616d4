"""Where bars come from: the synthetic market or Alpaca's history API.

Every source answers the same question: all one-minute bars of one session for some
symbols, as a DataFrame in the lake's column order, timestamps in UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Protocol

import pandas as pd

from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.storage import BAR_SCHEMA
from trading_runtime.marketdata.synthetic import SyntheticMarket


class BarSource(Protocol):
    name: str

    def day_bars(self, day: dt.date, symbols: Sequence[str]) -> pd.DataFrame: ...


class SyntheticBarSource:
    def __init__(self, seed: int, reference_symbol: str) -> None:
        self.name = f"synthetic(seed={seed})"
        self._market = SyntheticMarket(seed, reference_symbol)

    def day_bars(self, day: dt.date, symbols: Sequence[str]) -> pd.DataFrame:
        return self._market.day_bars(day, list(symbols))


class HistoryBarSource:
    """Bars from a history client (``adapters.alpaca.history.AlpacaHistory.bars``)."""

    def __init__(
        self, fetch: Callable[[list[str], dt.datetime, dt.datetime], pd.DataFrame], name: str
    ) -> None:
        self.name = name
        self._fetch = fetch

    def day_bars(self, day: dt.date, symbols: Sequence[str]) -> pd.DataFrame:
        session = calendar.session(day)
        frame = self._fetch(list(symbols), session.open, session.close)
        if frame.empty:
            return pd.DataFrame({name: pd.Series(dtype=object) for name in BAR_SCHEMA.names})
        return frame[list(BAR_SCHEMA.names)]
