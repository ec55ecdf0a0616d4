"""Wait for a condition instead of sleeping for a guessed time.

    await eventually_async(lambda: writer.stats.spooled > 0, timeout_s=5)
    eventually(lambda: path.exists(), timeout_s=5)

The predicate is polled until it returns a truthy value (returned to the caller) or the
timeout passes (``AssertionError`` naming the predicate and the last exception it raised).
``eventually_async`` also accepts a predicate returning an awaitable.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any


def _failure(predicate: Callable[[], Any], timeout_s: float, error: BaseException | None) -> str:
    name = getattr(predicate, "__qualname__", repr(predicate))
    detail = f" (last error: {type(error).__name__}: {error})" if error else ""
    return f"{name} not true within {timeout_s}s{detail}"


def eventually(
    predicate: Callable[[], Any], timeout_s: float = 5.0, interval_s: float = 0.01
) -> Any:
    """Poll ``predicate`` in the current thread; return its first truthy value."""
    deadline = time.monotonic() + timeout_s
    last_error: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except AssertionError as error:
            last_error = error
        if time.monotonic() >= deadline:
            raise AssertionError(_failure(predicate, timeout_s, last_error))
        time.sleep(interval_s)


async def eventually_async(
    predicate: Callable[[], Any], timeout_s: float = 5.0, interval_s: float = 0.01
) -> Any:
    """Poll ``predicate`` without blocking the event loop; return its first truthy value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    last_error: BaseException | None = None
    while True:
        try:
            value = predicate()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value
        except AssertionError as error:
            last_error = error
        if loop.time() >= deadline:
            raise AssertionError(_failure(predicate, timeout_s, last_error))
        await asyncio.sleep(interval_s)
