"""The registry's vocabulary: errors, lineage, the records it returns.

Errors: :class:`ModelVersionNotFoundError` (unknown id), :class:`PromotionRefusedError`
(the transition is not allowed, or the artifact fails verification),
:class:`ArtifactIntegrityError` (loaded bytes do not match the hash).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from trading_runtime.domain import ModelStatus

PromotionAction = Literal["promote", "manual_promote", "rollback", "reject"]

LINEAGE_FIELDS = (
    "train_start",
    "train_end",
    "validation_start",
    "validation_end",
    "test_start",
    "test_end",
)
PROMOTABLE = (ModelStatus.CANDIDATE.value, ModelStatus.RETIRED.value)


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
        dates: dict[str, Any] = {name: as_date(value) for name, value in lineage.items()}
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


def as_date(value: Any) -> dt.date | None:
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    raise ValueError(f"not a date: {value!r}")
