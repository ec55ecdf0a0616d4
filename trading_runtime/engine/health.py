"""Fail loudly: the kill switch and what trips it.

Corrupt or unknowable state is worse than no trading. Each of these trips the kill switch,
which stops new orders at once and fails the session (status ``failed``) with the reason:

* a trade-update or bar handler raised (the book may have missed an event);
* a ledger write was dead-lettered (refused by the database for good);
* the ledger writer's in-memory backlog passed ``max_writer_backlog`` operations (it cannot
  keep up: the ledger would lag the broker further every minute); operations spooled
  during a database outage are durable and do not count;
* the ledger's positions differ from the broker's by more than ``position_tolerance``
  (checked when the engine reconciles, at start after a restart and during the session).

The first reason wins; :class:`HealthCounts` go to the session's report.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HealthLimits:
    max_writer_backlog: int = 20_000
    position_tolerance: Decimal = Decimal(0)


@dataclass
class HealthCounts:
    handler_errors: int = 0
    dead_lettered_writes: int = 0
    writer_backlog_max: int = 0
    position_mismatches: int = 0


class WriterHealth(Protocol):
    """What the ledger writer reports (``store.writer.WriterStats``)."""

    @property
    def failed(self) -> int: ...
    @property
    def pending(self) -> int: ...
    @property
    def spool_backlog(self) -> int: ...


class KillSwitch:
    def __init__(self, limits: HealthLimits, on_trip: Callable[[str], None]) -> None:
        self.limits = limits
        self.counts = HealthCounts()
        self.reason: str | None = None
        self._on_trip = on_trip

    @property
    def tripped(self) -> bool:
        return self.reason is not None

    def trip(self, reason: str) -> None:
        """Stop trading and fail the session with ``reason`` (the first reason wins)."""
        if self.reason is None:
            self.reason = reason
            logger.error("kill switch tripped: %s", reason)
            self._on_trip(reason)

    def handler_failed(self, handler: str, error: BaseException) -> None:
        self.counts.handler_errors += 1
        logger.error("%s handler failed", handler, exc_info=error)
        self.trip(f"{handler} handler failed: {type(error).__name__}: {error}")

    def check_writer(self, stats: WriterHealth | None) -> None:
        if stats is None:
            return
        backlog = stats.pending - stats.spool_backlog
        self.counts.writer_backlog_max = max(self.counts.writer_backlog_max, backlog)
        if stats.failed > self.counts.dead_lettered_writes:
            self.counts.dead_lettered_writes = stats.failed
            self.trip(f"{stats.failed} ledger writes dead-lettered")
        elif backlog > self.limits.max_writer_backlog:
            self.trip(
                f"ledger writer {backlog} operations behind "
                f"(bound {self.limits.max_writer_backlog})"
            )

    def check_positions(self, mismatches: dict[str, Any]) -> None:
        """``mismatches``: {symbol: (ledger qty, broker qty)} beyond the tolerance."""
        if mismatches:
            self.counts.position_mismatches += len(mismatches)
            detail = ", ".join(f"{s} ledger {a} broker {b}" for s, (a, b) in mismatches.items())
            self.trip(f"ledger and broker positions differ: {detail}")
