"""The spooling writer against a real Postgres: an outage, a crash, nothing lost or doubled."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import URL, make_url

from tests.support import store_builders as b
from tests.support.eventually import eventually_async
from trading_runtime.domain import Action, OrderStatus, SessionStatus
from trading_runtime.store.models import AccountSnapshotRow, DecisionRow, FillRow, OrderEventRow
from trading_runtime.store.operations import (
    EndSession,
    RecordAccount,
    RecordDecisions,
    RecordOrderSubmitted,
    RecordOrderUpdate,
)
from trading_runtime.store.reads import LedgerReader
from trading_runtime.store.writer import LedgerWriter
from trading_runtime.store.writes import LedgerRepository

REPOSITORY_ROOT = Path(__file__).resolve().parents[3]


def row_count(engine: Engine, table: type) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def set_database_reachable(server_url: URL, database_url: str, reachable: bool) -> None:
    """Open or close the database to new connections and cut the existing ones."""
    url = make_url(database_url)
    admin = server_url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = sql.Identifier(url.database or "")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(
            sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
                name, sql.SQL("true" if reachable else "false")
            )
        )
        if not reachable:
            connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (url.database,),
            )


def test_a_database_outage_loses_and_doubles_nothing(
    engine: Engine, database_url: str, postgres_server_url: URL, tmp_path: Path
) -> None:
    ledger = LedgerRepository(engine)
    reads = LedgerReader(engine)
    session_id = b.open_session(engine)
    order = b.intent(qty="10")
    first_fill = b.fill_update(order, "x-1", "4", "100.01", "4", "100.01", b.at(0, 2))
    second_fill = b.fill_update(order, "x-2", "6", "100.03", "10", "100.022", b.at(0, 3))

    async def scenario() -> None:
        writer = LedgerWriter(ledger, tmp_path, retry_initial_s=0.05, retry_max_s=0.2)
        await writer.start()
        writer.submit(RecordDecisions(session_id, (b.decision(order=order),)))
        writer.submit(RecordOrderSubmitted(session_id, order, b.snapshot(order), None, b.at(0)))
        writer.submit(RecordOrderUpdate(session_id, first_fill, None))
        assert await writer.flush(timeout_s=10)

        await asyncio.to_thread(set_database_reachable, postgres_server_url, database_url, False)
        writer.submit(RecordOrderUpdate(session_id, first_fill, None))  # a replayed update
        writer.submit(RecordOrderUpdate(session_id, second_fill, None))
        writer.submit(RecordAccount(session_id, b.account(1)))
        writer.submit(RecordDecisions(session_id, (b.decision("MSFT", 1, Action.HOLD, 0.4),)))
        await eventually_async(lambda: writer.stats.spooled == 4, timeout_s=10)
        await eventually_async(lambda: writer.stats.retries >= 2, timeout_s=10)
        spooled = (tmp_path / f"session-{session_id}.jsonl").read_text().splitlines()
        assert len(spooled) == 4
        writer.submit(EndSession(session_id, SessionStatus.COMPLETED, b.at(390)))
        await eventually_async(lambda: writer.stats.spooled == 5, timeout_s=10)

        await asyncio.to_thread(set_database_reachable, postgres_server_url, database_url, True)
        assert await writer.flush(timeout_s=15)
        assert await writer.stop(timeout_s=5) == 0
        stats = writer.stats
        assert (stats.written, stats.replayed, stats.failed) == (8, 5, 0)

    asyncio.run(scenario())

    assert list(tmp_path.glob("session-*.jsonl")) == []
    assert row_count(engine, FillRow) == 2
    assert row_count(engine, DecisionRow) == 2
    assert row_count(engine, AccountSnapshotRow) == 1
    assert row_count(engine, OrderEventRow) == 2
    recorded = reads.orders_for_session(session_id)[0]
    assert (recorded.status, recorded.filled_qty, recorded.filled_avg_price) == (
        OrderStatus.FILLED,
        b.intent(qty="10").qty,
        second_fill.order.filled_avg_price,
    )
    assert reads.session_info(session_id).status is SessionStatus.COMPLETED


CRASHING_WRITER = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from pathlib import Path

    from tests.support import store_builders as b
    from tests.support.eventually import eventually_async
    from trading_runtime.store import LedgerRepository, LedgerWriter, create_engine_for
    from trading_runtime.store.operations import RecordAccount, RecordEngineEvent, RecordOrderUpdate

    unreachable_url, spool_dir, session_id = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])

    async def main():
        ledger = LedgerRepository(create_engine_for(unreachable_url, connect_timeout_s=2))
        writer = LedgerWriter(ledger, spool_dir, retry_initial_s=5)
        await writer.start()
        order = b.intent("tp-b-crash", qty="2")
        writer.submit(RecordOrderUpdate(
            session_id, b.fill_update(order, "crash-x-1", "2", "50.5", "2", "50.5", b.at(3)), None
        ))
        writer.submit(RecordAccount(session_id, b.account(3, "99999.99")))
        writer.submit(RecordEngineEvent(session_id, "kill_switch", {"reason": "test"}, b.at(3)))
        await eventually_async(lambda: writer.stats.spooled == 3, timeout_s=20)
        print("spooled", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # no flush, no stop, no cleanup

    asyncio.run(main())
    """
)


def test_a_new_writer_replays_the_spool_of_a_killed_process(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    ledger = LedgerRepository(engine)
    reads = LedgerReader(engine)
    session_id = b.open_session(engine)
    unreachable = make_url(database_url).set(database="tp_does_not_exist")
    script = tmp_path / "crashing_writer.py"
    script.write_text(CRASHING_WRITER)
    spool_dir = tmp_path / "spool"
    result = subprocess.run(
        [
            sys.executable,
            str(script),
            unreachable.render_as_string(hide_password=False),
            str(spool_dir),
            str(session_id),
        ],
        cwd=REPOSITORY_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == -9, result.stderr[-2000:]
    assert result.stdout.strip() == "spooled"
    spool_file = spool_dir / f"session-{session_id}.jsonl"
    spooled = spool_file.read_text()
    assert len(spooled.splitlines()) == 3

    async def restart() -> None:
        writer = LedgerWriter(ledger, spool_dir)
        await writer.start()
        assert await writer.flush(timeout_s=10)
        assert await writer.stop(timeout_s=5) == 0
        assert writer.stats.replayed == 3

    asyncio.run(restart())
    assert list(spool_dir.glob("session-*.jsonl")) == []

    # A crash after the replay committed but before the file was deleted: the same lines are
    # replayed again, and change nothing.
    spool_file.write_text(spooled)
    asyncio.run(restart())

    assert list(spool_dir.glob("session-*.jsonl")) == []
    assert row_count(engine, FillRow) == 1
    assert row_count(engine, OrderEventRow) == 1
    assert row_count(engine, AccountSnapshotRow) == 1
    (fill,) = reads.fills_for_session(session_id)
    assert (fill.execution_id, fill.qty, fill.price) == ("crash-x-1", Decimal("2"), Decimal("50.5"))
    assert reads.orders_for_session(session_id)[0].status is OrderStatus.FILLED
    assert [e["kind"] for e in reads.engine_events(session_id)] == ["kill_switch"]
    assert reads.session_summary(session_id).last_account == b.account(3, "99999.99")
