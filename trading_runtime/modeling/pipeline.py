"""Train a candidate over a rolling window of stored sessions and evaluate it out of sample.

``train_candidate`` reads feature tables and bars from the lake, labels the bars, splits
the window's days in time order and fits the model. ``evaluate_model`` scores any model on
the test days by classification metrics and by a cost-aware backtest through the live
decision core, against buy-and-hold of the reference symbol.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from trading_runtime.backtest.replay import BacktestConfig, BacktestResult, run_backtest
from trading_runtime.features.spec import FEATURE_SPEC, FeatureSpec
from trading_runtime.marketdata.storage import ParquetLake
from trading_runtime.modeling.artifact import TradingModel
from trading_runtime.modeling.dataset import Dataset, build_dataset
from trading_runtime.modeling.evaluation import classification_metrics
from trading_runtime.modeling.labels import LABEL_SPEC, LabelSpec, label_bars
from trading_runtime.modeling.training import (
    InsufficientDataError,
    TrainingConfig,
    TrainingResult,
    class_priors,
    split_days,
    train_model,
)


def window_days(
    available: Sequence[dt.date], window: int, end: dt.date | None = None
) -> list[dt.date]:
    """The last ``window`` available days up to ``end`` (inclusive), oldest first."""
    eligible = sorted(d for d in set(available) if end is None or d <= end)
    if len(eligible) < window:
        raise InsufficientDataError(f"{len(eligible)} stored sessions, the window needs {window}")
    return eligible[-window:]


def load_dataset(
    lake: ParquetLake,
    days: Sequence[dt.date],
    spec: FeatureSpec = FEATURE_SPEC,
    label_spec: LabelSpec = LABEL_SPEC,
) -> Dataset:
    features = lake.read_features_range(days, spec.hash)
    labels = pd.concat(
        [label_bars(lake.read_bars(day), label_spec) for day in days], ignore_index=True
    )
    return build_dataset(features, labels, spec)


@dataclass(frozen=True)
class CandidateTraining:
    result: TrainingResult
    dataset_rows: int
    days: tuple[dt.date, ...]
    train_priors: tuple[float, float, float]


def train_candidate(
    lake: ParquetLake,
    days: Sequence[dt.date],
    config: TrainingConfig = TrainingConfig(),
    spec: FeatureSpec = FEATURE_SPEC,
    label_spec: LabelSpec = LABEL_SPEC,
) -> CandidateTraining:
    dataset = load_dataset(lake, days, spec, label_spec)
    split = split_days(dataset.days, config.validation_days, config.test_days)
    result = train_model(dataset, split, config, spec, label_spec)
    priors = class_priors(dataset.select_days(list(split.train)).labels)
    return CandidateTraining(
        result,
        len(dataset),
        tuple(dataset.days),
        (float(priors[0]), float(priors[1]), float(priors[2])),
    )


@dataclass
class Evaluation:
    test_days: tuple[dt.date, ...]
    classification: dict[str, Any]
    backtest: BacktestResult

    def summary(self) -> dict[str, Any]:
        """JSON-ready numbers (the equity curve stays out; it is plotted, not stored)."""
        return {
            "test_days": [d.isoformat() for d in self.test_days],
            "classification": _finite(self.classification),
            "backtest": _finite(self.backtest.metrics),
            "decisions": dict(self.backtest.decision_counts),
        }


def evaluate_model(
    lake: ParquetLake,
    model: TradingModel,
    model_version_id: int | None,
    test_days: Sequence[dt.date],
    train_priors: Sequence[float],
    backtest_config: BacktestConfig = BacktestConfig(),
    spec: FeatureSpec = FEATURE_SPEC,
    label_spec: LabelSpec = LABEL_SPEC,
) -> Evaluation:
    model.check_compatible(spec)
    dataset = load_dataset(lake, test_days, spec, label_spec)
    if len(dataset) == 0:
        raise InsufficientDataError("no labelled rows on the test days")
    probabilities = model.predict_proba(dataset.features)
    classification = classification_metrics(
        dataset.labels,
        probabilities,
        np.asarray(train_priors, dtype=float),
        backtest_config.decision.strategy.buy_threshold,
    )
    bars = pd.concat([lake.read_bars(day) for day in test_days], ignore_index=True)
    features = lake.read_features_range(test_days, spec.hash)
    backtest = run_backtest(bars, features, model, model_version_id, backtest_config, spec)
    return Evaluation(tuple(test_days), classification, backtest)


def _finite(values: dict[str, Any]) -> dict[str, Any]:
    """NaN and infinities become None so the result is valid JSON."""
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, float) and not math.isfinite(value):
            cleaned[key] = None
        elif isinstance(value, (np.floating, np.integer)):
            number = value.item()
            cleaned[key] = (
                None if isinstance(number, float) and not math.isfinite(number) else number
            )
        else:
            cleaned[key] = value
    return cleaned
