"""The event-time clock and the minute-by-minute replay of the session.

Step for minute ``m`` (bar timestamp ``t_m``):

1. match working orders against bar ``m`` (an order accepted while bar ``m-1`` was the
   latest published bar arrives in bar ``m``) and publish the resulting trade updates;
2. set the clock to ``t_m + 1 minute`` (bar ``m`` is complete) and publish bar ``m``;
3. pace: wait for the client's ack through ``t_m`` (lockstep, at most ``ack_timeout_s``,
   and no longer than the client stays subscribed: a crashed client does not stall the
   replay; the next frame waits for the next subscriber), sleep ``1 / speed`` seconds (speed), or wait for the next ``advance`` (manual).

In lockstep pacing the replay starts when the first market-data client subscribes to bars
and each frame waits for a subscriber; in speed and manual pacing the clock moves whether or
not a data client is connected (bars go to whoever is subscribed at that moment), so an order
fills with no data client at all. After the last bar the clock moves to the session close:
IOC orders still open are canceled and DAY orders expire.

A client that closes minutes on this event clock acks with ``wait_for_next``
(:meth:`Replay.wait_published_after`): the answer comes once the next frame has been sent (or
the session is over) and carries ``last_bar`` and ``bars_sent``, the bar messages sent so far
(to this client: an ack that names its ``client`` counts from that client's subscription);
when that many have arrived, every minute through ``last_bar`` is complete, including minutes
the tape skips because no symbol traded in them.

Lockstep protocol for the client: all bars of one minute arrive in one websocket frame, and
alpaca-py hands them to the bar handler one after the other without yielding to other tasks
as long as the handler does not suspend. So a handler that only enqueues, and a consumer
that drains the queue, processes the batch (submitting its orders) and then acks through the
batch's timestamp, sees exactly one minute per batch; orders it submits before the ack
arrive in the next bar. Acking earlier (per bar) lets the replay run ahead of the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from trading_runtime.sim.config import EmulatorConfig, Pacing
from trading_runtime.sim.faults import FaultInjector
from trading_runtime.sim.market import SessionTape
from trading_runtime.sim.streams import MarketDataHub
from trading_runtime.sim.trade_stream import TradeUpdateHub
from trading_runtime.sim.wire import iso_utc
from trading_runtime.venue import Venue

log = logging.getLogger(__name__)

ONE_MINUTE = dt.timedelta(minutes=1)
_CLIENT_CHECK_S = 0.25


class Phase(StrEnum):
    WAITING = "waiting"
    RUNNING = "running"
    FINISHED = "finished"


@dataclass(frozen=True, slots=True)
class EmulatorStatus:
    """What ``GET /v2/sim/status`` reports."""

    session_date: dt.date
    phase: Phase
    clock: dt.datetime
    last_bar: dt.datetime | None
    bars_published: int
    minutes: int
    acked_through: dt.datetime | None = None
    bars_sent: int = 0
    window_end: dt.datetime | None = None
    market_data_clients: int = 0
    trade_update_listeners: int = 0
    faults: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "session_date": self.session_date.isoformat(),
            "phase": self.phase.value,
            "clock": iso_utc(self.clock),
            "last_bar": iso_utc(self.last_bar) if self.last_bar else None,
            "bars_published": self.bars_published,
            "minutes": self.minutes,
            "acked_through": iso_utc(self.acked_through) if self.acked_through else None,
            "bars_sent": self.bars_sent,
            "window_end": iso_utc(self.window_end) if self.window_end else None,
            "market_data_clients": self.market_data_clients,
            "trade_update_listeners": self.trade_update_listeners,
            "faults": dict(self.faults),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EmulatorStatus:
        def stamp(value: str | None) -> dt.datetime | None:
            return dt.datetime.fromisoformat(value) if value else None

        clock = stamp(data["clock"])
        assert clock is not None
        return cls(
            session_date=dt.date.fromisoformat(data["session_date"]),
            phase=Phase(data["phase"]),
            clock=clock,
            last_bar=stamp(data.get("last_bar")),
            bars_published=int(data["bars_published"]),
            minutes=int(data["minutes"]),
            acked_through=stamp(data.get("acked_through")),
            bars_sent=int(data.get("bars_sent", 0)),
            window_end=stamp(data.get("window_end")),
            market_data_clients=int(data.get("market_data_clients", 0)),
            trade_update_listeners=int(data.get("trade_update_listeners", 0)),
            faults={str(k): int(v) for k, v in (data.get("faults") or {}).items()},
        )


class Replay:
    """Owns the event clock and drives the session forward."""

    def __init__(
        self,
        *,
        config: EmulatorConfig,
        tape: SessionTape,
        venue: Venue,
        data_hub: MarketDataHub,
        trade_hub: TradeUpdateHub,
        faults: FaultInjector,
    ) -> None:
        self._config = config
        self._tape = tape
        self._venue = venue
        self._data_hub = data_hub
        self._trade_hub = trade_hub
        self._faults = faults
        self.phase = Phase.WAITING
        self.now = tape.window_start
        self.bars_published = 0
        self.last_bar: dt.datetime | None = None
        self.published_through: dt.datetime | None = None
        self.acked_through: dt.datetime | None = None
        self._ack_changed = asyncio.Event()
        self._progress = asyncio.Condition()
        self._advance_target = 0
        self.finished = asyncio.Event()
        self._client: str | None = None
        self._bars_sent_before_client = 0
        self.on_minute: Callable[[], None] | None = None  # after each step (persistence)

    def resume(self, bars_published: int, now: dt.datetime) -> None:
        """Go on after ``bars_published`` minutes (a state saved by an earlier emulator)."""
        self.bars_published = self._advance_target = bars_published
        self.now = now
        if bars_published:
            self.last_bar = self.published_through = self._tape.minutes[bars_published - 1]

    # --- client interactions ------------------------------------------------------------------
    def identify(self, client: str | None) -> None:
        """The acking client says who it is: a new one (an engine restarted while the
        emulator ran on) counts ``bars_sent`` from its own subscription, so it knows when it
        has every bar sent to it; a known one (after a reconnect) keeps counting."""
        if client is None or client == self._client:
            return
        self._client = client
        self._bars_sent_before_client = self._data_hub.bars_sent_before_subscriber()

    def ack(self, through: dt.datetime) -> None:
        """The client has processed every bar up to and including ``through``."""
        if self.acked_through is None or through > self.acked_through:
            self.acked_through = through
            self._ack_changed.set()

    async def wait_published_after(self, through: dt.datetime) -> None:
        """Return once a frame of a minute after ``through`` has been sent, or the session is
        over (at most ``ack_timeout_s``)."""

        def moved_on() -> bool:
            published = self.published_through
            return self.finished.is_set() or (published is not None and published > through)

        async with self._progress:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._progress.wait_for(moved_on), timeout=self._config.ack_timeout_s
                )

    async def advance(self, bars: int) -> None:
        """Manual pacing: run ``bars`` more steps and return when they are done (or finished)."""
        if bars < 1:
            raise ValueError("advance needs at least one bar")
        async with self._progress:
            self._advance_target = max(self._advance_target, self.bars_published) + bars
            target = min(self._advance_target, len(self._tape.minutes))
            self._progress.notify_all()
            await self._progress.wait_for(
                lambda: self.bars_published >= target or self.finished.is_set()
            )

    def status(self) -> EmulatorStatus:
        return EmulatorStatus(
            session_date=self._tape.session.date,
            phase=self.phase,
            clock=self.now,
            last_bar=self.last_bar,
            bars_published=self.bars_published,
            minutes=len(self._tape.minutes),
            acked_through=self.acked_through,
            bars_sent=self._data_hub.bars_sent - self._bars_sent_before_client,
            window_end=self._tape.window_end,
            market_data_clients=self._data_hub.connected,
            trade_update_listeners=self._trade_hub.listeners,
            faults=self._faults.snapshot(),
        )

    @property
    def history_cutoff(self) -> dt.datetime:
        """Bars of the session day strictly before this instant are history."""
        return min(self.now, self._tape.window_end)

    @property
    def is_market_open(self) -> bool:
        session = self._tape.session
        return self.phase is not Phase.FINISHED and session.open <= self.now < session.close

    # --- the replay -----------------------------------------------------------------------------
    async def run(self) -> None:
        pacing = self._config.pacing
        if pacing is Pacing.LOCKSTEP:
            await self._data_hub.first_subscription.wait()
        self.phase = Phase.RUNNING
        log.info(
            "replaying %d minutes of %s (%s pacing)",
            len(self._tape.minutes),
            self._tape.session.date,
            pacing,
        )
        last_index = len(self._tape.minutes) - 1
        for index, minute in enumerate(self._tape.minutes):
            if index < self.bars_published:  # resumed: already replayed
                continue
            if pacing is Pacing.MANUAL:
                async with self._progress:
                    await self._progress.wait_for(functools.partial(self._advanced_past, index))
            delivered = await self._step(index, minute, is_last=index == last_index)
            if self.on_minute is not None:
                self.on_minute()
            await self._pace(minute, delivered)
        await self._finish()

    def _advanced_past(self, index: int) -> bool:
        return self._advance_target > index

    async def _step(self, index: int, minute: dt.datetime, *, is_last: bool) -> bool:
        bars = self._tape.bars_by_minute[index]
        self._trade_hub.publish(self._venue.on_minute(minute, bars))
        self.now = minute + ONE_MINUTE
        self._venue.mark({s: Decimal(str(b.close)) for s, b in bars.items() if not b.problems()})
        self.bars_published = index + 1
        self.last_bar = minute
        async with self._progress:
            self._progress.notify_all()
        minute_faults = self._faults.minute(is_last=is_last)
        delivered = await self._data_hub.publish(
            bars.values(), minute_faults, wait_for_client=self._config.pacing is Pacing.LOCKSTEP
        )
        async with self._progress:
            self.published_through = minute
            self._progress.notify_all()
        return delivered

    async def _pace(self, minute: dt.datetime, delivered: bool) -> None:
        pacing = self._config.pacing
        if pacing is Pacing.SPEED:
            await asyncio.sleep(1.0 / self._config.speed)
        elif pacing is Pacing.LOCKSTEP and delivered:
            loop = asyncio.get_running_loop()
            started = loop.time()
            await self._wait_for_ack(minute)
            remaining = self._config.min_minute_s - (loop.time() - started)
            if remaining > 0:
                await asyncio.sleep(remaining)

    async def _wait_for_ack(self, minute: dt.datetime) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._config.ack_timeout_s
        while self.acked_through is None or self.acked_through < minute:
            self._ack_changed.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                log.warning(
                    "no ack through %s within %.1f s; the replay goes on",
                    minute.isoformat(),
                    self._config.ack_timeout_s,
                )
                return
            if not self._data_hub.receiver_connected:
                # The client that got the frame is gone (a crash, a restart): the next frame
                # waits for the next subscriber instead of this ack.
                log.info("the client left; not waiting for its ack through %s", minute)
                return
            try:
                await asyncio.wait_for(
                    self._ack_changed.wait(), timeout=min(remaining, _CLIENT_CHECK_S)
                )
            except TimeoutError:
                continue

    async def _finish(self) -> None:
        self.now = max(self.now, self._tape.session.close)
        self._trade_hub.publish(self._venue.end_session(close=self.now))
        self.phase = Phase.FINISHED
        self.finished.set()
        async with self._progress:
            self._progress.notify_all()
        log.info("session %s finished after %d bars", self._tape.session.date, self.bars_published)
