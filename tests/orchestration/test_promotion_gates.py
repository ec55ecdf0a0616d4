"""The promote_model sensor previews the gates; the promotion run decides and records every
gate with its numbers (in the registry's audit trail, or with the evaluation when the
candidate is held for review); a candidate held as implausible can be promoted by hand with
a reason, and one that fails a hard gate is rejected."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import dagster as dg
from sqlalchemy import Engine

from orchestration.definitions import build_definitions
from orchestration.model import candidate_summary
from orchestration.promotion import promote_model
from orchestration.resources import DatabaseResource
from tests.support.models import trained_model_bytes
from tests.support.reports import evaluation, walk_forward_report
from trading_runtime.config import load_settings
from trading_runtime.features.spec import FEATURE_SPEC
from trading_runtime.modeling.artifact import ARTIFACT_FORMAT
from trading_runtime.store.registry import ModelRegistry


def _candidate(registry: ModelRegistry, report: dict[str, Any]) -> int:
    version = registry.register_candidate(
        name="test-model",
        artifact=trained_model_bytes(),
        artifact_format=ARTIFACT_FORMAT,
        feature_spec_hash=FEATURE_SPEC.hash,
        feature_names=list(FEATURE_SPEC.names),
        params={},
        metrics={"walk_forward": report},
        lineage={"train_start": dt.date(2026, 9, 1), "train_end": dt.date(2026, 11, 30)},
    )
    registry.record_evaluation(version, evaluation())
    return version


def _sensor_and_run(instance: dg.DagsterInstance) -> tuple[dg.RunRequest, dict[str, Any]]:
    with dg.build_sensor_context(
        instance=instance, resources={"database": DatabaseResource()}
    ) as context:
        result = promote_model(context)
    assert isinstance(result, dg.SensorResult)
    [request] = result.run_requests or []
    run = (
        build_definitions(load_settings())
        .resolve_job_def("promote_model_job")
        .execute_in_process(instance=instance, run_config=request.run_config, tags=request.tags)
    )
    assert run.success
    return request, run.output_for_node("apply_promotion_gates")


def test_the_run_promotes_and_audits_every_gate_with_its_numbers(
    platform_env: Path, engine: Engine
) -> None:
    registry = ModelRegistry(engine)
    version = _candidate(registry, walk_forward_report())
    with dg.DagsterInstance.ephemeral() as instance:
        request, outcome = _sensor_and_run(instance)
    assert request.tags["expected_outcome"] == "promote"
    assert outcome["action"] == "promote"
    assert registry.champion_id() == version
    [audit] = registry.promotions(version)
    assert audit.action == "promote" and audit.actor == "sensor:promote_model"
    skill = audit.gates["skill"]
    assert skill["passed"] and skill["interval"]["lower"] == 0.006
    assert "+0.0100 (95 % CI +0.0060 .. +0.0140)" in skill["reason"]
    assert audit.gates["trading"]["trades"] == 120
    assert audit.gates["leak_checks"]["status"] == "skipped"
    assert audit.gates["thresholds"]["min_trades"] == 30


def test_an_implausible_candidate_is_held_and_can_be_promoted_by_hand(
    platform_env: Path, engine: Engine
) -> None:
    registry = ModelRegistry(engine)
    version = _candidate(registry, walk_forward_report(sharpe=66.0, win_rate=0.89))
    with dg.DagsterInstance.ephemeral() as instance:
        request, outcome = _sensor_and_run(instance)
        assert request.tags["expected_outcome"] == outcome["action"] == "hold"
        assert registry.promotions(version) == [] and registry.champion_id() is None
        held = registry.get(version).evaluation["decision"]
        assert "daily Sharpe 66.0 > 10" in held["reason"]
        assert held["gates"]["plausibility"]["severity"] == "warn"
        with dg.build_sensor_context(
            instance=instance, resources={"database": DatabaseResource()}
        ) as context:
            assert isinstance(promote_model(context), dg.SkipReason), "no second decision"
        manual = (
            build_definitions(load_settings())
            .resolve_job_def("manual_promotion")
            .execute_in_process(
                instance=instance,
                run_config={
                    "ops": {
                        "promote_manually": {
                            "config": {
                                "model_version_id": version,
                                "reason": "read the caveat; the edge is planted",
                            }
                        }
                    }
                },
            )
        )
    assert manual.success
    assert registry.champion_id() == version
    [audit] = registry.promotions(version)
    assert audit.action == "manual_promote" and "planted" in audit.reason
    summary = candidate_summary(registry)
    assert ("Decision", f"v{version} held for a manual decision (not promoted automatically)") in (
        summary
    )
    assert summary[-1] == (
        "",
        "then promoted by hand by operator: read the caveat; the edge is planted",
    )


def test_a_candidate_without_skill_is_rejected_with_the_gate_named(
    platform_env: Path, engine: Engine
) -> None:
    registry = ModelRegistry(engine)
    version = _candidate(registry, walk_forward_report(improvement=(0.001, -0.002, 0.004)))
    with dg.DagsterInstance.ephemeral() as instance:
        request, outcome = _sensor_and_run(instance)
    assert request.tags["expected_outcome"] == outcome["action"] == "reject"
    [audit] = registry.promotions(version)
    assert audit.action == "reject" and audit.reason.startswith("skill: ")
    assert audit.gates["skill"]["interval"]["lower"] == -0.002
