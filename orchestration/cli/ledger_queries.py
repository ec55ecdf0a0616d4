"""Read-only listings the command line needs and ``LedgerRepository`` does not offer: the
most recent sessions, and how far the session of a running Dagster run has got. Rows come
back through the repository's own read models."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, func, select

from trading_runtime.store.ledger import LedgerRepository, SessionInfo
from trading_runtime.store.models import DecisionRow, TradingSessionRow


def recent_sessions(engine: Engine, limit: int) -> list[SessionInfo]:
    """The ``limit`` most recently started sessions, newest first."""
    with engine.connect() as connection:
        ids = connection.scalars(
            select(TradingSessionRow.id)
            .order_by(TradingSessionRow.started_at.desc(), TradingSessionRow.id.desc())
            .limit(limit)
        ).all()
    ledger = LedgerRepository(engine)
    return [ledger.session_info(session_id) for session_id in ids]


def last_decided_bar(engine: Engine, dagster_run_id: str) -> dt.datetime | None:
    """The newest bar the session of ``dagster_run_id`` has decided on (None before any)."""
    with engine.connect() as connection:
        return connection.scalar(
            select(func.max(DecisionRow.bar_timestamp))
            .join(TradingSessionRow, TradingSessionRow.id == DecisionRow.session_id)
            .where(TradingSessionRow.dagster_run_id == dagster_run_id)
        )
