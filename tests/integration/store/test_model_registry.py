"""The model registry against Postgres: lifecycle, audit, one champion under concurrency."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import Engine, text, update
from sqlalchemy.exc import IntegrityError

from trading_runtime.domain import ModelStatus
from trading_runtime.store.models import ModelVersionRow
from trading_runtime.store.registry import (
    ArtifactIntegrityError,
    ModelLineage,
    ModelRegistry,
    ModelVersionNotFoundError,
    PromotionRefusedError,
    sha256_hex,
)

LINEAGE = {
    "train_start": dt.date(2026, 1, 2),
    "train_end": "2026-03-31",
    "validation_start": dt.date(2026, 4, 1),
    "validation_end": dt.date(2026, 4, 30),
    "test_start": dt.date(2026, 5, 1),
    "test_end": dt.date(2026, 5, 29),
}


@pytest.fixture
def registry(engine: Engine) -> ModelRegistry:
    return ModelRegistry(engine)


def candidate(registry: ModelRegistry, name: str = "xgb", artifact: bytes | None = None) -> int:
    return registry.register_candidate(
        name=name,
        artifact=artifact if artifact is not None else f"model {name}".encode(),
        artifact_format="xgboost-ubj",
        feature_spec_hash="f" * 16,
        feature_names=["ret_1", "rsi_14"],
        params={"max_depth": np.int64(4), "eta": np.float64(0.1)},
        metrics={"log_loss": np.float32(0.5), "accuracy": 0.61, "pnl": Decimal("12.5")},
        lineage=LINEAGE,
        dagster_run_id="run-1",
    )


def statuses(registry: ModelRegistry) -> dict[int, ModelStatus]:
    return {record.id: record.status for record in registry.versions()}


def test_a_candidate_is_stored_with_lineage_metrics_and_a_verified_artifact(
    registry: ModelRegistry,
) -> None:
    artifact = bytes(range(256)) * 1000  # binary, not text
    version_id = candidate(registry, artifact=artifact)
    record = registry.get(version_id)
    assert record.status is ModelStatus.CANDIDATE
    assert record.lineage == ModelLineage.from_mapping(LINEAGE)
    assert record.lineage.train_end == dt.date(2026, 3, 31)
    assert record.metrics == {"log_loss": 0.5, "accuracy": 0.61, "pnl": "12.5"}
    assert record.params == {"max_depth": 4, "eta": 0.1}
    assert record.feature_names == ("ret_1", "rsi_14")
    assert record.artifact_sha256 == sha256_hex(artifact)
    assert record.artifact_size_bytes == len(artifact)
    assert registry.load_artifact(version_id) == artifact


def test_unknown_versions_and_lineage_typos_are_errors(registry: ModelRegistry) -> None:
    with pytest.raises(ModelVersionNotFoundError):
        registry.get(123456)
    with pytest.raises(ModelVersionNotFoundError):
        registry.load_artifact(123456)
    with pytest.raises(ValueError, match="unknown lineage"):
        ModelLineage.from_mapping({**LINEAGE, "train_stop": dt.date(2026, 1, 1)})
    with pytest.raises(ValueError, match="train_start"):
        ModelLineage.from_mapping({"train_end": dt.date(2026, 1, 1)})


def test_latest_evaluated_candidate_is_the_one_evaluated_last(registry: ModelRegistry) -> None:
    first, second, _unevaluated = (
        candidate(registry, "a"),
        candidate(registry, "b"),
        candidate(registry, "c"),
    )
    assert registry.latest_evaluated_candidate() is None
    registry.record_evaluation(second, {"sharpe": np.float64(1.2)})
    registry.record_evaluation(first, {"sharpe": 0.9, "passed": True})
    latest = registry.latest_evaluated_candidate()
    assert latest is not None and latest.id == first
    assert latest.evaluation == {"sharpe": 0.9, "passed": True}
    registry.reject(first, actor="sensor", reason="gates failed", gates={"sharpe": False})
    latest = registry.latest_evaluated_candidate()
    assert latest is not None and latest.id == second


def test_promote_promote_rollback_walks_the_champion_history(registry: ModelRegistry) -> None:
    first, second, third = (candidate(registry, name) for name in ("a", "b", "c"))
    assert registry.champion_id() is None

    registry.promote(first, actor="sensor", reason="first model", gates={"accuracy": True})
    assert registry.champion_id() == first
    registry.promote(second, actor="sensor", reason="beats champion", dagster_run_id="run-2")
    registry.promote(third, actor="alice", reason="manual", action="manual_promote")
    assert statuses(registry) == {
        first: ModelStatus.RETIRED,
        second: ModelStatus.RETIRED,
        third: ModelStatus.CHAMPION,
    }

    back = registry.rollback(actor="alice", reason="c misbehaves")
    assert (back.model_version_id, back.previous_champion_id) == (second, third)
    assert registry.champion_id() == second
    registry.rollback(actor="alice", reason="b too")
    assert registry.champion_id() == first  # walks back, does not toggle to c
    with pytest.raises(PromotionRefusedError, match="no earlier champion"):
        registry.rollback(actor="alice", reason="nothing before a")

    champion = registry.champion()
    assert champion is not None and champion.promoted_at is not None
    assert registry.get(third).retired_at is not None
    trail = registry.promotions()
    assert [(p.action, p.model_version_id, p.previous_champion_id) for p in trail] == [
        ("promote", first, None),
        ("promote", second, first),
        ("manual_promote", third, second),
        ("rollback", second, third),
        ("rollback", first, second),
    ]
    assert trail[0].gates == {"accuracy": True}
    assert trail[1].dagster_run_id == "run-2"
    assert [p.created_at for p in trail] == sorted(p.created_at for p in trail)


def test_promotion_is_refused_for_rejected_or_current_champions(registry: ModelRegistry) -> None:
    champion, rejected = candidate(registry, "a"), candidate(registry, "b")
    registry.promote(champion, actor="sensor", reason="first")
    registry.reject(rejected, actor="sensor", reason="worse", gates={"sharpe": False})
    with pytest.raises(PromotionRefusedError, match="rejected"):
        registry.promote(rejected, actor="alice", reason="try anyway")
    with pytest.raises(PromotionRefusedError, match="champion"):
        registry.promote(champion, actor="alice", reason="again")
    with pytest.raises(PromotionRefusedError, match="only candidates"):
        registry.reject(champion, actor="alice", reason="no")
    assert registry.champion_id() == champion
    assert [p.action for p in registry.promotions()] == ["promote", "reject"]


def test_a_version_whose_artifact_no_longer_matches_its_hash_is_not_promoted(
    registry: ModelRegistry, engine: Engine
) -> None:
    version_id = candidate(registry)
    with engine.begin() as connection:
        connection.execute(
            update(ModelVersionRow)
            .where(ModelVersionRow.id == version_id)
            .values(artifact=b"tampered")
        )
    with pytest.raises(PromotionRefusedError, match="SHA-256"):
        registry.promote(version_id, actor="sensor", reason="looks good")
    with pytest.raises(ArtifactIntegrityError):
        registry.load_artifact(version_id)
    assert registry.champion_id() is None
    assert registry.promotions() == []


def test_the_schema_itself_refuses_a_second_champion(
    registry: ModelRegistry, engine: Engine
) -> None:
    first, second = candidate(registry, "a"), candidate(registry, "b")
    registry.promote(first, actor="sensor", reason="first")
    with (
        pytest.raises(IntegrityError, match="uq_model_versions_single_champion"),
        engine.begin() as connection,
    ):
        connection.execute(
            text("UPDATE model_versions SET status = 'champion' WHERE id = :id"),
            {"id": second},
        )


def test_concurrent_promotions_leave_exactly_one_champion(
    registry: ModelRegistry, engine: Engine
) -> None:
    contenders = [candidate(registry, f"m{index}") for index in range(6)]
    start = threading.Barrier(len(contenders))
    errors: list[BaseException] = []

    def promote(version_id: int) -> None:
        start.wait()
        try:
            registry.promote(version_id, actor="sensor", reason="race")
        except BaseException as error:  # reported below, not swallowed
            errors.append(error)

    threads = [threading.Thread(target=promote, args=(v,)) for v in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    final = statuses(registry)
    assert list(final.values()).count(ModelStatus.CHAMPION) == 1
    # The promotions were serialised: each one retired exactly the champion before it.
    trail = registry.promotions()
    assert len(trail) == len(contenders)
    assert trail[0].previous_champion_id is None
    for earlier, later in itertools.pairwise(trail):
        assert later.previous_champion_id == earlier.model_version_id
    assert registry.champion_id() == trail[-1].model_version_id
