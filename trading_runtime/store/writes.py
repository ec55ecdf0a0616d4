"""The ledger's one write path: :meth:`LedgerRepository.apply` performs one operation.

Each operation (see ``operations.py``) is applied in its own transaction and is idempotent:

    RecordDecisions         upsert on (session_id, symbol, bar_timestamp)
    RecordOrderSubmitted    insert-or-merge on client_order_id; an older state never
    RecordOrderUpdate       overwrites a newer one (:func:`newer_order_state`), so trade
                            updates and the submission response may arrive in any order;
                            the update's event is kept once in order_events, its fill once
                            in fills (on execution_id)
    RecordOrderRejected     the order as rejected (unless the id names a live order) and
                            the refusal in order_events
    RecordPositions         upsert on (session_id, taken_at, symbol, source)
    RecordAccount           upsert on (session_id, taken_at)
    RecordEngineEvent       insert, ignored on event_id
    EndSession              sets status, end, reason, equity, summary (same values twice:
                            same row); :class:`UnknownSessionError` for an unknown session

Database errors propagate as SQLAlchemy exceptions (``OperationalError`` when the server is
unreachable); the writer decides what is transient. Sessions are opened under a lease by
``sessions.SessionLeases.start_session``.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any, assert_never

from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from trading_runtime.domain import OrderSnapshot, OrderStatus
from trading_runtime.store.db import session_factory
from trading_runtime.store.jsonable import to_jsonable
from trading_runtime.store.models import (
    AccountSnapshotRow,
    DecisionRow,
    EngineEventRow,
    FillRow,
    OrderEventRow,
    OrderRow,
    PositionSnapshotRow,
    TradingSessionRow,
)
from trading_runtime.store.operations import (
    EndSession,
    LedgerOperation,
    RecordAccount,
    RecordDecisions,
    RecordEngineEvent,
    RecordOrderRejected,
    RecordOrderSubmitted,
    RecordOrderUpdate,
    RecordPositions,
    UnknownSessionError,
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


class LedgerRepository:
    """Applies ledger operations; one transaction per operation. Thread-safe (one database
    session per call), so the async writer can drive it from a worker thread."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sessions = session_factory(engine)

    @property
    def engine(self) -> Engine:
        return self._engine

    def apply(self, operation: LedgerOperation) -> None:
        """Perform ``operation`` (idempotent; see the module docstring)."""
        with self._sessions.begin() as session:
            match operation:
                case RecordDecisions():
                    _record_decisions(session, operation)
                case RecordOrderSubmitted():
                    _record_order_submitted(session, operation)
                case RecordOrderRejected():
                    _record_order_rejected(session, operation)
                case RecordOrderUpdate():
                    _record_order_update(session, operation)
                case RecordPositions():
                    _record_positions(session, operation)
                case RecordAccount():
                    _record_account(session, operation)
                case RecordEngineEvent():
                    _record_engine_event(session, operation)
                case EndSession():
                    _end_session(session, operation)
                case _:
                    assert_never(operation)


# --- sessions and decisions ------------------------------------------------------------------


def _end_session(session: Session, operation: EndSession) -> None:
    row = session.get(TradingSessionRow, operation.session_id, with_for_update=True)
    if row is None:
        raise UnknownSessionError(f"no trading session {operation.session_id}")
    row.status = operation.status.value
    row.ended_at = operation.ended_at
    row.end_reason = operation.reason
    row.ending_equity = operation.ending_equity
    row.summary = operation.summary


def _record_decisions(session: Session, operation: RecordDecisions) -> None:
    rows: dict[tuple[str, dt.datetime], dict[str, Any]] = {}
    for decision in operation.decisions:
        prediction = decision.prediction
        rows[(decision.symbol, decision.timestamp)] = {
            "session_id": operation.session_id,
            "symbol": decision.symbol,
            "bar_timestamp": decision.timestamp,
            "model_version_id": prediction.model_version_id if prediction else None,
            "p_down": _finite(prediction.p_down) if prediction else None,
            "p_flat": _finite(prediction.p_flat) if prediction else None,
            "p_up": _finite(prediction.p_up) if prediction else None,
            "price": _price_decimal(prediction.price) if prediction else None,
            "action": decision.action.value,
            "reason": decision.reason,
            "client_order_id": decision.intent.client_order_id if decision.intent else None,
        }
    if not rows:
        return
    statement = insert(DecisionRow).values(list(rows.values()))
    updated = (
        "model_version_id",
        "p_down",
        "p_flat",
        "p_up",
        "price",
        "action",
        "reason",
        "client_order_id",
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[DecisionRow.session_id, DecisionRow.symbol, DecisionRow.bar_timestamp],
            set_={name: statement.excluded[name] for name in updated},
        )
    )


# --- orders and fills ------------------------------------------------------------------------


def _record_order_submitted(session: Session, operation: RecordOrderSubmitted) -> None:
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


def _record_order_rejected(session: Session, operation: RecordOrderRejected) -> None:
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


def _record_order_update(session: Session, operation: RecordOrderUpdate) -> None:
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


# --- snapshots and events --------------------------------------------------------------------


def _record_positions(session: Session, operation: RecordPositions) -> None:
    prices = operation.prices or {}
    rows = [
        {
            "session_id": operation.session_id,
            "taken_at": operation.taken_at,
            "symbol": symbol,
            "qty": position.qty,
            "avg_entry_price": position.avg_entry_price,
            "market_value": position.qty * prices[symbol] if symbol in prices else None,
            "source": operation.source,
        }
        for symbol, position in operation.positions.items()
    ]
    if not rows:
        return
    statement = insert(PositionSnapshotRow).values(rows)
    session.execute(
        statement.on_conflict_do_update(
            constraint="uq_position_snapshots_session_id_taken_at_symbol_source",
            set_={
                name: statement.excluded[name]
                for name in ("qty", "avg_entry_price", "market_value")
            },
        )
    )


def _record_account(session: Session, operation: RecordAccount) -> None:
    account = operation.account
    statement = insert(AccountSnapshotRow).values(
        session_id=operation.session_id,
        taken_at=account.timestamp,
        cash=account.cash,
        buying_power=account.buying_power,
        equity=account.equity,
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[AccountSnapshotRow.session_id, AccountSnapshotRow.taken_at],
            set_={name: statement.excluded[name] for name in ("cash", "buying_power", "equity")},
        )
    )


def _record_engine_event(session: Session, operation: RecordEngineEvent) -> None:
    session.execute(
        insert(EngineEventRow)
        .values(
            event_id=operation.event_id,
            session_id=operation.session_id,
            occurred_at=operation.occurred_at,
            kind=operation.event_kind,
            detail=operation.detail,
        )
        .on_conflict_do_nothing(index_elements=[EngineEventRow.event_id])
    )


def _price_decimal(price: float | None) -> Decimal | None:
    """A float price as the Decimal of its shortest repr (so ``float(result) == price``)."""
    if price is None or not math.isfinite(price):
        return None
    return Decimal(repr(float(price)))


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None
