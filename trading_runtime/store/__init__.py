"""Durable storage in PostgreSQL: the trading ledger and the model registry.

Map:
    db            where the database is (DATABASE_URL, DB_* keys, or an embedded server),
                  engines, sessions, Alembic migrations (``python -m trading_runtime.store``)
    models        SQLAlchemy ORM tables; migrations/ holds the Alembic history
    operations    every ledger write, declared once (frozen records), and their spool format
    writes        LedgerRepository.apply: the one write path, idempotent, one transaction each
    order_writes  the order and fill writes it applies (state merge, events, fills)
    writer        LedgerWriter: non-blocking, spooling writer for the asyncio live loop;
                  SessionLedger, the engine's port onto it
    spool         the fsync'ed JSON-lines spool behind the writer
    sessions      session identity (account, day, mode) and the exclusive lease; sessions
                  are opened under a lease, orphans recovered when it is taken over
    reads         LedgerReader: per-session reads, summaries, the daily report
    read_models   the frozen records those reads return
    recovery      RecoveryReader: what a restarted engine rebuilds its risk state from
    registry      ModelRegistry: model versions with artifacts, champion lifecycle, audit
    jsonable      values for JSON columns; configs stored with secrets redacted
"""

from trading_runtime.store.db import (
    DatabaseUrls,
    create_engine_for,
    migrate,
    prepare_database,
    redact_url,
    resolve_database_url,
    session_factory,
    stop_embedded,
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
from trading_runtime.store.reads import LedgerReader
from trading_runtime.store.recovery import RecoveryReader
from trading_runtime.store.registry import ModelLineage, ModelRegistry, ModelVersionRecord
from trading_runtime.store.session_ledger import SessionLedger
from trading_runtime.store.sessions import (
    Lease,
    SessionIdentity,
    SessionLeaseHeldError,
    SessionLeaseLostError,
    SessionLeases,
)
from trading_runtime.store.writer import LedgerWriter, WriterStats
from trading_runtime.store.writes import LedgerRepository

__all__ = [
    "DatabaseUrls",
    "EndSession",
    "Lease",
    "LedgerOperation",
    "LedgerReader",
    "LedgerRepository",
    "LedgerWriter",
    "ModelLineage",
    "ModelRegistry",
    "ModelVersionRecord",
    "RecordAccount",
    "RecordDecisions",
    "RecordEngineEvent",
    "RecordHolds",
    "RecordOrderRejected",
    "RecordOrderSubmitted",
    "RecordOrderUpdate",
    "RecordPositions",
    "RecoveryReader",
    "SessionIdentity",
    "SessionLeaseHeldError",
    "SessionLeaseLostError",
    "SessionLeases",
    "SessionLedger",
    "UnknownSessionError",
    "WriterStats",
    "create_engine_for",
    "migrate",
    "prepare_database",
    "redact_url",
    "resolve_database_url",
    "session_factory",
    "stop_embedded",
]
