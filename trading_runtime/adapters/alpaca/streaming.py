"""Lifecycle of an alpaca-py websocket client inside a running event loop.

alpaca-py's ``run()`` calls ``asyncio.run``; inside a loop the stream's ``_run_forever()``
runs as a task instead (it reconnects by itself). Subscriptions must be made before the
task starts: subscribing from the stream's own loop while it runs deadlocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

log = logging.getLogger(__name__)


class _NormalClosureFilter(logging.Filter):
    """alpaca-py logs the close it was asked for (code 1000, "OK") as a websocket error;
    that is the normal end of a stream, not a warning. Other errors pass through."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "sent 1000 (OK); then received 1000 (OK)" not in record.getMessage()


for _name in ("alpaca.data.live.websocket", "alpaca.trading.stream"):
    logging.getLogger(_name).addFilter(_NormalClosureFilter())


class StreamRunner:
    """Runs one alpaca-py stream (``StockDataStream`` or ``TradingStream``) as a named task."""

    def __init__(self, stream: Any, name: str) -> None:
        self._stream = stream
        self._name = name
        self.name = name
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError(f"{self._name} was already started")
        self._task = asyncio.create_task(self._stream._run_forever(), name=self._name)
        self._task.add_done_callback(self._log_end)

    def _log_end(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            log.info("%s cancelled", self._name)
        elif task.exception() is not None:
            log.error("%s failed", self._name, exc_info=task.exception())

    async def stop(self, timeout_s: float = 5.0) -> None:
        """Ask the stream to stop, close its socket, and wait for the task (cancel after
        ``timeout_s``)."""
        task = self._task
        if task is None or task.done():
            return
        await self._stream.stop_ws()
        # Closing the socket ends a pending receive at once instead of after its 5 s poll.
        await self._stream.close()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=timeout_s)
        except TimeoutError:
            log.warning("%s did not stop within %.1f s; cancelling it", self._name, timeout_s)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
