"""Candidates from the lake: walk-forward validation of the recipe over a rolling window of
stored sessions, the refit on the whole window, and the scoring of another model (the
champion) on the candidate's test days.

``validate_candidate`` reads feature tables and bars, labels the bars, runs the folds (each
with a backtest of its test block through the live decision core), refits and builds the
report (``modeling.report``). ``score_days`` gives any model's per-day log loss on given
days, for the paired comparison with the champion (``modeling.promotion``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from trading_runtime.backtest.replay import BacktestConfig, BacktestResult, run_backtest
from trading_runtime.features.spec import FEATURE_SPEC, FeatureSpec
from trading_runtime.marketdata.storage import ParquetLake
from trading_runtime.modeling.artifact import ModelIncompatibleError, TradingModel
from trading_runtime.modeling.dataset import load_window
from trading_runtime.modeling.labels import LABEL_SPEC, LabelSpec
from trading_runtime.modeling.metrics import row_log_loss
from trading_runtime.modeling.report import build_report, sanity_problems
from trading_runtime.modeling.training import (
    Fitter,
    InsufficientDataError,
    TrainingConfig,
    TrainingResult,
    class_priors,
)
from trading_runtime.modeling.walkforward import (
    Backtester,
    FoldOutcome,
    WalkForwardConfig,
    plan_folds,
    refit,
    run_walk_forward,
)


def window_days(
    available: Sequence[dt.date], window: int, end: dt.date | None = None
) -> list[dt.date]:
    """The last ``window`` available days up to ``end`` (inclusive), oldest first."""
    eligible = sorted(d for d in set(available) if end is None or d <= end)
    if len(eligible) < window:
        raise InsufficientDataError(f"{len(eligible)} stored sessions, the window needs {window}")
    return eligible[-window:]


def lake_backtester(
    lake: ParquetLake,
    config: BacktestConfig = BacktestConfig(),
    spec: FeatureSpec = FEATURE_SPEC,
) -> Backtester:
    """A backtester replaying stored bars and features of the asked days."""

    def backtest(model: TradingModel, days: Sequence[dt.date]) -> BacktestResult:
        bars = pd.concat([lake.read_bars(day) for day in days], ignore_index=True)
        features = lake.read_features_range(days, spec.hash)
        return run_backtest(bars, features, model, None, config, spec)

    return backtest


@dataclass(frozen=True)
class CandidateValidation:
    """The refit candidate, the folds behind it and their report (JSON-ready)."""

    refit: TrainingResult
    folds: list[FoldOutcome]
    report: dict[str, Any]
    window_priors: tuple[float, float, float]
    dataset_rows: int

    @property
    def test_days(self) -> list[dt.date]:
        return [day for o in self.folds for day in o.fold.split.test]


def validate_candidate(
    lake: ParquetLake,
    days: Sequence[dt.date],
    training: TrainingConfig = TrainingConfig(),
    walk_forward: WalkForwardConfig = WalkForwardConfig(),
    backtest: BacktestConfig = BacktestConfig(),
    fitter: Fitter | None = None,
    spec: FeatureSpec = FEATURE_SPEC,
    label_spec: LabelSpec = LABEL_SPEC,
) -> CandidateValidation:
    """Walk the recipe forward over ``days``, then refit it on all of them.

    Raises ``WalkForwardConfigError`` or ``InsufficientDataError`` before any training
    when the window cannot hold the design.
    """
    dataset = load_window(lake, days, spec, label_spec)
    folds = plan_folds(dataset.days, walk_forward, training.validation_days, label_spec)
    outcomes = run_walk_forward(
        dataset, folds, training, lake_backtester(lake, backtest, spec), fitter, spec, label_spec
    )
    model = refit(dataset, outcomes, training, fitter, spec, label_spec)
    report = build_report(
        outcomes,
        walk_forward,
        training.validation_days,
        dataset.days,
        float(backtest.starting_cash),
        backtest.decision.strategy.buy_threshold,
        asdict(label_spec),
        seed=training.seed,
    )
    priors = class_priors(dataset.labels)
    return CandidateValidation(
        refit=model,
        folds=outcomes,
        report=report,
        window_priors=(float(priors[0]), float(priors[1]), float(priors[2])),
        dataset_rows=len(dataset),
    )


def score_days(
    lake: ParquetLake,
    model: TradingModel,
    days: Sequence[dt.date],
    spec: FeatureSpec = FEATURE_SPEC,
    label_spec: LabelSpec = LABEL_SPEC,
) -> dict[str, float]:
    """Mean log loss per row of ``model`` on each of ``days`` (ISO date -> value).

    Raises ``ModelIncompatibleError`` when the model was trained on other features or
    predicts other labels.
    """
    model.check_compatible(spec)
    if (model.metadata.horizon_minutes, model.metadata.flat_band_bps) != (
        label_spec.horizon_minutes,
        label_spec.flat_band_bps,
    ):
        raise ModelIncompatibleError(
            f"model predicts {model.metadata.horizon_minutes}-minute labels with a "
            f"{model.metadata.flat_band_bps} bps band, not {label_spec}"
        )
    if not days:
        return {}
    dataset = load_window(lake, days, spec, label_spec)
    losses = row_log_loss(dataset.labels, model.predict_proba(dataset.features))
    per_day = pd.Series(losses).groupby(dataset.index["session_date"].to_numpy()).mean()
    return {day.isoformat(): float(value) for day, value in per_day.items() if np.isfinite(value)}


def champion_daily_logloss(
    lake: ParquetLake,
    model: TradingModel | None,
    trained_through: dt.date,
    stored_report: Mapping[str, Any],
    candidate_report: Mapping[str, Any],
    spec: FeatureSpec = FEATURE_SPEC,
    label_spec: LabelSpec = LABEL_SPEC,
) -> dict[str, Any]:
    """The champion's out-of-sample log loss on each of the candidate's test days, or, when
    its artifact was built for other features than the running code computes, only why it
    cannot serve (``cannot_serve``: the live loop refuses it, so there is nothing to compare).

    A day after ``trained_through`` is scored with the champion's own artifact (``model``;
    it never saw that day) on the same rows as the candidate. An earlier day takes the
    champion's stored walk-forward record (``stored_report["daily"]``: its folds'
    out-of-sample log loss) when there is one and it covers the same symbols and labels; a
    day in neither is left out. The champion refit on more days than the candidate's folds,
    so where both come from walk-forward folds the comparison is between recipes on equal
    terms, and where the artifact is used it leans, if anything, towards the champion.
    """
    if model is not None:
        try:
            model.check_compatible(spec)
        except ModelIncompatibleError as error:
            # It cannot trade on the running code, so it is no standard to keep a model from.
            return {"daily_logloss": {}, "sources": {}, "notes": [], "cannot_serve": str(error)}
    days = [dt.date.fromisoformat(d["day"]) for d in candidate_report.get("daily") or []]
    later = [day for day in days if day > trained_through]
    daily: dict[str, float] = {}
    sources = {"artifact": 0, "walk_forward": 0}
    notes = []
    if later and model is not None:
        try:
            daily.update(score_days(lake, model, later, spec, label_spec))
            sources["artifact"] = len(daily)
        except ModelIncompatibleError as error:
            notes.append(f"the champion's artifact cannot score today's data: {error}")
    comparable = all(
        stored_report.get(key) == candidate_report.get(key) for key in ("universe", "label")
    )
    stored = {d["day"]: d.get("logloss") for d in stored_report.get("daily") or []}
    if stored and not comparable:
        notes.append("the champion's walk-forward record covers other symbols or labels")
        stored = {}
    for day in days:
        key = day.isoformat()
        if key not in daily and stored.get(key) is not None:
            daily[key] = float(stored[key])
            sources["walk_forward"] += 1
    return {"daily_logloss": daily, "sources": sources, "notes": notes}


def evaluation_record(
    report: Mapping[str, Any],
    champion_id: int | None,
    champion_scores: Mapping[str, Any] | None,
    leak_checked_days: Sequence[str] | None = None,
) -> dict[str, Any]:
    """What the promotion gates read besides the walk-forward report: its sanity, the
    champion's per-day log loss on the same test days (``champion_daily_logloss``), and the
    days whose leak checks passed (``None`` while per-day results are not collected)."""
    problems = sanity_problems(report)
    return {
        "champion": {"id": champion_id, **champion_scores}
        if champion_id is not None and champion_scores is not None
        else None,
        "sanity": {"passed": not problems, "problems": problems},
        "leak_checks": {
            "passed_days": list(leak_checked_days) if leak_checked_days is not None else None
        },
    }
