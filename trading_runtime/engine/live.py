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
import contextlib
import datetime as dt
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, TypeVar

import numpy as np

from trading_runtime.core.book import Book
from trading_runtime.core.minute import DecisionConfig, decide_arrays
from trading_runtime.domain.bars import Bar
from trading_runtime.domain.decisions import Decision
from trading_runtime.domain.enums import Action, OrderSide, OrderType, SessionStatus, TimeInForce
from trading_runtime.domain.errors import OrderRejectedError, TransientBrokerError
from trading_runtime.domain.orders import OrderIntent, OrderRejected, OrderUpdated
from trading_runtime.domain.portfolio import AccountSnapshot, Position
from trading_runtime.engine.minutes import (
    ONE_MINUTE,
    Arrival,
    Clock,
    MarketProgress,
    MinuteBuffer,
    WallClock,
)
from trading_runtime.engine.ports import (
    BarHandler,
    Broker,
    LedgerSink,
    ModelSource,
    NoPacing,
    Pacer,
    RejectedBarHandler,
    Stream,
    UpdateHandler,
)
from trading_runtime.features.spec import FEATURE_SPEC, FeatureSpec
from trading_runtime.features.streaming import StreamingFeatures
from trading_runtime.marketdata import calendar
from trading_runtime.modeling.artifact import TradingModel
from trading_runtime.store.operations import (
    RecordAccount,
    RecordDecisions,
    RecordEngineEvent,
    RecordHolds,
    RecordOrderRejected,
    RecordOrderSubmitted,
    RecordOrderUpdate,
    RecordPositions,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")


class EngineStartError(RuntimeError):
    """The session cannot start (no champion model, broker unreachable, ...)."""


class MarketDataStalledError(RuntimeError):
    """Bars stopped arriving before the session's last minute (``idle_timeout_s``)."""


@dataclass(frozen=True)
class EngineConfig:
    trading_day: dt.date
    symbols: tuple[str, ...]
    reference_symbol: str
    session_key: str
    decision: DecisionConfig = field(default_factory=DecisionConfig)
    model_poll_interval_s: float = 30.0
    minute_grace_s: float = 2.0  # wall clock: a minute closes this long after its end
    idle_timeout_s: float | None = None
    reconcile_every_minutes: int = 30
    cancel_open_orders_on_stop: bool = True
    final_updates_timeout_s: float = 5.0
    order_settle_timeout_s: float = 1.0
    stream_stop_timeout_s: float = 10.0
    broker_threads: int = 8

    @property
    def subscribed(self) -> tuple[str, ...]:
        return (self.reference_symbol, *[s for s in self.symbols if s != self.reference_symbol])


@dataclass
class EngineStats:
    bars_received: int = 0
    bars_rejected: int = 0
    bars_late: int = 0
    bars_updated: int = 0
    minutes_processed: int = 0
    quiet_minutes: int = 0
    decisions: int = 0
    buys: int = 0
    sells: int = 0
    orders_submitted: int = 0
    orders_rejected: int = 0
    orders_failed: int = 0
    fills: int = 0
    duplicate_updates: int = 0
    model_reloads: int = 0
    reconciliation_mismatches: int = 0
    minute_latency_ms: deque[float] = field(default_factory=lambda: deque(maxlen=2048))

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "minute_latency_ms"}
        if self.minute_latency_ms:
            latencies = np.asarray(self.minute_latency_ms)
            data["minute_latency_p50_ms"] = float(np.percentile(latencies, 50))
            data["minute_latency_p99_ms"] = float(np.percentile(latencies, 99))
        return data


@dataclass(frozen=True)
class EngineReport:
    status: SessionStatus
    reason: str
    stats: dict[str, Any]
    model_version_id: int | None
    starting_equity: Decimal
    ending_equity: Decimal
    positions: dict[str, Decimal]
    last_bar: dt.datetime | None


class _Stop:
    """Queue sentinel that wakes the minute processor."""


_STOP = _Stop()


class LiveEngine:
    def __init__(
        self,
        config: EngineConfig,
        broker: Broker,
        market_data: Callable[[BarHandler, RejectedBarHandler], Stream],
        trade_updates: Callable[[UpdateHandler], Stream],
        models: ModelSource,
        ledger: LedgerSink,
        pacer: Pacer | None = None,
        spec: FeatureSpec = FEATURE_SPEC,
        clock: Clock | None = None,
    ) -> None:
        self.config = config
        self.session = calendar.session(config.trading_day)
        self._broker = broker
        self._market_data_factory = market_data
        self._trade_updates_factory = trade_updates
        self._models = models
        self._ledger = ledger
        self._pacer = pacer or NoPacing()
        self._clock = clock or WallClock()
        self._spec = spec
        self.features = StreamingFeatures(config.subscribed, config.reference_symbol, spec)
        self.stats = EngineStats()
        self.book: Book | None = None
        self.model: TradingModel | None = None
        self.model_version_id: int | None = None
        self.last_report: EngineReport | None = None
        self._order_models: dict[str, int | None] = {}
        self._queue: asyncio.Queue[Bar | _Stop] = asyncio.Queue()
        self._stop_reason: str | None = None
        self._orders_settled = asyncio.Event()
        # IOC and market orders resolve as soon as they reach the market; until their updates
        # arrive the book is stale, so the next minute waits for them (briefly).
        self._immediate: set[str] = set()
        self._immediate_settled = asyncio.Event()
        self._executor = ThreadPoolExecutor(
            max_workers=config.broker_threads, thread_name_prefix="broker"
        )
        self._tasks: set[asyncio.Task[Any]] = set()
        self._market_data: Stream | None = None
        self._trade_updates: Stream | None = None
        self._last_bar: dt.datetime | None = None
        self._started_at: dt.datetime | None = None
        self._starting_equity = Decimal(0)
        self._bar_messages = 0  # every bar message the stream delivered, sound or not

    # --- public ---------------------------------------------------------------------------
    def request_stop(self, reason: str) -> None:
        """Ask the loop to stop after the minute in progress; safe to call repeatedly."""
        if self._stop_reason is None:
            self._stop_reason = reason
            logger.info("stop requested: %s", reason)
        self._queue.put_nowait(_STOP)

    async def run(self) -> EngineReport:
        status = SessionStatus.COMPLETED
        reason = "session closed"
        try:
            await self._start()
            reason = await self._process_minutes()
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

    # --- start ----------------------------------------------------------------------------
    async def _start(self) -> None:
        if not await self.check_for_new_model():
            raise EngineStartError("no champion model could be loaded from the registry")
        try:
            clock = await self._in_thread(self._broker.get_clock)
            self._started_at = clock.timestamp
            account = await self._in_thread(self._broker.get_account, self._started_at)
            positions = await self._in_thread(self._broker.get_positions)
            open_orders = await self._in_thread(self._broker.list_open_orders)
        except Exception as error:
            raise EngineStartError(f"broker unavailable at start: {error}") from error
        self.book = Book(cash=account.cash, positions=positions, buying_power=account.buying_power)
        self.book.day_start_equity = account.equity
        self._starting_equity = account.equity
        for order in open_orders:
            self.book.adopt_open_order(order)
        self._record_snapshot(account, positions, self._started_at)
        # Trade updates first, so no fill of an order we submit can be missed.
        self._trade_updates = self._trade_updates_factory(self._on_trade_update)
        await self._trade_updates.start()
        self._market_data = self._market_data_factory(self._on_bar, self._on_malformed_bar)
        await self._market_data.start()
        self._spawn(self._watch_models(), "model-watcher")
        self._event(
            "session_started", {"symbols": list(self.config.symbols), "equity": str(account.equity)}
        )

    # --- inbound --------------------------------------------------------------------------
    async def _on_bar(self, bar: Bar) -> None:
        self._bar_messages += 1
        self.stats.bars_received += 1
        problems = bar.problems()
        if not problems and not self.session.contains_bar(bar.timestamp):
            problems = ["outside the regular session"]
        if not problems and bar.symbol not in self.features.symbols:
            problems = ["not subscribed"]
        if problems:
            await self._on_rejected_bar(bar, ", ".join(problems))
            return
        self._queue.put_nowait(bar)

    async def _on_malformed_bar(self, raw: Any, reason: str) -> None:
        self._bar_messages += 1
        await self._on_rejected_bar(raw, reason)

    async def _on_rejected_bar(self, raw: Any, reason: str) -> None:
        self.stats.bars_rejected += 1
        description = repr(raw)[:300]
        logger.warning("bar rejected (%s): %s", reason, description)
        self._event("bar_rejected", {"reason": reason, "bar": description})

    async def _on_trade_update(self, update: OrderUpdated) -> None:
        assert self.book is not None
        client_order_id = update.order.client_order_id
        model_version_id = self._order_models.get(client_order_id)
        if not self.book.on_update(update, self.config.trading_day):
            self.stats.duplicate_updates += 1
            return
        if update.fill is not None:
            self.stats.fills += 1
        if client_order_id not in self.book.working:
            self._immediate.discard(client_order_id)
            if not self._immediate:
                self._immediate_settled.set()
        if not self.book.working:
            self._orders_settled.set()
        self._ledger.submit(RecordOrderUpdate(self._ledger.session_id, update, model_version_id))

    # --- the minute loop ------------------------------------------------------------------
    async def _process_minutes(self) -> str:
        """Close minutes until the session's last one; returns why the loop ended."""
        buffer = MinuteBuffer(self.session, self.session.open)
        progress = await self._pacer.minute_done(self.session.open - ONE_MINUTE)
        if progress is None:
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
        self._last_bar = minute if self._last_bar is None else max(self._last_bar, minute)
        self.stats.minutes_processed += 1
        self.stats.quiet_minutes += 1

    def _stalled(self) -> MarketDataStalledError:
        return MarketDataStalledError(
            f"no market data for {self.config.idle_timeout_s:.0f} s before the close "
            f"(last bar {self._last_bar})"
        )

    async def _process_minute(self, minute: dt.datetime, bars: Sequence[Bar]) -> None:
        assert self.book is not None
        await self._settle_immediate_orders()
        started = time.perf_counter()
        rows = self.features.close_minute(minute, bars)
        for bar, reason in rows.rejected:
            await self._on_rejected_bar(bar, reason)
        for bar in bars:
            self.book.mark(bar.symbol, Decimal(str(bar.close)))
        decisions, holds = self._decide(minute, rows)
        self._last_bar = minute if self._last_bar is None else max(self._last_bar, minute)
        self.stats.minutes_processed += 1
        self.stats.decisions += len(decisions) + (len(holds) if holds else 0)
        if decisions:
            self._ledger.submit(RecordDecisions(self._ledger.session_id, tuple(decisions)))
        if holds:
            self._ledger.submit(holds)
        intents = [d.intent for d in decisions if d.intent is not None]
        if intents:
            await asyncio.gather(*(self._submit(intent, minute) for intent in intents))
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
            logger.warning(
                "%d immediate orders still unresolved; deciding on the book as is",
                len(self._immediate),
            )

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

    async def _submit(self, intent: OrderIntent, minute: dt.datetime) -> None:
        assert self.book is not None
        model_version_id = self.model_version_id
        self._order_models[intent.client_order_id] = model_version_id
        if intent.time_in_force is TimeInForce.IOC or intent.order_type is OrderType.MARKET:
            self._immediate.add(intent.client_order_id)
        self.book.on_submitted(intent, model_version_id)
        self._ledger.submit(
            RecordOrderSubmitted(self._ledger.session_id, intent, None, model_version_id, minute)
        )
        if intent.side is OrderSide.BUY:
            self.stats.buys += 1
        else:
            self.stats.sells += 1
        try:
            snapshot = await self._in_thread(self._broker.submit_order, intent)
        except OrderRejectedError as error:
            self.stats.orders_rejected += 1
            self._release(intent)
            rejection = OrderRejected(intent, error.code, error.message, minute)
            self._ledger.submit(
                RecordOrderRejected(self._ledger.session_id, rejection, model_version_id)
            )
            logger.warning("order %s rejected: %s", intent.client_order_id, error.message)
            return
        except TransientBrokerError as error:
            self.stats.orders_failed += 1
            self._release(intent)
            rejection = OrderRejected(intent, None, f"not submitted: {error}", minute)
            self._ledger.submit(
                RecordOrderRejected(self._ledger.session_id, rejection, model_version_id)
            )
            self._event(
                "order_submit_failed",
                {"client_order_id": intent.client_order_id, "error": str(error)},
            )
            return
        self.stats.orders_submitted += 1
        self._ledger.submit(
            RecordOrderSubmitted(
                self._ledger.session_id, intent, snapshot, model_version_id, minute
            )
        )

    def _release(self, intent: OrderIntent) -> None:
        """A submission that placed nothing: free the book and stop waiting for it."""
        assert self.book is not None
        self.book.on_rejected(intent)
        self._immediate.discard(intent.client_order_id)
        if not self._immediate:
            self._immediate_settled.set()

    # --- background -----------------------------------------------------------------------
    async def _watch_models(self) -> None:
        while True:
            await asyncio.sleep(self.config.model_poll_interval_s)
            await self.check_for_new_model()

    async def _reconcile(self, *, final: bool = False) -> None:
        """Adopt and record the broker's positions and cash.

        Mid-session only when no order is in flight (until its fill arrives the book and the
        broker legitimately differ); at the end always, after the working orders settled.
        """
        assert self.book is not None
        if self.book.working and not final:
            return
        when = self._now()
        try:
            account = await self._in_thread(self._broker.get_account, when)
            positions = await self._in_thread(self._broker.get_positions)
        except Exception as error:
            if not final:
                logger.warning("reconciliation skipped: %s", error)
                return
            logger.error("final reconciliation failed: %s", error)
            self._event("final_reconciliation_failed", {"error": str(error)})
            self._ledger.submit(
                RecordPositions(
                    self._ledger.session_id, self._with_flat(self.book.positions), "ledger", when
                )
            )
            return
        if self.book.working and not final:
            return  # an order started while we were asking
        if not self.book.working:
            differences = self.book.sync_positions(positions)
            if differences:
                self.stats.reconciliation_mismatches += len(differences)
                detail = {
                    s: {"book": str(mine), "broker": str(theirs)}
                    for s, (mine, theirs) in differences.items()
                }
                logger.warning("positions differed from the broker: %s", detail)
                self._event("position_mismatch", detail)
        self.book.sync_account(account)
        self._record_snapshot(account, positions, when)

    def _record_snapshot(
        self, account: AccountSnapshot, positions: dict[str, Position], when: dt.datetime
    ) -> None:
        session_id = self._ledger.session_id
        self._ledger.submit(RecordAccount(session_id, replace(account, timestamp=when)))
        self._ledger.submit(RecordPositions(session_id, self._with_flat(positions), "broker", when))

    def _with_flat(self, positions: dict[str, Position]) -> dict[str, Position]:
        """Every traded symbol, flat ones at zero, so a snapshot also says what is not held."""
        flat = {s: Position(s, Decimal(0), Decimal(0)) for s in self.config.symbols}
        return {**flat, **positions}

    # --- shutdown -------------------------------------------------------------------------
    async def _shutdown(self, status: SessionStatus, reason: str) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._market_data is not None:
            await self._stop_stream(self._market_data, "market data")
        if self.book is not None:
            if self.config.cancel_open_orders_on_stop and self.book.working:
                try:
                    await self._in_thread(self._broker.cancel_all_orders)
                except Exception as error:
                    logger.error("could not cancel working orders at shutdown: %s", error)
                    self._event("cancel_on_stop_failed", {"error": str(error)})
            await self._wait_for_working_orders(self.config.final_updates_timeout_s)
            await self._reconcile(final=True)
        if self._trade_updates is not None:
            await self._stop_stream(self._trade_updates, "trade updates")
        self._event("session_stopped", {"status": status, "reason": reason, **self.stats.as_dict()})

    async def _wait_for_working_orders(self, timeout_s: float) -> None:
        assert self.book is not None
        if self.book.working:
            self._orders_settled.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._orders_settled.wait(), timeout_s)
        if self.book.working:
            self._event("orders_still_working", {"client_order_ids": sorted(self.book.working)})

    async def _stop_stream(self, stream: Stream, name: str) -> None:
        try:
            await stream.stop(self.config.stream_stop_timeout_s)
        except Exception as error:
            logger.warning("%s stream did not stop cleanly: %s", name, error)

    # --- helpers --------------------------------------------------------------------------
    def _report(self, status: SessionStatus, reason: str) -> EngineReport:
        book = self.book
        return EngineReport(
            status=status,
            reason=reason,
            stats=self.stats.as_dict(),
            model_version_id=self.model_version_id,
            starting_equity=self._starting_equity,
            ending_equity=book.equity if book else self._starting_equity,
            positions={s: p.qty for s, p in book.positions.items()} if book else {},
            last_bar=self._last_bar,
        )

    def _now(self) -> dt.datetime:
        """Event time: the end of the last processed bar, else the broker's time at start."""
        if self._last_bar is not None:
            return self._last_bar + dt.timedelta(minutes=1)
        return self._started_at or dt.datetime.now(dt.UTC)

    def _event(self, kind: str, detail: dict[str, Any]) -> None:
        self._ledger.submit(RecordEngineEvent(self._ledger.session_id, kind, detail, self._now()))

    def _spawn(self, coroutine: Any, name: str) -> None:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("task %s failed", task.get_name(), exc_info=task.exception())
            self.request_stop(f"task {task.get_name()} failed: {task.exception()}")

    async def _in_thread(self, function: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, function, *args)
