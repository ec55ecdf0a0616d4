"""The engine's background tasks: a failure is reported once, by name; cancel ends them all."""

from __future__ import annotations

import asyncio

from trading_runtime.engine.tasks import TaskSet


def test_a_failed_task_is_reported_by_name_and_a_finished_one_is_forgotten() -> None:
    failures: list[str] = []

    async def scenario() -> None:
        tasks = TaskSet(failures.append)

        async def fine() -> None:
            return None

        async def broken() -> None:
            raise RuntimeError("book corrupted")

        tasks.spawn(fine(), "fine")
        tasks.spawn(broken(), "place-abc")
        assert tasks.running("place-abc")
        await tasks.wait(1.0)
        await asyncio.sleep(0)  # done callbacks run on the next turn of the loop
        assert len(tasks) == 0 and not tasks.running("place-abc")

    asyncio.run(scenario())
    assert failures == ["place-abc failed: RuntimeError: book corrupted"]


def test_cancel_ends_every_task_without_reporting_a_failure() -> None:
    failures: list[str] = []
    ended: list[str] = []

    async def scenario() -> None:
        tasks = TaskSet(failures.append)

        async def forever(name: str) -> None:
            try:
                await asyncio.Event().wait()
            finally:
                ended.append(name)

        for name in ("model-watcher", "in-flight-check"):
            tasks.spawn(forever(name), name)
        await asyncio.sleep(0)
        await tasks.cancel()
        assert len(tasks) == 0

    asyncio.run(scenario())
    assert sorted(ended) == ["in-flight-check", "model-watcher"] and failures == []
