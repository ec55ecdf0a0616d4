"""Walk-forward folds: the design, its validation, and the fold table's guarantees."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from trading_runtime.features.batch import compute_features
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.synthetic import SyntheticMarket
from trading_runtime.modeling.dataset import build_dataset
from trading_runtime.modeling.labels import LabelSpec, label_bars
from trading_runtime.modeling.training import InsufficientDataError, TrainingConfig
from trading_runtime.modeling.walkforward import (
    FoldScheme,
    WalkForwardConfig,
    WalkForwardConfigError,
    minimum_embargo_days,
    plan_folds,
    refit,
    refit_rounds,
    run_walk_forward,
)

DAYS = calendar.previous_sessions(dt.date(2026, 12, 1), 60)


def _assert_no_fold_trains_on_its_test_days_or_embargo(
    table: list[dict], days: list[dt.date]
) -> None:
    """From the fold table alone: the training span ends before the embargo, which ends
    before the test block, and the embargo holds exactly the sessions in between."""
    iso = [d.isoformat() for d in days]
    for row in table:
        train = set(iso[iso.index(row["train_start"]) : iso.index(row["train_end"]) + 1])
        test = set(iso[iso.index(row["test_start"]) : iso.index(row["test_end"]) + 1])
        between = iso[iso.index(row["train_end"]) + 1 : iso.index(row["test_start"])]
        assert len(train) == row["train_days"] and len(test) == row["test_days"]
        assert row["train_end"] < row["test_start"]
        assert train.isdisjoint(test) and train.isdisjoint(row["embargo"])
        assert between == row["embargo"] and len(between) == row["embargo_days"]
        assert row["train_start"] <= row["early_stopping_start"] <= row["train_end"]


@pytest.mark.parametrize("scheme", list(FoldScheme))
@pytest.mark.parametrize("embargo", [0, 2])
def test_folds_never_train_on_their_test_days_or_the_embargo(
    scheme: FoldScheme, embargo: int
) -> None:
    config = WalkForwardConfig(folds=4, test_days=5, embargo_days=embargo, scheme=scheme)
    folds = plan_folds(DAYS, config, validation_days=5)
    table = [fold.table_row() for fold in folds]
    _assert_no_fold_trains_on_its_test_days_or_embargo(table, DAYS)
    tests = [day for fold in folds for day in fold.split.test]
    assert tests == DAYS[-20:], "the test blocks tile the end of the window in order"
    first_span = table[0]["train_days"]
    assert [row["train_days"] for row in table] == (
        [first_span] * 4 if scheme is FoldScheme.ROLLING else [first_span + 5 * k for k in range(4)]
    )
    for fold in folds:
        assert fold.split.validation == fold.training_days[-5:], "early stopping: last days"
        assert max(fold.split.validation) < min(fold.split.test)


def test_the_embargo_floor_is_the_label_horizon_in_days_which_is_zero() -> None:
    assert minimum_embargo_days(LabelSpec(horizon_minutes=10)) == 0
    assert minimum_embargo_days(LabelSpec(horizon_minutes=389)) == 0
    with pytest.raises(WalkForwardConfigError, match="shorter than the label horizon"):
        WalkForwardConfig(embargo_days=-1).validate()


def test_designs_that_cannot_be_honest_are_refused() -> None:
    with pytest.raises(WalkForwardConfigError, match="at least 4"):
        plan_folds(DAYS, WalkForwardConfig(folds=3))
    with pytest.raises(WalkForwardConfigError, match="test day"):
        plan_folds(DAYS, WalkForwardConfig(test_days=0))
    with pytest.raises(InsufficientDataError, match="days needed"):
        plan_folds(DAYS[:20], WalkForwardConfig(folds=4, test_days=5), validation_days=5)


@pytest.fixture(scope="module")
def small_walk_forward():
    market = SyntheticMarket(11)
    days = calendar.previous_sessions(dt.date(2026, 10, 1), 15)
    frames = [market.day_bars(day, ["AAPL", "MSFT", "NVDA", "AMZN"]) for day in days]
    dataset = build_dataset(
        pd.concat(compute_features(f) for f in frames), pd.concat(label_bars(f) for f in frames)
    )
    config = TrainingConfig(n_estimators=60, validation_days=2, nthread=1)
    folds = plan_folds(dataset.days, WalkForwardConfig(folds=4, test_days=2), 2)
    return dataset, config, run_walk_forward(dataset, folds, config)


def test_each_fold_predicts_exactly_its_test_rows(small_walk_forward) -> None:
    dataset, _, outcomes = small_walk_forward
    for outcome in outcomes:
        test = dataset.select_days(list(outcome.fold.split.test))
        assert len(outcome.labels) == len(test)
        assert set(outcome.index["session_date"]) == set(outcome.fold.split.test)
        np.testing.assert_allclose(outcome.probabilities.sum(axis=1), 1.0, rtol=1e-5)
        assert outcome.training.metrics["train_rows"] == len(
            dataset.select_days(list(outcome.fold.split.train))
        )


def test_the_refit_uses_every_day_and_the_median_early_stopped_rounds(small_walk_forward) -> None:
    dataset, config, outcomes = small_walk_forward
    rounds = [o.rounds for o in outcomes]
    model = refit(dataset, outcomes, config)
    assert model.split.train == tuple(dataset.days)
    assert model.metrics["train_rows"] == len(dataset)
    assert model.metrics["rounds"] == refit_rounds(outcomes) == int(np.ceil(np.median(rounds)))
    assert model.model.metadata.best_iteration == refit_rounds(outcomes) - 1
