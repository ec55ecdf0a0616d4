"""The kill switch: what trips it, the first reason winning, the counts it reports."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from trading_runtime.engine.health import HealthLimits, KillSwitch


@dataclass
class Stats:
    failed: int = 0
    pending: int = 0
    spool_backlog: int = 0


def switch(**limits: object) -> tuple[KillSwitch, list[str]]:
    tripped: list[str] = []
    return KillSwitch(HealthLimits(**limits), tripped.append), tripped  # type: ignore[arg-type]


def test_a_healthy_writer_does_not_trip() -> None:
    kill, tripped = switch(max_writer_backlog=10)
    kill.check_writer(Stats(pending=10))
    kill.check_writer(None)
    assert not kill.tripped and tripped == []
    assert kill.counts.writer_backlog_max == 10


def test_a_dead_lettered_write_trips_with_the_count() -> None:
    kill, tripped = switch()
    kill.check_writer(Stats(failed=2))
    assert tripped == ["2 ledger writes dead-lettered"]
    assert kill.counts.dead_lettered_writes == 2


def test_a_backlog_beyond_the_bound_trips_but_a_spooled_outage_does_not() -> None:
    kill, tripped = switch(max_writer_backlog=100)
    kill.check_writer(Stats(pending=5000, spool_backlog=4950))  # durable on disk
    assert not kill.tripped
    kill.check_writer(Stats(pending=786 + 100, spool_backlog=0))
    assert tripped == ["ledger writer 886 operations behind (bound 100)"]


def test_the_first_reason_wins_and_handler_errors_are_counted() -> None:
    kill, tripped = switch()
    kill.handler_failed("trade update", RuntimeError("boom"))
    kill.handler_failed("bar", ValueError("bad"))
    assert tripped == ["trade update handler failed: RuntimeError: boom"]
    assert kill.reason == tripped[0]
    assert kill.counts.handler_errors == 2


def test_position_mismatches_trip_with_both_quantities() -> None:
    kill, tripped = switch()
    kill.check_positions({})
    assert not kill.tripped
    kill.check_positions({"AAPL": (Decimal(0), Decimal(20))})
    assert tripped == ["ledger and broker positions differ: AAPL ledger 0 broker 20"]
    assert kill.counts.position_mismatches == 1
