"""Row-level helpers of the registry: the champion lock, the database clock, and the
mapping of rows to records (``ModelVersionRecord`` without the artifact bytes)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from trading_runtime.domain import ModelStatus
from trading_runtime.store.models import ModelPromotionRow, ModelVersionRow
from trading_runtime.store.registry_types import (
    LINEAGE_FIELDS,
    ModelLineage,
    ModelVersionRecord,
    PromotionRecord,
)

# pg_advisory_xact_lock key serialising champion changes.
PROMOTION_LOCK_KEY = int.from_bytes(b"champion", "big") & 0x7FFF_FFFF_FFFF_FFFF


def serialise_champion_changes(session: Session) -> dt.datetime:
    """Take the promotion lock (released at commit) and return the time after getting it.

    The timestamp is read *after* the lock so that changes are ordered in time as they
    were applied (``now()`` would be the transaction's start, possibly before the
    previous holder committed).
    """
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PROMOTION_LOCK_KEY})
    return clock(session)


def clock(session: Session) -> dt.datetime:
    return session.execute(select(func.clock_timestamp())).scalar_one()


def record_query() -> Any:
    return select(
        *(ModelVersionRow.__table__.c[name] for name in RECORD_COLUMNS),
        func.octet_length(ModelVersionRow.artifact),
    )


RECORD_COLUMNS = (
    "id",
    "name",
    "status",
    "created_at",
    "artifact_sha256",
    "artifact_format",
    "feature_spec_hash",
    "feature_names",
    "params",
    "metrics",
    "evaluation",
    "evaluated_at",
    *LINEAGE_FIELDS,
    "dagster_run_id",
    "promoted_at",
    "retired_at",
)


def to_record(*values: Any) -> ModelVersionRecord:
    columns = dict(zip(RECORD_COLUMNS, values[:-1], strict=True))
    lineage = ModelLineage(**{name: columns.pop(name) for name in LINEAGE_FIELDS})
    return ModelVersionRecord(
        id=columns["id"],
        name=columns["name"],
        status=ModelStatus(columns["status"]),
        created_at=columns["created_at"],
        artifact_sha256=columns["artifact_sha256"],
        artifact_format=columns["artifact_format"],
        artifact_size_bytes=int(values[-1]),
        feature_spec_hash=columns["feature_spec_hash"],
        feature_names=tuple(columns["feature_names"]),
        params=columns["params"],
        metrics=columns["metrics"],
        evaluation=columns["evaluation"],
        evaluated_at=columns["evaluated_at"],
        lineage=lineage,
        dagster_run_id=columns["dagster_run_id"],
        promoted_at=columns["promoted_at"],
        retired_at=columns["retired_at"],
    )


def to_promotion(row: ModelPromotionRow) -> PromotionRecord:
    return PromotionRecord(
        id=row.id,
        model_version_id=row.model_version_id,
        previous_champion_id=row.previous_champion_id,
        action=row.action,  # type: ignore[arg-type]
        actor=row.actor,
        reason=row.reason,
        gates=row.gates,
        dagster_run_id=row.dagster_run_id,
        created_at=row.created_at,
    )
