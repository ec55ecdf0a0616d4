"""What a Dagster run is doing while it executes in this process.

:func:`watch_run` executes a run in the calling thread (a live session needs the main thread
for its signal handlers) while a daemon thread follows the run's event log in the instance:
a progress bar names the running step and its elapsed time, each finished step, check and
user log message is printed as a line. The bar fills from an optional ``detail`` callable
(:class:`Done`: sessions ingested, minutes traded) or from the run's own log messages of
the form ``[k/n] what`` (the walk-forward folds and the refit of ``model_candidate``); else it
pulses. Without a terminal there is no bar; a line every ``HEARTBEAT_S`` says which step is
still running, so a long training step is never silent.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import dagster as dg
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

POLL_S = 0.5
HEARTBEAT_S = 30.0
Result = TypeVar("Result")
logger = logging.getLogger(__name__)

# A run's log message that reports progress: "[3/5] walk-forward fold 3 fitted".
STEP_PROGRESS = re.compile(r"^\[(?P<done>\d+)/(?P<total>\d+)\] ")


@dataclass(frozen=True)
class Done:
    """Domain progress: ``completed`` of ``total`` units, described by ``text``."""

    text: str
    completed: int
    total: int


Detail = Callable[[str], "Done | str"]

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
        detail: Detail | None,
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
        self.done: Done | None = None  # the latest "[k/n]" message of the run

    def status(self) -> tuple[str, Done | None]:
        """The bar's description and how far the run has got (None: unknown)."""
        parts = [f"[bold]{self.step or 'starting'}[/]"]
        done = self.done
        if self.detail is not None:
            try:
                detail = self.detail(self.run_id)
            except Exception as error:  # progress is best effort; the run decides success
                logger.debug("progress detail failed: %s", error)
                detail = ""
            if isinstance(detail, Done):
                done, detail = detail, detail.text
            if detail:
                parts.append(detail)
        elif done is not None:
            parts.append(done.text)
        return " · ".join(parts), done

    def status_text(self) -> str:
        elapsed = time.monotonic() - self.started
        text, _ = self.status()
        return f"{text} · {elapsed:.0f} s"

    def poll(self) -> None:
        connection = self.instance.get_records_for_run(self.run_id, cursor=self.cursor)
        self.cursor = connection.cursor
        for record in connection.records:
            self._show(record.event_log_entry)

    def _show(self, entry: Any) -> None:
        event = entry.dagster_event
        if event is None:
            message = entry.user_message or ""
            matched = STEP_PROGRESS.match(message)
            if matched:
                self.done = Done(
                    message[matched.end() :], int(matched["done"]), int(matched["total"])
                )
            if entry.level >= logging.INFO and message:
                self.console.print(f"    [dim]{message}[/]", highlight=False)
            return
        if event.event_type not in _STEP_EVENTS:
            return
        kind = event.event_type
        if kind is dg.DagsterEventType.STEP_START:
            self.step, self.step_started = event.step_key, time.monotonic()
            self.done = None
        elif kind is dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            check = event.event_specific_data
            verdict = "[green]passed[/]" if check.passed else "[red]failed[/]"
            self.console.print(f"    check {check.check_name}: {verdict}")
        else:
            took = time.monotonic() - self.step_started
            mark = "[green]✓[/]" if kind is dg.DagsterEventType.STEP_SUCCESS else "[red]✗[/]"
            self.console.print(f"  {mark} {event.step_key} ({took:.1f} s)")
            self.step = None

    def follow(self, update: Callable[[str, Done | None], None]) -> None:
        last_heartbeat = time.monotonic()
        while not self.stopped.wait(POLL_S):
            try:
                self.poll()
            except Exception as error:  # a storage hiccup must not stop the run it watches
                logger.debug("event log poll failed: %s", error)
            update(*self.status())
            if not self.console.is_terminal and time.monotonic() - last_heartbeat > HEARTBEAT_S:
                self.console.print(f"    ... {self.status_text()}", highlight=False)
                last_heartbeat = time.monotonic()


def watch_run(
    console: Console,
    instance: dg.DagsterInstance,
    title: str,
    execute: Callable[[str], Result],
    detail: Detail | None = None,
) -> Result:
    """Print ``title``, call ``execute(run_id)`` and show the run's progress until it returns.

    ``execute`` must start the run with the given ``run_id``; ``detail(run_id)`` may describe
    domain progress for the bar. The final events are printed
    before this returns (or re-raises what ``execute`` raised).
    """
    run_id = str(uuid.uuid4())  # Dagster's run id format
    follower = _Follower(console, instance, run_id, detail)
    console.print(f"[bold cyan]==>[/] {title}", highlight=False)
    started = time.perf_counter()
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("[bold]starting[/]", total=None)

        def update(text: str, done: Done | None) -> None:
            if done is None:
                bar.update(task, description=text, total=None)
            else:
                bar.update(task, description=text, completed=done.completed, total=done.total)

        thread = threading.Thread(
            target=follower.follow,
            args=(update,),
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
