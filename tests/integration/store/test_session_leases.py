"""Session leases against Postgres: one holder per (account, day, mode), races, expiry, recovery."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from tests.support import store_builders as b
from tests.support.eventually import eventually
from trading_runtime.domain import SessionStatus, TradingMode
from trading_runtime.store.reads import LedgerReader
from trading_runtime.store.sessions import (
    SessionLeaseHeldError,
    SessionLeaseLostError,
    SessionLeases,
)

REPOSITORY_ROOT = Path(__file__).resolve().parents[3]


def test_a_second_engine_is_refused_with_the_holder_named(engine: Engine) -> None:
    leases = SessionLeases(engine)
    who = b.identity("acct-1")
    first = leases.acquire(who, "host-a pid 1")
    with pytest.raises(SessionLeaseHeldError, match="held by host-a pid 1") as refused:
        leases.acquire(who, "host-b pid 2")
    assert refused.value.holder.owner == "host-a pid 1"
    assert "paper" not in str(refused.value) and "sim account acct-1" in str(refused.value)
    # Another day, mode or account is another session: not refused.
    leases.acquire(b.identity("acct-1", mode=TradingMode.PAPER), "host-b pid 2")
    leases.acquire(b.identity("acct-2"), "host-b pid 2")
    assert leases.release(first)
    assert not leases.release(first)  # idempotent
    leases.acquire(who, "host-b pid 2")


def test_heartbeats_keep_a_lease_and_a_lost_lease_is_reported(engine: Engine) -> None:
    leases = SessionLeases(engine, ttl_s=0.3)
    who = b.identity()
    lease = leases.acquire(who, "first")
    renewed = leases.heartbeat(lease)
    assert renewed.expires_at > lease.expires_at
    # Expired but not taken: still this holder's, renewed by the next heartbeat.
    eventually(lambda: leases.holder(who).expired, timeout_s=5)  # type: ignore[union-attr]
    renewed = leases.heartbeat(renewed)
    assert not leases.holder(who).expired  # type: ignore[union-attr]
    eventually(lambda: leases.holder(who).expired, timeout_s=5)  # type: ignore[union-attr]
    leases.acquire(who, "second")
    with pytest.raises(SessionLeaseLostError, match="now held by second"):
        leases.heartbeat(renewed)
    with pytest.raises(SessionLeaseLostError):
        leases.start_session(renewed, **b.start_session_kwargs())


def test_threads_racing_for_one_lease_yield_exactly_one_holder(engine: Engine) -> None:
    leases = SessionLeases(engine)
    who = b.identity()
    start = threading.Barrier(8)
    won: list[str] = []
    refused: list[str] = []

    def contend(name: str) -> None:
        start.wait()
        try:
            leases.acquire(who, name)
        except SessionLeaseHeldError as error:
            refused.append(error.holder.owner)
        else:
            won.append(name)

    threads = [threading.Thread(target=contend, args=(f"t{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(won) == 1 and len(refused) == 7
    assert set(refused) == set(won)  # every refusal names the winner


RACER = textwrap.dedent(
    """
    import sys
    from sqlalchemy.engine import make_url
    from tests.support import store_builders as b
    from trading_runtime.store import SessionLeaseHeldError, SessionLeases, create_engine_for

    url, name = sys.argv[1], sys.argv[2]
    leases = SessionLeases(create_engine_for(url))
    print("ready", flush=True)
    sys.stdin.readline()  # the starting gun
    try:
        lease = leases.acquire(b.identity("acct-race"), name)
        session_id = leases.start_session(lease, **b.start_session_kwargs())
    except SessionLeaseHeldError as error:
        print("refused", error.holder.owner, flush=True)
    else:
        print("won", session_id, flush=True)
    """
)


def test_processes_racing_for_one_lease_yield_exactly_one_session(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    script = tmp_path / "racer.py"
    script.write_text(RACER)
    racers = [
        subprocess.Popen(
            [sys.executable, str(script), database_url, f"process-{i}"],
            cwd=REPOSITORY_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPOSITORY_ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    for racer in racers:
        assert racer.stdout is not None and racer.stdout.readline().strip() == "ready"
    for racer in racers:
        assert racer.stdin is not None
        racer.stdin.write("go\n")
        racer.stdin.flush()
    results = [racer.communicate(timeout=60)[0].split() for racer in racers]
    winners = [r for r in results if r[0] == "won"]
    assert len(winners) == 1
    winner = f"process-{results.index(winners[0])}"
    assert all(r == ["refused", winner] for r in results if r[0] == "refused")
    with engine.connect() as connection:
        running = connection.execute(
            text("select count(*) from trading_sessions where status = 'running'")
        ).scalar_one()
    assert running == 1


def test_an_expired_lease_is_recovered_and_its_orphan_marked_interrupted(engine: Engine) -> None:
    leases = SessionLeases(engine, ttl_s=0.2)
    reads = LedgerReader(engine)
    who = b.identity()
    crashed = leases.acquire(who, "killed engine")
    orphan = leases.start_session(crashed, **b.start_session_kwargs())
    # The engine dies without releasing: nobody may take over until the lease expires.
    with pytest.raises(SessionLeaseHeldError):
        leases.acquire(who, "restarted engine")
    eventually(lambda: leases.holder(who).expired, timeout_s=5)  # type: ignore[union-attr]

    lease = leases.acquire(who, "restarted engine")
    assert lease.previous is not None and lease.previous.owner == "killed engine"
    assert lease.previous.session_id == orphan
    [recovered] = lease.recovered
    assert recovered.session_id == orphan
    info = reads.session_info(orphan)
    assert info.status is SessionStatus.INTERRUPTED and info.ended_at is not None
    assert info.end_reason is not None and "lease of killed engine expired" in info.end_reason
    # A sim replay opens its own session; a paper/live restart re-opens the same key.
    replay = leases.start_session(lease, **b.start_session_kwargs())
    assert replay != orphan
    assert reads.session_info(replay).status is SessionStatus.RUNNING


def test_a_restart_with_the_same_key_reopens_the_session_and_keeps_its_starting_equity(
    engine: Engine,
) -> None:
    leases = SessionLeases(engine, ttl_s=0.2)
    reads = LedgerReader(engine)
    who = b.identity(mode=TradingMode.PAPER)
    key = "paper-acct-2026-11-25"
    first = leases.start_session(
        leases.acquire(who, "first"), **b.start_session_kwargs(session_key=key)
    )
    eventually(lambda: leases.holder(who).expired, timeout_s=5)  # type: ignore[union-attr]
    lease = leases.acquire(who, "second")
    again = leases.start_session(
        lease, **b.start_session_kwargs(session_key=key, starting_equity=Decimal("1"))
    )
    assert again == first
    info = reads.session_info(first)
    assert info.status is SessionStatus.RUNNING and info.end_reason is None
    assert info.starting_equity == Decimal("100000.00")  # the day's first, not the restart's
    with pytest.raises(ValueError, match="another identity"):
        other = leases.acquire(b.identity(), "third")
        leases.start_session(other, **b.start_session_kwargs(session_key=key))


def test_the_database_refuses_two_running_sessions_of_one_identity(engine: Engine) -> None:
    # Even a caller that bypasses the lease cannot run two sessions at once.
    who = b.identity()
    b.open_session(engine, who)
    with engine.begin() as connection:
        key, account, day, mode = connection.execute(
            text("select session_key, account_id, trading_day, mode from trading_sessions")
        ).one()
    refused = pytest.raises(IntegrityError, match="uq_trading_sessions_one_running")
    with refused, engine.begin() as connection:
        connection.execute(
            text(
                "insert into trading_sessions (session_key, account_id, mode, trading_day, "
                "started_at, status, symbols) values (:key, :account, :mode, :day, now(), "
                "'running', '[]')"
            ),
            {"key": key + "-2", "account": account, "mode": mode, "day": day},
        )
