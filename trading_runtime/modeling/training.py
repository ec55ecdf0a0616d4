"""Time-ordered training of the direction classifier (XGBoost ``multi:softprob``).

Days are split in time order into train < validation < test: the model never sees a day
later than the one it is validated or tested on, and because labels never cross a session,
day boundaries are a clean cut (no embargo needed). Validation drives early stopping; the
test days are left for ``modeling.evaluation`` and the backtest.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import numpy as np
import xgboost as xgb

from trading_runtime.features.spec import FEATURE_SPEC, FeatureSpec
from trading_runtime.modeling.artifact import TradingModel
from trading_runtime.modeling.dataset import Dataset
from trading_runtime.modeling.labels import LABEL_SPEC, LabelSpec


class InsufficientDataError(ValueError):
    """Too few days or rows to train and evaluate honestly."""


@dataclass(frozen=True)
class TrainingConfig:
    validation_days: int = 10
    test_days: int = 10
    n_estimators: int = 400
    max_depth: int = 4
    learning_rate: float = 0.1
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    min_child_weight: float = 20.0
    reg_lambda: float = 1.0
    early_stopping_rounds: int = 40
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

    def as_lineage(self) -> dict[str, dt.date]:
        return {
            "train_start": self.train[0],
            "train_end": self.train[-1],
            "validation_start": self.validation[0],
            "validation_end": self.validation[-1],
            "test_start": self.test[0],
            "test_end": self.test[-1],
        }


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
) -> TrainingResult:
    """Fit on ``split.train``, early-stop on ``split.validation``; test days are untouched."""
    if dataset.feature_names != feature_spec.names:
        raise ValueError("dataset features do not match the feature spec")
    train = dataset.select_days(list(split.train))
    validation = dataset.select_days(list(split.validation))
    if len(train) < 1000 or len(validation) < 100:
        raise InsufficientDataError(f"train has {len(train)} rows, validation {len(validation)}")
    missing_classes = {0, 1, 2} - set(train.class_counts())
    if missing_classes:
        raise InsufficientDataError(f"training labels lack classes {sorted(missing_classes)}")

    names = list(feature_spec.names)
    train_matrix = xgb.DMatrix(train.features, label=train.labels, feature_names=names)
    validation_matrix = xgb.DMatrix(
        validation.features, label=validation.labels, feature_names=names
    )
    evals_result: dict[str, dict[str, list[float]]] = {}
    booster = xgb.train(
        config.xgboost_params(),
        train_matrix,
        num_boost_round=config.n_estimators,
        evals=[(train_matrix, "train"), (validation_matrix, "validation")],
        early_stopping_rounds=config.early_stopping_rounds,
        evals_result=evals_result,
        verbose_eval=False,
    )
    best_iteration = int(booster.best_iteration)
    model = TradingModel.from_booster(booster, feature_spec, label_spec, best_iteration)
    train_counts = train.class_counts()
    total = sum(train_counts.values())
    metrics = {
        "train_rows": float(len(train)),
        "validation_rows": float(len(validation)),
        "best_iteration": float(best_iteration),
        "train_logloss": float(evals_result["train"]["mlogloss"][best_iteration]),
        "validation_logloss": float(evals_result["validation"]["mlogloss"][best_iteration]),
        **{
            f"train_share_{name}": train_counts.get(k, 0) / total
            for k, name in enumerate(("down", "flat", "up"))
        },
    }
    params = {
        **config.xgboost_params(),
        "n_estimators": config.n_estimators,
        "early_stopping_rounds": config.early_stopping_rounds,
        "validation_days": config.validation_days,
        "test_days": config.test_days,
        "label": asdict(label_spec),
        "feature_spec_hash": feature_spec.hash,
    }
    return TrainingResult(model=model, split=split, params=params, metrics=metrics)


def class_priors(labels: np.ndarray) -> np.ndarray:
    counts = np.bincount(labels, minlength=3).astype(float)
    return counts / counts.sum()
