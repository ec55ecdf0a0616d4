"""Read helpers of the ledger for reports, summaries and tests.

``LedgerReader`` answers per-session questions (orders, fills, decisions, events, net
positions, a summary, and what reports need: account snapshots, the opening positions,
decision prices, decision counts, slippage inputs) and lists the sessions of a trading day.
Rebuilding risk state after a restart has its own reader (``recovery.py``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, case, func, select

from trading_runtime.domain import AccountSnapshot, Action, OrderSide, Position
from trading_runtime.store.db import session_factory
from trading_runtime.store.models import (
    AccountSnapshotRow,
    DecisionRow,
    EngineEventRow,
    FillRow,
    OrderRow,
    PositionSnapshotRow,
    TradingSessionRow,
)
from trading_runtime.store.operations import UnknownSessionError
from trading_runtime.store.read_models import (
    PriceMark,
    RecordedFill,
    RecordedOrder,
    SessionInfo,
    SessionSummary,
    SlippageInput,
    activity_from_fills,
    to_account_snapshot,
    to_recorded_fill,
    to_recorded_order,
    to_session_info,
)


class LedgerReader:
    """Synchronous reads; one database session per call (thread-safe)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sessions = session_factory(engine)

    @property
    def engine(self) -> Engine:
        return self._engine

    def session_info(self, session_id: int) -> SessionInfo:
        with self._sessions() as session:
            row = session.get(TradingSessionRow, session_id)
            if row is None:
                raise UnknownSessionError(f"no trading session {session_id}")
            return to_session_info(row)

    def recent_sessions(self, limit: int) -> list[SessionInfo]:
        """The ``limit`` most recently started sessions, newest first."""
        with self._sessions() as session:
            rows = session.scalars(
                select(TradingSessionRow)
                .order_by(TradingSessionRow.started_at.desc(), TradingSessionRow.id.desc())
                .limit(limit)
            ).all()
            return [to_session_info(row) for row in rows]

    def last_decided_bar(self, dagster_run_id: str) -> dt.datetime | None:
        """The newest bar the session of ``dagster_run_id`` has decided on (None before any)."""
        with self._sessions() as session:
            return session.scalar(
                select(func.max(DecisionRow.bar_timestamp))
                .join(TradingSessionRow, TradingSessionRow.id == DecisionRow.session_id)
                .where(TradingSessionRow.dagster_run_id == dagster_run_id)
            )

    def orders_for_session(self, session_id: int) -> list[RecordedOrder]:
        with self._sessions() as session:
            rows = session.scalars(
                select(OrderRow).where(OrderRow.session_id == session_id).order_by(OrderRow.id)
            )
            return [to_recorded_order(row) for row in rows]

    def fills_for_session(self, session_id: int) -> list[RecordedFill]:
        """Fills of a session in execution order."""
        with self._sessions() as session:
            rows = session.scalars(
                select(FillRow)
                .where(FillRow.session_id == session_id)
                .order_by(FillRow.filled_at, FillRow.id)
            )
            return [to_recorded_fill(row) for row in rows]

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
            info = to_session_info(row)
        fills = self.fills_for_session(session_id)
        orders = self.orders_for_session(session_id)
        return SessionSummary(
            session=info,
            orders_by_status=by_status,
            order_count=sum(by_status.values()),
            fill_count=len(fills),
            decision_count=int(decision_count),
            activity=activity_from_fills(fills),
            last_account=to_account_snapshot(account_row) if account_row else None,
            orders=tuple(orders),
            fills=tuple(fills),
        )

    def sessions_on(self, trading_day: dt.date) -> list[SessionInfo]:
        """Every session of ``trading_day`` (all accounts and modes), in start order."""
        with self._sessions() as session:
            rows = session.scalars(
                select(TradingSessionRow)
                .where(TradingSessionRow.trading_day == trading_day)
                .order_by(TradingSessionRow.started_at, TradingSessionRow.id)
            )
            return [to_session_info(row) for row in rows]

    def account_snapshots(self, session_id: int) -> list[AccountSnapshot]:
        """The broker's cash, buying power and equity as recorded during a session, in time
        order (at the start, at each reconciliation, at the end)."""
        with self._sessions() as session:
            rows = session.scalars(
                select(AccountSnapshotRow)
                .where(AccountSnapshotRow.session_id == session_id)
                .order_by(AccountSnapshotRow.taken_at, AccountSnapshotRow.id)
            )
            return [to_account_snapshot(row) for row in rows]

    def opening_positions(self, session_id: int) -> dict[str, Position]:
        """The broker's non-zero positions at the session's first snapshot (what it started
        holding); empty when none was recorded."""
        first = (
            select(func.min(PositionSnapshotRow.taken_at))
            .where(
                PositionSnapshotRow.session_id == session_id,
                PositionSnapshotRow.source == "broker",
            )
            .scalar_subquery()
        )
        with self._sessions() as session:
            rows = session.scalars(
                select(PositionSnapshotRow)
                .where(
                    PositionSnapshotRow.session_id == session_id,
                    PositionSnapshotRow.source == "broker",
                    PositionSnapshotRow.taken_at == first,
                    PositionSnapshotRow.qty != 0,
                )
                .order_by(PositionSnapshotRow.symbol)
            )
            return {row.symbol: Position(row.symbol, row.qty, row.avg_entry_price) for row in rows}

    def decision_prices(self, session_id: int) -> list[PriceMark]:
        """Every price a decision of the session was taken on, in bar order (decisions
        without a prediction, such as warm-up skips, carry none and are left out)."""
        with self._sessions() as session:
            rows = session.execute(
                select(DecisionRow.bar_timestamp, DecisionRow.symbol, DecisionRow.price)
                .where(DecisionRow.session_id == session_id, DecisionRow.price.is_not(None))
                .order_by(DecisionRow.bar_timestamp, DecisionRow.symbol)
            )
            return [
                PriceMark(timestamp, symbol, price)
                for timestamp, symbol, price in rows
                if price is not None  # excluded in SQL; narrows the type
            ]

    def decision_counts(self, session_id: int) -> dict[tuple[int | None, Action], int]:
        """Decisions of a session counted by (model version, action)."""
        with self._sessions() as session:
            rows = session.execute(
                select(DecisionRow.model_version_id, DecisionRow.action, func.count())
                .where(DecisionRow.session_id == session_id)
                .group_by(DecisionRow.model_version_id, DecisionRow.action)
            )
            return {(model, Action(action)): int(n) for model, action, n in rows}

    def slippage_inputs(self, session_id: int) -> list[SlippageInput]:
        """Each fill of a session (in execution order) next to the price its order was
        decided on and its limit price."""
        with self._sessions() as session:
            decision_prices = dict(
                session.execute(
                    select(DecisionRow.client_order_id, DecisionRow.price).where(
                        DecisionRow.session_id == session_id,
                        DecisionRow.client_order_id.is_not(None),
                    )
                ).all()
            )
        limit_prices = {
            o.client_order_id: o.limit_price for o in self.orders_for_session(session_id)
        }
        return [
            SlippageInput(
                execution_id=fill.execution_id,
                client_order_id=fill.client_order_id,
                symbol=fill.symbol,
                side=fill.side,
                qty=fill.qty,
                fill_price=fill.price,
                decision_price=decision_prices.get(fill.client_order_id),
                limit_price=limit_prices.get(fill.client_order_id),
                filled_at=fill.filled_at,
            )
            for fill in self.fills_for_session(session_id)
        ]
