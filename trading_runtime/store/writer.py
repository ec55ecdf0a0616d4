"""The live loop's ledger writer: writes never block the event loop and are never lost.

    writer = LedgerWriter(LedgerRepository(engine), settings.spool_dir)
    await writer.start()                 # replays any spool left by a crash, then drains
    writer.submit(RecordDecisions(session_id, decisions))  # synchronous, O(1), loop thread
    ...
    left = await writer.stop(timeout_s=10)   # flush, stop; ``left`` operations stay spooled

Flow: ``submit`` appends to an in-memory queue. One named background task takes batches
and applies them through ``asyncio.to_thread`` (the repository is synchronous). When the
database is unreachable (:func:`is_transient_error`), the failed batch and everything queued
behind it go to the spool (JSON lines, fsync'ed, see ``spool.py``); from then on new
operations are appended to the spool too, keeping their order, until a replay succeeds.
Replays are retried with exponential backoff and jitter. Operations the database refuses
for good (a constraint violation, a bug) are dead-lettered and logged, never retried
forever. Every repository method is idempotent, so an operation applied twice (a replay
after a lost acknowledgement) is harmless.

Counters for metrics: :attr:`LedgerWriter.stats`. The live engine's ledger port over a
writer is ``store.session_ledger.SessionLedger``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from trading_runtime.config import Settings
from trading_runtime.store.db_errors import describe_error, is_transient_error
from trading_runtime.store.operations import LedgerApplier, LedgerOperation
from trading_runtime.store.spool import Spool, TransientWriteError

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WriterStats:
    """Counters since the writer was created.

    written: operations applied to the database (directly or from the spool)
    spooled: operations appended to the spool file
    replayed: spooled operations applied later
    retries: failed attempts that will be retried
    failed: operations dead-lettered (refused by the database for good)
    pending: operations not yet in the database (queued, in flight or spooled)
    """

    written: int
    spooled: int
    replayed: int
    retries: int
    failed: int
    pending: int
    spool_backlog: int
    last_error: str | None


class WriterClosedError(RuntimeError):
    """``submit`` after ``stop``."""


class LedgerWriter:
    """Asynchronous, durable front of a :class:`LedgerApplier` (see the module docstring).

    ``submit`` must be called from the event loop's thread; everything else is awaited.
    """

    def __init__(
        self,
        ledger: LedgerApplier,
        spool_dir: Path,
        *,
        batch_size: int = 200,
        retry_initial_s: float = 0.5,
        retry_max_s: float = 30.0,
        name: str = "ledger-writer",
        rng: random.Random | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._ledger = ledger
        self._spool = Spool(Path(spool_dir))
        self._batch_size = batch_size
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._name = name
        self._rng = rng or random.Random()

        self._queue: deque[LedgerOperation] = deque()
        self._in_flight: list[LedgerOperation] = []
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._closed = False
        self._attempt = 0  # consecutive failed attempts
        self._retry_at = 0.0  # loop time before which the database is not tried again
        self._outage_logged = False

        self._written = 0
        self._spooled = 0
        self._replayed = 0
        self._retries = 0
        self._failed = 0
        self._last_error: str | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, ledger: LedgerApplier, **options: object
    ) -> LedgerWriter:
        return cls(ledger, settings.spool_dir, **options)  # type: ignore[arg-type]

    # --- public API -----------------------------------------------------------------------------
    @property
    def stats(self) -> WriterStats:
        backlog = self._spool.backlog
        return WriterStats(
            written=self._written,
            spooled=self._spooled,
            replayed=self._replayed,
            retries=self._retries,
            failed=self._failed,
            pending=len(self._queue) + len(self._in_flight) + backlog,
            spool_backlog=backlog,
            last_error=self._last_error,
        )

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def submit(self, operation: LedgerOperation) -> None:
        """Queue one operation; never blocks. Raises :class:`WriterClosedError` after stop."""
        if self._closed:
            raise WriterClosedError(f"{self._name} is stopped; operation {operation.kind} refused")
        self._queue.append(operation)
        self._idle.clear()
        self._wakeup.set()

    def submit_many(self, operations: Sequence[LedgerOperation]) -> None:
        for operation in operations:
            self.submit(operation)

    async def start(self) -> None:
        """Claim any spool left by an earlier process and start the background task."""
        if self._task is not None:
            raise RuntimeError(f"{self._name} already started")
        claimed = await asyncio.to_thread(self._spool.claim_existing)
        if claimed:
            logger.warning("%s: replaying %d spooled ledger operations", self._name, claimed)
        self._task = asyncio.create_task(self._run(), name=self._name)
        self._task.add_done_callback(self._task_done)

    async def flush(self, timeout_s: float) -> bool:
        """Wait until everything submitted so far is in the database; False on timeout.

        A pending retry is brought forward, so a flush right after the database recovers
        does not wait out the backoff.
        """
        if self._task is None:
            raise RuntimeError(f"{self._name} is not started")
        self._retry_at = 0.0
        self._wakeup.set()
        try:
            await asyncio.wait_for(self._wait_idle(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def stop(self, timeout_s: float) -> int:
        """Flush (up to ``timeout_s``), stop the task and return how many operations are
        left in the spool for the next start (0 when everything was written)."""
        self._closed = True
        if self._task is None:
            # Never started: keep what was submitted.
            await asyncio.to_thread(self._spool_operations, list(self._queue))
            self._queue.clear()
            return await self._close_spool()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        if not self._task.done():
            await self.flush(timeout_s)
        self._stopping = True
        self._wakeup.set()
        if not self._task.done():
            done, _ = await asyncio.wait({self._task}, timeout=max(0.0, deadline - loop.time()))
            if not done:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        leftover = [*self._in_flight, *self._queue]
        self._in_flight = []
        self._queue.clear()
        if leftover:
            await asyncio.to_thread(self._spool_operations, leftover)
        return await self._close_spool()

    # --- background task -----------------------------------------------------------------------
    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:
            try:
                await self._step(loop)
            except Exception as error:
                # A failure outside the database calls (e.g. the spool's disk is full):
                # keep the operations in memory, say so, and try again later.
                logger.exception("%s: ledger write step failed", self._name)
                self._queue.extendleft(reversed(self._in_flight))
                self._in_flight = []
                self._failed_attempt(loop, error)
        self._update_idle()

    async def _step(self, loop: asyncio.AbstractEventLoop) -> None:
        """One unit of work: spool new arrivals, replay the spool, or write a batch."""
        if self._spool.backlog:
            if self._queue:
                # Keep order: nothing overtakes what is already spooled.
                batch = self._take_batch(len(self._queue))
                await asyncio.to_thread(self._spool_operations, batch)
                self._in_flight = []
                return
            if not await self._retry_due(loop):
                return
            await self._replay_spool(loop)
            return
        if not self._queue:
            self._update_idle()
            await self._wait_for_work(None)
            return
        if not await self._retry_due(loop):
            return
        await self._write_batch(loop)

    async def _retry_due(self, loop: asyncio.AbstractEventLoop) -> bool:
        """True when the database may be tried now; else waits (for the backoff or new work)."""
        delay = self._retry_at - loop.time()
        if delay <= 0:
            return True
        await self._wait_for_work(delay, wake_on_queue=self._spool.backlog > 0)
        return False

    async def _write_batch(self, loop: asyncio.AbstractEventLoop) -> None:
        batch = self._take_batch(self._batch_size)
        applied, error = await asyncio.to_thread(self._apply_batch, batch)
        self._written += applied
        if error is None:
            self._recovered()
        else:
            # The database is unreachable: make the rest durable before anything else.
            remaining = batch[applied:] + self._take_batch(len(self._queue))
            self._in_flight = remaining
            await asyncio.to_thread(self._spool_operations, remaining)
            self._failed_attempt(loop, error)
        self._in_flight = []

    async def _replay_spool(self, loop: asyncio.AbstractEventLoop) -> None:
        result = await asyncio.to_thread(self._spool.replay, self._apply_for_replay)
        self._written += result.applied
        self._replayed += result.applied
        self._failed += result.dead_lettered
        if result.error is None:
            self._recovered()
            logger.info("%s: spool replayed, ledger writes are direct again", self._name)
        else:
            self._failed_attempt(loop, result.error)

    def _take_batch(self, size: int) -> list[LedgerOperation]:
        batch = [self._queue.popleft() for _ in range(min(size, len(self._queue)))]
        self._in_flight = batch
        return batch

    async def _wait_for_work(self, timeout_s: float | None, *, wake_on_queue: bool = True) -> None:
        """Sleep until ``submit``/``flush``/``stop`` (or ``timeout_s``). During a backoff
        with nothing spooled, queued work does not cut the wait short (the next attempt
        is what it waits for)."""
        self._wakeup.clear()
        if self._stopping or (wake_on_queue and self._queue):
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout_s)

    async def _wait_idle(self) -> None:
        while True:
            self._update_idle()
            if self._idle.is_set():
                return
            if self._task is None or self._task.done():
                # Nothing will make progress; let the caller's timeout expire.
                await asyncio.Event().wait()
            await self._idle.wait()

    def _update_idle(self) -> None:
        if not self._queue and not self._in_flight and not self._spool.backlog:
            self._idle.set()
        else:
            self._idle.clear()

    # --- worker-thread side ----------------------------------------------------------------------
    def _apply_batch(self, batch: Sequence[LedgerOperation]) -> tuple[int, BaseException | None]:
        """Apply in order; stop at the first transient error (returns how many were applied).

        Runs in a worker thread.
        """
        applied = 0
        for operation in batch:
            try:
                self._ledger.apply(operation)
            except Exception as error:
                if is_transient_error(error):
                    return applied, error
                self._failed += 1
                self._last_error = describe_error(error)
                self._spool.dead_letter(operation, error)
            else:
                applied += 1
        return applied, None

    def _apply_for_replay(self, operation: LedgerOperation) -> None:
        try:
            self._ledger.apply(operation)
        except Exception as error:
            if is_transient_error(error):
                raise TransientWriteError(error) from error
            self._last_error = describe_error(error)
            raise

    def _spool_operations(self, operations: Sequence[LedgerOperation]) -> None:
        self._spool.append(operations)
        self._spooled += len(operations)

    # --- bookkeeping -----------------------------------------------------------------------------
    def _failed_attempt(self, loop: asyncio.AbstractEventLoop, error: BaseException) -> None:
        self._attempt += 1
        self._retries += 1
        self._last_error = describe_error(error)
        cap = min(self._retry_max_s, self._retry_initial_s * 2 ** (self._attempt - 1))
        delay = cap / 2 + self._rng.uniform(0, cap / 2)  # "equal jitter"
        self._retry_at = loop.time() + delay
        if not self._outage_logged:
            self._outage_logged = True
            logger.warning(
                "%s: database unavailable (%s); spooling ledger writes to %s",
                self._name,
                self._last_error,
                self._spool.directory,
            )
        else:
            logger.debug("%s: retry %d in %.2fs", self._name, self._attempt, delay)

    def _recovered(self) -> None:
        if self._outage_logged:
            logger.info("%s: database reachable again after %d attempts", self._name, self._attempt)
        self._attempt = 0
        self._retry_at = 0.0
        self._outage_logged = False

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            logger.error("%s stopped by an unexpected error", self._name, exc_info=error)

    async def _close_spool(self) -> int:
        left = self._spool.backlog
        await asyncio.to_thread(self._spool.close)
        if left:
            logger.warning(
                "%s: %d ledger operations left in %s for the next start",
                self._name,
                left,
                self._spool.directory,
            )
        return left
