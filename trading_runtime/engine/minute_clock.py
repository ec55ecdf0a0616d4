"""Closing minutes on a clock, never by waiting for every symbol (``engine.minutes``): the
wall clock (a minute closes ``minute_grace_s`` after its end) or, replaying in lockstep,
the emulator's event clock (each ack answers with how far the replay has published)."""

import asyncio
import datetime as dt
import logging

from trading_runtime.domain.bars import Bar
from trading_runtime.engine.base import EngineBase, _Stop
from trading_runtime.engine.minutes import (
    ONE_MINUTE,
    Arrival,
    MarketProgress,
    MinuteBuffer,
)
from trading_runtime.engine.report import (
    MarketDataStalledError,
)

logger = logging.getLogger(__name__)


class MinuteClockPart(EngineBase):
    # --- the minute loop ------------------------------------------------------------------
    async def _process_minutes(self) -> str:
        """Close minutes until the session's last one; returns why the loop ended."""
        buffer = MinuteBuffer(self.session, self._first_minute)
        progress = await self._pacer.minute_done(self.session.open - ONE_MINUTE)
        if progress is None:
            self._on_wall_clock = True
            return await self._minutes_on_wall_clock(buffer)
        return await self._minutes_on_event_clock(buffer, progress)

    async def _minutes_on_wall_clock(self, buffer: MinuteBuffer) -> str:
        grace = self.config.minute_grace_s
        loop = asyncio.get_running_loop()
        last_activity = loop.time()
        while not buffer.finished:
            if self._stop_reason is not None:
                return self._stop_reason
            waits = [self._clock.seconds_until(buffer.deadline(grace))]
            if self.config.idle_timeout_s is not None:
                waits.append(last_activity + self.config.idle_timeout_s - loop.time())
            try:
                async with asyncio.timeout(max(min(waits), 0.0)):
                    item = await self._queue.get()
            except TimeoutError:
                if self._clock.seconds_until(buffer.deadline(grace)) <= 0:
                    await self._close_next(buffer)
                    continue
                raise self._stalled() from None
            if not isinstance(item, _Stop):
                last_activity = loop.time()
                await self._take(buffer, item)
        return "session closed"

    async def _minutes_on_event_clock(self, buffer: MinuteBuffer, progress: MarketProgress) -> str:
        while True:
            await self._receive(buffer, progress.bars_sent)
            if self._stop_reason is not None:
                return self._stop_reason
            through = buffer.final_minute if progress.to_the_close else progress.through
            while through is not None and buffer.next_minute <= through and not buffer.finished:
                await self._close_next(buffer)
            if buffer.finished:
                return "session closed"
            if self._stop_reason is not None:
                return self._stop_reason
            if progress.finished:  # the replay's data stopped before the close
                await self._receive(buffer, self._bar_messages + 1)
                return self._stop_reason or "stopped"
            # A replay's clock waits for us: let this minute's orders reach the market first.
            assert self.desk is not None
            await self.desk.drain(self.config.final_updates_timeout_s)
            answer = await self._pacer.minute_done(buffer.next_minute - ONE_MINUTE)
            if answer is None:
                raise RuntimeError("the pacer stopped reporting the replay's progress")
            progress = answer

    async def _receive(self, buffer: MinuteBuffer, bar_messages: int) -> None:
        """Take queued bars until ``bar_messages`` have arrived (or a stop is requested)."""
        while True:
            while not self._queue.empty():
                item = self._queue.get_nowait()
                if not isinstance(item, _Stop):
                    await self._take(buffer, item)
            if self._bar_messages >= bar_messages or self._stop_reason is not None:
                return
            try:
                async with asyncio.timeout(self.config.idle_timeout_s):
                    item = await self._queue.get()
            except TimeoutError:
                raise self._stalled() from None
            if not isinstance(item, _Stop):
                await self._take(buffer, item)

    async def _take(self, buffer: MinuteBuffer, bar: Bar) -> None:
        arrival = buffer.add(bar)
        if arrival is Arrival.LATE:
            self.stats.bars_late += 1
            await self._amend(bar)
        elif arrival is Arrival.DUPLICATE:
            await self._on_rejected_bar(bar, "duplicate bar")
        elif arrival is Arrival.UPDATED:
            self.stats.bars_updated += 1

    async def _close_next(self, buffer: MinuteBuffer) -> None:
        """Close the buffer's next minute: decide on it when it had any bar; a minute in which
        nothing traded only moves the features' grid on (nothing to decide on)."""
        minute, bars = buffer.close_next()
        if bars:
            await self._process_minute(minute, bars)
            return
        self.features.close_minute(minute, [])
        self._count_minute(minute)
        self.stats.quiet_minutes += 1

    def _count_minute(self, minute: dt.datetime) -> None:
        """``minute`` is processed: it becomes the event time's last bar (``_now``)."""
        self._last_bar = minute if self._last_bar is None else max(self._last_bar, minute)
        self.stats.minutes_processed += 1

    def _stalled(self) -> MarketDataStalledError:
        return MarketDataStalledError(
            f"no market data for {self.config.idle_timeout_s:.0f} s before the close "
            f"(last bar {self._last_bar})"
        )
