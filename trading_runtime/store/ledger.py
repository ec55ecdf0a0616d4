"""The trading ledger: sessions, decisions, orders, trade updates, fills and snapshots.

Every write is idempotent, so a write replayed from the spool (see ``writer.py``) or
retried after a lost commit acknowledgement changes nothing the second time:

    decisions           upsert on (session_id, symbol, bar_timestamp)
    orders              insert-or-merge on client_order_id; an older state never
                        overwrites a newer one (see :func:`newer_order_state`), so trade
                        updates and the submission response may arrive in any order
    order_events        insert, ignored on (client_order_id, event, event_timestamp, execution_id)
    fills               insert, ignored on execution_id
    snapshots           upsert on (session_id, taken_at[, symbol, source])
    engine_events       insert, ignored on event_id
    sessions            end_session sets fields (same values twice: same row)

Map:
    LedgerRepository        the writes above plus read helpers for reports and tests
    RecordedOrder, RecordedFill, SymbolActivity, SlippageInput, SessionInfo,
    SessionSummary, DailyReport     frozen read models returned by the helpers

Database errors propagate as SQLAlchemy exceptions (``OperationalError`` when the server is
unreachable); the writer decides what is transient.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Engine, case, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from trading_runtime.domain import (
    AccountSnapshot,
    Decision,
    Fill,
    OrderIntent,
    OrderRejected,
    OrderSide,
    OrderSnapshot,
    OrderStatus,
    OrderUpdated,
    Position,
    TradingMode,
)
from trading_runtime.store.codec import REDACTED, encode, to_jsonable
from trading_runtime.store.db import session_factory
from trading_runtime.store.models import (
    SESSION_STATUSES,
    AccountSnapshotRow,
    DecisionRow,
    EngineEventRow,
    FillRow,
    OrderEventRow,
    OrderRow,
    PositionSnapshotRow,
    TradingSessionRow,
)

SessionStatus = Literal["running", "completed", "failed", "interrupted"]
PositionSource = Literal["broker", "ledger"]

SUBMIT_REJECTED_EVENT = "rejected"
"""``order_events.event`` of a submission the broker refused (same word as the trade update)."""

_SECRET_KEY_PARTS = ("secret", "password", "api_key", "apikey", "token", "credential")

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


class UnknownSessionError(LookupError):
    """No trading session has this id."""


# --- read models -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordedOrder:
    session_id: int
    client_order_id: str
    broker_order_id: str | None
    symbol: str
    side: OrderSide
    order_type: str
    time_in_force: str
    qty: Decimal
    limit_price: Decimal | None
    status: OrderStatus
    filled_qty: Decimal
    filled_avg_price: Decimal | None
    model_version_id: int | None
    decision_bar_timestamp: dt.datetime | None
    reason: str | None
    reject_code: int | None
    reject_message: str | None
    submitted_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class RecordedFill:
    session_id: int
    execution_id: str
    client_order_id: str
    broker_order_id: str | None
    symbol: str
    side: OrderSide
    qty: Decimal
    price: Decimal
    fee: Decimal
    filled_at: dt.datetime
    model_version_id: int | None

    @property
    def signed_qty(self) -> Decimal:
        return self.qty if self.side is OrderSide.BUY else -self.qty

    def to_domain(self) -> Fill:
        return Fill(
            execution_id=self.execution_id,
            broker_order_id=self.broker_order_id or "",
            client_order_id=self.client_order_id,
            symbol=self.symbol,
            side=self.side,
            qty=self.qty,
            price=self.price,
            timestamp=self.filled_at,
            fee=self.fee,
        )


@dataclass(frozen=True, slots=True)
class SymbolActivity:
    """Per-symbol totals of fills: the inputs of realized and unrealized PnL.

    Realized PnL needs a cost method (FIFO, average); these are the sums every method
    starts from. Unrealized PnL is ``net_qty * mark - open cost``, with a mark price from
    market data.
    """

    symbol: str
    bought_qty: Decimal
    bought_notional: Decimal
    sold_qty: Decimal
    sold_notional: Decimal
    fees: Decimal
    fill_count: int
    last_price: Decimal

    @property
    def net_qty(self) -> Decimal:
        return self.bought_qty - self.sold_qty

    @property
    def net_cash_flow(self) -> Decimal:
        """Cash in minus cash out (sells - buys - fees); PnL when the position is flat."""
        return self.sold_notional - self.bought_notional - self.fees


@dataclass(frozen=True, slots=True)
class SlippageInput:
    """One fill next to the prices it could be compared with."""

    execution_id: str
    client_order_id: str
    symbol: str
    side: OrderSide
    qty: Decimal
    fill_price: Decimal
    decision_price: Decimal | None  # last close the decision was taken on
    limit_price: Decimal | None

    @property
    def slippage_per_share(self) -> Decimal | None:
        """Adverse price difference vs the decision price (positive = paid more / got less)."""
        if self.decision_price is None:
            return None
        difference = self.fill_price - self.decision_price
        return difference if self.side is OrderSide.BUY else -difference


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: int
    session_key: str
    mode: TradingMode
    trading_day: dt.date
    started_at: dt.datetime
    ended_at: dt.datetime | None
    status: str
    symbols: tuple[str, ...]
    dagster_run_id: str | None
    starting_equity: Decimal | None
    ending_equity: Decimal | None
    summary: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class SessionSummary:
    session: SessionInfo
    orders_by_status: dict[str, int]
    order_count: int
    fill_count: int
    decision_count: int
    activity: dict[str, SymbolActivity]
    last_account: AccountSnapshot | None
    orders: tuple[RecordedOrder, ...] = ()
    fills: tuple[RecordedFill, ...] = ()

    @property
    def net_positions(self) -> dict[str, Decimal]:
        return {s: a.net_qty for s, a in self.activity.items() if a.net_qty != 0}


@dataclass(frozen=True, slots=True)
class DailyReport:
    """Everything the daily report asset needs for one trading day (all sessions)."""

    trading_day: dt.date
    sessions: tuple[SessionInfo, ...]
    orders: tuple[RecordedOrder, ...]
    fills: tuple[RecordedFill, ...]
    activity: dict[str, SymbolActivity]
    slippage: tuple[SlippageInput, ...]
    starting_equity: Decimal | None = None
    ending_equity: Decimal | None = None
    equity_curve: tuple[AccountSnapshot, ...] = field(default=())


# --- pure helpers -------------------------------------------------------------------------------


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


def redact_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-ready config with any secret-looking key's value replaced by ``***``."""

    def scrub(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {
                str(key): REDACTED
                if any(part in str(key).lower() for part in _SECRET_KEY_PARTS) and item is not None
                else scrub(item)
                for key, item in value.items()
            }
        if isinstance(value, (list, tuple)):
            return [scrub(item) for item in value]
        return value

    return scrub(to_jsonable(dict(config)))


def _price_decimal(price: float | None) -> Decimal | None:
    """A float price as the Decimal of its shortest repr (so ``float(result) == price``)."""
    if price is None or not math.isfinite(price):
        return None
    return Decimal(repr(float(price)))


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


# --- repository ---------------------------------------------------------------------------------


class LedgerRepository:
    """Synchronous ledger access; one transaction per call. Thread-safe (one session per
    call), so the async writer can drive it from a worker thread."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sessions = session_factory(engine)

    @property
    def engine(self) -> Engine:
        return self._engine

    # --- sessions -------------------------------------------------------------------------------
    def start_session(
        self,
        *,
        session_key: str,
        mode: TradingMode,
        trading_day: dt.date,
        started_at: dt.datetime,
        symbols: Sequence[str],
        config: Mapping[str, Any] | None = None,
        dagster_run_id: str | None = None,
        starting_equity: Decimal | None = None,
    ) -> int:
        """Open a session and return its id.

        ``session_key`` is the engine's stable name for the session (it seeds
        ``client_order_id``s). Starting again with a key that exists (a restart after a crash)
        re-opens that session: status back to running, same id, so its rows stay together.
        ``config`` is stored with secret-looking values redacted.
        """
        values = {
            "session_key": session_key,
            "mode": TradingMode(mode).value,
            "trading_day": trading_day,
            "started_at": started_at,
            "status": "running",
            "symbols": list(symbols),
            "config": redact_config(config or {}),
            "dagster_run_id": dagster_run_id,
            "starting_equity": starting_equity,
        }
        statement = insert(TradingSessionRow).values(**values)
        upsert = statement.on_conflict_do_update(
            index_elements=[TradingSessionRow.session_key],
            set_={
                "status": "running",
                "ended_at": None,
                "dagster_run_id": statement.excluded.dagster_run_id,
            },
        ).returning(TradingSessionRow.id)
        with self._sessions.begin() as session:
            return int(session.execute(upsert).scalar_one())

    def end_session(
        self,
        session_id: int,
        status: SessionStatus,
        ending_equity: Decimal | None = None,
        summary: Mapping[str, Any] | None = None,
        ended_at: dt.datetime | None = None,
    ) -> None:
        """Close a session. Raises :class:`UnknownSessionError` for an unknown id and
        ``ValueError`` for a status other than running/completed/failed/interrupted."""
        if status not in SESSION_STATUSES:
            raise ValueError(f"unknown session status {status!r}")
        with self._sessions.begin() as session:
            row = session.get(TradingSessionRow, session_id, with_for_update=True)
            if row is None:
                raise UnknownSessionError(f"no trading session {session_id}")
            row.status = status
            row.ended_at = ended_at or session.execute(select(func.clock_timestamp())).scalar_one()
            row.ending_equity = ending_equity
            row.summary = to_jsonable(dict(summary)) if summary is not None else None

    # --- decisions -----------------------------------------------------------------------------
    def record_decisions(self, session_id: int, decisions: Iterable[Decision]) -> int:
        """Upsert decisions on (session_id, symbol, bar timestamp); returns rows written.

        Within one call a later decision for the same key wins.
        """
        rows: dict[tuple[str, dt.datetime], dict[str, Any]] = {}
        for decision in decisions:
            prediction = decision.prediction
            rows[(decision.symbol, decision.timestamp)] = {
                "session_id": session_id,
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
            return 0
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
        statement = statement.on_conflict_do_update(
            index_elements=[DecisionRow.session_id, DecisionRow.symbol, DecisionRow.bar_timestamp],
            set_={name: statement.excluded[name] for name in updated},
        )
        with self._sessions.begin() as session:
            session.execute(statement)
        return len(rows)

    # --- orders ----------------------------------------------------------------------------------
    def record_order_submitted(
        self,
        session_id: int,
        intent: OrderIntent,
        snapshot: OrderSnapshot | None,
        model_version_id: int | None,
        decision_bar_timestamp: dt.datetime | None,
    ) -> None:
        """Record a submission (``snapshot`` is the broker's answer; None before it)."""
        values = {
            "session_id": session_id,
            "client_order_id": intent.client_order_id,
            "symbol": intent.symbol,
            "side": intent.side.value,
            "order_type": intent.order_type.value,
            "time_in_force": intent.time_in_force.value,
            "qty": intent.qty,
            "limit_price": intent.limit_price,
            "model_version_id": model_version_id,
            "decision_bar_timestamp": decision_bar_timestamp,
            "reason": intent.reason,
        }
        if snapshot is not None:
            values.update(_snapshot_state(snapshot))
        else:
            values.update(
                status=OrderStatus.PENDING_NEW.value,
                filled_qty=Decimal(0),
                submitted_at=intent.created_at,
                updated_at=intent.created_at,
            )
        with self._sessions.begin() as session:
            self._upsert_order(session, values)

    def record_order_rejected(
        self, session_id: int, rejection: OrderRejected, model_version_id: int | None
    ) -> None:
        """Record a refused submission.

        A refusal of an id that already names a live order (a re-submission after a crash,
        caught by the broker's client_order_id uniqueness) leaves that order untouched; the
        refusal is kept in ``order_events`` either way.
        """
        intent = rejection.intent
        values = {
            "session_id": session_id,
            "client_order_id": intent.client_order_id,
            "symbol": intent.symbol,
            "side": intent.side.value,
            "order_type": intent.order_type.value,
            "time_in_force": intent.time_in_force.value,
            "qty": intent.qty,
            "limit_price": intent.limit_price,
            "status": OrderStatus.REJECTED.value,
            "filled_qty": Decimal(0),
            "model_version_id": model_version_id,
            "reason": intent.reason,
            "reject_code": rejection.code,
            "reject_message": rejection.message,
            "submitted_at": rejection.timestamp,
            "updated_at": rejection.timestamp,
        }
        with self._sessions.begin() as session:
            inserted = session.execute(
                insert(OrderRow)
                .values(**values)
                .on_conflict_do_nothing(index_elements=[OrderRow.client_order_id])
                .returning(OrderRow.id)
            ).scalar_one_or_none()
            if inserted is None:
                row = self._lock_order(session, intent.client_order_id)
                never_placed = row.broker_order_id is None and row.filled_qty == 0
                if never_placed and row.status in (OrderStatus.PENDING_NEW, OrderStatus.REJECTED):
                    row.status = OrderStatus.REJECTED.value
                    row.reject_code = rejection.code
                    row.reject_message = rejection.message
                    row.updated_at = max(row.updated_at, rejection.timestamp)
            self._insert_event(
                session,
                session_id=session_id,
                client_order_id=intent.client_order_id,
                broker_order_id=None,
                event=SUBMIT_REJECTED_EVENT,
                event_timestamp=rejection.timestamp,
                execution_id=None,
                payload=encode(rejection),
            )

    def record_order_update(
        self, session_id: int, update: OrderUpdated, model_version_id: int | None
    ) -> None:
        """Apply one trade update: merge the order state, keep the event, insert the fill.

        ``model_version_id`` None means "the version recorded on the order", if any.
        """
        values = {
            "session_id": session_id,
            "client_order_id": update.order.client_order_id,
            "symbol": update.order.symbol,
            "side": update.order.side.value,
            "order_type": update.order.order_type.value,
            "time_in_force": update.order.time_in_force.value,
            "qty": update.order.qty,
            "limit_price": update.order.limit_price,
            "model_version_id": model_version_id,
            **_snapshot_state(update.order),
        }
        fill = update.fill
        with self._sessions.begin() as session:
            order = self._upsert_order(session, values)
            self._insert_event(
                session,
                session_id=session_id,
                client_order_id=update.order.client_order_id,
                broker_order_id=update.order.broker_order_id,
                event=update.event.value,
                event_timestamp=update.timestamp,
                execution_id=fill.execution_id if fill else None,
                payload=encode(update),
            )
            if fill is not None:
                session.execute(
                    insert(FillRow)
                    .values(
                        execution_id=fill.execution_id,
                        session_id=session_id,
                        client_order_id=fill.client_order_id,
                        broker_order_id=fill.broker_order_id or None,
                        symbol=fill.symbol,
                        side=fill.side.value,
                        qty=fill.qty,
                        price=fill.price,
                        fee=fill.fee,
                        filled_at=fill.timestamp,
                        model_version_id=model_version_id or order.model_version_id,
                    )
                    .on_conflict_do_nothing(index_elements=[FillRow.execution_id])
                )

    # --- snapshots and events --------------------------------------------------------------------
    def record_positions(
        self,
        session_id: int,
        positions: Mapping[str, Position],
        source: PositionSource,
        taken_at: dt.datetime,
        prices: Mapping[str, Decimal] | None = None,
    ) -> int:
        """Upsert one snapshot row per position; ``prices`` (optional) give market values."""
        rows = [
            {
                "session_id": session_id,
                "taken_at": taken_at,
                "symbol": symbol,
                "qty": position.qty,
                "avg_entry_price": position.avg_entry_price,
                "market_value": position.qty * prices[symbol]
                if prices and symbol in prices
                else None,
                "source": source,
            }
            for symbol, position in positions.items()
        ]
        if not rows:
            return 0
        statement = insert(PositionSnapshotRow).values(rows)
        statement = statement.on_conflict_do_update(
            constraint="uq_position_snapshots_session_id_taken_at_symbol_source",
            set_={
                name: statement.excluded[name]
                for name in ("qty", "avg_entry_price", "market_value")
            },
        )
        with self._sessions.begin() as session:
            session.execute(statement)
        return len(rows)

    def record_account(self, session_id: int, account: AccountSnapshot) -> None:
        statement = insert(AccountSnapshotRow).values(
            session_id=session_id,
            taken_at=account.timestamp,
            cash=account.cash,
            buying_power=account.buying_power,
            equity=account.equity,
        )
        statement = statement.on_conflict_do_update(
            index_elements=[AccountSnapshotRow.session_id, AccountSnapshotRow.taken_at],
            set_={name: statement.excluded[name] for name in ("cash", "buying_power", "equity")},
        )
        with self._sessions.begin() as session:
            session.execute(statement)

    def record_engine_event(
        self,
        session_id: int | None,
        kind: str,
        detail: Mapping[str, Any],
        occurred_at: dt.datetime,
        event_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        """Store an operational event; the same ``event_id`` twice is stored once."""
        event_id = event_id or uuid.uuid4()
        with self._sessions.begin() as session:
            session.execute(
                insert(EngineEventRow)
                .values(
                    event_id=event_id,
                    session_id=session_id,
                    occurred_at=occurred_at,
                    kind=kind,
                    detail=to_jsonable(dict(detail)),
                )
                .on_conflict_do_nothing(index_elements=[EngineEventRow.event_id])
            )
        return event_id

    # --- reads -----------------------------------------------------------------------------------
    def session_info(self, session_id: int) -> SessionInfo:
        with self._sessions() as session:
            row = session.get(TradingSessionRow, session_id)
            if row is None:
                raise UnknownSessionError(f"no trading session {session_id}")
            return _session_info(row)

    def orders_for_session(self, session_id: int) -> list[RecordedOrder]:
        with self._sessions() as session:
            rows = session.scalars(
                select(OrderRow).where(OrderRow.session_id == session_id).order_by(OrderRow.id)
            )
            return [_recorded_order(row) for row in rows]

    def fills_for_session(self, session_id: int) -> list[RecordedFill]:
        """Fills of a session in execution order."""
        with self._sessions() as session:
            rows = session.scalars(
                select(FillRow)
                .where(FillRow.session_id == session_id)
                .order_by(FillRow.filled_at, FillRow.id)
            )
            return [_recorded_fill(row) for row in rows]

    def decisions_for_session(self, session_id: int) -> list[dict[str, Any]]:
        """Decision rows as dicts (column -> value), in bar order."""
        with self._sessions() as session:
            rows = session.scalars(
                select(DecisionRow)
                .where(DecisionRow.session_id == session_id)
                .order_by(DecisionRow.bar_timestamp, DecisionRow.symbol)
            )
            return [
                {column.key: getattr(row, column.key) for column in DecisionRow.__table__.columns}
                for row in rows
            ]

    def engine_events(self, session_id: int, kind: str | None = None) -> list[dict[str, Any]]:
        with self._sessions() as session:
            query = select(EngineEventRow).where(EngineEventRow.session_id == session_id)
            if kind is not None:
                query = query.where(EngineEventRow.kind == kind)
            rows = session.scalars(query.order_by(EngineEventRow.occurred_at, EngineEventRow.id))
            return [
                {
                    "event_id": row.event_id,
                    "kind": row.kind,
                    "occurred_at": row.occurred_at,
                    "detail": row.detail,
                }
                for row in rows
            ]

    def net_positions_from_fills(self, session_id: int) -> dict[str, Decimal]:
        """Net quantity per symbol from the session's fills (buys - sells); flat symbols
        are left out."""
        signed = case((FillRow.side == OrderSide.BUY.value, FillRow.qty), else_=-FillRow.qty)
        with self._sessions() as session:
            rows = session.execute(
                select(FillRow.symbol, func.sum(signed))
                .where(FillRow.session_id == session_id)
                .group_by(FillRow.symbol)
                .order_by(FillRow.symbol)
            )
            return {symbol: Decimal(net) for symbol, net in rows if net != 0}

    def session_summary(self, session_id: int) -> SessionSummary:
        """Orders, fills, counts, per-symbol fill activity (net positions, PnL inputs) and
        the last account snapshot of a session."""
        with self._sessions() as session:
            row = session.get(TradingSessionRow, session_id)
            if row is None:
                raise UnknownSessionError(f"no trading session {session_id}")
            by_status = dict(
                session.execute(
                    select(OrderRow.status, func.count())
                    .where(OrderRow.session_id == session_id)
                    .group_by(OrderRow.status)
                ).all()
            )
            decision_count = session.execute(
                select(func.count()).where(DecisionRow.session_id == session_id)
            ).scalar_one()
            account_row = session.scalars(
                select(AccountSnapshotRow)
                .where(AccountSnapshotRow.session_id == session_id)
                .order_by(AccountSnapshotRow.taken_at.desc())
                .limit(1)
            ).first()
            info = _session_info(row)
        fills = self.fills_for_session(session_id)
        orders = self.orders_for_session(session_id)
        return SessionSummary(
            session=info,
            orders_by_status=by_status,
            order_count=sum(by_status.values()),
            fill_count=len(fills),
            decision_count=int(decision_count),
            activity=activity_from_fills(fills),
            last_account=_account(account_row) if account_row else None,
            orders=tuple(orders),
            fills=tuple(fills),
        )

    def daily_report(self, trading_day: dt.date) -> DailyReport:
        """Orders, fills, slippage and PnL inputs of every session of ``trading_day``."""
        with self._sessions() as session:
            session_rows = list(
                session.scalars(
                    select(TradingSessionRow)
                    .where(TradingSessionRow.trading_day == trading_day)
                    .order_by(TradingSessionRow.started_at, TradingSessionRow.id)
                )
            )
            ids = [row.id for row in session_rows]
            orders = [
                _recorded_order(row)
                for row in session.scalars(
                    select(OrderRow).where(OrderRow.session_id.in_(ids)).order_by(OrderRow.id)
                )
            ]
            fills = [
                _recorded_fill(row)
                for row in session.scalars(
                    select(FillRow)
                    .where(FillRow.session_id.in_(ids))
                    .order_by(FillRow.filled_at, FillRow.id)
                )
            ]
            decision_prices = dict(
                session.execute(
                    select(DecisionRow.client_order_id, DecisionRow.price).where(
                        DecisionRow.session_id.in_(ids), DecisionRow.client_order_id.is_not(None)
                    )
                ).all()
            )
            equity_curve = tuple(
                _account(row)
                for row in session.scalars(
                    select(AccountSnapshotRow)
                    .where(AccountSnapshotRow.session_id.in_(ids))
                    .order_by(AccountSnapshotRow.taken_at, AccountSnapshotRow.id)
                )
            )
            sessions = tuple(_session_info(row) for row in session_rows)
        limit_prices = {order.client_order_id: order.limit_price for order in orders}
        slippage = tuple(
            SlippageInput(
                execution_id=fill.execution_id,
                client_order_id=fill.client_order_id,
                symbol=fill.symbol,
                side=fill.side,
                qty=fill.qty,
                fill_price=fill.price,
                decision_price=decision_prices.get(fill.client_order_id),
                limit_price=limit_prices.get(fill.client_order_id),
            )
            for fill in fills
        )
        starting = [s.starting_equity for s in sessions if s.starting_equity is not None]
        ending = [s.ending_equity for s in sessions if s.ending_equity is not None]
        return DailyReport(
            trading_day=trading_day,
            sessions=sessions,
            orders=tuple(orders),
            fills=tuple(fills),
            activity=activity_from_fills(fills),
            slippage=slippage,
            starting_equity=starting[0] if starting else None,
            ending_equity=ending[-1] if ending else None,
            equity_curve=equity_curve,
        )

    # --- internals -------------------------------------------------------------------------------
    def _upsert_order(self, session: Session, values: dict[str, Any]) -> OrderRow:
        """Insert the order, or merge ``values`` into the existing row (under a row lock)."""
        inserted = session.execute(
            insert(OrderRow)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[OrderRow.client_order_id])
            .returning(OrderRow.id)
        ).scalar_one_or_none()
        row = self._lock_order(session, values["client_order_id"])
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

    @staticmethod
    def _lock_order(session: Session, client_order_id: str) -> OrderRow:
        return session.execute(
            select(OrderRow).where(OrderRow.client_order_id == client_order_id).with_for_update()
        ).scalar_one()

    @staticmethod
    def _insert_event(session: Session, **values: Any) -> None:
        session.execute(
            insert(OrderEventRow)
            .values(**values)
            .on_conflict_do_nothing(constraint="uq_order_events_dedupe")
        )


def activity_from_fills(fills: Iterable[RecordedFill]) -> dict[str, SymbolActivity]:
    """Per-symbol sums of fills (see :class:`SymbolActivity`), symbols in sorted order."""
    totals: dict[str, dict[str, Any]] = {}
    for fill in fills:
        entry = totals.setdefault(
            fill.symbol,
            {
                "bought_qty": Decimal(0),
                "bought_notional": Decimal(0),
                "sold_qty": Decimal(0),
                "sold_notional": Decimal(0),
                "fees": Decimal(0),
                "fill_count": 0,
                "last_price": fill.price,
            },
        )
        side = "bought" if fill.side is OrderSide.BUY else "sold"
        entry[f"{side}_qty"] += fill.qty
        entry[f"{side}_notional"] += fill.qty * fill.price
        entry["fees"] += fill.fee
        entry["fill_count"] += 1
        entry["last_price"] = fill.price
    return {symbol: SymbolActivity(symbol=symbol, **totals[symbol]) for symbol in sorted(totals)}


def _snapshot_state(snapshot: OrderSnapshot) -> dict[str, Any]:
    return {
        "broker_order_id": snapshot.broker_order_id,
        "status": snapshot.status.value,
        "filled_qty": snapshot.filled_qty,
        "filled_avg_price": snapshot.filled_avg_price,
        "submitted_at": snapshot.submitted_at,
        "updated_at": snapshot.updated_at,
    }


def _session_info(row: TradingSessionRow) -> SessionInfo:
    return SessionInfo(
        id=row.id,
        session_key=row.session_key,
        mode=TradingMode(row.mode),
        trading_day=row.trading_day,
        started_at=row.started_at,
        ended_at=row.ended_at,
        status=row.status,
        symbols=tuple(row.symbols),
        dagster_run_id=row.dagster_run_id,
        starting_equity=row.starting_equity,
        ending_equity=row.ending_equity,
        summary=row.summary,
    )


def _recorded_order(row: OrderRow) -> RecordedOrder:
    return RecordedOrder(
        session_id=row.session_id,
        client_order_id=row.client_order_id,
        broker_order_id=row.broker_order_id,
        symbol=row.symbol,
        side=OrderSide(row.side),
        order_type=row.order_type,
        time_in_force=row.time_in_force,
        qty=row.qty,
        limit_price=row.limit_price,
        status=OrderStatus(row.status),
        filled_qty=row.filled_qty,
        filled_avg_price=row.filled_avg_price,
        model_version_id=row.model_version_id,
        decision_bar_timestamp=row.decision_bar_timestamp,
        reason=row.reason,
        reject_code=row.reject_code,
        reject_message=row.reject_message,
        submitted_at=row.submitted_at,
        updated_at=row.updated_at,
    )


def _recorded_fill(row: FillRow) -> RecordedFill:
    return RecordedFill(
        session_id=row.session_id,
        execution_id=row.execution_id,
        client_order_id=row.client_order_id,
        broker_order_id=row.broker_order_id,
        symbol=row.symbol,
        side=OrderSide(row.side),
        qty=row.qty,
        price=row.price,
        fee=row.fee,
        filled_at=row.filled_at,
        model_version_id=row.model_version_id,
    )


def _account(row: AccountSnapshotRow) -> AccountSnapshot:
    return AccountSnapshot(
        cash=row.cash, buying_power=row.buying_power, equity=row.equity, timestamp=row.taken_at
    )
