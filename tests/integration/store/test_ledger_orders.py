"""The ledger's orders against Postgres: lifecycles, replayed and early trade updates, partial
fills, rejections."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Engine

from tests.support import store_builders as b
from trading_runtime.domain import OrderStatus, OrderUpdated, TradeEventType
from trading_runtime.store.models import FillRow, OrderEventRow, OrderRow
from trading_runtime.store.operations import (
    RecordOrderRejected,
    RecordOrderSubmitted,
    RecordOrderUpdate,
)


def test_order_lifecycle_submitted_partial_fill_fill(
    ledger: b.Ledger, session_id: int, engine: Engine
) -> None:
    model_id = b.register_model(engine)
    order = b.intent(qty="10", limit_price="100.10")
    ledger.apply(RecordOrderSubmitted(session_id, order, b.snapshot(order), model_id, b.at(0)))
    ledger.apply(
        RecordOrderUpdate(
            session_id,
            b.fill_update(order, "x-1", "4", "100.01", "4", "100.01", b.at(0, 2)),
            None,
        )
    )
    partial = ledger.reads.orders_for_session(session_id)[0]
    assert (partial.status, partial.filled_qty, partial.filled_avg_price) == (
        OrderStatus.PARTIALLY_FILLED,
        Decimal("4"),
        Decimal("100.01"),
    )
    ledger.apply(
        RecordOrderUpdate(
            session_id,
            b.fill_update(order, "x-2", "6", "100.07", "10", "100.046", b.at(0, 3), fee="0.02"),
            None,
        )
    )
    final = ledger.reads.orders_for_session(session_id)[0]
    assert final.status is OrderStatus.FILLED
    assert final.filled_qty == Decimal("10")
    assert final.filled_avg_price == Decimal("100.046")
    assert final.model_version_id == model_id
    assert final.decision_bar_timestamp == b.at(0)
    assert final.reason == order.reason

    fills = ledger.reads.fills_for_session(session_id)
    assert [(f.execution_id, f.qty, f.price, f.fee) for f in fills] == [
        ("x-1", Decimal("4"), Decimal("100.01"), Decimal("0")),
        ("x-2", Decimal("6"), Decimal("100.07"), Decimal("0.02")),
    ]
    # Fills inherit the order's model version when the update does not name one.
    assert {f.model_version_id for f in fills} == {model_id}
    assert b.count_rows(engine, OrderEventRow) == 2


def test_replayed_trade_updates_are_stored_once(
    ledger: b.Ledger, session_id: int, engine: Engine
) -> None:
    order = b.intent(qty="10")
    updates = [
        b.status_update(order, TradeEventType.NEW, OrderStatus.NEW, b.at(0, 1)),
        b.fill_update(order, "x-1", "10", "100.05", "10", "100.05", b.at(0, 2)),
    ]
    ledger.apply(RecordOrderSubmitted(session_id, order, None, None, b.at(0)))
    for _ in range(3):
        for update in updates:
            ledger.apply(RecordOrderUpdate(session_id, update, None))
    assert b.count_rows(engine, FillRow) == 1
    assert b.count_rows(engine, OrderEventRow) == 2
    assert b.count_rows(engine, OrderRow) == 1
    assert ledger.reads.orders_for_session(session_id)[0].status is OrderStatus.FILLED


def test_updates_arriving_before_the_submission_response_are_not_rolled_back(
    ledger: b.Ledger, session_id: int
) -> None:
    # The trade-update stream can beat the REST response; a stale 'new' state (or the
    # submission's own snapshot) must not undo a fill.
    order = b.intent(qty="5")
    ledger.apply(
        RecordOrderUpdate(
            session_id, b.fill_update(order, "x-1", "5", "99.5", "5", "99.5", b.at(0, 2)), None
        )
    )
    ledger.apply(RecordOrderSubmitted(session_id, order, b.snapshot(order), None, b.at(0)))
    ledger.apply(
        RecordOrderUpdate(
            session_id,
            b.status_update(order, TradeEventType.NEW, OrderStatus.NEW, b.at(0, 1)),
            None,
        )
    )
    recorded = ledger.reads.orders_for_session(session_id)[0]
    assert recorded.status is OrderStatus.FILLED
    assert recorded.filled_qty == Decimal("5")
    assert recorded.decision_bar_timestamp == b.at(0)  # filled in by the late submission
    assert recorded.reason == order.reason


def test_a_canceled_partial_fill_keeps_its_filled_quantity(
    ledger: b.Ledger, session_id: int
) -> None:
    order = b.intent(qty="10")
    ledger.apply(RecordOrderSubmitted(session_id, order, b.snapshot(order), None, b.at(0)))
    ledger.apply(
        RecordOrderUpdate(
            session_id, b.fill_update(order, "x-1", "3", "100", "3", "100", b.at(0, 2)), None
        )
    )
    canceled = b.snapshot(order, OrderStatus.CANCELED, "3", "100", updated_at=b.at(0, 3))
    ledger.apply(
        RecordOrderUpdate(
            session_id,
            OrderUpdated(event=TradeEventType.CANCELED, order=canceled, timestamp=b.at(0, 3)),
            None,
        )
    )
    recorded = ledger.reads.orders_for_session(session_id)[0]
    assert (recorded.status, recorded.filled_qty) == (OrderStatus.CANCELED, Decimal("3"))


def test_a_rejected_submission_is_recorded_with_the_brokers_reason(
    ledger: b.Ledger, session_id: int, engine: Engine
) -> None:
    order = b.intent()
    ledger.apply(RecordOrderRejected(session_id, b.rejection(order), None))
    ledger.apply(RecordOrderRejected(session_id, b.rejection(order), None))  # replay
    recorded = ledger.reads.orders_for_session(session_id)[0]
    assert recorded.status is OrderStatus.REJECTED
    assert (recorded.reject_code, recorded.reject_message) == (
        40310000,
        "insufficient buying power",
    )
    assert b.count_rows(engine, OrderEventRow, event="rejected") == 1


def test_a_duplicate_id_rejection_does_not_clobber_the_live_order(
    ledger: b.Ledger, session_id: int, engine: Engine
) -> None:
    # After a crash the engine re-submits the same deterministic client_order_id; the broker
    # refuses it, but the first order is real and keeps its state.
    order = b.intent(qty="10")
    ledger.apply(RecordOrderSubmitted(session_id, order, b.snapshot(order), None, b.at(0)))
    ledger.apply(
        RecordOrderUpdate(
            session_id, b.fill_update(order, "x-1", "10", "100", "10", "100", b.at(0, 2)), None
        )
    )
    ledger.apply(
        RecordOrderRejected(
            session_id, b.rejection(order, 40010001, "client_order_id must be unique"), None
        )
    )
    recorded = ledger.reads.orders_for_session(session_id)[0]
    assert recorded.status is OrderStatus.FILLED
    assert recorded.reject_code is None
    assert b.count_rows(engine, OrderEventRow, event="rejected") == 1
