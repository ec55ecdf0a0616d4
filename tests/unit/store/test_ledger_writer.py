"""The spooling ledger writer against a fake ledger: ordering, outages, crashes, never blocking."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from tests.support import store_builders as b
from tests.support.eventually import eventually_async
from trading_runtime.store.operations import (
    LedgerOperation,
    RecordAccount,
    RecordDecisions,
    RecordEngineEvent,
    RecordPositions,
    dump_operation,
)
from trading_runtime.store.session_ledger import SessionLedger
from trading_runtime.store.spool import DEAD_LETTER_FILE, Spool
from trading_runtime.store.writer import LedgerWriter, WriterClosedError


class FakeLedger:
    """Records what it is asked to write; can be 'down', slow, or refuse one account."""

    def __init__(self) -> None:
        self.down = False
        self.delay_s = 0.0
        self.refused_equity: str | None = None
        self.applied: list[tuple[str, Any]] = []
        self.attempts: list[float] = []
        self.threads: set[int] = set()
        self._lock = threading.Lock()

    def _call(self, kind: str, key: Any) -> None:
        self.threads.add(threading.get_ident())
        with self._lock:
            self.attempts.append(time.monotonic())
        if self.delay_s:
            time.sleep(self.delay_s)  # a slow database, in the worker thread
        if self.down:
            raise OperationalError("INSERT ...", {}, ConnectionRefusedError("server is down"))
        with self._lock:
            self.applied.append((kind, key))

    def apply(self, operation: LedgerOperation) -> None:
        match operation:
            case RecordAccount(session_id=session_id, account=account):
                if self.refused_equity is not None and str(account.equity) == self.refused_equity:
                    raise IntegrityError("INSERT ...", {}, ValueError("violates check constraint"))
                self._call("account", (session_id, str(account.equity)))
            case RecordDecisions(session_id=session_id, decisions=decisions):
                self._call("decisions", (session_id, len(decisions)))
            case RecordPositions(session_id=session_id, source=source):
                self._call("positions", (session_id, source))
            case RecordEngineEvent(session_id=session_id, event_kind=kind):
                self._call("event", (session_id, kind))
            case _:
                self._call(operation.kind, operation.session_id)


def account_op(index: int, session_id: int = 1) -> RecordAccount:
    return RecordAccount(session_id, b.account(minute=index, equity=f"{100000 + index}.00"))


def equities(ledger: FakeLedger) -> list[str]:
    return [key[1] for kind, key in ledger.applied if kind == "account"]


def run(coroutine_function: Callable[[], Any]) -> Any:
    return asyncio.run(coroutine_function())


def make_writer(ledger: FakeLedger, spool_dir: Path, **options: Any) -> LedgerWriter:
    options = {"retry_initial_s": 0.02, "retry_max_s": 0.1, **options}
    return LedgerWriter(ledger, spool_dir, **options)


def test_operations_are_written_in_submission_order_from_a_worker_thread(tmp_path: Path) -> None:
    ledger = FakeLedger()

    async def scenario() -> None:
        writer = make_writer(ledger, tmp_path, batch_size=3)
        await writer.start()
        for index in range(10):
            writer.submit(account_op(index))
        assert await writer.flush(timeout_s=5)
        assert await writer.stop(timeout_s=5) == 0
        assert writer.stats.written == 10 and writer.stats.pending == 0

    run(scenario)
    assert equities(ledger) == [f"{100000 + i}.00" for i in range(10)]
    assert threading.get_ident() not in ledger.threads


def test_the_event_loop_keeps_running_while_the_database_is_slow(tmp_path: Path) -> None:
    ledger = FakeLedger()
    ledger.delay_s = 0.2
    gaps: list[float] = []

    async def heartbeat(stop: asyncio.Event) -> None:
        last = time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(0.005)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    async def scenario() -> None:
        writer = make_writer(ledger, tmp_path, batch_size=1)
        await writer.start()
        stop = asyncio.Event()
        beat = asyncio.create_task(heartbeat(stop), name="heartbeat")
        started = time.monotonic()
        for index in range(4):
            writer.submit(account_op(index))
        submit_s = time.monotonic() - started
        assert await writer.flush(timeout_s=5)
        stop.set()
        await beat
        await writer.stop(timeout_s=1)
        assert submit_s < 0.05  # submit only queues

    run(scenario)
    assert len(equities(ledger)) == 4
    # 0.8 s of blocking writes happened; the loop never stalled for one of them.
    assert max(gaps) < 0.1, max(gaps)


def test_an_outage_spools_everything_and_recovery_writes_each_operation_once(
    tmp_path: Path,
) -> None:
    ledger = FakeLedger()
    ledger.down = True

    async def scenario() -> None:
        writer = make_writer(ledger, tmp_path)
        await writer.start()
        for index in range(5):
            writer.submit(account_op(index))
        await eventually_async(lambda: writer.stats.spooled == 5)
        spool_file = tmp_path / "session-1.jsonl"
        assert len(spool_file.read_text().splitlines()) == 5
        # While down, new operations queue up behind the spooled ones, on disk.
        for index in range(5, 8):
            writer.submit(account_op(index))
        await eventually_async(lambda: writer.stats.spooled == 8)
        await eventually_async(lambda: writer.stats.retries >= 2)
        assert not await writer.flush(timeout_s=0.1)
        assert ledger.applied == []

        ledger.down = False
        assert await writer.flush(timeout_s=5)
        assert not spool_file.exists()
        stats = writer.stats
        assert (stats.written, stats.replayed, stats.pending) == (8, 8, 0)
        assert stats.last_error is not None and "server is down" in stats.last_error
        writer.submit(account_op(8))  # direct writes again
        assert await writer.flush(timeout_s=5)
        assert await writer.stop(timeout_s=5) == 0

    run(scenario)
    assert equities(ledger) == [f"{100000 + i}.00" for i in range(9)]


def test_retries_back_off_exponentially_with_jitter(tmp_path: Path) -> None:
    ledger = FakeLedger()
    ledger.down = True

    async def scenario() -> None:
        writer = make_writer(ledger, tmp_path, retry_initial_s=0.05, retry_max_s=0.4)
        await writer.start()
        writer.submit(account_op(0))
        await eventually_async(lambda: len(ledger.attempts) >= 6, timeout_s=5)
        await writer.stop(timeout_s=0.1)

    run(scenario)
    gaps = [later - earlier for earlier, later in itertools.pairwise(ledger.attempts)]
    # Delay after failure k is in [cap_k / 2, cap_k], cap_k = min(0.4, 0.05 * 2 ** (k - 1)).
    assert 0.025 <= gaps[0] < 0.15
    assert gaps[3] >= 0.19
    assert all(gap < 0.6 for gap in gaps[:5])


def test_stop_during_an_outage_leaves_the_operations_spooled_for_the_next_start(
    tmp_path: Path,
) -> None:
    ledger = FakeLedger()
    ledger.down = True

    async def first_run() -> None:
        writer = make_writer(ledger, tmp_path)
        await writer.start()
        for index in range(3):
            writer.submit(account_op(index))
        writer.submit(account_op(3, session_id=2))
        assert await writer.stop(timeout_s=0.2) == 4
        with pytest.raises(WriterClosedError):
            writer.submit(account_op(9))

    async def second_run() -> None:
        writer = make_writer(ledger, tmp_path)
        await writer.start()
        assert writer.stats.pending == 4
        assert await writer.flush(timeout_s=5)
        assert await writer.stop(timeout_s=1) == 0

    run(first_run)
    assert sorted(p.name for p in tmp_path.glob("session-*.jsonl")) == [
        "session-1.jsonl",
        "session-2.jsonl",
    ]
    ledger.down = False
    run(second_run)
    assert sorted(equities(ledger)) == [f"{100000 + i}.00" for i in range(4)]
    assert list(tmp_path.glob("session-*.jsonl")) == []


def test_a_spool_left_by_a_crash_is_replayed_in_order_on_start(tmp_path: Path) -> None:
    # What a process killed mid-outage leaves behind: complete lines and a torn last one.
    lines = [dump_operation(account_op(i)).decode() for i in range(3)]
    (tmp_path / "session-1.jsonl").write_text("\n".join(lines) + "\n" + lines[0][:17])
    ledger = FakeLedger()

    async def scenario() -> None:
        writer = make_writer(ledger, tmp_path)
        await writer.start()
        assert await writer.flush(timeout_s=5)
        assert await writer.stop(timeout_s=1) == 0
        assert writer.stats.replayed == 3
        assert writer.stats.failed == 1  # the torn line, kept in the dead-letter file

    run(scenario)
    assert equities(ledger) == ["100000.00", "100001.00", "100002.00"]
    assert not (tmp_path / "session-1.jsonl").exists()
    dead = [json.loads(line) for line in (tmp_path / DEAD_LETTER_FILE).read_text().splitlines()]
    assert len(dead) == 1 and dead[0]["operation"] == lines[0][:17]


def test_a_spool_file_owned_by_a_live_writer_is_not_claimed_by_another(tmp_path: Path) -> None:
    owner = Spool(tmp_path)
    owner.append([account_op(0)])
    other = Spool(tmp_path)
    assert other.claim_existing() == 0
    assert other.backlog == 0
    owner.close()  # the owner exits (or dies): the file becomes claimable
    assert other.claim_existing() == 1
    other.close()


def test_an_operation_the_database_refuses_is_dead_lettered_and_later_writes_go_on(
    tmp_path: Path,
) -> None:
    ledger = FakeLedger()
    ledger.refused_equity = "100001.00"

    async def scenario() -> None:
        writer = make_writer(ledger, tmp_path)
        await writer.start()
        for index in range(3):
            writer.submit(account_op(index))
        assert await writer.flush(timeout_s=5)
        await writer.stop(timeout_s=1)
        assert writer.stats.failed == 1
        assert "violates check constraint" in (writer.stats.last_error or "")

    run(scenario)
    assert equities(ledger) == ["100000.00", "100002.00"]
    dead = json.loads((tmp_path / DEAD_LETTER_FILE).read_text())
    assert dead["operation"][1]["account"]["equity"] == "100001.00"


def test_session_ledger_submits_the_operations_of_its_session_only(tmp_path: Path) -> None:
    ledger = FakeLedger()

    async def scenario() -> None:
        writer = make_writer(ledger, tmp_path)
        await writer.start()
        port = SessionLedger(writer, session_id=5)
        port.submit(RecordDecisions(5, (b.decision(),)))
        port.submit(RecordAccount(5, b.account()))
        port.submit(RecordPositions(5, b.positions(), "broker", b.at(1)))
        port.submit(RecordEngineEvent(5, "stream_reconnected", {"attempt": 2}, b.at(2)))
        with pytest.raises(ValueError, match="session 6"):
            port.submit(RecordAccount(6, b.account()))
        assert await writer.flush(timeout_s=5)
        await writer.stop(timeout_s=1)

    run(scenario)
    assert ledger.applied == [
        ("decisions", (5, 1)),
        ("account", (5, "100000.00")),
        ("positions", (5, "broker")),
        ("event", (5, "stream_reconnected")),
    ]


def test_operations_submitted_to_a_writer_that_never_started_are_kept_on_stop(
    tmp_path: Path,
) -> None:
    ledger = FakeLedger()

    async def scenario() -> None:
        writer = make_writer(ledger, tmp_path)
        writer.submit(account_op(0))
        with pytest.raises(RuntimeError, match="not started"):
            await writer.flush(timeout_s=0.1)
        assert await writer.stop(timeout_s=0.1) == 1

    run(scenario)
    assert ledger.applied == []
    assert len((tmp_path / "session-1.jsonl").read_text().splitlines()) == 1
