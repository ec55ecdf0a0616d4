"""The walk-forward report: per test day, per fold and pooled, with dispersion and
intervals; JSON-ready (NaN becomes ``None``) so the registry stores it as it is.

Layout of :func:`build_report`'s result::

    design      the fold design and the recipe's early-stopping days
    folds       the fold table: dates, row counts, rounds, and each fold's metrics
    dispersion  mean and standard deviation (ddof=1) across folds of the main metrics
    pooled      every metric over all test days at once (classification, calibration,
                information coefficients, trading statistics)
    intervals   bootstrap intervals over test days (whole days resampled) of the daily
                log-loss improvements over the prior (the training class shares) and over
                the climatology (the class shares of the fold's test block), the Brier
                improvement, accuracy lift, IC, rank IC, and the daily net, gross and
                active (net minus benchmark) returns
    daily       one record per test day (the series the gates and the champion use)
    training_days  every day a fold or the refit trained on (the leak-check gate's input)
    universe, label  the symbols of the test rows and the label definition: another model's
                daily record is comparable with this one only when both are the same
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from trading_runtime.domain.enums import Direction
from trading_runtime.modeling import metrics as m
from trading_runtime.modeling.bootstrap import bootstrap_mean
from trading_runtime.modeling.trading_stats import (
    backtest_frames,
    daily_table,
    equity_path,
    round_trips,
    trading_summary,
)
from trading_runtime.modeling.training import class_priors
from trading_runtime.modeling.walkforward import FoldOutcome, WalkForwardConfig

DISPERSION_KEYS = (
    "logloss_improvement",
    "brier_improvement",
    "accuracy",
    "ic",
    "rank_ic",
    "net_return",
    "daily_sharpe",
)


def build_report(
    outcomes: Sequence[FoldOutcome],
    design: WalkForwardConfig,
    validation_days: int,
    training_days: Sequence[dt.date],
    starting_cash: float,
    buy_threshold: float,
    label: Mapping[str, Any],
    seed: int = 0,
) -> dict[str, Any]:
    """Everything measured over the folds' test days (see the module docstring)."""
    folds, daily_frames, trips, open_trips, paths = [], [], [], 0, []
    for outcome in outcomes:
        days = _classification_days(outcome)
        row = {
            **outcome.fold.table_row(),
            "train_rows": int(outcome.training.metrics["train_rows"]),
        }
        row["rounds"] = outcome.rounds
        row["test_rows"] = len(outcome.labels)
        row.update(
            _classification(
                outcome.labels, outcome.probabilities, outcome.priors, _climatology(outcome)
            )
        )
        row.update(_ic(days))
        if outcome.backtest is not None:
            frames = backtest_frames(outcome.backtest, starting_cash)
            trading = daily_table(frames)
            fold_trips, fold_open = round_trips(frames.fills)
            days = days.merge(trading, on="day", how="left")
            row.update(trading_summary(trading, fold_trips, fold_open, [equity_path(frames)]))
            trips += fold_trips
            open_trips += fold_open
            paths.append(equity_path(frames))
        daily_frames.append(days.assign(fold=outcome.fold.number))
        folds.append(row)
    daily = pd.concat(daily_frames, ignore_index=True)
    labels = np.concatenate([o.labels for o in outcomes])
    probabilities = np.concatenate([o.probabilities for o in outcomes])
    priors = np.vstack([np.tile(o.priors, (len(o.labels), 1)) for o in outcomes])
    climatology = np.vstack([np.tile(_climatology(o), (len(o.labels), 1)) for o in outcomes])
    pooled = {
        "rows": len(labels),
        "days": len(daily),
        **_classification(labels, probabilities, priors, climatology),
        **_confident_up(labels, probabilities, buy_threshold),
        **_ic(daily),
    }
    calibration = m.calibration(labels, probabilities)
    pooled.update({k: v for k, v in calibration.items() if k.startswith("ece")})
    traded = "net_return" in daily
    if traded:
        pooled.update(trading_summary(daily, trips, open_trips, paths))
    report = {
        "design": {**design.as_dict(), "early_stopping_days": validation_days},
        "folds": folds,
        "dispersion": _dispersion(folds),
        "pooled": pooled,
        "calibration": {k: v for k, v in calibration.items() if k.startswith("reliability")},
        "intervals": _intervals(daily, traded, seed),
        "daily": [_daily_record(r) for r in daily.to_dict("records")],
        "training_days": sorted({d.isoformat() for d in training_days}),
        "universe": sorted({str(s) for o in outcomes for s in o.index["symbol"].unique()}),
        "label": dict(label),
    }
    return json_ready(report)


def _climatology(outcome: FoldOutcome) -> np.ndarray:
    """The class shares observed over the fold's whole test block: the best constant
    forecast of that block, which no forecast without information about individual rows
    beats in expectation (unlike the training prior, which drifting class shares and a
    forecast shrunk towards uniform can beat)."""
    return class_priors(outcome.labels)


def _classification_days(outcome: FoldOutcome) -> pd.DataFrame:
    """Per test day: rows, log loss of the model, the prior and the climatology, Brier of
    the model and the prior, accuracy and majority accuracy (means per row), IC, rank IC."""
    labels, probabilities = outcome.labels, outcome.probabilities
    prior = np.tile(outcome.priors, (len(labels), 1))
    index = outcome.index
    frame = pd.DataFrame(
        {
            "day": index["session_date"].to_numpy(),
            "logloss": m.row_log_loss(labels, probabilities),
            "prior_logloss": m.row_log_loss(labels, prior),
            "climatology_logloss": m.row_log_loss(
                labels, np.tile(_climatology(outcome), (len(labels), 1))
            ),
            "brier": m.row_brier(labels, probabilities),
            "prior_brier": m.row_brier(labels, prior),
            "accuracy": (probabilities.argmax(axis=1) == labels).astype(float),
            "majority_accuracy": (labels == int(np.argmax(outcome.priors))).astype(float),
        }
    )
    days = frame.groupby("day", sort=True).mean()
    days.insert(0, "rows", frame.groupby("day", sort=True).size())
    scores = m.score(probabilities)
    returns = index["fwd_ret"].to_numpy()
    timestamps = index["timestamp"].to_numpy()
    day_values = index["session_date"].to_numpy()
    ic = m.daily_ic(scores, returns, timestamps, day_values)
    rank_ic = m.daily_ic(scores, returns, timestamps, day_values, rank=True)
    days["ic"] = [ic.get(day, math.nan) for day in days.index]
    days["rank_ic"] = [rank_ic.get(day, math.nan) for day in days.index]
    return days.reset_index()


def _classification(
    labels: np.ndarray, probabilities: np.ndarray, priors: np.ndarray, climatology: np.ndarray
) -> dict[str, Any]:
    """``priors`` and ``climatology``: one row of class shares, or one per labelled row."""
    prior = priors if priors.ndim == 2 else np.tile(priors, (len(labels), 1))
    if climatology.ndim == 1:
        climatology = np.tile(climatology, (len(labels), 1))
    logloss = m.log_loss(labels, probabilities)
    prior_logloss = m.log_loss(labels, prior)
    climatology_logloss = m.log_loss(labels, climatology)
    brier = m.brier_score(labels, probabilities)
    prior_brier = m.brier_score(labels, prior)
    majority = prior.argmax(axis=1)
    return {
        "logloss": logloss,
        "prior_logloss": prior_logloss,
        "logloss_improvement": prior_logloss - logloss,
        "climatology_logloss": climatology_logloss,
        "logloss_improvement_climatology": climatology_logloss - logloss,
        "brier": brier,
        "prior_brier": prior_brier,
        "brier_improvement": prior_brier - brier,
        "accuracy": float((probabilities.argmax(axis=1) == labels).mean()),
        "majority_accuracy": float((labels == majority).mean()),
        "ece": m.calibration(labels, probabilities)["ece"],
    }


def _confident_up(
    labels: np.ndarray, probabilities: np.ndarray, buy_threshold: float
) -> dict[str, Any]:
    up = int(Direction.UP)
    confident = probabilities[:, up] >= buy_threshold
    return {
        "confident_up_rows": int(confident.sum()),
        "confident_up_precision": float((labels[confident] == up).mean())
        if confident.any()
        else math.nan,
        "confusion_matrix": m.confusion_matrix(labels, probabilities.argmax(axis=1)).tolist(),
    }


def _ic(days: pd.DataFrame) -> dict[str, float]:
    ic, icir = m.ic_summary(days["ic"].tolist())
    rank_ic, rank_icir = m.ic_summary(days["rank_ic"].tolist())
    return {"ic": ic, "icir": icir, "rank_ic": rank_ic, "rank_icir": rank_icir}


def _dispersion(folds: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    result = {}
    for key in DISPERSION_KEYS:
        values = np.asarray([f[key] for f in folds if key in f], dtype=float)
        values = values[np.isfinite(values)]
        if len(values):
            std = float(values.std(ddof=1)) if len(values) > 1 else math.nan
            result[key] = {"mean": float(values.mean()), "std": std, "folds": len(values)}
    return result


def _intervals(daily: pd.DataFrame, traded: bool, seed: int) -> dict[str, dict[str, float | int]]:
    rows = daily["rows"].to_numpy(dtype=float)
    series = {
        "logloss_improvement": (daily["prior_logloss"] - daily["logloss"], rows),
        "logloss_improvement_climatology": (
            daily["climatology_logloss"] - daily["logloss"],
            rows,
        ),
        "brier_improvement": (daily["prior_brier"] - daily["brier"], rows),
        "accuracy_lift": (daily["accuracy"] - daily["majority_accuracy"], rows),
        "ic": (daily["ic"], None),
        "rank_ic": (daily["rank_ic"], None),
    }
    if traded:
        series["daily_net_return"] = (daily["net_return"], None)
        series["daily_gross_return"] = (daily["gross_return"], None)
        series["daily_active_return"] = (daily["net_return"] - daily["benchmark_return"], None)
    return {
        name: bootstrap_mean(values.to_numpy(dtype=float), weights, seed=seed).as_dict()
        for name, (values, weights) in series.items()
    }


def _daily_record(record: Mapping[str, Any]) -> dict[str, Any]:
    day = record["day"]
    return {**record, "day": day.isoformat() if isinstance(day, dt.date) else str(day)}


def json_ready(value: Any) -> Any:
    """Numpy scalars become Python numbers, NaN and infinities ``None``, recursively."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_ready(v) for v in value.tolist()]
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    return value


def sanity_problems(report: Mapping[str, Any]) -> list[str]:
    """Reasons the report cannot be right (empty when it adds up)."""
    problems = []
    pooled = report.get("pooled") or {}
    daily = report.get("daily") or []
    for key in ("logloss", "prior_logloss", "accuracy"):
        if pooled.get(key) is None:
            problems.append(f"{key} is not a number")
    rows = pooled.get("rows")
    matrix = pooled.get("confusion_matrix") or []
    if sum(sum(row) for row in matrix) != rows:
        problems.append("the confusion matrix does not add up to the test rows")
    if sum(int(d.get("rows") or 0) for d in daily) != rows:
        problems.append("the daily rows do not add up to the test rows")
    if not 0.0 <= float(pooled.get("accuracy") or 0.0) <= 1.0:
        problems.append("accuracy outside [0, 1]")
    tested = sum(int(f.get("test_days") or 0) for f in report.get("folds") or [])
    if not daily or len(daily) != tested:
        problems.append(f"{len(daily)} daily records for {tested} fold test days")
    if any(d.get("net_return") is None for d in daily):
        problems.append("a test day has no backtest result")
    return problems
