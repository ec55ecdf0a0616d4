"""Order and fill writes of the ledger (applied by ``writes.LedgerRepository``).

Orders merge on client_order_id: an older state never overwrites a newer one
(:func:`newer_order_state`), so trade updates and the submission response may arrive in any
order; each trade update's event is kept once in order_events, its fill once in fills (on
execution_id); a refusal of an id that names a live order leaves that order untouched.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from trading_runtime.domain import OrderSnapshot, OrderStatus
from trading_runtime.store.jsonable import to_jsonable
from trading_runtime.store.models import FillRow, OrderEventRow, OrderRow
from trading_runtime.store.operations import (
    RecordOrderRejected,
    RecordOrderSubmitted,
    RecordOrderUpdate,
)

SUBMIT_REJECTED_EVENT = "rejected"
"""``order_events.event`` of a submission the broker refused (same word as the trade update)."""

# How far an order has progressed; with filled_qty it orders two states of the same order.
_STATUS_RANK = {
    OrderStatus.PENDING_NEW: 0,
    OrderStatus.ACCEPTED: 1,
    OrderStatus.NEW: 1,
    OrderStatus.PARTIALLY_FILLED: 2,
    OrderStatus.PENDING_CANCEL: 2,
    OrderStatus.FILLED: 3,
    OrderStatus.CANCELED: 3,
    OrderStatus.EXPIRED: 3,
    OrderStatus.REJECTED: 3,
}


def newer_order_state(
    current: tuple[OrderStatus, Decimal, dt.datetime],
    incoming: tuple[OrderStatus, Decimal, dt.datetime],
) -> bool:
    """True when ``incoming`` (status, filled qty, broker time) supersedes ``current``.

    Progress decides, not arrival: more filled quantity wins, then a later lifecycle stage
    (terminal beats working), then the broker's timestamp. So a replayed ``new`` event never
    rolls a filled order back.
    """
    current_status, current_filled, current_at = current
    status, filled, at = incoming
    return (filled, _STATUS_RANK[status], at) >= (
        current_filled,
        _STATUS_RANK[current_status],
        current_at,
    )


# --- writes ------------------------------------------------------------------------


def record_order_submitted(session: Session, operation: RecordOrderSubmitted) -> None:
    intent = operation.intent
    values = {
        "session_id": operation.session_id,
        "client_order_id": intent.client_order_id,
        "symbol": intent.symbol,
        "side": intent.side.value,
        "order_type": intent.order_type.value,
        "time_in_force": intent.time_in_force.value,
        "qty": intent.qty,
        "limit_price": intent.limit_price,
        "model_version_id": operation.model_version_id,
        "decision_bar_timestamp": operation.decision_bar_timestamp,
        "reason": intent.reason,
    }
    if operation.snapshot is not None:
        values.update(_snapshot_state(operation.snapshot))
    else:
        values.update(
            status=OrderStatus.PENDING_NEW.value,
            filled_qty=Decimal(0),
            submitted_at=intent.created_at,
            updated_at=intent.created_at,
        )
    _upsert_order(session, values)


def record_order_rejected(session: Session, operation: RecordOrderRejected) -> None:
    """A refusal of an id that already names a live order (a re-submission after a crash,
    caught by the broker's client_order_id uniqueness) leaves that order untouched."""
    rejection = operation.rejection
    intent = rejection.intent
    values = {
        "session_id": operation.session_id,
        "client_order_id": intent.client_order_id,
        "symbol": intent.symbol,
        "side": intent.side.value,
        "order_type": intent.order_type.value,
        "time_in_force": intent.time_in_force.value,
        "qty": intent.qty,
        "limit_price": intent.limit_price,
        "status": OrderStatus.REJECTED.value,
        "filled_qty": Decimal(0),
        "model_version_id": operation.model_version_id,
        "reason": intent.reason,
        "reject_code": rejection.code,
        "reject_message": rejection.message,
        "submitted_at": rejection.timestamp,
        "updated_at": rejection.timestamp,
    }
    inserted = session.execute(
        insert(OrderRow)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[OrderRow.client_order_id])
        .returning(OrderRow.id)
    ).scalar_one_or_none()
    if inserted is None:
        row = _lock_order(session, intent.client_order_id)
        never_placed = row.broker_order_id is None and row.filled_qty == 0
        if never_placed and row.status in (OrderStatus.PENDING_NEW, OrderStatus.REJECTED):
            row.status = OrderStatus.REJECTED.value
            row.reject_code = rejection.code
            row.reject_message = rejection.message
            row.updated_at = max(row.updated_at, rejection.timestamp)
    _insert_event(
        session,
        session_id=operation.session_id,
        client_order_id=intent.client_order_id,
        broker_order_id=None,
        event=SUBMIT_REJECTED_EVENT,
        event_timestamp=rejection.timestamp,
        execution_id=None,
        payload=to_jsonable(rejection),
    )


def record_order_update(session: Session, operation: RecordOrderUpdate) -> None:
    update = operation.update
    values = {
        "session_id": operation.session_id,
        "client_order_id": update.order.client_order_id,
        "symbol": update.order.symbol,
        "side": update.order.side.value,
        "order_type": update.order.order_type.value,
        "time_in_force": update.order.time_in_force.value,
        "qty": update.order.qty,
        "limit_price": update.order.limit_price,
        "model_version_id": operation.model_version_id,
        **_snapshot_state(update.order),
    }
    fill = update.fill
    order = _upsert_order(session, values)
    _insert_event(
        session,
        session_id=operation.session_id,
        client_order_id=update.order.client_order_id,
        broker_order_id=update.order.broker_order_id,
        event=update.event.value,
        event_timestamp=update.timestamp,
        execution_id=fill.execution_id if fill else None,
        payload=to_jsonable(update),
    )
    if fill is not None:
        session.execute(
            insert(FillRow)
            .values(
                execution_id=fill.execution_id,
                session_id=operation.session_id,
                client_order_id=fill.client_order_id,
                broker_order_id=fill.broker_order_id or None,
                symbol=fill.symbol,
                side=fill.side.value,
                qty=fill.qty,
                price=fill.price,
                fee=fill.fee,
                filled_at=fill.timestamp,
                model_version_id=operation.model_version_id or order.model_version_id,
            )
            .on_conflict_do_nothing(index_elements=[FillRow.execution_id])
        )


def _upsert_order(session: Session, values: dict[str, Any]) -> OrderRow:
    """Insert the order, or merge ``values`` into the existing row (under a row lock)."""
    inserted = session.execute(
        insert(OrderRow)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[OrderRow.client_order_id])
        .returning(OrderRow.id)
    ).scalar_one_or_none()
    row = _lock_order(session, values["client_order_id"])
    if inserted is not None:
        return row
    # Facts only one of the two sources knows: fill them in, never erase them.
    for name in ("broker_order_id", "model_version_id", "decision_bar_timestamp", "reason"):
        if getattr(row, name) is None and values.get(name) is not None:
            setattr(row, name, values[name])
    current = (OrderStatus(row.status), row.filled_qty, row.updated_at)
    incoming = (OrderStatus(values["status"]), values["filled_qty"], values["updated_at"])
    if newer_order_state(current, incoming):
        row.status = values["status"]
        row.filled_qty = values["filled_qty"]
        row.updated_at = values["updated_at"]
        if values.get("filled_avg_price") is not None:
            row.filled_avg_price = values["filled_avg_price"]
        row.qty = values["qty"]
        row.limit_price = values["limit_price"]
    return row


def _lock_order(session: Session, client_order_id: str) -> OrderRow:
    return session.execute(
        select(OrderRow).where(OrderRow.client_order_id == client_order_id).with_for_update()
    ).scalar_one()


def _insert_event(session: Session, **values: Any) -> None:
    session.execute(
        insert(OrderEventRow)
        .values(**values)
        .on_conflict_do_nothing(constraint="uq_order_events_dedupe")
    )


def _snapshot_state(snapshot: OrderSnapshot) -> dict[str, Any]:
    return {
        "broker_order_id": snapshot.broker_order_id,
        "status": snapshot.status.value,
        "filled_qty": snapshot.filled_qty,
        "filled_avg_price": snapshot.filled_avg_price,
        "submitted_at": snapshot.submitted_at,
        "updated_at": snapshot.updated_at,
    }
