"""What a restarted engine rebuilds its risk state from: fills, buys, equity, day trades."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Engine

from tests.support import store_builders as b
from trading_runtime.domain import OrderSide, Position, TradingMode
from trading_runtime.store.operations import (
    RecordOrderRejected,
    RecordOrderSubmitted,
    RecordOrderUpdate,
    RecordPositions,
)
from trading_runtime.store.recovery import RecoveryReader
from trading_runtime.store.sessions import SessionIdentity, SessionLeases
from trading_runtime.store.writes import LedgerRepository

ACCOUNT = "acct-recovery"
MONDAY = dt.date(2026, 11, 30)  # after Thanksgiving: the window reaches back to 11-23


def session_on(engine: Engine, day: dt.date, started_minute: int = 0) -> int:
    """A finished paper session of ACCOUNT on ``day`` (its lease released)."""
    leases = SessionLeases(engine)
    lease = leases.acquire(SessionIdentity(ACCOUNT, day, TradingMode.PAPER), "test")
    session_id = leases.start_session(
        lease,
        **b.start_session_kwargs(started_at=b.at(started_minute), starting_equity=None),
    )
    leases.release(lease)
    return session_id


def trade(
    ledger: LedgerRepository, session_id: int, cid: str, side: OrderSide, qty: str, minute: int
) -> None:
    order = b.intent(cid, side=side, qty=qty, minute=minute)
    ledger.apply(RecordOrderSubmitted(session_id, order, b.snapshot(order), None, b.at(minute)))
    update = b.fill_update(order, f"x-{cid}", qty, "100", qty, "100", b.at(minute, 5))
    ledger.apply(RecordOrderUpdate(session_id, update, None))


def overnight(ledger: LedgerRepository, session_id: int, qty: str, minute: int = 0) -> None:
    held = {"AAPL": Position("AAPL", Decimal(qty), Decimal("90"))}
    ledger.apply(RecordPositions(session_id, held, "broker", b.at(minute)))


def test_a_restart_reads_the_days_fills_buys_and_starting_equity(engine: Engine) -> None:
    ledger = LedgerRepository(engine)
    reader = RecoveryReader(engine)
    who = SessionIdentity(ACCOUNT, b.DAY, TradingMode.PAPER)
    leases = SessionLeases(engine)
    lease = leases.acquire(who, "first")
    first = leases.start_session(lease, **b.start_session_kwargs())  # equity 100000.00
    trade(ledger, first, "b-1", OrderSide.BUY, "10", 1)
    trade(ledger, first, "s-1", OrderSide.SELL, "10", 2)
    refused = b.intent("b-refused", minute=3)
    ledger.apply(RecordOrderRejected(first, b.rejection(refused), None))
    unknown = b.intent("b-unknown", minute=4)  # sent, no answer before the crash
    ledger.apply(RecordOrderSubmitted(first, unknown, None, None, b.at(4)))
    leases.release(lease)
    lease = leases.acquire(who, "restarted")
    second = leases.start_session(
        lease, **b.start_session_kwargs(started_at=b.at(30), starting_equity=Decimal("99000"))
    )
    trade(ledger, second, "b-2", OrderSide.BUY, "5", 31)
    other_account = b.open_session(engine, b.identity("someone-else"))
    trade(ledger, other_account, "b-other", OrderSide.BUY, "1", 1)

    assert [f.execution_id for f in reader.session_fills(first)] == ["x-b-1", "x-s-1"]
    assert [f.execution_id for f in reader.day_fills(who)] == ["x-b-1", "x-s-1", "x-b-2"]
    assert reader.buys_submitted(who) == {"AAPL": 3}  # b-1, b-unknown, b-2; not the refused
    assert reader.day_starting_equity(who) == Decimal("100000.00")


def test_day_trades_over_five_trading_days_are_counted_by_finra_rules(engine: Engine) -> None:
    ledger = LedgerRepository(engine)
    reader = RecoveryReader(engine)
    # 11-20 (Friday): outside the window; one day trade.
    friday = session_on(engine, dt.date(2026, 11, 20))
    trade(ledger, friday, "f-b", OrderSide.BUY, "10", 1)
    trade(ledger, friday, "f-s", OrderSide.SELL, "10", 2)
    # 11-23 (Monday): two round trips, partial exits in one run: two day trades.
    monday = session_on(engine, dt.date(2026, 11, 23))
    trade(ledger, monday, "m-b1", OrderSide.BUY, "10", 1)
    trade(ledger, monday, "m-s1", OrderSide.SELL, "4", 2)
    trade(ledger, monday, "m-s2", OrderSide.SELL, "6", 3)
    trade(ledger, monday, "m-b2", OrderSide.BUY, "10", 4)
    trade(ledger, monday, "m-s3", OrderSide.SELL, "10", 5)
    # 11-25: 50 held overnight, sold before any purchase, bought back: no day trade.
    wednesday = session_on(engine, dt.date(2026, 11, 25))
    overnight(ledger, wednesday, "50")
    trade(ledger, wednesday, "w-s", OrderSide.SELL, "50", 1)
    trade(ledger, wednesday, "w-b", OrderSide.BUY, "50", 2)
    # 11-27, two sessions: bought in the first, sold after a restart: one day trade.
    early = session_on(engine, dt.date(2026, 11, 27))
    overnight(ledger, early, "50")
    trade(ledger, early, "e-b", OrderSide.BUY, "5", 1)
    late = session_on(engine, dt.date(2026, 11, 27), started_minute=60)
    overnight(ledger, late, "55", minute=60)  # mid-day snapshot: not the overnight position
    trade(ledger, late, "e-s", OrderSide.SELL, "5", 61)

    who = SessionIdentity(ACCOUNT, MONDAY, TradingMode.PAPER)
    assert reader.day_trades(who) == (
        dt.date(2026, 11, 23),
        dt.date(2026, 11, 23),
        dt.date(2026, 11, 27),
    )
    assert reader.overnight_positions(
        SessionIdentity(ACCOUNT, dt.date(2026, 11, 27), TradingMode.PAPER)
    ) == {"AAPL": Decimal("50")}
    # Another mode of the same account is another book.
    assert reader.day_trades(SessionIdentity(ACCOUNT, MONDAY, TradingMode.LIVE)) == ()
