"""Promotion: the ``promote_model`` sensor, the job that applies the gates, and the manual
promotion and rollback jobs. Every status change is audited in the registry.

The sensor does light work only (one registry query and the pure gate function) and asks
for a run; the run re-reads the registry and applies the gates authoritatively, so a
promotion always happens in a Dagster run with logs, a run id in the audit trail, and a
``run_key`` that makes it happen once per candidate.
"""

from typing import Any

import dagster as dg

from orchestration.resources import DatabaseResource
from trading_runtime.domain.enums import ModelStatus
from trading_runtime.modeling.promotion import PromotionGates, decide_promotion

SENSOR_ACTOR = "sensor:promote_model"


class PromotionRunConfig(dg.Config):
    model_version_id: int
    min_test_rows: int = PromotionGates.min_test_rows
    min_backtest_return: float = PromotionGates.min_backtest_return
    max_drawdown: float = PromotionGates.max_drawdown
    min_logloss_improvement: float = PromotionGates.min_logloss_improvement

    def gates(self) -> PromotionGates:
        return PromotionGates(
            min_test_rows=self.min_test_rows,
            min_backtest_return=self.min_backtest_return,
            max_drawdown=self.max_drawdown,
            min_logloss_improvement=self.min_logloss_improvement,
        )


@dg.op(description="Apply the promotion gates to one evaluated candidate: promote or reject it.")
def apply_promotion_gates(
    context: dg.OpExecutionContext, config: PromotionRunConfig, database: DatabaseResource
) -> dict[str, Any]:
    registry = database.registry()
    record = registry.get(config.model_version_id)
    if record.status is not ModelStatus.CANDIDATE:
        context.log.info("model %d is %s, nothing to decide", record.id, record.status.value)
        return {"model_version_id": record.id, "action": "none", "status": record.status.value}
    if record.evaluation is None:
        raise dg.Failure(
            f"model {record.id} has not been evaluated; materialize model_evaluation first"
        )
    decision = decide_promotion(record.evaluation, registry.champion_id(), config.gates())
    if decision.promote:
        registry.promote(
            record.id,
            actor=SENSOR_ACTOR,
            reason=decision.reason,
            gates=decision.gates,
            dagster_run_id=context.run_id,
        )
        context.log.info("model %d promoted to champion", record.id)
    else:
        registry.reject(
            record.id,
            actor=SENSOR_ACTOR,
            reason=decision.reason,
            gates=decision.gates,
            dagster_run_id=context.run_id,
        )
        context.log.info("model %d rejected: %s", record.id, decision.reason)
    return {
        "model_version_id": record.id,
        "action": "promote" if decision.promote else "reject",
        "gates": decision.gates,
    }


@dg.job(description="Promote or reject an evaluated candidate through the promotion gates.")
def promote_model_job() -> None:
    apply_promotion_gates()


@dg.sensor(
    job=promote_model_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests a promotion run for each newly evaluated candidate (once per candidate).",
)
def promote_model(
    context: dg.SensorEvaluationContext, database: DatabaseResource
) -> dg.SensorResult | dg.SkipReason:
    registry = database.registry()
    candidate = registry.latest_evaluated_candidate()
    if candidate is None:
        return dg.SkipReason("no evaluated candidate waiting for a decision")
    preview = decide_promotion(candidate.evaluation or {}, registry.champion_id())
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"model-{candidate.id}",
                run_config={
                    "ops": {"apply_promotion_gates": {"config": {"model_version_id": candidate.id}}}
                },
                tags={
                    "model_version_id": str(candidate.id),
                    "expected_outcome": "promote" if preview.promote else "reject",
                },
            )
        ]
    )


class ManualPromotionConfig(dg.Config):
    model_version_id: int
    reason: str
    actor: str = "operator"


@dg.op(description="Make a model version the champion by hand (audited as manual_promote).")
def promote_manually(
    context: dg.OpExecutionContext, config: ManualPromotionConfig, database: DatabaseResource
) -> int:
    registry = database.registry()
    registry.promote(
        config.model_version_id,
        actor=config.actor,
        reason=config.reason,
        action="manual_promote",
        dagster_run_id=context.run_id,
    )
    context.log.info(
        "model %d promoted by %s: %s", config.model_version_id, config.actor, config.reason
    )
    return config.model_version_id


@dg.job(description="Manual promotion of a model version, with a reason, audited.")
def manual_promotion() -> None:
    promote_manually()


class RollbackConfig(dg.Config):
    reason: str
    actor: str = "operator"


@dg.op(description="Re-promote the champion's predecessor (audited as rollback).")
def roll_back(
    context: dg.OpExecutionContext, config: RollbackConfig, database: DatabaseResource
) -> int:
    record = database.registry().rollback(
        actor=config.actor, reason=config.reason, dagster_run_id=context.run_id
    )
    context.log.info("rolled back to model %d: %s", record.model_version_id, config.reason)
    return record.model_version_id


@dg.job(description="Roll the champion back to the previous one; the live loop picks it up.")
def rollback_model() -> None:
    roll_back()
