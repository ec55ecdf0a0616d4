"""Model assets: ``model_candidate`` (walk-forward validation of the recipe, refit on the
whole window, registration) and ``model_evaluation`` (the walk-forward results, the paired
comparison with the champion, and the checks the promotion gates read).

Walk-forward runs inside ``model_candidate`` because the refit needs what the folds
validated (the number of boosting rounds), and the fold models are not kept: their report
is stored with the version it validated. ``model_evaluation`` stays the promotion-facing
record: it reads that report, scores the champion on the same test days and records the
inputs of every gate.
"""

import datetime as dt
from typing import Any

import dagster as dg
from upath import UPath

from orchestration import plots
from orchestration.data import feature_table
from orchestration.feature_checks import checked_days
from orchestration.model_metadata import defined, evaluation_metadata, fold_table, metadata_float
from orchestration.report_metadata import model_report_metadata
from orchestration.resources import DatabaseResource, LakeResource, PlatformSettingsResource
from trading_runtime.domain.enums import ModelStatus
from trading_runtime.features.spec import FEATURE_SPEC
from trading_runtime.modeling.artifact import ARTIFACT_FORMAT, ModelIncompatibleError, TradingModel
from trading_runtime.modeling.pipeline import (
    champion_daily_logloss,
    evaluation_record,
    validate_candidate,
    window_days,
)
from trading_runtime.modeling.promotion import decide_promotion, plausibility
from trading_runtime.modeling.recipe import recipe_fingerprint
from trading_runtime.modeling.summary import (
    model_lines,
)
from trading_runtime.modeling.training import (
    Fitter,
    InsufficientDataError,
    TrainingConfig,
    fit_booster,
)
from trading_runtime.modeling.walkforward import FoldScheme, WalkForwardConfig
from trading_runtime.reports.model_tearsheet import read_model, write_model_tearsheet

MODEL_NAME = "direction-xgb"


class TrainingRunConfig(dg.Config):
    window_days: int = 60
    end_date: str | None = None  # last session of the window; default: newest stored
    folds: int = WalkForwardConfig.folds
    test_days: int = WalkForwardConfig.test_days  # per fold
    embargo_days: int = WalkForwardConfig.embargo_days
    scheme: str = str(WalkForwardConfig.scheme)  # expanding or rolling
    validation_days: int = TrainingConfig.validation_days  # early stopping, per fold
    n_estimators: int = TrainingConfig.n_estimators
    max_depth: int = TrainingConfig.max_depth
    learning_rate: float = TrainingConfig.learning_rate
    seed: int = TrainingConfig.seed

    def training(self) -> TrainingConfig:
        return TrainingConfig(
            validation_days=self.validation_days,
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            learning_rate=self.learning_rate,
            seed=self.seed,
        )

    def walk_forward(self) -> WalkForwardConfig:
        return WalkForwardConfig(
            folds=self.folds,
            test_days=self.test_days,
            embargo_days=self.embargo_days,
            scheme=FoldScheme(self.scheme),
        )


@dg.asset(
    deps=[feature_table],
    group_name="model",
    kinds={"xgboost", "postgres"},
    description="XGBoost multi:softprob (down/flat/up over the label horizon): the recipe is "
    "walked forward over a rolling window of sessions whose latest no_lookahead and "
    "feature_parity results passed (folds with an embargo, each backtested on its test block), "
    "then refit on the whole window and registered as a candidate. A version already trained "
    "from the same recipe, code and data is reused, not retrained.",
)
def model_candidate(
    context: dg.AssetExecutionContext,
    config: TrainingRunConfig,
    lake: LakeResource,
    database: DatabaseResource,
    platform: PlatformSettingsResource,
) -> dg.MaterializeResult:
    parquet = lake.lake()
    stored = [day for day in parquet.bar_days() if parquet.has_features(day, FEATURE_SPEC.hash)]
    end = dt.date.fromisoformat(config.end_date) if config.end_date else None
    checked = checked_days(context.instance, [d for d in stored if end is None or d <= end])
    try:
        days = window_days(checked.passed, config.window_days, end)
    except InsufficientDataError as error:
        left_out = checked.excluded_lines()
        raise dg.Failure(
            f"{error} with passing leak checks"
            + (f"; {len(left_out)} left out, e.g. {left_out[-1]}" if left_out else "")
        ) from error
    # Days inside the window's span that the leak checks kept out of it, named.
    excluded = {day: why for day, why in checked.excluded.items() if day >= days[0]}
    for day, why in sorted(excluded.items()):
        context.log.warning("feature partition %s left out of training: %s", day, why)
    leak_metadata: dict[str, Any] = {
        "leak_checked_days": len(days),
        "excluded_partitions": dg.MetadataValue.md(
            "\n".join(f"- {line}" for line in checked.excluded_lines(since=days[0])) or "none"
        ),
    }
    backtest = platform.get().backtest_config()
    training, walk_forward = config.training(), config.walk_forward()
    fingerprint = recipe_fingerprint(parquet, days, (training, walk_forward, backtest))
    registry = database.registry()
    existing = registry.find_by_recipe(MODEL_NAME, fingerprint)
    if existing is not None:
        context.log.info(
            "reusing model %d (%s): same recipe, code and data (fingerprint %s); not retrained",
            existing.id,
            existing.status.value,
            fingerprint,
        )
        return dg.MaterializeResult(
            metadata={
                "model_version_id": existing.id,
                "reused": True,
                "recipe_fingerprint": fingerprint,
                "window": f"{existing.lineage.train_start}..{existing.lineage.train_end}",
                **leak_metadata,
            }
        )
    validation = validate_candidate(
        parquet,
        days,
        training,
        walk_forward,
        backtest,
        fitter=_counted_fits(context, walk_forward.folds + 1),
    )
    refit = validation.refit
    artifact = refit.model.to_bytes()
    report = validation.report
    version_id = registry.register_candidate(
        name=MODEL_NAME,
        artifact=artifact,
        artifact_format=ARTIFACT_FORMAT,
        feature_spec_hash=FEATURE_SPEC.hash,
        feature_names=list(FEATURE_SPEC.names),
        params={
            **refit.params,
            "walk_forward": report["design"],
            "recipe_fingerprint": fingerprint,
        },
        metrics={
            **refit.metrics,
            "train_priors": list(validation.window_priors),
            "fold_rounds": [outcome.rounds for outcome in validation.folds],
            "walk_forward": report,
            "excluded_partitions": {str(d): why for d, why in sorted(excluded.items())},
        },
        # The refit trained on the whole window; the folds that validated it are in
        # metrics["walk_forward"]["folds"].
        lineage={"train_start": refit.split.train[0], "train_end": refit.split.train[-1]},
        dagster_run_id=context.run.run_id,
    )
    context.log.info(
        "registered candidate %d refit on %s..%s (%d rounds) after %d walk-forward folds",
        version_id,
        days[0],
        days[-1],
        int(refit.metrics["rounds"]),
        len(validation.folds),
    )
    return dg.MaterializeResult(
        metadata={
            "model_version_id": version_id,
            "reused": False,
            "recipe_fingerprint": fingerprint,
            "window": f"{refit.split.train[0]}..{refit.split.train[-1]}",
            "rows": validation.dataset_rows,
            "folds": len(validation.folds),
            "fold_rounds": dg.MetadataValue.json([o.rounds for o in validation.folds]),
            "refit_rounds": int(refit.metrics["rounds"]),
            "walk_forward": fold_table(report),
            "artifact_bytes": len(artifact),
            "feature_importance": plots.feature_importance(refit.model.feature_importance()),
            **leak_metadata,
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
            description="The evaluation is internally consistent: every metric is a number, the "
            "folds' test days do not overlap and cover the pooled days, and the backtests produced "
            "equity curves. A failure stops automatic promotion.",
        ),
        dg.AssetCheckSpec(
            "plausibility",
            asset="model_evaluation",
            description="Results too good to be true (daily Sharpe or win rate above their "
            "thresholds) are flagged as a warning and hold the candidate for review: automatic "
            "promotion is blocked, a manual promotion with a reason still works.",
        ),
    ],
    description="Walk-forward results of the candidate (log loss and Brier against the prior, "
    "calibration, IC / rank IC, net and gross backtest returns against buy-and-hold of the "
    "reference, with intervals over test days), and the champion's out-of-sample log loss on "
    "the same days for the paired comparison the promotion gates make.",
)
def model_evaluation(
    context: dg.AssetExecutionContext, lake: LakeResource, database: DatabaseResource
) -> dg.MaterializeResult:
    version_id = _latest_candidate_id(context)
    registry = database.registry()
    record = registry.get(version_id)
    report = record.metrics.get("walk_forward")
    if not report:
        raise dg.Failure(f"model {version_id} has no walk-forward report; retrain it")
    champion = registry.champion()
    champion_id, champion_scores = None, None
    if champion is not None and champion.id != version_id:
        champion_id = champion.id
        try:
            champion_model: TradingModel | None = TradingModel.from_bytes(
                registry.load_artifact(champion.id)
            )
        except ModelIncompatibleError as error:
            context.log.warning("champion %d cannot be loaded: %s", champion.id, error)
            champion_model = None
        champion_scores = champion_daily_logloss(
            lake.lake(),
            champion_model,
            champion.lineage.train_end,
            champion.metrics.get("walk_forward") or {},
            report,
        )
    # The leak checks as they stand now: a training day whose check failed since is caught.
    training_days = [dt.date.fromisoformat(day) for day in report.get("training_days") or []]
    checked = checked_days(context.instance, training_days)
    evaluation = evaluation_record(
        report, champion_id, champion_scores, [day.isoformat() for day in checked.passed]
    )
    problems = evaluation["sanity"]["problems"]
    if record.status is ModelStatus.CANDIDATE:
        # A decision already taken (held for review) stays with the version.
        decided = (record.evaluation or {}).get("decision")
        registry.record_evaluation(
            version_id, {**evaluation, "decision": decided} if decided else evaluation
        )
    else:
        # A reused version that was decided on already: its record stands, the gates are
        # not applied again (no second promotion of the same model).
        context.log.info(
            "model %d is %s already; its recorded evaluation is kept",
            version_id,
            record.status.value,
        )
    preview = decide_promotion(report, evaluation, registry.champion_id())
    plausible = plausibility(report["pooled"])
    metadata = evaluation_metadata(version_id, report, evaluation["champion"], preview.gates)
    metadata |= _model_tearsheet(context, registry, version_id, lake.data_root)
    return dg.MaterializeResult(
        metadata=metadata,
        check_results=[
            dg.AssetCheckResult(
                check_name="evaluation_sanity",
                passed=not problems,
                metadata={"problems": dg.MetadataValue.json(problems)},
            ),
            dg.AssetCheckResult(
                check_name="plausibility",
                passed=bool(plausible["passed"]),
                severity=dg.AssetCheckSeverity.WARN,
                description=plausible["reason"],
                metadata=defined(
                    {
                        "daily_sharpe": metadata_float(plausible["daily_sharpe"], "ratio"),
                        "win_rate_pct": metadata_float(plausible["win_rate"], "percent"),
                        "max_daily_sharpe": float(plausible["max_daily_sharpe"]),
                        "max_win_rate_pct": 100.0 * float(plausible["max_win_rate"]),
                    }
                ),
            ),
        ],
    )


def _counted_fits(context: dg.AssetExecutionContext, total: int) -> Fitter:
    """XGBoost fits as usual, each logged as ``[k/n]`` (the command line's progress bar):
    one per walk-forward fold, then the refit on the whole window."""
    fitted = 0

    def fit(train: Any, validation: Any, recipe: Any, rounds: int | None) -> Any:
        nonlocal fitted
        model = fit_booster(train, validation, recipe, rounds)
        fitted += 1
        what = f"walk-forward fold {fitted} fitted" if fitted < total else "refit fitted"
        context.log.info(f"[{fitted}/{total}] {what} ({model.rounds} rounds)")
        return model

    return fit


def _model_tearsheet(
    context: dg.AssetExecutionContext, registry: Any, version_id: int, data_root: str
) -> dict[str, dg.MetadataValue]:
    """Write the model's tearsheet; its link and key figures for the metadata (a tearsheet
    that cannot be written is logged and the evaluation stands)."""
    model = read_model(registry, version_id)
    try:
        path: UPath | None = write_model_tearsheet(model, data_root)
        context.log.info(f"tearsheet of model {version_id}: {path}")
    except OSError as error:
        context.log.warning(f"tearsheet of model {version_id} not written: {error}")
        path = None
    return model_report_metadata(model, path)


def candidate_summary(registry: Any, model_version_id: int | None = None) -> list[tuple[str, str]]:
    """(title, text) rows about one model version (default: the newest) for any command
    line: its refit, the walk-forward table, a caveat, the gates and what was decided
    (automatically, held for review, then by hand)."""
    if model_version_id is None:
        versions = registry.versions()
        if not versions:
            return [("Model", "no model version is registered")]
        candidate = versions[0]
    else:
        candidate = registry.get(model_version_id)
    audit = registry.promotions(candidate.id)
    automatic = [a for a in audit if a.action in ("promote", "reject")]
    decision = (
        {
            "action": automatic[-1].action,
            "actor": automatic[-1].actor,
            "reason": automatic[-1].reason,
            "gates": automatic[-1].gates,
        }
        if automatic
        else (candidate.evaluation or {}).get("decision")
    )
    rows = model_lines(candidate.id, candidate.metrics, decision, registry.champion_id())
    manual = [a for a in audit if a.action == "manual_promote"]
    if manual:
        rows.append(("", f"then promoted by hand by {manual[-1].actor}: {manual[-1].reason}"))
    return rows


def _latest_candidate_id(context: dg.AssetExecutionContext) -> int:
    event = context.instance.get_latest_materialization_event(dg.AssetKey("model_candidate"))
    if event is None or event.asset_materialization is None:
        raise dg.Failure("model_candidate has never been materialized")
    value = event.asset_materialization.metadata["model_version_id"].value
    if not isinstance(value, int):
        raise dg.Failure(f"model_candidate recorded a non-integer model_version_id: {value!r}")
    return value
