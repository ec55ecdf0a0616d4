"""The engine's background tasks: a set that keeps its tasks alive, reports the first
failure of any of them and cancels them together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

logger = logging.getLogger(__name__)


class TaskSet:
    """Tasks spawned by one owner. A task that ends with an exception (not a cancellation)
    is an invariant broken: it is logged and ``on_failure`` gets one line naming it."""

    def __init__(self, on_failure: Callable[[str], None]) -> None:
        self._on_failure = on_failure
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, coroutine: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def running(self, name: str) -> bool:
        return any(task.get_name() == name for task in self._tasks)

    async def wait(self, timeout_s: float) -> None:
        """Wait (at most ``timeout_s``) for the tasks running now."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout_s)

    async def cancel(self) -> None:
        """Cancel every task and wait until they have ended."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        error = task.exception()
        logger.error("%s failed", task.get_name(), exc_info=error)
        self._on_failure(f"{task.get_name()} failed: {type(error).__name__}: {error}")
