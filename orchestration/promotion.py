"""Promotion: the ``promote_model`` sensor, the job that applies the gates, and the manual
promotion and rollback jobs. Every status change is audited in the registry with the gates
and their numbers; a candidate held for review (blocked by warnings alone) keeps its status
and the decision is stored with its evaluation.

The sensor does light work only (one registry query and the pure gate function) and asks
for a run; the run re-reads the registry and applies the gates authoritatively, so a
promotion always happens in a Dagster run with logs, a run id in the audit trail, and a
``run_key`` that makes it happen once per candidate.
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg

from orchestration.resources import DatabaseResource
from trading_runtime.domain.enums import ModelStatus
from trading_runtime.modeling.promotion import PromotionDecision, PromotionGates, decide_promotion

SENSOR_ACTOR = "sensor:promote_model"


class PromotionRunConfig(dg.Config):
    model_version_id: int
    min_test_days: int = PromotionGates.min_test_days
    min_trades: int = PromotionGates.min_trades
    max_drawdown: float = PromotionGates.max_drawdown
    max_daily_sharpe: float = PromotionGates.max_daily_sharpe
    max_win_rate: float = PromotionGates.max_win_rate
    min_paired_days: int = PromotionGates.min_paired_days

    def gates(self) -> PromotionGates:
        return PromotionGates(
            min_test_days=self.min_test_days,
            min_trades=self.min_trades,
            max_drawdown=self.max_drawdown,
            max_daily_sharpe=self.max_daily_sharpe,
            max_win_rate=self.max_win_rate,
            min_paired_days=self.min_paired_days,
        )


def decide(
    metrics: Mapping[str, Any],
    evaluation: Mapping[str, Any] | None,
    champion_id: int | None,
    gates: PromotionGates,
) -> PromotionDecision:
    """The gates applied to a registered version: its walk-forward report is stored in its
    ``metrics``, the champion comparison and the checks' inputs in its ``evaluation``."""
    return decide_promotion(metrics.get("walk_forward") or {}, evaluation or {}, champion_id, gates)


@dg.op(
    description="Apply the promotion gates to one evaluated candidate: promote it, hold it for "
    "a manual decision (blocked by warnings alone) or reject it."
)
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
    gates = config.gates()
    decision = decide(record.metrics, record.evaluation, registry.champion_id(), gates)
    audited = {**decision.gates, "thresholds": gates.as_dict()}
    action = decision.outcome
    if action == "promote":
        registry.promote(
            record.id,
            actor=SENSOR_ACTOR,
            reason=decision.reason,
            gates=audited,
            dagster_run_id=context.run_id,
        )
        context.log.info("model %d promoted to champion", record.id)
    elif action == "hold":
        # Rejecting would rule out the manual promotion a warning invites; the version stays
        # a candidate and the decision is kept with its evaluation.
        held = {
            "action": action,
            "reason": decision.reason,
            "gates": audited,
            "dagster_run_id": context.run_id,
        }
        registry.record_evaluation(record.id, {**record.evaluation, "decision": held})
        context.log.warning("model %d held for a manual decision: %s", record.id, decision.reason)
    else:
        registry.reject(
            record.id,
            actor=SENSOR_ACTOR,
            reason=decision.reason,
            gates=audited,
            dagster_run_id=context.run_id,
        )
        context.log.info("model %d rejected: %s", record.id, decision.reason)
    return {
        "model_version_id": record.id,
        "action": action,
        "reason": decision.reason,
        "gates": decision.gates,
    }


@dg.job(description="Promote, hold or reject an evaluated candidate through the promotion gates.")
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
    if (candidate.evaluation or {}).get("decision"):
        return dg.SkipReason(f"candidate {candidate.id} is held for a manual decision")
    preview = decide(
        candidate.metrics, candidate.evaluation, registry.champion_id(), PromotionGates()
    )
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"model-{candidate.id}",
                run_config={
                    "ops": {"apply_promotion_gates": {"config": {"model_version_id": candidate.id}}}
                },
                tags={
                    "model_version_id": str(candidate.id),
                    "expected_outcome": preview.outcome,
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
