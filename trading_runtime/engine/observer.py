"""Watching a session while it runs: a snapshot of its state and the port that receives it.

The session runner (``engine.runner``) takes a :class:`SessionSnapshot` of the engine every
``every_minutes`` session minutes (minutes the engine closed: in a sim replay they pass
faster than the wall clock) and once more when the session stops, and hands it to a
:class:`SessionObserver` (the Dagster op's writes a status line and an asset observation).
An observer that raises is logged and never stops the session.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionSnapshot:
    """The session at one moment. Money in dollars (Decimal); latencies in milliseconds over
    the engine's recent minutes (None before the first minute); ``final`` on the last one."""

    session_id: int
    minutes_processed: int
    taken_at: dt.datetime  # wall clock, UTC
    equity: Decimal
    starting_equity: Decimal
    open_positions: int
    orders_submitted: int
    orders_rejected: int
    fills: int
    decisions: int
    minute_latency_p50_ms: float | None
    minute_latency_p99_ms: float | None
    model_version_id: int | None
    final: bool = False

    @property
    def pnl(self) -> Decimal:
        return self.equity - self.starting_equity

    def status_line(self) -> str:
        """One line of ``key=value`` pairs, the same keys every time (easy to grep and parse)."""

        def latency(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.1f}ms"

        return " ".join(
            (
                f"session={self.session_id}",
                f"minute={self.minutes_processed}",
                f"equity=${self.equity:,.2f}",
                f"pnl={'+' if self.pnl >= 0 else '-'}${abs(self.pnl):,.2f}",
                f"positions={self.open_positions}",
                f"orders={self.orders_submitted}",
                f"rejected={self.orders_rejected}",
                f"fills={self.fills}",
                f"latency_p50={latency(self.minute_latency_p50_ms)}",
                f"latency_p99={latency(self.minute_latency_p99_ms)}",
                f"model={self.model_version_id if self.model_version_id is not None else 'none'}",
            )
        )


class SessionObserver(Protocol):
    """Receives the snapshots of a running session, in the session's event loop: keep it
    quick (it is called every few session minutes, not per bar)."""

    def session_status(self, snapshot: SessionSnapshot) -> None: ...


class EngineView(Protocol):
    """What a snapshot reads from the engine (``LiveEngine`` has these attributes)."""

    stats: Any  # .minutes_processed
    book: Any  # .equity, .day_start_equity, .positions (None before the start)
    model_version_id: int | None

    def counters(self) -> dict[str, Any]:
        """Every counter of the session, with minute_latency_p50_ms / _p99_ms."""
        ...


def take_snapshot(
    engine: EngineView, session_id: int, now: dt.datetime, *, final: bool = False
) -> SessionSnapshot | None:
    """The engine's state now, or None before it has its book (it has not started)."""
    book = engine.book
    if book is None:
        return None
    stats = engine.counters()
    return SessionSnapshot(
        session_id=session_id,
        minutes_processed=int(stats.get("minutes_processed", 0)),
        taken_at=now,
        equity=book.equity,
        starting_equity=book.day_start_equity,
        open_positions=sum(1 for p in book.positions.values() if p.qty != 0),
        orders_submitted=int(stats.get("orders_submitted", 0)),
        orders_rejected=int(stats.get("orders_rejected", 0)),
        fills=int(stats.get("fills", 0)),
        decisions=int(stats.get("decisions", 0)),
        minute_latency_p50_ms=stats.get("minute_latency_p50_ms"),
        minute_latency_p99_ms=stats.get("minute_latency_p99_ms"),
        model_version_id=engine.model_version_id,
        final=final,
    )


class LoggedStatus:
    """The default observer: each snapshot as one log line."""

    def session_status(self, snapshot: SessionSnapshot) -> None:
        logger.info("%s%s", "final: " if snapshot.final else "", snapshot.status_line())


async def report_status(
    engine: EngineView,
    session_id: int,
    observer: SessionObserver,
    every_minutes: int,
    poll_s: float = 0.25,
) -> None:
    """Hand ``observer`` a snapshot each time the engine has closed another ``every_minutes``
    session minutes (checked every ``poll_s`` seconds of wall clock), until cancelled."""
    if every_minutes < 1:
        raise ValueError(f"every_minutes must be at least 1, not {every_minutes}")
    due = every_minutes
    while True:
        await asyncio.sleep(poll_s)
        minutes = int(engine.stats.minutes_processed)
        if minutes >= due:
            notify(observer, take_snapshot(engine, session_id, dt.datetime.now(dt.UTC)))
            due = (minutes // every_minutes + 1) * every_minutes


def notify(observer: SessionObserver, snapshot: SessionSnapshot | None) -> None:
    """Watching is best effort: an observer that fails is logged, the session goes on."""
    if snapshot is None:
        return
    try:
        observer.session_status(snapshot)
    except Exception:
        logger.exception("the session observer failed on a status snapshot")
