"""When a live minute is over, and what a bar that arrives is.

A minute closes on a clock, never by waiting for every symbol (on a sparse feed most minutes
lack some symbols):

* **wall clock** (paper, live): minute ``m`` closes at ``m + 1 minute + grace`` (late bars
  still count until then), :class:`WallClock`;
* **event clock** (a replay in lockstep): the replaying market says how far it has published
  and how many bar messages it has sent (:class:`MarketProgress`); once that many have arrived,
  every minute up to ``through`` is complete, including minutes without a single bar.

:class:`MinuteBuffer` holds the bars of minutes not closed yet, whatever order they arrive in,
and classifies each bar: for an open minute it is buffered (a second, different bar for the
same symbol and minute is an update that replaces it; an identical one is a duplicate); for a
closed minute it is late and goes to the features' :meth:`amend` (state only, no decision).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from trading_runtime.domain.bars import Bar
from trading_runtime.marketdata.calendar import Session

ONE_MINUTE = dt.timedelta(minutes=1)


class Clock(Protocol):
    """Wall time for the engine (injectable for tests)."""

    def now(self) -> dt.datetime: ...

    def seconds_until(self, moment: dt.datetime) -> float:
        """Seconds of waiting until ``moment`` (<= 0 when it has passed)."""
        ...


class WallClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def seconds_until(self, moment: dt.datetime) -> float:
        return (moment - self.now()).total_seconds()


@dataclass(frozen=True, slots=True)
class MarketProgress:
    """A replaying market's answer to an ack: it has published every minute through
    ``through`` (None: nothing yet), in ``bars_sent`` bar messages since the start;
    ``finished``: nothing more will be published, ``to_the_close``: and the replay covered the
    session to its close (else its data stopped early)."""

    through: dt.datetime | None
    bars_sent: int
    finished: bool = False
    to_the_close: bool = False


class Arrival(StrEnum):
    BUFFERED = "buffered"
    UPDATED = "updated"
    DUPLICATE = "duplicate"
    LATE = "late"


class MinuteBuffer:
    """Bars of the open minutes of ``session``, from ``first_open`` on, by minute."""

    def __init__(self, session: Session, first_open: dt.datetime) -> None:
        self.session = session
        self.next_minute = first_open  # the first minute not closed yet
        self._bars: dict[dt.datetime, dict[str, Bar]] = {}

    @property
    def final_minute(self) -> dt.datetime:
        return self.session.close - ONE_MINUTE

    @property
    def finished(self) -> bool:
        return self.next_minute > self.final_minute

    def add(self, bar: Bar) -> Arrival:
        if bar.timestamp < self.next_minute:
            return Arrival.LATE
        minute = self._bars.setdefault(bar.timestamp, {})
        previous = minute.get(bar.symbol)
        if previous == bar:
            return Arrival.DUPLICATE
        minute[bar.symbol] = bar
        return Arrival.BUFFERED if previous is None else Arrival.UPDATED

    def close_next(self) -> tuple[dt.datetime, list[Bar]]:
        """Close the next minute: its start and its bars (possibly none), by symbol."""
        minute = self.next_minute
        bars = self._bars.pop(minute, {})
        self.next_minute = minute + ONE_MINUTE
        return minute, [bars[symbol] for symbol in sorted(bars)]

    def deadline(self, grace_s: float) -> dt.datetime:
        """When the next minute closes on the wall clock."""
        return self.next_minute + ONE_MINUTE + dt.timedelta(seconds=grace_s)
