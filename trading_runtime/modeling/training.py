"""Time-ordered training of the direction classifier (XGBoost ``multi:softprob``).

Days are split in time order into train < validation < test: the model never sees a day
later than the one it is validated or tested on. Labels never cross a session, so a day
boundary is a clean cut (see ``modeling.walkforward`` for folds and the embargo).
Validation drives early stopping and is the only set scored per boosting round; test days
are left to the walk-forward evaluation.

* :func:`fit_booster` fits one booster: with a validation set it stops early on it; without
  one it runs a fixed number of rounds (the refit on a whole window).
* :func:`train_model` fits on ``split.train`` and early-stops on ``split.validation``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import xgboost as xgb

from trading_runtime.features.spec import FEATURE_SPEC, FeatureSpec
from trading_runtime.modeling.artifact import TradingModel
from trading_runtime.modeling.dataset import Dataset
from trading_runtime.modeling.labels import LABEL_SPEC, LabelSpec


class InsufficientDataError(ValueError):
    """Too few days or rows to train and evaluate honestly."""


MIN_TRAIN_ROWS = 1000
MIN_VALIDATION_ROWS = 100


@dataclass(frozen=True)
class TrainingConfig:
    """The recipe. ``validation_days``: the last days of a training span used for early
    stopping (never test days); ``n_estimators``: the cap on boosting rounds."""

    validation_days: int = 5
    n_estimators: int = 400
    max_depth: int = 4
    learning_rate: float = 0.1
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    min_child_weight: float = 20.0
    reg_lambda: float = 1.0
    early_stopping_rounds: int = 20
    seed: int = 7
    nthread: int = 0  # 0: all cores

    def xgboost_params(self) -> dict[str, object]:
        return {
            "objective": "multi:softprob",
            "num_class": 3,
            "eval_metric": "mlogloss",
            "tree_method": "hist",
            "max_depth": self.max_depth,
            "eta": self.learning_rate,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "min_child_weight": self.min_child_weight,
            "lambda": self.reg_lambda,
            "seed": self.seed,
            "nthread": self.nthread,
        }


@dataclass(frozen=True)
class DaySplit:
    train: tuple[dt.date, ...]
    validation: tuple[dt.date, ...]
    test: tuple[dt.date, ...]


def split_days(
    days: list[dt.date], validation_days: int, test_days: int, min_train_days: int = 5
) -> DaySplit:
    """Oldest days train, then validation, then the newest days test."""
    ordered = sorted(set(days))
    if validation_days < 1 or test_days < 1:
        raise InsufficientDataError("validation and test need at least one day each")
    if len(ordered) < min_train_days + validation_days + test_days:
        raise InsufficientDataError(
            f"{len(ordered)} days cannot hold {min_train_days} train + {validation_days} validation"
            f" + {test_days} test days"
        )
    test = ordered[-test_days:]
    validation = ordered[-(test_days + validation_days) : -test_days]
    train = ordered[: -(test_days + validation_days)]
    return DaySplit(tuple(train), tuple(validation), tuple(test))


@dataclass(frozen=True)
class FittedModel:
    """A fitted booster; ``rounds`` boosting rounds are used at inference (the best
    iteration + 1 after early stopping, else all of them)."""

    model: TradingModel
    rounds: int
    validation_logloss: float | None


# A fitter: (train rows, early-stopping rows or None, recipe, fixed rounds or None) -> model.
# The default is ``fit_booster``; tests substitute wrappers that destroy information (null
# models) to prove that the gates reject them.
Fitter = Callable[[Dataset, Dataset | None, TrainingConfig, int | None], FittedModel]


def fit_booster(
    train: Dataset,
    validation: Dataset | None,
    config: TrainingConfig = TrainingConfig(),
    rounds: int | None = None,
    feature_spec: FeatureSpec = FEATURE_SPEC,
    label_spec: LabelSpec = LABEL_SPEC,
) -> FittedModel:
    """Fit on ``train``; early-stop on ``validation`` (scored alone, once per round) or,
    without one, run exactly ``rounds`` rounds.

    Raises ``InsufficientDataError`` for too few rows or a training set lacking a class,
    ``ValueError`` for features that do not match the spec, for both or neither of
    validation and rounds, or for fewer than one round.
    """
    if train.feature_names != feature_spec.names:
        raise ValueError("dataset features do not match the feature spec")
    if (validation is None) == (rounds is None):
        raise ValueError("give either a validation set (early stopping) or a number of rounds")
    if rounds is not None and rounds < 1:
        raise ValueError(f"{rounds} boosting rounds: at least one is needed")
    if len(train) < MIN_TRAIN_ROWS:
        raise InsufficientDataError(
            f"train has {len(train)} rows, at least {MIN_TRAIN_ROWS} needed"
        )
    if validation is not None and len(validation) < MIN_VALIDATION_ROWS:
        raise InsufficientDataError(
            f"validation has {len(validation)} rows, at least {MIN_VALIDATION_ROWS} needed"
        )
    missing_classes = {0, 1, 2} - set(train.class_counts())
    if missing_classes:
        raise InsufficientDataError(f"training labels lack classes {sorted(missing_classes)}")

    names = list(feature_spec.names)
    # QuantileDMatrix sketches the histogram bins once from the training rows; validation
    # rows reuse those bins (``ref``), so nothing is learnt from them but the stopping point.
    train_matrix = xgb.QuantileDMatrix(train.features, label=train.labels, feature_names=names)
    if validation is None:
        assert rounds is not None
        booster = xgb.train(
            config.xgboost_params(), train_matrix, num_boost_round=rounds, verbose_eval=False
        )
        model = TradingModel.from_booster(booster, feature_spec, label_spec, rounds - 1)
        return FittedModel(model, rounds, None)
    validation_matrix = xgb.QuantileDMatrix(
        validation.features, label=validation.labels, feature_names=names, ref=train_matrix
    )
    evals_result: dict[str, dict[str, list[float]]] = {}
    booster = xgb.train(
        config.xgboost_params(),
        train_matrix,
        num_boost_round=config.n_estimators,
        evals=[(validation_matrix, "validation")],
        early_stopping_rounds=config.early_stopping_rounds,
        evals_result=evals_result,
        verbose_eval=False,
    )
    best_iteration = int(booster.best_iteration)
    model = TradingModel.from_booster(booster, feature_spec, label_spec, best_iteration)
    validation_logloss = float(evals_result["validation"]["mlogloss"][best_iteration])
    return FittedModel(model, best_iteration + 1, validation_logloss)


@dataclass(frozen=True)
class TrainingResult:
    model: TradingModel
    split: DaySplit
    params: dict[str, object]
    metrics: dict[str, float]


def train_model(
    dataset: Dataset,
    split: DaySplit,
    config: TrainingConfig = TrainingConfig(),
    feature_spec: FeatureSpec = FEATURE_SPEC,
    label_spec: LabelSpec = LABEL_SPEC,
    fitter: Fitter | None = None,
) -> TrainingResult:
    """Fit on ``split.train``, early-stop on ``split.validation``; test days are untouched."""
    train = dataset.select_days(list(split.train))
    validation = dataset.select_days(list(split.validation))
    if fitter is None:
        fitted = fit_booster(train, validation, config, None, feature_spec, label_spec)
    else:
        fitted = fitter(train, validation, config, None)
    train_counts = train.class_counts()
    total = sum(train_counts.values())
    metrics = {
        "train_rows": float(len(train)),
        "validation_rows": float(len(validation)),
        "best_iteration": float(fitted.rounds - 1),
        "validation_logloss": float(fitted.validation_logloss or math.nan),
        **{
            f"train_share_{name}": train_counts.get(k, 0) / total
            for k, name in enumerate(("down", "flat", "up"))
        },
    }
    return TrainingResult(
        model=fitted.model,
        split=split,
        params=recipe_params(config, feature_spec, label_spec),
        metrics=metrics,
    )


def recipe_params(
    config: TrainingConfig,
    feature_spec: FeatureSpec = FEATURE_SPEC,
    label_spec: LabelSpec = LABEL_SPEC,
) -> dict[str, object]:
    """The recipe as stored with a model version (JSON-ready)."""
    return {
        **config.xgboost_params(),
        "n_estimators": config.n_estimators,
        "early_stopping_rounds": config.early_stopping_rounds,
        "validation_days": config.validation_days,
        "label": asdict(label_spec),
        "feature_spec_hash": feature_spec.hash,
    }


def class_priors(labels: np.ndarray) -> np.ndarray:
    """Class shares (down, flat, up) of ``labels``."""
    counts = np.bincount(labels, minlength=3).astype(float)
    return counts / counts.sum()
