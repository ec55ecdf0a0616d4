"""Driving the venue in process, the way the emulator and the live engine do together.

Per minute: :meth:`VenueDriver.minute` lets the venue match the minute's bars and applies its
trade updates, converted to the domain's ``OrderUpdated``, to the book through
``Book.on_update`` (exactly as the engine applies trade updates); :meth:`VenueDriver.submit`
sends an approved order at the end of the minute (so it arrives in the next one) and, when the
venue refuses it, releases the book as the engine does on a rejection.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from trading_runtime.backtest.results import Recorder
from trading_runtime.core.book import Book
from trading_runtime.domain.bars import Bar
from trading_runtime.domain.orders import OrderIntent
from trading_runtime.venue import OrderRefusedError, OrderRequest, TradeUpdateEvent, Venue


class VenueDriver:
    def __init__(self, venue: Venue, book: Book, recorder: Recorder | None = None) -> None:
        self.venue = venue
        self.book = book
        self.recorder = recorder if recorder is not None else Recorder()
        self.day: dt.date | None = None

    def minute(self, moment: dt.datetime, bars: Mapping[str, Bar]) -> list[TradeUpdateEvent]:
        """The minute starting at ``moment`` is over with these bars (see ``Venue.on_minute``)."""
        events = self.venue.on_minute(moment, bars)
        self.apply(events)
        return events

    def submit(
        self,
        intent: OrderIntent,
        *,
        now: dt.datetime,
        expires_at: dt.datetime,
        model_version_id: int | None = None,
        decision_price: float | None = None,
    ) -> OrderRefusedError | None:
        """Submit an approved order at ``now``; returns the venue's refusal, if any."""
        self.recorder.submitted(intent, decision_price)
        self.book.on_submitted(intent, model_version_id)
        try:
            _, events = self.venue.submit(
                OrderRequest.from_intent(intent), now=now, expires_at=expires_at
            )
        except OrderRefusedError as refusal:
            self.book.on_rejected(intent)
            self.recorder.refused(intent, refusal)
            return refusal
        self.apply(events)
        return None

    def end_session(self, close: dt.datetime) -> None:
        self.apply(self.venue.end_session(close=close))

    def apply(self, events: list[TradeUpdateEvent]) -> None:
        for event in events:
            self.book.on_update(event.to_domain(), self.day)
            self.recorder.event(event)
