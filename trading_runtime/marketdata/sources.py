"""Where bars come from: the synthetic market or Alpaca's history API.

Every source answers the same question: the one-minute bars of some sessions for some
symbols, delivered session by session as each completes (:class:`FetchedDay`), as the source
returned them (extended hours included; ingestion keeps regular hours), with where they came
from (:class:`Provenance`) and the splits that took effect that day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import pandas as pd

from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.corporate_actions import SplitEvent
from trading_runtime.marketdata.storage import BAR_SCHEMA
from trading_runtime.marketdata.synthetic import SyntheticMarket, SyntheticMarketParameters

BARS_PER_REQUEST = 50_000
"""Bars one history request aims at (about five pages of 10,000): sessions are grouped so
a request covers as many days as that allows, up to the configured maximum."""


@dataclass(frozen=True)
class Provenance:
    """Stored with every bars file. ``adjustment`` is always stated: ``raw`` (unadjusted)."""

    source: str
    feed: str
    adjustment: str = "raw"


@dataclass(frozen=True)
class FetchedDay:
    """All bars the source returned for one New York date (lake columns, UTC timestamps)."""

    day: dt.date
    bars: pd.DataFrame
    provenance: Provenance
    splits: tuple[SplitEvent, ...] = ()


class BarSource(Protocol):
    name: str

    @property
    def requests_made(self) -> int:
        """HTTP requests this source has sent so far (0 for a local source)."""
        ...

    def fetch(self, days: Sequence[dt.date], symbols: Sequence[str]) -> Iterator[FetchedDay]:
        """Bars of ``days`` (sessions, oldest first) for ``symbols``, a day at a time."""
        ...


class SyntheticBarSource:
    """The synthetic market, answering like Alpaca's REST API (extended hours included)."""

    def __init__(self, seed: int, reference_symbol: str, predictability: float = 1.0) -> None:
        self.name = f"synthetic(seed={seed}, predictability={predictability:g})"
        self._market = SyntheticMarket(
            seed, reference_symbol, SyntheticMarketParameters(predictability=predictability)
        )
        self._provenance = Provenance(source=self.name, feed="synthetic")

    @property
    def requests_made(self) -> int:
        return 0

    def fetch(self, days: Sequence[dt.date], symbols: Sequence[str]) -> Iterator[FetchedDay]:
        for day in days:
            bars = self._market.day_bars(day, list(symbols), extended_hours=True)
            yield FetchedDay(
                day=day,
                bars=bars[bars["symbol"].isin(symbols)].reset_index(drop=True),
                provenance=self._provenance,
                splits=tuple(self._market.splits(list(symbols), day, day)),
            )


class HistoryClient(Protocol):
    """What the history source needs (``adapters.alpaca.history.AlpacaHistory``)."""

    @property
    def feed(self) -> str: ...

    @property
    def requests_made(self) -> int: ...

    def bars(
        self, symbols: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> pd.DataFrame: ...


class HistoryBarSource:
    """Bars from a history client, several sessions per request.

    Consecutive sessions are fetched together (``[first open, last close)``, so the
    overnight extended hours between them come too) in groups of at most
    ``max_days_per_request``, fewer when the universe is large (:data:`BARS_PER_REQUEST`).
    A group's days are delivered when its last page has arrived.
    """

    def __init__(self, client: HistoryClient, name: str, max_days_per_request: int = 20) -> None:
        if max_days_per_request < 1:
            raise ValueError("max_days_per_request must be at least 1")
        self.name = name
        self._client = client
        self._max_days = max_days_per_request
        self._provenance = Provenance(source=name, feed=client.feed)

    @property
    def requests_made(self) -> int:
        return self._client.requests_made

    def fetch(self, days: Sequence[dt.date], symbols: Sequence[str]) -> Iterator[FetchedDay]:
        per_request = max(1, min(self._max_days, BARS_PER_REQUEST // (max(len(symbols), 1) * 390)))
        for group in request_groups(days, per_request):
            first, last = calendar.session(group[0]), calendar.session(group[-1])
            frame = self._client.bars(
                list(symbols), first.open, last.close - dt.timedelta(minutes=1)
            )
            local_days = (
                pd.DatetimeIndex(frame["timestamp"]).tz_convert(calendar.NEW_YORK).date
                if len(frame)
                else []
            )
            for day in group:
                bars = frame[local_days == day] if len(frame) else frame
                yield FetchedDay(
                    day=day,
                    bars=bars[list(BAR_SCHEMA.names)].reset_index(drop=True),
                    provenance=self._provenance,
                )


def request_groups(days: Sequence[dt.date], per_request: int) -> list[list[dt.date]]:
    """``days`` (sessions) in runs of consecutive sessions, at most ``per_request`` long."""
    groups: list[list[dt.date]] = []
    for day in sorted(set(days)):
        current = groups[-1] if groups else None
        if (
            current is not None
            and len(current) < per_request
            and calendar.next_session(current[-1]) == day
        ):
            current.append(day)
        else:
            groups.append([day])
    return groups
