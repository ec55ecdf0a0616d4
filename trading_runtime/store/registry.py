"""The model registry: versions with their artifacts, and the champion lifecycle.

    candidate --promote/manual_promote--> champion --(next promotion)--> retired
    candidate --reject--> rejected             retired --promote/rollback--> champion

At most one champion exists at any time: promotions take a transaction-scoped advisory lock
(so concurrent promotions run one after the other and each sees the other's result), lock
the rows they change, and a partial unique index on ``status = 'champion'`` backs it up in
the schema itself. Every change of status writes a ``model_promotions`` audit row in the
same transaction.

Artifacts are stored as bytes with their SHA-256; a version whose bytes no longer match
its hash cannot be promoted, and :meth:`ModelRegistry.load_artifact` verifies the hash on
every load.

Errors: :class:`ModelVersionNotFoundError` (unknown id), :class:`PromotionRefusedError`
(the transition is not allowed, or the artifact fails verification),
:class:`ArtifactIntegrityError` (loaded bytes do not match the hash).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from trading_runtime.domain import ModelStatus
from trading_runtime.store.db import session_factory
from trading_runtime.store.jsonable import to_jsonable
from trading_runtime.store.models import ModelPromotionRow, ModelVersionRow

PromotionAction = Literal["promote", "manual_promote", "rollback", "reject"]

LINEAGE_FIELDS = (
    "train_start",
    "train_end",
    "validation_start",
    "validation_end",
    "test_start",
    "test_end",
)
# pg_advisory_xact_lock key serialising champion changes.
PROMOTION_LOCK_KEY = int.from_bytes(b"champion", "big") & 0x7FFF_FFFF_FFFF_FFFF

_PROMOTABLE = (ModelStatus.CANDIDATE.value, ModelStatus.RETIRED.value)


class RegistryError(RuntimeError):
    """Base class of model registry errors."""


class ModelVersionNotFoundError(RegistryError, LookupError):
    """No model version has this id."""


class PromotionRefusedError(RegistryError):
    """The requested status change is not allowed (wrong status, bad artifact, nothing to
    roll back to)."""


class ArtifactIntegrityError(RegistryError):
    """Stored artifact bytes do not match their recorded SHA-256."""


@dataclass(frozen=True, slots=True)
class ModelLineage:
    """The data a version was trained, validated and tested on (inclusive trading days)."""

    train_start: dt.date
    train_end: dt.date
    validation_start: dt.date | None = None
    validation_end: dt.date | None = None
    test_start: dt.date | None = None
    test_end: dt.date | None = None

    @classmethod
    def from_mapping(cls, lineage: Mapping[str, Any]) -> ModelLineage:
        """Accept dates or ISO strings; unknown keys are an error (a typo loses lineage)."""
        unknown = set(lineage) - set(LINEAGE_FIELDS)
        if unknown:
            raise ValueError(f"unknown lineage fields: {sorted(unknown)}")
        missing = {"train_start", "train_end"} - {k for k, v in lineage.items() if v is not None}
        if missing:
            raise ValueError(f"lineage needs {sorted(missing)}")
        dates: dict[str, Any] = {name: _as_date(value) for name, value in lineage.items()}
        return cls(**dates)


@dataclass(frozen=True, slots=True)
class ModelVersionRecord:
    """A registry entry without its artifact bytes (see :meth:`ModelRegistry.load_artifact`)."""

    id: int
    name: str
    status: ModelStatus
    created_at: dt.datetime
    artifact_sha256: str
    artifact_format: str
    artifact_size_bytes: int
    feature_spec_hash: str
    feature_names: tuple[str, ...]
    params: dict[str, Any]
    metrics: dict[str, Any]
    evaluation: dict[str, Any] | None
    evaluated_at: dt.datetime | None
    lineage: ModelLineage
    dagster_run_id: str | None
    promoted_at: dt.datetime | None
    retired_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class PromotionRecord:
    id: int
    model_version_id: int
    previous_champion_id: int | None
    action: PromotionAction
    actor: str
    reason: str
    gates: dict[str, Any]
    dagster_run_id: str | None
    created_at: dt.datetime


def sha256_hex(artifact: bytes) -> str:
    return hashlib.sha256(artifact).hexdigest()


class ModelRegistry:
    """Synchronous registry access; one transaction per call; safe to share across threads."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sessions = session_factory(engine)

    # --- registration ----------------------------------------------------------------------------
    def register_candidate(
        self,
        *,
        name: str,
        artifact: bytes,
        artifact_format: str,
        feature_spec_hash: str,
        feature_names: Sequence[str],
        params: Mapping[str, Any],
        metrics: Mapping[str, Any],
        lineage: Mapping[str, Any] | ModelLineage,
        dagster_run_id: str | None = None,
    ) -> int:
        """Store a new candidate and return its id. ``params``/``metrics`` may hold numpy
        scalars, Decimals and dates (stored as JSON via ``to_jsonable``)."""
        if not artifact:
            raise ValueError("artifact is empty")
        lineage = (
            lineage if isinstance(lineage, ModelLineage) else ModelLineage.from_mapping(lineage)
        )
        row = ModelVersionRow(
            name=name,
            status=ModelStatus.CANDIDATE.value,
            artifact=bytes(artifact),
            artifact_sha256=sha256_hex(artifact),
            artifact_format=artifact_format,
            feature_spec_hash=feature_spec_hash,
            feature_names=list(feature_names),
            params=to_jsonable(dict(params)),
            metrics=to_jsonable(dict(metrics)),
            dagster_run_id=dagster_run_id,
            **{name: getattr(lineage, name) for name in LINEAGE_FIELDS},
        )
        with self._sessions.begin() as session:
            session.add(row)
            session.flush()
            return row.id

    def record_evaluation(self, model_version_id: int, evaluation: Mapping[str, Any]) -> None:
        """Attach (or replace) the evaluation results of a version."""
        with self._sessions.begin() as session:
            row = self._lock(session, model_version_id)
            row.evaluation = to_jsonable(dict(evaluation))
            row.evaluated_at = _clock(session)

    # --- reads -----------------------------------------------------------------------------------
    def get(self, model_version_id: int) -> ModelVersionRecord:
        with self._sessions() as session:
            row = session.execute(
                _record_query().where(ModelVersionRow.id == model_version_id)
            ).one_or_none()
            if row is None:
                raise ModelVersionNotFoundError(f"no model version {model_version_id}")
            return _record(*row)

    def load_artifact(self, model_version_id: int) -> bytes:
        """The artifact bytes, verified against their SHA-256 (raises
        :class:`ArtifactIntegrityError` on a mismatch)."""
        with self._sessions() as session:
            row = session.execute(
                select(ModelVersionRow.artifact, ModelVersionRow.artifact_sha256).where(
                    ModelVersionRow.id == model_version_id
                )
            ).one_or_none()
        if row is None:
            raise ModelVersionNotFoundError(f"no model version {model_version_id}")
        artifact, expected = bytes(row[0]), row[1]
        if sha256_hex(artifact) != expected:
            raise ArtifactIntegrityError(
                f"model version {model_version_id}: artifact hash mismatch"
            )
        return artifact

    def champion_id(self) -> int | None:
        """Id of the champion; one indexed lookup, cheap enough to poll."""
        with self._sessions() as session:
            return session.execute(
                select(ModelVersionRow.id).where(
                    ModelVersionRow.status == ModelStatus.CHAMPION.value
                )
            ).scalar_one_or_none()

    def champion(self) -> ModelVersionRecord | None:
        with self._sessions() as session:
            row = session.execute(
                _record_query().where(ModelVersionRow.status == ModelStatus.CHAMPION.value)
            ).one_or_none()
            return _record(*row) if row else None

    def latest_evaluated_candidate(self) -> ModelVersionRecord | None:
        """The most recently evaluated version still in ``candidate`` status."""
        with self._sessions() as session:
            row = session.execute(
                _record_query()
                .where(
                    ModelVersionRow.status == ModelStatus.CANDIDATE.value,
                    ModelVersionRow.evaluated_at.is_not(None),
                )
                .order_by(ModelVersionRow.evaluated_at.desc(), ModelVersionRow.id.desc())
                .limit(1)
            ).one_or_none()
            return _record(*row) if row else None

    def versions(self, status: ModelStatus | None = None) -> list[ModelVersionRecord]:
        """Every version (optionally of one status), newest first."""
        query = _record_query().order_by(ModelVersionRow.id.desc())
        if status is not None:
            query = query.where(ModelVersionRow.status == ModelStatus(status).value)
        with self._sessions() as session:
            return [_record(*row) for row in session.execute(query)]

    def promotions(self, model_version_id: int | None = None) -> list[PromotionRecord]:
        """The audit trail, oldest first."""
        query = select(ModelPromotionRow).order_by(ModelPromotionRow.id)
        if model_version_id is not None:
            query = query.where(ModelPromotionRow.model_version_id == model_version_id)
        with self._sessions() as session:
            return [_promotion(row) for row in session.scalars(query)]

    # --- lifecycle --------------------------------------------------------------------------------
    def promote(
        self,
        model_version_id: int,
        *,
        actor: str,
        reason: str,
        gates: Mapping[str, Any] | None = None,
        dagster_run_id: str | None = None,
        action: PromotionAction = "promote",
    ) -> PromotionRecord:
        """Make ``model_version_id`` the champion; the previous champion becomes retired.

        Only a candidate or a retired version can be promoted, and only if its artifact
        matches its hash; otherwise :class:`PromotionRefusedError`.
        """
        if action not in ("promote", "manual_promote", "rollback"):
            raise ValueError(f"{action!r} is not a promotion")
        with self._sessions.begin() as session:
            now = _serialise_champion_changes(session)
            return self._promote_locked(
                session, model_version_id, now, actor, reason, gates, dagster_run_id, action
            )

    def rollback(
        self, *, actor: str, reason: str, dagster_run_id: str | None = None
    ) -> PromotionRecord:
        """Re-promote the version the current champion replaced.

        "Replaced" is read from the audit trail: the previous champion recorded by the
        latest promotion of the current champion that was not itself a rollback. So
        repeated rollbacks walk back through history (C -> B -> A) instead of toggling
        between two versions. Raises :class:`PromotionRefusedError` when there is no
        champion, no earlier one, or the earlier one was since rejected.
        """
        with self._sessions.begin() as session:
            now = _serialise_champion_changes(session)
            champion_id = session.execute(
                select(ModelVersionRow.id).where(
                    ModelVersionRow.status == ModelStatus.CHAMPION.value
                )
            ).scalar_one_or_none()
            if champion_id is None:
                raise PromotionRefusedError("no champion to roll back from")
            previous_id = session.execute(
                select(ModelPromotionRow.previous_champion_id)
                .where(
                    ModelPromotionRow.model_version_id == champion_id,
                    ModelPromotionRow.action.in_(("promote", "manual_promote")),
                )
                .order_by(ModelPromotionRow.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            if previous_id is None:
                raise PromotionRefusedError(
                    f"model version {champion_id} is champion and replaced no earlier champion"
                )
            return self._promote_locked(
                session, previous_id, now, actor, reason, {}, dagster_run_id, "rollback"
            )

    def reject(
        self,
        model_version_id: int,
        *,
        actor: str,
        reason: str,
        gates: Mapping[str, Any] | None = None,
        dagster_run_id: str | None = None,
    ) -> PromotionRecord:
        """Mark a candidate as rejected (it will never be promoted automatically)."""
        with self._sessions.begin() as session:
            now = _serialise_champion_changes(session)
            row = self._lock(session, model_version_id)
            if row.status != ModelStatus.CANDIDATE.value:
                raise PromotionRefusedError(
                    f"model version {model_version_id} is {row.status}; "
                    "only candidates can be rejected"
                )
            row.status = ModelStatus.REJECTED.value
            return self._audit(
                session, row.id, None, "reject", actor, reason, gates, dagster_run_id, now
            )

    # --- internals -------------------------------------------------------------------------
    def _promote_locked(
        self,
        session: Session,
        model_version_id: int,
        now: dt.datetime,
        actor: str,
        reason: str,
        gates: Mapping[str, Any] | None,
        dagster_run_id: str | None,
        action: PromotionAction,
    ) -> PromotionRecord:
        target = self._lock(session, model_version_id)
        if target.status not in _PROMOTABLE:
            raise PromotionRefusedError(
                f"model version {model_version_id} is {target.status}; "
                "only a candidate or a retired version can be promoted"
            )
        stored_hash = session.execute(
            select(func.encode(func.sha256(ModelVersionRow.artifact), "hex")).where(
                ModelVersionRow.id == model_version_id
            )
        ).scalar_one()
        if stored_hash != target.artifact_sha256:
            raise PromotionRefusedError(
                f"model version {model_version_id}: artifact does not match its SHA-256"
            )
        previous = session.execute(
            select(ModelVersionRow)
            .where(ModelVersionRow.status == ModelStatus.CHAMPION.value)
            .with_for_update()
        ).scalar_one_or_none()
        if previous is not None:
            previous.status = ModelStatus.RETIRED.value
            previous.retired_at = now
            # Flush before the new champion so the partial unique index never sees two.
            session.flush()
        target.status = ModelStatus.CHAMPION.value
        target.promoted_at = now
        target.retired_at = None
        session.flush()
        return self._audit(
            session,
            target.id,
            previous.id if previous else None,
            action,
            actor,
            reason,
            gates,
            dagster_run_id,
            now,
        )

    @staticmethod
    def _lock(session: Session, model_version_id: int) -> ModelVersionRow:
        row = session.execute(
            select(ModelVersionRow).where(ModelVersionRow.id == model_version_id).with_for_update()
        ).scalar_one_or_none()
        if row is None:
            raise ModelVersionNotFoundError(f"no model version {model_version_id}")
        return row

    @staticmethod
    def _audit(
        session: Session,
        model_version_id: int,
        previous_champion_id: int | None,
        action: PromotionAction,
        actor: str,
        reason: str,
        gates: Mapping[str, Any] | None,
        dagster_run_id: str | None,
        now: dt.datetime,
    ) -> PromotionRecord:
        row = ModelPromotionRow(
            model_version_id=model_version_id,
            previous_champion_id=previous_champion_id,
            action=action,
            actor=actor,
            reason=reason,
            gates=to_jsonable(dict(gates or {})),
            dagster_run_id=dagster_run_id,
            created_at=now,
        )
        session.add(row)
        session.flush()
        return _promotion(row)


def _serialise_champion_changes(session: Session) -> dt.datetime:
    """Take the promotion lock (released at commit) and return the time after getting it.

    The timestamp is read *after* the lock so that changes are ordered in time as they
    were applied (``now()`` would be the transaction's start, possibly before the
    previous holder committed).
    """
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PROMOTION_LOCK_KEY})
    return _clock(session)


def _clock(session: Session) -> dt.datetime:
    return session.execute(select(func.clock_timestamp())).scalar_one()


def _record_query() -> Any:
    return select(
        *(ModelVersionRow.__table__.c[name] for name in _RECORD_COLUMNS),
        func.octet_length(ModelVersionRow.artifact),
    )


_RECORD_COLUMNS = (
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


def _record(*values: Any) -> ModelVersionRecord:
    columns = dict(zip(_RECORD_COLUMNS, values[:-1], strict=True))
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


def _promotion(row: ModelPromotionRow) -> PromotionRecord:
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


def _as_date(value: Any) -> dt.date | None:
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    raise ValueError(f"not a date: {value!r}")
