"""The order desk: submissions off the minute loop, and no guessed outcomes.

Map:
    OrderDeskConfig    concurrency, retry and confirmation timings
    OrderDesk.submit   book the intent, record it, place it in the background
    OrderDesk.blocks   symbols with an order being placed or pending confirmation
    OrderDesk.check    the in-flight check (orders quiet for ``stale_order_s``, pending ones)

An approved intent is booked and recorded (``pending_new``) at once, then placed by a
background task, at most ``max_concurrent_submissions`` at a time, so the minute loop never
waits on the broker (alpaca-py sleeps up to 3 x 3 s on a 429 inside the call). Outcomes:

* accepted: the broker's answer is recorded; trade updates do the rest;
* refused (``OrderRejectedError``): nothing was placed; recorded and released;
* transient (``TransientBrokerError``: timeout, 5xx, 429, connection error): retried with
  backoff and jitter (stamina) under the *same* ``client_order_id``, which the broker
  refuses to place twice; when the retries run out the outcome is unknown, and the order
  stays **pending confirmation** in the book (its buying power reserved, its buy counted) and
  in the ledger (``pending_new`` with an ``order_pending_confirmation`` event), never
  recorded as refused. It is resolved by ``client_order_id`` with backoff: found -> its
  state is adopted and recorded; absent -> recorded as not placed and released. Until then
  no new intent for its symbol is submitted. A trade update for it resolves it too.

The in-flight check asks the broker about every working order without an update for
``stale_order_s`` (a lost trade update) and retries the pending confirmations.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import stamina

from trading_runtime.core.book import Book
from trading_runtime.domain.errors import OrderRejectedError, TransientBrokerError
from trading_runtime.domain.orders import OrderIntent, OrderRejected, OrderSnapshot
from trading_runtime.engine.ports import Broker, LedgerSink
from trading_runtime.engine.tasks import TaskSet
from trading_runtime.store.operations import (
    RecordEngineEvent,
    RecordOrderRejected,
    RecordOrderSubmitted,
)

logger = logging.getLogger(__name__)

InThread = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class OrderDeskConfig:
    max_concurrent_submissions: int = 8
    submit_attempts: int = 4
    retry_initial_s: float = 0.2
    retry_max_s: float = 2.0
    confirm_attempts: int = 5
    confirm_initial_s: float = 0.5
    confirm_max_s: float = 5.0
    stale_order_s: float = 30.0


@dataclass
class DeskCounts:
    orders_submitted: int = 0
    orders_rejected: int = 0
    submit_retries: int = 0
    orders_pending_confirmation: int = 0  # ever put in pending confirmation
    orders_confirmed: int = 0  # pending ones found at the broker
    orders_not_placed: int = 0  # pending ones the broker never had
    orders_checked: int = 0  # in-flight checks that asked the broker
    orders_with_missed_fills: int = 0  # the broker had filled more than the book had seen


@dataclass
class PendingOrder:
    intent: OrderIntent
    model_version_id: int | None
    minute: dt.datetime
    error: str


class OrderDesk:
    def __init__(
        self,
        broker: Broker,
        ledger: LedgerSink,
        book: Book,
        in_thread: InThread,
        now: Callable[[], dt.datetime],
        config: OrderDeskConfig | None = None,
        on_released: Callable[[str], None] | None = None,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config or OrderDeskConfig()
        self.counts = DeskCounts()
        self.pending: dict[str, PendingOrder] = {}
        self._broker = broker
        self._ledger = ledger
        self._book = book
        self._in_thread = in_thread
        self._now = now
        self._on_released = on_released or (lambda client_order_id: None)
        self._on_failure = on_failure or (lambda reason: None)
        self._placing: dict[str, str] = {}  # client_order_id -> symbol, while being placed
        self._models: dict[str, int | None] = {}
        self._last_heard: dict[str, float] = {}
        self._slots = asyncio.Semaphore(self.config.max_concurrent_submissions)
        self._tasks = TaskSet(self._on_failure)
        self._confirming: set[str] = set()

    # --- public -------------------------------------------------------------------------------
    def blocks(self, symbol: str) -> bool:
        """True while an order of ``symbol`` is being placed or its outcome is unknown."""
        return symbol in self._placing.values() or any(
            p.intent.symbol == symbol for p in self.pending.values()
        )

    def model_of(self, client_order_id: str) -> int | None:
        return self._models.get(client_order_id)

    def submit(
        self, intent: OrderIntent, model_version_id: int | None, minute: dt.datetime
    ) -> None:
        """Book and record ``intent`` now; place it in the background (never blocks)."""
        self._models[intent.client_order_id] = model_version_id
        self._book.on_submitted(intent, model_version_id)
        self._placing[intent.client_order_id] = intent.symbol
        self._heard(intent.client_order_id)
        self._ledger.submit(
            RecordOrderSubmitted(self._ledger.session_id, intent, None, model_version_id, minute)
        )
        self._tasks.spawn(
            self._place(intent, model_version_id, minute), f"place-{intent.client_order_id}"
        )

    def heard_from(self, client_order_id: str) -> None:
        """A trade update arrived for the order: it exists at the broker."""
        self._heard(client_order_id)
        pending = self.pending.pop(client_order_id, None)
        if pending is not None:
            self.counts.orders_confirmed += 1
            self._event("order_confirmed", {"client_order_id": client_order_id, "by": "update"})

    async def check(self) -> None:
        """The in-flight check: resolve pending orders, ask about quiet working ones."""
        for client_order_id in list(self.pending):
            if client_order_id not in self._confirming:
                await self._confirm(client_order_id)
        loop = asyncio.get_running_loop()
        quiet = [
            client_order_id
            for client_order_id in list(self._book.working)
            if client_order_id not in self.pending
            and client_order_id not in self._placing
            and loop.time() - self._last_heard.get(client_order_id, 0.0)
            >= self.config.stale_order_s
        ]
        for client_order_id in quiet:
            await self._check_working(client_order_id)

    async def check_orders(self, client_order_ids: list[str]) -> None:
        """Ask the broker now about working orders whose updates are overdue (an IOC order
        resolves at once at the broker; its update may have been lost with the stream)."""
        for client_order_id in client_order_ids:
            if (
                client_order_id in self._book.working
                and client_order_id not in self.pending
                and client_order_id not in self._placing
            ):
                await self._check_working(client_order_id)

    async def drain(self, timeout_s: float) -> None:
        """Wait (at most ``timeout_s``) for the submissions in progress."""
        await self._tasks.wait(timeout_s)

    async def close(self) -> None:
        await self._tasks.cancel()

    # --- placing ------------------------------------------------------------------------------
    async def _place(
        self, intent: OrderIntent, model_version_id: int | None, minute: dt.datetime
    ) -> None:
        try:
            async with self._slots:
                snapshot = await self._submit_with_retries(intent)
        except OrderRejectedError as error:
            self.counts.orders_rejected += 1
            self._placing.pop(intent.client_order_id, None)
            self._release(intent)
            rejection = OrderRejected(intent, error.code, error.message, minute)
            self._ledger.submit(
                RecordOrderRejected(self._ledger.session_id, rejection, model_version_id)
            )
            logger.warning("order %s rejected: %s", intent.client_order_id, error.message)
            return
        except TransientBrokerError as error:
            self._placing.pop(intent.client_order_id, None)
            self.pending[intent.client_order_id] = PendingOrder(
                intent, model_version_id, minute, str(error)
            )
            self.counts.orders_pending_confirmation += 1
            self._on_released(intent.client_order_id)  # the minute loop stops waiting for it
            logger.warning(
                "order %s: outcome unknown (%s); pending confirmation",
                intent.client_order_id,
                error,
            )
            self._event(
                "order_pending_confirmation",
                {"client_order_id": intent.client_order_id, "error": str(error)},
            )
            await self._confirm(intent.client_order_id)
            return
        self._placing.pop(intent.client_order_id, None)
        self.counts.orders_submitted += 1
        self._heard(intent.client_order_id)
        self._ledger.submit(
            RecordOrderSubmitted(
                self._ledger.session_id, intent, snapshot, model_version_id, minute
            )
        )

    async def _submit_with_retries(self, intent: OrderIntent) -> OrderSnapshot:
        config = self.config
        attempts = 0
        async for attempt in stamina.retry_context(
            on=TransientBrokerError,
            attempts=config.submit_attempts,
            wait_initial=config.retry_initial_s,
            wait_max=config.retry_max_s,
            timeout=None,
        ):
            with attempt:
                attempts += 1
                if attempts > 1:
                    self.counts.submit_retries += 1
                snapshot: OrderSnapshot = await self._in_thread(self._broker.submit_order, intent)
        return snapshot

    # --- resolving ----------------------------------------------------------------------------
    async def _confirm(self, client_order_id: str) -> None:
        """Look the pending order up by ``client_order_id`` with backoff; when every lookup
        fails it stays pending (the next in-flight check tries again)."""
        config = self.config
        self._confirming.add(client_order_id)
        try:
            async for attempt in stamina.retry_context(
                on=TransientBrokerError,
                attempts=config.confirm_attempts,
                wait_initial=config.confirm_initial_s,
                wait_max=config.confirm_max_s,
                timeout=None,
            ):
                with attempt:
                    found: OrderSnapshot | None = await self._in_thread(
                        self._broker.get_order_by_client_id, client_order_id
                    )
        except TransientBrokerError as error:
            logger.warning("order %s still unconfirmed: %s", client_order_id, error)
            return
        finally:
            self._confirming.discard(client_order_id)
        pending = self.pending.pop(client_order_id, None)
        if pending is None:
            return  # a trade update resolved it meanwhile
        if found is None:
            self.counts.orders_not_placed += 1
            self._release(pending.intent)
            rejection = OrderRejected(
                pending.intent,
                None,
                f"not placed: the broker has no order {client_order_id} ({pending.error})",
                self._now(),
            )
            self._ledger.submit(
                RecordOrderRejected(self._ledger.session_id, rejection, pending.model_version_id)
            )
            self._event("order_not_placed", {"client_order_id": client_order_id})
            return
        self.counts.orders_confirmed += 1
        self._adopt(found)
        self._ledger.submit(
            RecordOrderSubmitted(
                self._ledger.session_id,
                pending.intent,
                found,
                pending.model_version_id,
                pending.minute,
            )
        )
        self._event(
            "order_confirmed",
            {"client_order_id": client_order_id, "by": "lookup", "status": found.status},
        )

    async def _check_working(self, client_order_id: str) -> None:
        try:
            found = await self._in_thread(self._broker.get_order_by_client_id, client_order_id)
        except TransientBrokerError as error:
            logger.warning("in-flight check of %s failed: %s", client_order_id, error)
            return
        self.counts.orders_checked += 1
        self._heard(client_order_id)
        if found is None:
            return
        working = self._book.working.get(client_order_id)
        if working is not None and found.filled_qty != found.qty - working.remaining_qty:
            # Executions the stream never delivered: the engine catches them up.
            self.counts.orders_with_missed_fills += 1
            self._event(
                "order_fills_missed",
                {
                    "client_order_id": client_order_id,
                    "broker_filled_qty": str(found.filled_qty),
                    "book_filled_qty": str(found.qty - working.remaining_qty),
                },
            )
        self._adopt(found)

    def _adopt(self, snapshot: OrderSnapshot) -> None:
        """The broker's state of an order whose updates may have been missed: a final order
        stops working (its fills reach the book from the stream or the reconciliation)."""
        working = self._book.working.get(snapshot.client_order_id)
        if working is None:
            return
        applied = snapshot.qty - working.remaining_qty  # executions the book has applied
        if snapshot.status.is_terminal and snapshot.filled_qty <= applied:
            del self._book.working[snapshot.client_order_id]
            self._on_released(snapshot.client_order_id)
        elif snapshot.status.is_terminal:
            # Final at the broker with executions the book has not applied yet (on their way
            # on the stream, or lost and caught up from the broker): the order keeps its side
            # busy until they arrive, so no second order goes out for shares already sold.
            return
        else:
            working.remaining_qty = snapshot.remaining_qty

    def _release(self, intent: OrderIntent) -> None:
        self._book.on_rejected(intent)
        self._on_released(intent.client_order_id)

    # --- helpers ------------------------------------------------------------------------------
    def _heard(self, client_order_id: str) -> None:
        self._last_heard[client_order_id] = asyncio.get_running_loop().time()

    def _event(self, kind: str, detail: dict[str, Any]) -> None:
        self._ledger.submit(RecordEngineEvent(self._ledger.session_id, kind, detail, self._now()))
