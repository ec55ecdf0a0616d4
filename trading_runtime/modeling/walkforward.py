"""Walk-forward validation of the training recipe, and the refit on the whole window.

The window's days are cut into ``folds`` consecutive test blocks of ``test_days`` days at
its end. Fold ``k`` tests on block ``k`` and trains only on days before it:

    expanding:  [ fit .......... | early stop ] [ embargo ] [ test k ]
    rolling:    the same span length as fold 1, sliding forward with the test blocks

* the **embargo** is ``embargo_days`` days between the training span and the test block
  that no fold trains on. Labels end ``horizon`` minutes after their bar and never cross
  the close (``labels.forward_returns`` joins within a session), and features only look
  back within the session, so no label or feature of a training day depends on a test
  day: the label horizon spans 0 days and an embargo of 0 is already leak-free. The
  default is 0 because it reproduces production exactly (a model trained through
  yesterday trades today); a larger embargo is a margin for market memory, at the price
  of training days;
* **early stopping** uses the last ``TrainingConfig.validation_days`` days of each fold's
  own training span, never a test day;
* the model that is registered is refit on every day of the window with the validated
  recipe: the median over the folds of the number of boosting rounds early stopping kept.

Errors: ``WalkForwardConfigError`` (an invalid design), ``InsufficientDataError`` (a
window too short for the design).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd

from trading_runtime.backtest.replay import BacktestResult
from trading_runtime.features.spec import FEATURE_SPEC, FeatureSpec
from trading_runtime.modeling.artifact import TradingModel
from trading_runtime.modeling.dataset import Dataset
from trading_runtime.modeling.labels import LABEL_SPEC, LabelSpec
from trading_runtime.modeling.training import (
    DaySplit,
    Fitter,
    InsufficientDataError,
    TrainingConfig,
    TrainingResult,
    class_priors,
    fit_booster,
    recipe_params,
    train_model,
)

MIN_FOLDS = 4

# Runs the backtest of a model over some days (the lake-backed one lives in the pipeline).
Backtester = Callable[[TradingModel, Sequence[dt.date]], BacktestResult]


class WalkForwardConfigError(ValueError):
    """The walk-forward design is invalid (too few folds, a negative or short embargo...)."""


class FoldScheme(StrEnum):
    EXPANDING = "expanding"
    ROLLING = "rolling"


def minimum_embargo_days(label_spec: LabelSpec = LABEL_SPEC) -> int:
    """The label horizon expressed in whole days: 0, because labels never cross the close
    (a bar's label uses the same session's bar ``horizon_minutes`` later or none at all)."""
    if label_spec.horizon_minutes < 1:
        raise WalkForwardConfigError("the label horizon must be at least one minute")
    return 0


@dataclass(frozen=True)
class WalkForwardConfig:
    """``folds`` test blocks of ``test_days`` days; ``min_fit_days``: days the first fold
    fits on besides its early-stopping days."""

    folds: int = 4
    test_days: int = 5
    embargo_days: int = 0
    scheme: FoldScheme = FoldScheme.EXPANDING
    min_fit_days: int = 5

    def validate(self, label_spec: LabelSpec = LABEL_SPEC) -> None:
        """Raise ``WalkForwardConfigError`` when the design cannot give an honest estimate."""
        if self.folds < MIN_FOLDS:
            raise WalkForwardConfigError(f"{self.folds} folds: at least {MIN_FOLDS} are needed")
        if self.test_days < 1:
            raise WalkForwardConfigError("each fold needs at least one test day")
        floor = minimum_embargo_days(label_spec)
        if self.embargo_days < floor:
            raise WalkForwardConfigError(
                f"embargo of {self.embargo_days} days is shorter than the label horizon "
                f"({floor} days)"
            )
        if self.min_fit_days < 1:
            raise WalkForwardConfigError("folds need at least one day to fit on")
        FoldScheme(self.scheme)

    def days_needed(self, validation_days: int = TrainingConfig.validation_days) -> int:
        """Sessions the design needs: every test block, the embargo, the first fold's
        early-stopping days and its days to fit on."""
        return self.folds * self.test_days + self.embargo_days + validation_days + self.min_fit_days

    def shortfall(self, days: int, validation_days: int = TrainingConfig.validation_days) -> str:
        """Why ``days`` sessions cannot hold the design ("" when they can)."""
        needed = self.days_needed(validation_days)
        if days >= needed:
            return ""
        return (
            f"{days} days cannot hold {self.folds} folds of {self.test_days} test days, a "
            f"{self.embargo_days}-day embargo, {validation_days} early-stopping days and "
            f"{self.min_fit_days} days to fit on ({needed} days needed)"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "folds": self.folds,
            "test_days": self.test_days,
            "embargo_days": self.embargo_days,
            "scheme": str(self.scheme),
            "min_fit_days": self.min_fit_days,
        }


@dataclass(frozen=True)
class Fold:
    """One fold: ``split.train`` (fit), ``split.validation`` (early stopping),
    ``embargo`` (skipped) and ``split.test``, in this order in time."""

    number: int
    split: DaySplit
    embargo: tuple[dt.date, ...]

    @property
    def training_days(self) -> tuple[dt.date, ...]:
        return self.split.train + self.split.validation

    def table_row(self) -> dict[str, object]:
        """The fold's row of the fold table (ISO dates, counts)."""
        training = self.training_days
        return {
            "fold": self.number,
            "train_start": training[0].isoformat(),
            "train_end": training[-1].isoformat(),
            "train_days": len(training),
            "early_stopping_start": self.split.validation[0].isoformat(),
            "embargo_days": len(self.embargo),
            "embargo": [day.isoformat() for day in self.embargo],
            "test_start": self.split.test[0].isoformat(),
            "test_end": self.split.test[-1].isoformat(),
            "test_days": len(self.split.test),
        }


def plan_folds(
    days: Sequence[dt.date],
    config: WalkForwardConfig = WalkForwardConfig(),
    validation_days: int = TrainingConfig.validation_days,
    label_spec: LabelSpec = LABEL_SPEC,
) -> list[Fold]:
    """The folds over ``days`` (sorted, deduplicated). Raises ``WalkForwardConfigError``
    or ``InsufficientDataError`` (with the number of days the design needs)."""
    config.validate(label_spec)
    if validation_days < 1:
        raise WalkForwardConfigError("early stopping needs at least one day")
    ordered = sorted(set(days))
    tested = config.folds * config.test_days
    span = len(ordered) - tested - config.embargo_days  # fold 1's training span
    shortfall = config.shortfall(len(ordered), validation_days)
    if shortfall:
        raise InsufficientDataError(shortfall)
    folds = []
    for k in range(config.folds):
        test_start = len(ordered) - tested + k * config.test_days
        train_end = test_start - config.embargo_days
        train_start = 0 if config.scheme is FoldScheme.EXPANDING else train_end - span
        training = ordered[train_start:train_end]
        split = DaySplit(
            train=tuple(training[:-validation_days]),
            validation=tuple(training[-validation_days:]),
            test=tuple(ordered[test_start : test_start + config.test_days]),
        )
        folds.append(Fold(k + 1, split, tuple(ordered[train_end:test_start])))
    return folds


@dataclass(frozen=True)
class FoldOutcome:
    """A fold's model and its out-of-sample predictions. ``labels``, ``index`` and
    ``probabilities`` are row-aligned over the test days; ``priors`` are the class shares
    of the fold's training days (fit and early stopping)."""

    fold: Fold
    training: TrainingResult
    priors: np.ndarray
    labels: np.ndarray
    index: pd.DataFrame  # symbol, timestamp, session_date, close, fwd_ret
    probabilities: np.ndarray
    backtest: BacktestResult | None

    @property
    def rounds(self) -> int:
        return int(self.training.metrics["best_iteration"]) + 1


def run_walk_forward(
    dataset: Dataset,
    folds: Sequence[Fold],
    config: TrainingConfig = TrainingConfig(),
    backtester: Backtester | None = None,
    fitter: Fitter | None = None,
    feature_spec: FeatureSpec = FEATURE_SPEC,
    label_spec: LabelSpec = LABEL_SPEC,
) -> list[FoldOutcome]:
    """Train each fold on its own training span and score it on its test block (and
    backtest it there when a backtester is given)."""
    outcomes = []
    for fold in folds:
        training = train_model(dataset, fold.split, config, feature_spec, label_spec, fitter)
        test = dataset.select_days(list(fold.split.test))
        if len(test) == 0:
            raise InsufficientDataError(f"fold {fold.number} has no labelled test rows")
        priors = class_priors(dataset.select_days(list(fold.training_days)).labels)
        outcomes.append(
            FoldOutcome(
                fold=fold,
                training=training,
                priors=priors,
                labels=test.labels,
                index=test.index,
                probabilities=training.model.predict_proba(test.features),
                backtest=backtester(training.model, fold.split.test) if backtester else None,
            )
        )
    return outcomes


def refit_rounds(outcomes: Sequence[FoldOutcome]) -> int:
    """Boosting rounds of the refit: the median of the folds' early-stopped rounds (up)."""
    if not outcomes:
        raise ValueError("no folds to take the number of rounds from")
    return max(1, math.ceil(float(np.median([o.rounds for o in outcomes]))))


def refit(
    dataset: Dataset,
    outcomes: Sequence[FoldOutcome],
    config: TrainingConfig = TrainingConfig(),
    fitter: Fitter | None = None,
    feature_spec: FeatureSpec = FEATURE_SPEC,
    label_spec: LabelSpec = LABEL_SPEC,
) -> TrainingResult:
    """Fit the recipe on every day of ``dataset`` for :func:`refit_rounds` rounds."""
    rounds = refit_rounds(outcomes)
    if fitter is None:
        fitted = fit_booster(dataset, None, config, rounds, feature_spec, label_spec)
    else:
        fitted = fitter(dataset, None, config, rounds)
    days = tuple(dataset.days)
    return TrainingResult(
        model=fitted.model,
        split=DaySplit(train=days, validation=(), test=()),
        params={**recipe_params(config, feature_spec, label_spec), "rounds": rounds},
        metrics={
            "train_rows": float(len(dataset)),
            "rounds": float(rounds),
            "best_iteration": float(rounds - 1),
        },
    )
