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
from orchestration.report_metadata import model_report_metadata
from orchestration.resources import DatabaseResource, LakeResource, PlatformSettingsResource
from trading_runtime.backtest.replay import BacktestConfig
from trading_runtime.features.spec import FEATURE_SPEC
from trading_runtime.modeling.artifact import ARTIFACT_FORMAT, ModelIncompatibleError, TradingModel
from trading_runtime.modeling.pipeline import (
    champion_daily_logloss,
    evaluation_record,
    validate_candidate,
    window_days,
)
from trading_runtime.modeling.promotion import decide_promotion, plausibility
from trading_runtime.modeling.summary import (
    caveat,
    fold_rows,
    gate_lines,
    model_lines,
    rounded,
    spread_lines,
)
from trading_runtime.modeling.training import Fitter, TrainingConfig, fit_booster
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
    "walked forward over a rolling window of sessions (folds with an embargo, each backtested "
    "on its test block), then refit on the whole window and registered as a candidate.",
)
def model_candidate(
    context: dg.AssetExecutionContext,
    config: TrainingRunConfig,
    lake: LakeResource,
    database: DatabaseResource,
    platform: PlatformSettingsResource,
) -> dg.MaterializeResult:
    parquet = lake.lake()
    available = [day for day in parquet.bar_days() if parquet.has_features(day, FEATURE_SPEC.hash)]
    end = dt.date.fromisoformat(config.end_date) if config.end_date else None
    days = window_days(available, config.window_days, end)
    walk_forward = config.walk_forward()
    validation = validate_candidate(
        parquet,
        days,
        config.training(),
        walk_forward,
        backtest_config(platform),
        fitter=_counted_fits(context, walk_forward.folds + 1),
    )
    refit = validation.refit
    artifact = refit.model.to_bytes()
    report = validation.report
    version_id = database.registry().register_candidate(
        name=MODEL_NAME,
        artifact=artifact,
        artifact_format=ARTIFACT_FORMAT,
        feature_spec_hash=FEATURE_SPEC.hash,
        feature_names=list(FEATURE_SPEC.names),
        params={**refit.params, "walk_forward": report["design"]},
        metrics={
            **refit.metrics,
            "train_priors": list(validation.window_priors),
            "fold_rounds": [outcome.rounds for outcome in validation.folds],
            "walk_forward": report,
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
            "window": f"{refit.split.train[0]}..{refit.split.train[-1]}",
            "rows": validation.dataset_rows,
            "folds": len(validation.folds),
            "fold_rounds": dg.MetadataValue.json([o.rounds for o in validation.folds]),
            "refit_rounds": int(refit.metrics["rounds"]),
            "walk_forward": _fold_table(report),
            "artifact_bytes": len(artifact),
            "feature_importance": plots.feature_importance(refit.model.feature_importance()),
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
    # Per-day leak-check results are not collected yet: the gate records itself as skipped.
    evaluation = evaluation_record(report, champion_id, champion_scores)
    problems = evaluation["sanity"]["problems"]
    registry.record_evaluation(version_id, evaluation)
    preview = decide_promotion(report, evaluation, registry.champion_id())
    plausible = plausibility(report["pooled"])
    metadata = _evaluation_metadata(version_id, report, evaluation["champion"], preview.gates)
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
                metadata=_defined(
                    {
                        "daily_sharpe": _float(plausible["daily_sharpe"], "ratio"),
                        "win_rate_pct": _float(plausible["win_rate"], "percent"),
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


def backtest_config(platform: PlatformSettingsResource) -> BacktestConfig:
    settings = platform.get()
    return BacktestConfig(
        starting_cash=settings.sim_starting_cash,
        decision=settings.decision_config(),
        reference_symbol=settings.reference_symbol,
    )


def _float(value: Any, kind: str) -> dg.MetadataValue | None:
    """A float rounded for people; None (left out of the metadata) when undefined."""
    number = rounded(value, kind)
    return None if number is None else dg.MetadataValue.float(float(number))


def _fold_table(report: dict[str, Any]) -> dg.MetadataValue:
    """The fold table (rounded by ``fold_rows``: percentages in percent)."""
    rows = fold_rows(report)
    columns = [
        dg.TableColumn(name, "string" if name in ("fold", "train", "test") else "float")
        for name in rows[0]
    ]
    return dg.MetadataValue.table(
        records=[dg.TableRecord(row) for row in rows], schema=dg.TableSchema(columns=columns)
    )


def _evaluation_metadata(
    version_id: int,
    report: dict[str, Any],
    champion: dict[str, Any] | None,
    gates: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    pooled = report["pooled"]
    intervals = report["intervals"]
    metadata: dict[str, Any] = {
        "model_version_id": version_id,
        "test_days": f"{report['daily'][0]['day']}..{report['daily'][-1]['day']} "
        f"({len(report['daily'])} days in {len(report['folds'])} folds)",
        "walk_forward": _fold_table(report),
        "summary": dg.MetadataValue.md("\n\n".join(spread_lines(report))),
        "logloss": _float(pooled["logloss"], "logloss"),
        "prior_logloss": _float(pooled["prior_logloss"], "logloss"),
        "logloss_improvement": _float(pooled["logloss_improvement"], "logloss"),
        "logloss_improvement_lower": _float(intervals["logloss_improvement"]["lower"], "logloss"),
        "brier": _float(pooled["brier"], "logloss"),
        "prior_brier": _float(pooled["prior_brier"], "logloss"),
        "accuracy_pct": _float(pooled["accuracy"], "percent"),
        "majority_accuracy_pct": _float(pooled["majority_accuracy"], "percent"),
        "ece": _float(pooled["ece"], "logloss"),
        "ic": _float(pooled["ic"], "ic"),
        "icir": _float(pooled["icir"], "ratio"),
        "rank_ic": _float(pooled["rank_ic"], "ic"),
        "rank_icir": _float(pooled["rank_icir"], "ratio"),
        "trades": dg.MetadataValue.int(int(pooled.get("trades") or 0)),
        "win_rate_pct": _float(pooled.get("win_rate"), "percent"),
        "mean_net_bps_per_trade": _float(pooled.get("mean_net_bps"), "bps"),
        "net_return_pct": _float(pooled.get("net_return"), "percent"),
        "gross_return_pct": _float(pooled.get("gross_return"), "percent"),
        "benchmark_return_pct": _float(pooled.get("benchmark_return"), "percent"),
        "daily_sharpe": _float(pooled.get("daily_sharpe"), "ratio"),
        "information_ratio": _float(pooled.get("information_ratio"), "ratio"),
        "max_drawdown_pct": _float(pooled.get("max_drawdown"), "percent"),
        "costs_usd": _float(pooled.get("costs"), "money"),
        "gates_preview": dg.MetadataValue.md("\n".join(f"- {line}" for line in gate_lines(gates))),
        "returns": plots.walk_forward_returns(report["daily"]),
        "confusion_matrix": plots.confusion_matrix(pooled["confusion_matrix"]),
        "reliability": plots.reliability(report["calibration"]),
    }
    warning = caveat(report)
    if warning:
        metadata["caveat"] = dg.MetadataValue.md(f"**{warning}**")
    if champion is not None:
        metadata["champion_id"] = champion["id"]
        metadata["champion_scored_days"] = len(champion["daily_logloss"])
    return _defined(metadata)


def _defined(metadata: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in metadata.items() if value is not None}


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
