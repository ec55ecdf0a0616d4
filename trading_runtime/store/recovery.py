"""Reads that rebuild an engine's risk state after a restart, from the ledger, never from zero.

For one :class:`~trading_runtime.store.sessions.SessionIdentity` (account, trading day,
mode):

    session_fills(session_id)       one session's fills, in execution order
    day_fills(identity)             the day's fills across every session of the identity
    day_order_ids(identity)         the client order ids of the day's recorded orders
    buys_submitted(identity)        buy orders per symbol that reached (or may have
                                    reached) the broker today: the buys-per-day cap
    day_starting_equity(identity)   the equity the day started with (the first session's):
                                    the daily-loss baseline
    overnight_positions(identity)   the quantities held when the day started (the first
                                    broker position snapshot of the day)
    day_trades(identity)            one date per day trade over the five trading days ending
                                    the identity's day, counted by FINRA's definition
                                    (:func:`trading_runtime.risk.count_day_trades`)

The day-wide reads aggregate every session of the identity, which is what a paper or live
account did that day. Sim replays of one day are independent experiments sharing an
identity, so a sim engine recovering should read its own session.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import ColumnElement, Engine, and_, func, not_, select
from sqlalchemy.orm import Session

from trading_runtime.domain import OrderSide, OrderStatus
from trading_runtime.marketdata import calendar
from trading_runtime.risk.day_trades import count_day_trades, day_trade_window
from trading_runtime.store.db import session_factory
from trading_runtime.store.models import FillRow, OrderRow, PositionSnapshotRow, TradingSessionRow
from trading_runtime.store.read_models import RecordedFill, to_recorded_fill
from trading_runtime.store.sessions import SessionIdentity


class RecoveryReader:
    """Synchronous reads; one database session per call (thread-safe)."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = session_factory(engine)

    def session_fills(self, session_id: int) -> list[RecordedFill]:
        with self._sessions() as session:
            rows = session.scalars(
                select(FillRow)
                .where(FillRow.session_id == session_id)
                .order_by(FillRow.filled_at, FillRow.id)
            )
            return [to_recorded_fill(row) for row in rows]

    def day_fills(self, identity: SessionIdentity) -> list[RecordedFill]:
        with self._sessions() as session:
            rows = session.scalars(
                select(FillRow)
                .join(TradingSessionRow, FillRow.session_id == TradingSessionRow.id)
                .where(*_of_days(identity, identity.trading_day, identity.trading_day))
                .order_by(FillRow.filled_at, FillRow.id)
            )
            return [to_recorded_fill(row) for row in rows]

    def day_order_ids(self, identity: SessionIdentity) -> frozenset[str]:
        with self._sessions() as session:
            ids = session.scalars(
                select(OrderRow.client_order_id)
                .join(TradingSessionRow, OrderRow.session_id == TradingSessionRow.id)
                .where(*_of_days(identity, identity.trading_day, identity.trading_day))
            )
            return frozenset(ids)

    def buys_submitted(self, identity: SessionIdentity) -> dict[str, int]:
        """Buy orders per symbol, except submissions the broker refused outright (rejected
        with no broker id and nothing filled). An order whose outcome is unknown counts."""
        refused = and_(
            OrderRow.status == OrderStatus.REJECTED.value,
            OrderRow.broker_order_id.is_(None),
            OrderRow.filled_qty == 0,
        )
        with self._sessions() as session:
            rows = session.execute(
                select(OrderRow.symbol, func.count())
                .join(TradingSessionRow, OrderRow.session_id == TradingSessionRow.id)
                .where(
                    *_of_days(identity, identity.trading_day, identity.trading_day),
                    OrderRow.side == OrderSide.BUY.value,
                    not_(refused),
                )
                .group_by(OrderRow.symbol)
            ).all()
        return {symbol: int(count) for symbol, count in sorted(rows)}

    def day_starting_equity(self, identity: SessionIdentity) -> Decimal | None:
        """The first session's starting equity that day (None when none was recorded)."""
        with self._sessions() as session:
            equity: Decimal | None = session.execute(
                select(TradingSessionRow.starting_equity)
                .where(
                    *_of_days(identity, identity.trading_day, identity.trading_day),
                    TradingSessionRow.starting_equity.is_not(None),
                )
                .order_by(TradingSessionRow.started_at, TradingSessionRow.id)
                .limit(1)
            ).scalar_one_or_none()
        return equity

    def overnight_positions(self, identity: SessionIdentity) -> dict[str, Decimal]:
        """Quantity per symbol in the day's first broker snapshot (flat symbols included
        when the snapshot listed them); empty when the day has no snapshot."""
        with self._sessions() as session:
            overnight = _overnight(session, identity, identity.trading_day, identity.trading_day)
        return dict(overnight.get(identity.trading_day, {}))

    def day_trades(self, identity: SessionIdentity) -> tuple[dt.date, ...]:
        """One date per day trade in the five trading days ending ``identity.trading_day``.

        Each day's trades are counted per symbol from the fills of every session of the
        account and mode that day, against that day's overnight position (its first broker
        snapshot; without one the symbol counts as flat overnight, which can only count a
        sale of overnight shares as a day trade: the strict side for a guard).
        """
        start, end = day_trade_window(identity.trading_day)
        trading_days = set(calendar.sessions_between(start, end))
        with self._sessions() as session:
            overnight = _overnight(session, identity, start, end)
            rows = session.execute(
                select(TradingSessionRow.trading_day, FillRow.symbol, FillRow.side, FillRow.qty)
                .join(TradingSessionRow, FillRow.session_id == TradingSessionRow.id)
                .where(*_of_days(identity, start, end))
                .order_by(FillRow.filled_at, FillRow.id)
            ).all()
        fills: dict[tuple[dt.date, str], list[tuple[str, Decimal]]] = defaultdict(list)
        for day, symbol, side, qty in rows:
            fills[(day, symbol)].append((side, qty))
        dates: list[dt.date] = []
        for (day, symbol), executions in sorted(fills.items()):
            if day in trading_days:
                prior = overnight.get(day, {}).get(symbol, Decimal(0))
                dates += [day] * count_day_trades(executions, prior)
        return tuple(dates)


def _of_days(
    identity: SessionIdentity, start: dt.date, end: dt.date
) -> tuple[ColumnElement[bool], ...]:
    return (
        TradingSessionRow.account_id == identity.account_id,
        TradingSessionRow.mode == identity.mode.value,
        TradingSessionRow.trading_day.between(start, end),
    )


def _overnight(
    session: Session, identity: SessionIdentity, start: dt.date, end: dt.date
) -> dict[dt.date, dict[str, Decimal]]:
    """Per day, the quantities of the day's first broker position snapshot."""
    first = (
        select(
            TradingSessionRow.trading_day.label("day"),
            func.min(PositionSnapshotRow.taken_at).label("taken_at"),
        )
        .join(TradingSessionRow, PositionSnapshotRow.session_id == TradingSessionRow.id)
        .where(*_of_days(identity, start, end), PositionSnapshotRow.source == "broker")
        .group_by(TradingSessionRow.trading_day)
        .subquery()
    )
    rows = session.execute(
        select(first.c.day, PositionSnapshotRow.symbol, PositionSnapshotRow.qty)
        .join(TradingSessionRow, PositionSnapshotRow.session_id == TradingSessionRow.id)
        .join(
            first,
            and_(
                first.c.day == TradingSessionRow.trading_day,
                first.c.taken_at == PositionSnapshotRow.taken_at,
            ),
        )
        .where(*_of_days(identity, start, end), PositionSnapshotRow.source == "broker")
    ).all()
    overnight: dict[dt.date, dict[str, Decimal]] = defaultdict(dict)
    for day, symbol, qty in rows:
        overnight[day][symbol] = qty
    return overnight
