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

Map: ``registry_types`` (errors, lineage, records), ``registry_rows`` (the champion lock and
row-to-record mapping), this module (the :class:`ModelRegistry` operations).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from trading_runtime.domain import ModelStatus
from trading_runtime.store.db import session_factory
from trading_runtime.store.jsonable import to_jsonable
from trading_runtime.store.models import ModelPromotionRow, ModelVersionRow
from trading_runtime.store.registry_rows import (
    PROMOTION_LOCK_KEY,
    clock,
    record_query,
    serialise_champion_changes,
    to_promotion,
    to_record,
)
from trading_runtime.store.registry_types import (
    LINEAGE_FIELDS,
    PROMOTABLE,
    ArtifactIntegrityError,
    ModelLineage,
    ModelVersionNotFoundError,
    ModelVersionRecord,
    PromotionAction,
    PromotionRecord,
    PromotionRefusedError,
    RegistryError,
    sha256_hex,
)

__all__ = [
    "LINEAGE_FIELDS",
    "PROMOTION_LOCK_KEY",
    "ArtifactIntegrityError",
    "ModelLineage",
    "ModelRegistry",
    "ModelVersionNotFoundError",
    "ModelVersionRecord",
    "PromotionAction",
    "PromotionRecord",
    "PromotionRefusedError",
    "RegistryError",
    "sha256_hex",
]

_IS_CHAMPION = ModelVersionRow.status == ModelStatus.CHAMPION.value
_CHAMPION_ID = select(ModelVersionRow.id).where(_IS_CHAMPION)


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
            row.evaluated_at = clock(session)

    # --- reads -----------------------------------------------------------------------------------
    def get(self, model_version_id: int) -> ModelVersionRecord:
        record = self._one_record(record_query().where(ModelVersionRow.id == model_version_id))
        if record is None:
            raise ModelVersionNotFoundError(f"no model version {model_version_id}")
        return record

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
            return session.execute(_CHAMPION_ID).scalar_one_or_none()

    def champion(self) -> ModelVersionRecord | None:
        return self._one_record(record_query().where(_IS_CHAMPION))

    def latest_evaluated_candidate(self) -> ModelVersionRecord | None:
        """The most recently evaluated version still in ``candidate`` status."""
        return self._one_record(
            record_query()
            .where(
                ModelVersionRow.status == ModelStatus.CANDIDATE.value,
                ModelVersionRow.evaluated_at.is_not(None),
            )
            .order_by(ModelVersionRow.evaluated_at.desc(), ModelVersionRow.id.desc())
            .limit(1)
        )

    def find_by_recipe(self, name: str, fingerprint: str) -> ModelVersionRecord | None:
        """The newest version of ``name`` whose ``params["recipe_fingerprint"]`` (recipe, code
        and data it was trained from) equals ``fingerprint``; rejected versions count too (the
        same inputs would be rejected again)."""
        return self._one_record(
            record_query()
            .where(
                ModelVersionRow.name == name,
                ModelVersionRow.params["recipe_fingerprint"].astext == fingerprint,
            )
            .order_by(ModelVersionRow.id.desc())
            .limit(1)
        )

    def versions(self, status: ModelStatus | None = None) -> list[ModelVersionRecord]:
        """Every version (optionally of one status), newest first."""
        query = record_query().order_by(ModelVersionRow.id.desc())
        if status is not None:
            query = query.where(ModelVersionRow.status == ModelStatus(status).value)
        with self._sessions() as session:
            return [to_record(*row) for row in session.execute(query)]

    def promotions(self, model_version_id: int | None = None) -> list[PromotionRecord]:
        """The audit trail, oldest first."""
        query = select(ModelPromotionRow).order_by(ModelPromotionRow.id)
        if model_version_id is not None:
            query = query.where(ModelPromotionRow.model_version_id == model_version_id)
        with self._sessions() as session:
            return [to_promotion(row) for row in session.scalars(query)]

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
            now = serialise_champion_changes(session)
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
            now = serialise_champion_changes(session)
            champion_id = session.execute(_CHAMPION_ID).scalar_one_or_none()
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
            now = serialise_champion_changes(session)
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
    def _one_record(self, query: Any) -> ModelVersionRecord | None:
        """The record of the single row ``query`` (a :func:`record_query`) finds, or None."""
        with self._sessions() as session:
            row = session.execute(query).one_or_none()
        return to_record(*row) if row else None

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
        if target.status not in PROMOTABLE:
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
            select(ModelVersionRow).where(_IS_CHAMPION).with_for_update()
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
        return to_promotion(row)
