"""The live trading loop for one session.

Map:
    EngineConfig     what to trade and how (decision rules, timings)
    LiveEngine.run   start -> minute loop -> shutdown; returns an EngineReport
    request_stop     ask for a graceful stop (termination, operator, end of data)

Data flow: the market-data stream's handler validates each bar and queues it; one task,
the *minute processor*, buffers bars by minute (in any order they arrive) and closes minutes
on a clock, never by waiting for every symbol (``engine.minutes``): on the wall clock a minute
closes ``minute_grace_s`` after its end; replaying in lockstep, on the emulator's event clock
(each ack answers with how far the replay has published). Closing a minute updates the
streaming features of every symbol (a symbol without a bar gets its carried-forward row) and,
when the minute had any bar, runs one batched inference, the decision core (strategy + risk)
and submits the approved orders concurrently through the broker in worker threads. A bar of a
minute already closed (late, or an Alpaca ``updatedBars`` correction) updates the features'
state without a new decision. Trade updates go to the
book and the ledger. A watcher polls the registry and swaps in a newly promoted model between
minutes; a reconciler adopts the broker's positions and cash when no order is in flight.

Failures by kind: a bad bar is rejected and recorded; a broker rejection is recorded and
the book released; a transient broker error fails that order only; a model that will not
load keeps the current one; anything else stops the session with status ``failed`` after
the same orderly shutdown (cancel working orders if configured, final reconciliation,
streams closed). Ledger writes never block: they go to a queued, spooling writer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

import numpy as np

from trading_runtime.core.minute import decide_arrays
from trading_runtime.domain.bars import Bar
from trading_runtime.domain.decisions import Decision
from trading_runtime.domain.enums import Action, OrderSide, OrderType, SessionStatus, TimeInForce
from trading_runtime.domain.errors import BrokerError
from trading_runtime.domain.orders import OrderIntent
from trading_runtime.engine.base import EngineBase
from trading_runtime.engine.inbound import InboundPart
from trading_runtime.engine.lifecycle import LifecyclePart
from trading_runtime.engine.minute_clock import MinuteClockPart
from trading_runtime.engine.report import (
    EngineConfig,
    EngineReport,
    EngineStartError,
    MarketDataStalledError,
    SessionKilledError,
)
from trading_runtime.store.operations import (
    RecordDecisions,
    RecordHolds,
)

logger = logging.getLogger(__name__)

__all__ = [
    "EngineConfig",
    "EngineReport",
    "EngineStartError",
    "LiveEngine",
    "MarketDataStalledError",
    "SessionKilledError",
]


class LiveEngine(InboundPart, MinuteClockPart, LifecyclePart, EngineBase):
    """One live session (see the module docstring)."""

    async def run(self) -> EngineReport:
        """Run the session; a tripped kill switch fails it (:class:`SessionKilledError`)."""
        status = SessionStatus.COMPLETED
        reason = "session closed"
        try:
            await self._start()
            reason = await self._process_minutes()
            if self.kill_switch.reason is not None:
                raise SessionKilledError(self.kill_switch.reason)
            if self._stop_reason is not None and reason == self._stop_reason:
                status = SessionStatus.INTERRUPTED
        except asyncio.CancelledError:
            status, reason = SessionStatus.INTERRUPTED, "cancelled"
            raise
        except Exception as error:
            status, reason = SessionStatus.FAILED, f"{type(error).__name__}: {error}"
            logger.exception("live session failed")
            raise
        finally:
            await self._shutdown(status, reason)
            self._executor.shutdown(wait=False, cancel_futures=True)
            self.last_report = self._report(status, reason)
        return self.last_report

    async def check_for_new_model(self) -> bool:
        """Load the registry's champion if it changed; True when a new model was swapped in."""
        try:
            champion = await self._in_thread(self._models.champion_id)
        except Exception as error:
            logger.warning("model registry poll failed: %s", error)
            self._event("model_poll_failed", {"error": str(error)})
            return False
        if champion is None or champion == self.model_version_id:
            return False
        try:
            model = await self._in_thread(self._models.load, champion)
            model.check_compatible(self._spec)
        except Exception as error:
            self.model_error = f"champion model {champion} could not be loaded: {error}"
            logger.error("could not load champion model %s: %s", champion, error)
            self._event("model_reload_failed", {"model_version_id": champion, "error": str(error)})
            return False
        previous = self.model_version_id
        self.model, self.model_version_id = model, champion
        if previous is not None:
            self.stats.model_reloads += 1
        self._event("model_loaded", {"model_version_id": champion, "previous": previous})
        logger.info("model %s loaded (previous %s)", champion, previous)
        return True

    async def _process_minute(self, minute: dt.datetime, bars: Sequence[Bar]) -> None:
        assert self.book is not None
        await self._settle_immediate_orders()
        started = time.perf_counter()
        rows = self.features.close_minute(minute, bars)
        for bar, reason in rows.rejected:
            await self._on_rejected_bar(bar, reason)
        for bar in bars:
            self.book.mark(bar.symbol, Decimal(str(bar.close)))
        decided, holds = self._decide(minute, rows)
        decisions = self._hold_unresolved(decided)
        self._count_minute(minute)
        self.stats.decisions += len(decisions) + (len(holds) if holds else 0)
        if decisions:
            self._ledger.submit(RecordDecisions(self._ledger.session_id, tuple(decisions)))
        if holds:
            self._ledger.submit(holds)
        for decision in decisions:
            if decision.intent is not None:
                self._submit(decision.intent, minute)
        self.kill_switch.check_writer(self._writer_health())
        self.stats.minute_latency_ms.append((time.perf_counter() - started) * 1000.0)
        if self.stats.minutes_processed % self.config.reconcile_every_minutes == 0:
            await self._reconcile()

    async def _amend(self, bar: Bar) -> None:
        """A bar of a minute already closed (late or updated) updates the features' state; the
        minute's decision stands."""
        reason = self.features.amend(bar)
        if reason is not None:
            await self._on_rejected_bar(bar, reason)

    async def _settle_immediate_orders(self) -> None:
        """Wait (at most ``order_settle_timeout_s``) for the outcome of IOC and market orders
        sent in earlier minutes, so decisions see their fills."""
        if not self._immediate:
            return
        self._immediate_settled.clear()
        try:
            await asyncio.wait_for(
                self._immediate_settled.wait(), self.config.order_settle_timeout_s
            )
        except TimeoutError:
            # Legitimate (the minute is decided on the book as it is, and the orders are
            # asked about): counted in the stats, not a warning per minute.
            self.stats.unsettled_minutes += 1
            logger.debug(
                "%d immediate orders still unresolved; deciding on the book as is",
                len(self._immediate),
            )
            if not self._tasks.running("overdue-orders"):
                self._tasks.spawn(self._check_orders(sorted(self._immediate)), "overdue-orders")

    def _decide(self, minute: dt.datetime, rows: Any) -> tuple[list[Decision], RecordHolds | None]:
        """The minute's decisions as objects (warm-up skips, buy candidates, held symbols) and
        the HOLDs of every other row as one bulk write."""
        assert self.book is not None
        model = self.model
        skipped: list[Decision] = []
        ready = np.flatnonzero(rows.complete)
        for i in np.flatnonzero(~rows.complete):
            skipped.append(
                Decision(
                    rows.symbols[i], rows.timestamps[i], Action.SKIP, "features warming up", None
                )
            )
        if model is None or len(ready) == 0:
            return skipped, None
        probabilities = model.predict_proba(rows.values[ready])
        symbols = (
            rows.symbols if len(ready) == len(rows.symbols) else [rows.symbols[i] for i in ready]
        )
        state = self.book.state(minute)
        decided = decide_arrays(
            symbols,
            minute,
            rows.closes[ready],
            probabilities,
            self.model_version_id,
            state,
            self.session,
            self.config.decision,
            self.config.session_key,
        )
        holds = RecordHolds.of(self._ledger.session_id, decided.held) if len(decided.held) else None
        return skipped + decided.decisions, holds

    def _hold_unresolved(self, decisions: list[Decision]) -> list[Decision]:
        """No new order for a symbol whose last one is still being placed or has an unknown
        outcome, and none at all once the kill switch tripped."""
        assert self.desk is not None
        held = []
        for decision in decisions:
            intent = decision.intent
            if intent is not None and (self.kill_switch.tripped or self.desk.blocks(intent.symbol)):
                self.stats.intents_held += 1
                why = "kill switch tripped" if self.kill_switch.tripped else "order unresolved"
                decision = replace(decision, action=Action.HOLD, reason=why, intent=None)
            held.append(decision)
        return held

    def _submit(self, intent: OrderIntent, minute: dt.datetime) -> None:
        """Hand ``intent`` to the order desk (placed in the background, see ``engine.orders``)."""
        assert self.desk is not None
        if intent.time_in_force is TimeInForce.IOC or intent.order_type is OrderType.MARKET:
            self._immediate.add(intent.client_order_id)
        if intent.side is OrderSide.BUY:
            self.stats.buys += 1
        else:
            self.stats.sells += 1
        self.desk.submit(intent, self.model_version_id, minute)

    def _writer_health(self) -> Any:
        return getattr(self._ledger, "stats", None)

    # --- background -----------------------------------------------------------------------
    async def _watch_models(self) -> None:
        while True:
            await asyncio.sleep(self.config.model_poll_interval_s)
            await self.check_for_new_model()

    async def _watch_orders(self) -> None:
        """The in-flight check and the ledger's health, every ``in_flight_check_s``."""
        while True:
            await asyncio.sleep(self.config.in_flight_check_s)
            await self._check_orders(None)
            self.kill_switch.check_writer(self._writer_health())

    async def _check_orders(self, overdue: list[str] | None) -> None:
        """Ask the broker about ``overdue`` orders (None: the periodic in-flight check); the
        executions it had that the book missed are caught up at once."""
        assert self.desk is not None
        missed = self.desk.counts.orders_with_missed_fills
        if overdue is None:
            await self.desk.check()
        else:
            await self.desk.check_orders(overdue)
        if self.desk.counts.orders_with_missed_fills > missed:
            try:
                await self._catch_up_fills()
            except BrokerError as error:
                logger.warning("missed fills not caught up yet: %s", error)
