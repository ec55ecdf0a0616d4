"""The ledger against Postgres: idempotent writes, exact decimals, order lifecycles, reports."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from tests.support import store_builders as b
from trading_runtime.domain import (
    Action,
    Decision,
    OrderSide,
    SessionStatus,
)
from trading_runtime.store.models import (
    AccountSnapshotRow,
    DecisionRow,
    EngineEventRow,
    PositionSnapshotRow,
    TradingSessionRow,
)
from trading_runtime.store.operations import (
    EndSession,
    RecordAccount,
    RecordDecisions,
    RecordEngineEvent,
    RecordOrderSubmitted,
    RecordOrderUpdate,
    RecordPositions,
    UnknownSessionError,
)

# --- sessions -------------------------------------------------------------------------------------


def test_a_session_is_opened_and_closed_with_its_summary(ledger: b.Ledger) -> None:
    session_id = b.open_session(
        ledger.engine, config={"alpaca_secret_key": "sk-live", "threshold": 0.75}
    )
    ledger.apply(
        EndSession(
            session_id,
            SessionStatus.COMPLETED,
            b.at(390),
            Decimal("100250.1234"),
            {"fills": 3, "pnl": Decimal("250.1234")},
            reason="session closed",
        )
    )
    info = ledger.reads.session_info(session_id)
    assert info.status is SessionStatus.COMPLETED
    assert info.end_reason == "session closed"
    assert info.starting_equity == Decimal("100000.00")  # the NUMERIC column
    assert info.ending_equity == Decimal("100250.1234")
    assert info.ended_at == b.at(390)
    assert info.summary == {"fills": 3, "pnl": "250.1234"}
    with ledger.engine.connect() as connection:
        config = connection.execute(select(TradingSessionRow.config)).scalar_one()
    assert config == {"alpaca_secret_key": "***", "threshold": 0.75}


def test_ending_an_unknown_session_raises(ledger: b.Ledger) -> None:
    with pytest.raises(UnknownSessionError):
        ledger.apply(EndSession(999_999, SessionStatus.COMPLETED, b.at(390)))
    with pytest.raises(ValueError, match="paused"):
        EndSession(1, "paused", b.at(390))  # type: ignore[arg-type]


# --- decisions ------------------------------------------------------------------------------------


def test_recording_the_same_decisions_twice_stores_them_once(
    ledger: b.Ledger, session_id: int, engine: Engine
) -> None:
    model_id = b.register_model(engine)
    order = b.intent()
    decisions = [
        b.decision("AAPL", 0, Action.BUY, 0.81, 187.25, model_id, order),
        b.decision("MSFT", 0, Action.HOLD, 0.5, 410.0, model_id),
    ]
    ledger.apply(RecordDecisions(session_id, decisions), RecordDecisions(session_id, decisions))
    assert b.count_rows(engine, DecisionRow) == 2

    rows = ledger.reads.decisions_for_session(session_id)
    aapl = next(row for row in rows if row["symbol"] == "AAPL")
    assert aapl["client_order_id"] == order.client_order_id
    assert aapl["model_version_id"] == model_id
    assert aapl["price"] == Decimal("187.25")
    assert aapl["p_up"] == 0.81


def test_a_later_decision_for_the_same_bar_replaces_the_earlier(
    ledger: b.Ledger, session_id: int, engine: Engine
) -> None:
    ledger.apply(RecordDecisions(session_id, [b.decision(action=Action.HOLD, p_up=0.5)]))
    ledger.apply(RecordDecisions(session_id, [b.decision(action=Action.BUY, p_up=0.9)]))
    rows = ledger.reads.decisions_for_session(session_id)
    assert [(row["action"], row["p_up"]) for row in rows] == [("buy", 0.9)]


def test_a_decision_for_an_unknown_model_version_is_refused(
    ledger: b.Ledger, session_id: int
) -> None:
    with pytest.raises(IntegrityError):
        ledger.apply(RecordDecisions(session_id, [b.decision(model_version_id=424242)]))


def test_quantities_and_prices_round_trip_exactly(ledger: b.Ledger, session_id: int) -> None:
    order = b.intent(qty="0.123456789", limit_price="187.0012")
    ledger.apply(RecordOrderSubmitted(session_id, order, None, None, b.at(0)))
    update = b.fill_update(
        order,
        "x-1",
        "0.123456789",
        "187.00119999",
        "0.123456789",
        "187.00119999",
        b.at(0, 2),
        fee="0.000001",
    )
    ledger.apply(RecordOrderUpdate(session_id, update, None))
    recorded = ledger.reads.orders_for_session(session_id)[0]
    fill = ledger.reads.fills_for_session(session_id)[0]
    assert str(recorded.qty) == "0.123456789"
    assert str(recorded.limit_price) == "187.0012"
    assert str(fill.price) == "187.00119999"
    assert str(fill.fee) == "0.000001"
    assert fill.to_domain() == update.fill


def test_net_positions_are_computed_from_fills(ledger: b.Ledger, session_id: int) -> None:
    fills = [
        (b.intent("tp-b-1", "AAPL", qty="10"), "100.10", b.at(0, 2)),
        (b.intent("tp-s-1", "AAPL", OrderSide.SELL, qty="4", minute=5), "101.30", b.at(5, 2)),
        (b.intent("tp-b-2", "MSFT", qty="0.5"), "410", b.at(0, 3)),
        (b.intent("tp-s-2", "MSFT", OrderSide.SELL, qty="0.5", minute=6), "410", b.at(6, 2)),
    ]
    for order, price, when in fills:
        qty = str(order.qty)
        update = b.fill_update(order, f"x-{order.client_order_id}", qty, price, qty, price, when)
        ledger.apply(RecordOrderUpdate(session_id, update, None))
    assert ledger.reads.net_positions_from_fills(session_id) == {"AAPL": Decimal("6")}

    summary = ledger.reads.session_summary(session_id)
    assert summary.net_positions == {"AAPL": Decimal("6")}
    aapl = summary.activity["AAPL"]
    assert (aapl.bought_qty, aapl.sold_qty) == (Decimal("10"), Decimal("4"))
    assert aapl.bought_notional == Decimal("1001.000")
    assert aapl.sold_notional == Decimal("405.200")
    assert summary.activity["MSFT"].net_cash_flow == Decimal("0")
    assert summary.fill_count == len(summary.fills) == 4
    assert summary.orders_by_status == {"filled": 4}
    assert [o.client_order_id for o in summary.orders] == ["tp-b-1", "tp-s-1", "tp-b-2", "tp-s-2"]


# --- snapshots, events, reports -------------------------------------------------------------


def test_snapshots_and_engine_events_are_idempotent(
    ledger: b.Ledger, session_id: int, engine: Engine
) -> None:
    for _ in range(2):
        ledger.apply(
            RecordPositions(
                session_id, b.positions(), "broker", b.at(1), {"AAPL": Decimal("101.5")}
            )
        )
        ledger.apply(RecordPositions(session_id, b.positions(), "ledger", b.at(1)))
        ledger.apply(RecordAccount(session_id, b.account(1)))
    event = RecordEngineEvent(session_id, "kill_switch", {"loss": Decimal("-3.5")}, b.at(2))
    ledger.apply(event, event)  # a replayed event is stored once
    ledger.apply(RecordEngineEvent(session_id, "kill_switch", {"loss": "-3.5"}, b.at(2)))  # another

    assert b.count_rows(engine, PositionSnapshotRow) == 4
    assert b.count_rows(engine, AccountSnapshotRow) == 1
    assert b.count_rows(engine, EngineEventRow) == 2
    with engine.connect() as connection:
        market_value = connection.execute(
            select(PositionSnapshotRow.market_value).where(
                PositionSnapshotRow.symbol == "AAPL", PositionSnapshotRow.source == "broker"
            )
        ).scalar_one()
    assert market_value == Decimal("1015.0")
    events = ledger.reads.engine_events(session_id, "kill_switch")
    assert events[0]["detail"] == {"loss": "-3.5"}
    assert ledger.reads.session_summary(session_id).last_account == b.account(1)


def test_report_reads_gather_what_a_session_tearsheet_needs(
    ledger: b.Ledger, session_id: int
) -> None:
    model_id = b.register_model(ledger.engine)
    order = b.intent(qty="10", limit_price="100.10")
    ledger.apply(
        RecordPositions(session_id, b.positions(), "broker", b.at(0)),
        RecordPositions(session_id, {"AAPL": b.positions()["AAPL"]}, "broker", b.at(30)),
        RecordAccount(session_id, b.account(5, "100012.34")),
        RecordAccount(session_id, b.account(0, "100000.00")),
        RecordDecisions(
            session_id,
            [
                b.decision(price=100.0, order=order, model_version_id=model_id),
                b.decision("MSFT", action=Action.HOLD, price=410.25, model_version_id=model_id),
            ],
        ),
        RecordDecisions(
            session_id,
            [Decision("AAPL", b.at(1), Action.SKIP, "features warming up", None)],
        ),
        RecordOrderSubmitted(session_id, order, b.snapshot(order), model_id, b.at(0)),
        RecordOrderUpdate(
            session_id,
            b.fill_update(order, "x-1", "10", "100.04", "10", "100.04", b.at(0, 2)),
            model_id,
        ),
        EndSession(session_id, SessionStatus.COMPLETED, b.at(390), Decimal("100012.34")),
    )
    other_day = b.open_session(ledger.engine, b.identity(day=b.DAY + dt.timedelta(days=1)))
    reads = ledger.reads

    assert [s.id for s in reads.sessions_on(b.DAY)] == [session_id]
    assert [s.id for s in reads.sessions_on(b.DAY + dt.timedelta(days=1))] == [other_day]
    assert [a.equity for a in reads.account_snapshots(session_id)] == [
        Decimal("100000.00"),
        Decimal("100012.34"),
    ]
    assert reads.opening_positions(session_id) == b.positions()  # the first snapshot's
    assert reads.opening_positions(other_day) == {}
    assert [(m.symbol, m.price) for m in reads.decision_prices(session_id)] == [
        ("AAPL", Decimal("100.0")),
        ("MSFT", Decimal("410.25")),
    ]  # the warm-up skip has no price
    assert reads.decision_counts(session_id) == {
        (model_id, Action.BUY): 1,
        (model_id, Action.HOLD): 1,
        (None, Action.SKIP): 1,
    }
    [slippage] = reads.slippage_inputs(session_id)
    assert slippage.decision_price == Decimal("100.0")
    assert slippage.limit_price == Decimal("100.10")
    assert slippage.slippage_per_share == Decimal("0.04")
    assert slippage.filled_at == b.at(0, 2)
