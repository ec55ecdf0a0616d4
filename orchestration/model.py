"""Model assets: ``model_candidate`` (train and register) and ``model_evaluation``
(out-of-sample metrics and a cost-aware backtest, candidate and champion on the same days)."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

import dagster as dg

from orchestration import plots
from orchestration.data import feature_table
from orchestration.resources import DatabaseResource, LakeResource, PlatformSettingsResource
from trading_runtime.backtest.replay import BacktestConfig
from trading_runtime.features.spec import FEATURE_SPEC
from trading_runtime.marketdata import calendar
from trading_runtime.modeling.artifact import ARTIFACT_FORMAT, ModelIncompatibleError, TradingModel
from trading_runtime.modeling.pipeline import evaluate_model, train_candidate, window_days
from trading_runtime.modeling.training import TrainingConfig

MODEL_NAME = "direction-xgb"


class TrainingRunConfig(dg.Config):
    window_days: int = 60
    end_date: str | None = None  # last session of the window; default: newest stored
    validation_days: int = 10
    test_days: int = 10
    n_estimators: int = 400
    max_depth: int = 4
    learning_rate: float = 0.1
    seed: int = 7


@dg.asset(
    deps=[feature_table],
    group_name="model",
    kinds={"xgboost", "postgres"},
    description="XGBoost multi:softprob (down/flat/up over the label horizon) trained on a rolling "
    "window of sessions, split in time order; registered as a candidate in the model registry.",
)
def model_candidate(
    context: dg.AssetExecutionContext,
    config: TrainingRunConfig,
    lake: LakeResource,
    database: DatabaseResource,
) -> dg.MaterializeResult:
    parquet = lake.lake()
    available = [day for day in parquet.bar_days() if parquet.has_features(day, FEATURE_SPEC.hash)]
    end = dt.date.fromisoformat(config.end_date) if config.end_date else None
    days = window_days(available, config.window_days, end)
    training = TrainingConfig(
        validation_days=config.validation_days,
        test_days=config.test_days,
        n_estimators=config.n_estimators,
        max_depth=config.max_depth,
        learning_rate=config.learning_rate,
        seed=config.seed,
    )
    candidate = train_candidate(parquet, days, training)
    result = candidate.result
    artifact = result.model.to_bytes()
    metrics = {**result.metrics, "train_priors": list(candidate.train_priors)}
    version_id = database.registry().register_candidate(
        name=MODEL_NAME,
        artifact=artifact,
        artifact_format=ARTIFACT_FORMAT,
        feature_spec_hash=FEATURE_SPEC.hash,
        feature_names=list(FEATURE_SPEC.names),
        params=result.params,
        metrics=metrics,
        lineage=result.split.as_lineage(),
        dagster_run_id=context.run.run_id,
    )
    context.log.info("registered candidate %d trained on %s..%s", version_id, days[0], days[-1])
    return dg.MaterializeResult(
        metadata={
            "model_version_id": version_id,
            "train_days": f"{result.split.train[0]}..{result.split.train[-1]}",
            "validation_days": f"{result.split.validation[0]}..{result.split.validation[-1]}",
            "test_days": f"{result.split.test[0]}..{result.split.test[-1]}",
            "rows": candidate.dataset_rows,
            "train_logloss": result.metrics["train_logloss"],
            "validation_logloss": result.metrics["validation_logloss"],
            "best_iteration": int(result.metrics["best_iteration"]),
            "artifact_bytes": len(artifact),
            "feature_importance": plots.feature_importance(result.model.feature_importance()),
        }
    )


@dg.asset(
    deps=[model_candidate],
    group_name="model",
    kinds={"postgres"},
    check_specs=[
        dg.AssetCheckSpec(
            "evaluation_sanity",
            asset="model_evaluation",
            description="The evaluation is internally consistent: metrics are numbers, "
            "accuracy is in [0, 1], the confusion matrix adds up to the test rows, and the "
            "backtest produced an equity curve. A failure stops automatic promotion.",
        )
    ],
    description="Out-of-sample log loss, accuracy and confusion matrix against prior baselines, "
    "and a backtest through the live strategy and risk code with the shared fill model, against "
    "buy-and-hold of the reference symbol. The champion is evaluated on the same days.",
)
def model_evaluation(
    context: dg.AssetExecutionContext,
    lake: LakeResource,
    database: DatabaseResource,
    platform: PlatformSettingsResource,
) -> dg.MaterializeResult:
    version_id = _latest_candidate_id(context)
    registry = database.registry()
    record = registry.get(version_id)
    lineage = record.lineage
    test_days = calendar.sessions_between(lineage.test_start, lineage.test_end)
    settings = platform.get()
    backtest_config = BacktestConfig(
        starting_cash=settings.sim_starting_cash,
        decision=settings.decision_config(),
        reference_symbol=settings.reference_symbol,
    )
    priors = record.metrics["train_priors"]
    candidate_model = TradingModel.from_bytes(registry.load_artifact(version_id))
    candidate = evaluate_model(
        lake.lake(), candidate_model, version_id, test_days, priors, backtest_config
    )
    champion_summary = None
    champion = registry.champion()
    if champion is not None and champion.id != version_id:
        try:
            champion_model = TradingModel.from_bytes(registry.load_artifact(champion.id))
            champion_summary = evaluate_model(
                lake.lake(), champion_model, champion.id, test_days, priors, backtest_config
            ).summary()
        except ModelIncompatibleError as error:
            context.log.warning(
                "champion %d cannot be scored on today's features: %s", champion.id, error
            )
    sanity = _sanity(candidate.summary(), len(candidate.backtest.equity_curve))
    evaluation = {
        "candidate": candidate.summary(),
        "champion": champion_summary,
        "champion_id": champion.id if champion is not None else None,
        "sanity": {"passed": sanity.passed, "problems": sanity.problems},
    }
    registry.record_evaluation(version_id, evaluation)
    classification = candidate.classification
    backtest = candidate.backtest.metrics
    metadata: dict[str, Any] = {
        "model_version_id": version_id,
        "test_days": f"{test_days[0]}..{test_days[-1]}",
        "logloss": classification["logloss"],
        "baseline_logloss": classification["baseline_logloss"],
        "accuracy": classification["accuracy"],
        "baseline_accuracy": classification["baseline_accuracy"],
        "confident_up_rows": classification["confident_up_rows"],
        "backtest_return": backtest["total_return"],
        "benchmark_return": backtest["benchmark_return"],
        "max_drawdown": backtest["max_drawdown"],
        "sharpe_annualized": backtest["sharpe_annualized"],
        "orders": int(backtest["orders"]),
        "equity_curve": plots.equity_curve(candidate.backtest.equity_curve),
        "confusion_matrix": plots.confusion_matrix(classification["confusion_matrix"]),
    }
    if champion_summary is not None:
        metadata["champion_id"] = champion.id if champion else None
        metadata["champion_logloss"] = champion_summary["classification"]["logloss"]
        metadata["champion_backtest_return"] = champion_summary["backtest"]["total_return"]
    return dg.MaterializeResult(
        metadata=metadata,
        check_results=[
            dg.AssetCheckResult(
                check_name="evaluation_sanity",
                passed=sanity.passed,
                metadata={"problems": dg.MetadataValue.json(sanity.problems)},
            )
        ],
    )


def _latest_candidate_id(context: dg.AssetExecutionContext) -> int:
    event = context.instance.get_latest_materialization_event(dg.AssetKey("model_candidate"))
    if event is None or event.asset_materialization is None:
        raise dg.Failure("model_candidate has never been materialized")
    value = event.asset_materialization.metadata["model_version_id"].value
    if not isinstance(value, int):
        raise dg.Failure(f"model_candidate recorded a non-integer model_version_id: {value!r}")
    return value


@dataclass(frozen=True)
class Sanity:
    passed: bool
    problems: list[str]


def _sanity(summary: dict[str, Any], curve_length: int) -> Sanity:
    """Evaluation results that cannot be right stop a promotion."""
    problems = []
    classification = summary["classification"]
    backtest = summary["backtest"]
    for key in ("logloss", "baseline_logloss", "accuracy"):
        if classification.get(key) is None:
            problems.append(f"{key} is not a number")
    matrix = classification.get("confusion_matrix") or []
    if sum(sum(row) for row in matrix) != classification.get("rows"):
        problems.append("confusion matrix does not add up to the test rows")
    if not 0.0 <= float(classification.get("accuracy") or 0.0) <= 1.0:
        problems.append("accuracy outside [0, 1]")
    if backtest.get("final_equity") is None or curve_length == 0:
        problems.append("backtest produced no equity curve")
    return Sanity(passed=not problems, problems=problems)
