"""Durable storage in PostgreSQL: the trading ledger and the model registry.

Map:
    db          where the database is (DATABASE_URL, DB_* keys, or an embedded server),
                engines, sessions, Alembic migrations (``python -m trading_runtime.store``)
    models      SQLAlchemy ORM tables; migrations/ holds the Alembic history
    ledger      LedgerRepository: idempotent writes of sessions, decisions, orders, trade
                updates, fills, snapshots, engine events; read helpers for reports
    registry    ModelRegistry: model versions with artifacts, champion lifecycle, audit
    operations  frozen ledger write records (LedgerWrite) with a JSON round-trip
    writer      LedgerWriter: non-blocking, spooling writer for the asyncio live loop
    spool       the fsync'ed JSON-lines spool behind the writer
    codec       to_jsonable (JSON columns) and exact encode/decode of domain values
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
from trading_runtime.store.ledger import LedgerRepository
from trading_runtime.store.operations import (
    EndSession,
    LedgerWrite,
    RecordAccount,
    RecordDecisions,
    RecordEngineEvent,
    RecordOrderRejected,
    RecordOrderSubmitted,
    RecordOrderUpdate,
    RecordPositions,
)
from trading_runtime.store.registry import ModelLineage, ModelRegistry, ModelVersionRecord
from trading_runtime.store.writer import LedgerWriter, SessionLedger, WriterStats

__all__ = [
    "DatabaseUrls",
    "EndSession",
    "LedgerRepository",
    "LedgerWrite",
    "LedgerWriter",
    "ModelLineage",
    "ModelRegistry",
    "ModelVersionRecord",
    "RecordAccount",
    "RecordDecisions",
    "RecordEngineEvent",
    "RecordOrderRejected",
    "RecordOrderSubmitted",
    "RecordOrderUpdate",
    "RecordPositions",
    "SessionLedger",
    "WriterStats",
    "create_engine_for",
    "migrate",
    "prepare_database",
    "redact_url",
    "resolve_database_url",
    "session_factory",
    "stop_embedded",
]
