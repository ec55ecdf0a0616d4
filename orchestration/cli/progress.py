"""What a Dagster run is doing while it executes in this process.

:func:`watch_run` executes a run in the calling thread (a live session needs the main thread
for its signal handlers) while a daemon thread follows the run's event log in the instance:
a spinner names the running step and its elapsed time, each finished step, check and user
log message is printed as a line, and an optional ``detail`` callable adds domain progress
(sessions ingested, minutes traded). Without a terminal there is no spinner; a line every
``HEARTBEAT_S`` says which step is still running, so a long training step is never silent.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import dagster as dg
from rich.console import Console

POLL_S = 0.5
HEARTBEAT_S = 30.0
Result = TypeVar("Result")
logger = logging.getLogger(__name__)

_STEP_EVENTS = {
    dg.DagsterEventType.STEP_START,
    dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.STEP_FAILURE,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION,
}


class _Follower:
    def __init__(
        self,
        console: Console,
        instance: dg.DagsterInstance,
        run_id: str,
        detail: Callable[[str], str] | None,
    ) -> None:
        self.console = console
        self.instance = instance
        self.run_id = run_id
        self.detail = detail
        self.step: str | None = None
        self.step_started = time.monotonic()
        self.started = time.monotonic()
        self.cursor: str | None = None
        self.stopped = threading.Event()

    def status_text(self) -> str:
        elapsed = time.monotonic() - self.started
        parts = [f"[bold]{self.step or 'starting'}[/]", f"{elapsed:.0f} s"]
        if self.detail is not None:
            try:
                text = self.detail(self.run_id)
            except Exception as error:  # progress is best effort; the run decides success
                logger.debug("progress detail failed: %s", error)
                text = ""
            if text:
                parts.append(text)
        return " · ".join(parts)

    def poll(self) -> None:
        connection = self.instance.get_records_for_run(self.run_id, cursor=self.cursor)
        self.cursor = connection.cursor
        for record in connection.records:
            self._show(record.event_log_entry)

    def _show(self, entry: Any) -> None:
        event = entry.dagster_event
        if event is None:
            if entry.level >= logging.INFO and entry.user_message:
                self.console.print(f"    [dim]{entry.user_message}[/]", highlight=False)
            return
        if event.event_type not in _STEP_EVENTS:
            return
        kind = event.event_type
        if kind is dg.DagsterEventType.STEP_START:
            self.step, self.step_started = event.step_key, time.monotonic()
        elif kind is dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            check = event.event_specific_data
            verdict = "[green]passed[/]" if check.passed else "[red]failed[/]"
            self.console.print(f"    check {check.check_name}: {verdict}")
        else:
            took = time.monotonic() - self.step_started
            mark = "[green]✓[/]" if kind is dg.DagsterEventType.STEP_SUCCESS else "[red]✗[/]"
            self.console.print(f"  {mark} {event.step_key} ({took:.1f} s)")
            self.step = None

    def follow(self, update: Callable[[str], None]) -> None:
        last_heartbeat = time.monotonic()
        while not self.stopped.wait(POLL_S):
            try:
                self.poll()
            except Exception as error:  # a storage hiccup must not stop the run it watches
                logger.debug("event log poll failed: %s", error)
            update(self.status_text())
            if not self.console.is_terminal and time.monotonic() - last_heartbeat > HEARTBEAT_S:
                self.console.print(f"    ... {self.status_text()}", highlight=False)
                last_heartbeat = time.monotonic()


def watch_run(
    console: Console,
    instance: dg.DagsterInstance,
    title: str,
    execute: Callable[[str], Result],
    detail: Callable[[str], str] | None = None,
) -> Result:
    """Print ``title``, call ``execute(run_id)`` and show the run's progress until it returns.

    ``execute`` must start the run with the given ``run_id``; ``detail(run_id)`` may describe
    domain progress for the spinner. The final events are printed
    before this returns (or re-raises what ``execute`` raised).
    """
    run_id = str(uuid.uuid4())  # Dagster's run id format
    follower = _Follower(console, instance, run_id, detail)
    console.print(f"[bold cyan]==>[/] {title}", highlight=False)
    started = time.perf_counter()
    with console.status(follower.status_text(), spinner="dots") as status:
        thread = threading.Thread(
            target=follower.follow,
            args=(lambda text: status.update(text),),
            name=f"progress-{run_id[:8]}",
            daemon=True,
        )
        thread.start()
        try:
            result = execute(run_id)
        finally:
            follower.stopped.set()
            thread.join()
            follower.poll()
    console.print(f"    done in {time.perf_counter() - started:.1f} s", highlight=False)
    return result
