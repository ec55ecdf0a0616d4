"""Status snapshots of a running session: taken every N session minutes from the engine's
counters and book, one status line each; an observer that fails never stops the session."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from trading_runtime.engine.observer import (
    SessionSnapshot,
    notify,
    report_status,
    take_snapshot,
)

NOW = dt.datetime(2026, 11, 25, 15, 0, tzinfo=dt.UTC)


@dataclass
class _Position:
    qty: Decimal


@dataclass
class _Book:
    equity: Decimal = Decimal("100250.5")
    day_start_equity: Decimal = Decimal("100000")
    positions: dict[str, _Position] = field(
        default_factory=lambda: {"AAPL": _Position(Decimal(10)), "MSFT": _Position(Decimal(0))}
    )


@dataclass
class _Stats:
    minutes_processed: int = 0
    orders_submitted: int = 5
    fills: int = 4

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.__dict__)
        if self.minutes_processed:
            data |= {"minute_latency_p50_ms": 1.25, "minute_latency_p99_ms": 9.5}
        return data


@dataclass
class _Engine:
    stats: _Stats = field(default_factory=_Stats)
    book: _Book | None = field(default_factory=_Book)
    model_version_id: int | None = 4

    def counters(self) -> dict[str, Any]:
        return self.stats.as_dict()


class _Recorder:
    def __init__(self) -> None:
        self.snapshots: list[SessionSnapshot] = []

    def session_status(self, snapshot: SessionSnapshot) -> None:
        self.snapshots.append(snapshot)


def test_a_snapshot_reads_equity_pnl_open_positions_and_counters() -> None:
    engine = _Engine(stats=_Stats(minutes_processed=30))
    snapshot = take_snapshot(engine, 12, NOW)
    assert snapshot is not None
    assert snapshot.pnl == Decimal("250.5") and snapshot.open_positions == 1
    assert snapshot.status_line() == (
        "session=12 minute=30 equity=$100,250.50 pnl=+$250.50 positions=1 orders=5 "
        "rejected=0 fills=4 latency_p50=1.2ms latency_p99=9.5ms model=4"
    )
    losing = take_snapshot(_Engine(book=_Book(equity=Decimal("99990"))), 12, NOW)
    assert losing is not None and "pnl=-$10.00" in losing.status_line()
    assert "latency_p50=n/a" in losing.status_line()  # no minute closed yet


def test_no_snapshot_before_the_engine_has_its_book() -> None:
    assert take_snapshot(_Engine(book=None), 1, NOW) is None


def test_snapshots_come_every_n_session_minutes_until_cancelled() -> None:
    engine, recorder = _Engine(), _Recorder()

    async def session() -> None:
        task = asyncio.create_task(report_status(engine, 1, recorder, 10, poll_s=0.001))
        for minutes in (3, 9, 10, 12, 25, 26, 31):
            engine.stats.minutes_processed = minutes
            await asyncio.sleep(0.02)  # several polls per step
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(session())
    assert [s.minutes_processed for s in recorder.snapshots] == [10, 25, 31]


def test_a_failing_observer_is_logged_and_the_session_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken:
        def session_status(self, snapshot: SessionSnapshot) -> None:
            raise RuntimeError("event log unreachable")

    notify(Broken(), take_snapshot(_Engine(), 1, NOW))
    assert "the session observer failed" in caplog.text
    assert "event log unreachable" in caplog.text


def test_every_minutes_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        asyncio.run(report_status(_Engine(), 1, _Recorder(), 0))
