"""The ledger's one write path: :meth:`LedgerRepository.apply` performs one operation.

Each operation (see ``operations.py``) is applied in its own transaction and is idempotent:

    RecordDecisions         upsert on (session_id, symbol, bar_timestamp)
    RecordHolds             the same upsert for a minute of HOLDs, COPYed in one batch
    RecordOrderSubmitted    insert-or-merge on client_order_id (``order_writes.py``): an older
    RecordOrderUpdate       state never overwrites a newer one, so trade
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

from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from trading_runtime.domain import Action
from trading_runtime.store.db import session_factory
from trading_runtime.store.models import (
    AccountSnapshotRow,
    DecisionRow,
    EngineEventRow,
    PositionSnapshotRow,
    TradingSessionRow,
)
from trading_runtime.store.operations import (
    EndSession,
    LedgerOperation,
    RecordAccount,
    RecordDecisions,
    RecordEngineEvent,
    RecordHolds,
    RecordOrderRejected,
    RecordOrderSubmitted,
    RecordOrderUpdate,
    RecordPositions,
    UnknownSessionError,
)
from trading_runtime.store.order_writes import (
    record_order_rejected,
    record_order_submitted,
    record_order_update,
)
from trading_runtime.strategy.rules import hold_reason


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
                case RecordHolds():
                    _record_holds(session, operation)
                case RecordOrderSubmitted():
                    record_order_submitted(session, operation)
                case RecordOrderRejected():
                    record_order_rejected(session, operation)
                case RecordOrderUpdate():
                    record_order_update(session, operation)
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
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[DecisionRow.session_id, DecisionRow.symbol, DecisionRow.bar_timestamp],
            set_={name: statement.excluded[name] for name in _UPDATED_ON_CONFLICT},
        )
    )


_HOLDS_STAGING = "held_decisions_staging"
_UPDATED_ON_CONFLICT = (
    "model_version_id",
    "p_down",
    "p_flat",
    "p_up",
    "price",
    "action",
    "reason",
    "client_order_id",
)


def _record_holds(session: Session, operation: RecordHolds) -> None:
    """COPY the minute's rows into a transaction-scoped staging table, then upsert them into
    ``decisions`` with one statement (the same rows and conflict rule as
    :func:`_record_decisions`)."""
    if not len(operation):
        return
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {_HOLDS_STAGING} (symbol text, p_down float8, "
            "p_flat float8, p_up float8, price numeric, reason text) ON COMMIT DELETE ROWS"
        )
        columns = "symbol, p_down, p_flat, p_up, price, reason"
        with cursor.copy(f"COPY {_HOLDS_STAGING} ({columns}) FROM STDIN") as copy:
            for symbol, p_down, p_flat, p_up, price in zip(
                operation.symbols,
                operation.p_down,
                operation.p_flat,
                operation.p_up,
                operation.prices,
                strict=True,
            ):
                copy.write_row(
                    (
                        symbol,
                        _finite(p_down),
                        _finite(p_flat),
                        _finite(p_up),
                        _price_decimal(price),
                        hold_reason(p_up, operation.buy_threshold),
                    )
                )
        updates = ", ".join(f"{name} = excluded.{name}" for name in _UPDATED_ON_CONFLICT)
        cursor.execute(
            "INSERT INTO decisions (session_id, symbol, bar_timestamp, model_version_id, "
            "p_down, p_flat, p_up, price, action, reason, client_order_id) "
            f"SELECT %s, symbol, %s, %s, p_down, p_flat, p_up, price, %s, reason, NULL "
            f"FROM {_HOLDS_STAGING} "
            "ON CONFLICT (session_id, symbol, bar_timestamp) DO UPDATE SET " + updates,
            (
                operation.session_id,
                operation.bar_timestamp,
                operation.model_version_id,
                Action.HOLD.value,
            ),
        )
    finally:
        cursor.close()


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
