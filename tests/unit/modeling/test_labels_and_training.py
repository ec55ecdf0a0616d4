from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from tests.support.builders import EARLY_CLOSE_DAY, FULL_DAY, day_bars
from trading_runtime.domain import Direction
from trading_runtime.features.batch import compute_features
from trading_runtime.features.spec import FeatureSpec
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.synthetic import SyntheticMarket
from trading_runtime.modeling.artifact import ModelIncompatibleError, TradingModel
from trading_runtime.modeling.dataset import build_dataset
from trading_runtime.modeling.labels import LabelSpec, classify, label_bars
from trading_runtime.modeling.training import (
    InsufficientDataError,
    TrainingConfig,
    fit_booster,
    split_days,
    train_model,
)


def test_labels_never_cross_the_close() -> None:
    bars = pd.concat([day_bars(FULL_DAY, ("AAPL",)), day_bars(EARLY_CLOSE_DAY, ("AAPL",))])
    labels = label_bars(bars, LabelSpec(horizon_minutes=10))
    for day in (FULL_DAY, EARLY_CLOSE_DAY):
        session = calendar.session(day)
        on_day = labels[
            (labels["timestamp"] >= session.open) & (labels["timestamp"] < session.close)
        ]
        assert on_day["timestamp"].max() == pd.Timestamp(session.close) - pd.Timedelta(minutes=11)
        # one label per grid minute from each symbol's first bar (AAPL and SPY)
        first = bars[bars["timestamp"] >= session.open].groupby("symbol")["timestamp"].min()
        before = ((first - pd.Timestamp(session.open)).dt.total_seconds() // 60).sum()
        assert len(on_day) == 2 * (session.minutes - 10) - before


def test_label_is_the_sign_of_the_forward_return_outside_the_band() -> None:
    spec = LabelSpec(horizon_minutes=10, flat_band_bps=10)
    labels = classify(np.array([0.002, -0.002, 0.0005, -0.0009, 0.001]), spec)
    assert labels.tolist() == [
        Direction.UP,
        Direction.DOWN,
        Direction.FLAT,
        Direction.FLAT,
        Direction.FLAT,
    ]


def test_forward_return_is_measured_exactly_horizon_minutes_ahead() -> None:
    bars = day_bars(FULL_DAY, ("AAPL",))
    aapl = bars[bars["symbol"] == "AAPL"].reset_index(drop=True)
    labels = label_bars(aapl, LabelSpec(horizon_minutes=10))
    first = labels.iloc[0]
    assert first["fwd_ret"] == pytest.approx(np.log(aapl["close"].iloc[10] / aapl["close"].iloc[0]))


def test_days_split_in_time_order_without_overlap() -> None:
    days = calendar.previous_sessions(dt.date(2026, 11, 27), 30)
    split = split_days(days, validation_days=5, test_days=5)
    assert max(split.train) < min(split.validation) <= max(split.validation) < min(split.test)
    assert len(split.train) == 20 and split.test[-1] == days[-1]
    with pytest.raises(InsufficientDataError):
        split_days(days[:8], validation_days=5, test_days=5)


@pytest.fixture(scope="module")
def small_training():
    market = SyntheticMarket(11)
    days = calendar.previous_sessions(dt.date(2026, 10, 1), 12)
    frames = [market.day_bars(day, ["AAPL", "MSFT", "NVDA", "AMZN"]) for day in days]
    features = pd.concat([compute_features(f) for f in frames])
    labels = pd.concat([label_bars(f) for f in frames])
    dataset = build_dataset(features, labels)
    split = split_days(dataset.days, validation_days=2, test_days=2)
    result = train_model(
        dataset, split, TrainingConfig(n_estimators=60, validation_days=2, nthread=1)
    )
    return dataset, result


def test_training_never_sees_test_days(small_training) -> None:
    dataset, result = small_training
    assert set(result.split.test).isdisjoint(result.split.train)
    assert result.metrics["train_rows"] == len(dataset.select_days(list(result.split.train)))


def test_model_round_trips_through_bytes(small_training) -> None:
    dataset, result = small_training
    restored = TradingModel.from_bytes(result.model.to_bytes())
    sample = dataset.features[:500]
    np.testing.assert_allclose(
        restored.predict_proba(sample), result.model.predict_proba(sample), rtol=1e-6
    )
    assert restored.metadata == result.model.metadata
    probabilities = restored.predict_proba(sample)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_model_refuses_other_features(small_training) -> None:
    _, result = small_training
    with pytest.raises(ModelIncompatibleError):
        result.model.check_compatible(FeatureSpec(return_windows=(1, 5, 15, 30, 60)))


def test_fitting_needs_either_early_stopping_rows_or_a_number_of_rounds(small_training) -> None:
    dataset, result = small_training
    train = dataset.select_days(list(result.split.train))
    with pytest.raises(ValueError, match="either"):
        fit_booster(train, None, TrainingConfig(nthread=1))
    with pytest.raises(ValueError, match="at least one"):
        fit_booster(train, None, TrainingConfig(nthread=1), rounds=0)
    fixed = fit_booster(train, None, TrainingConfig(nthread=1), rounds=7)
    assert fixed.rounds == 7 and fixed.validation_logloss is None
    assert fixed.model.metadata.best_iteration == 6


def test_training_refuses_too_few_rows(small_training) -> None:
    dataset, result = small_training
    tiny = dataset.select_days(list(result.split.train[:1]))
    tiny = type(tiny)(tiny.features[:500], tiny.labels[:500], tiny.index[:500], tiny.feature_names)
    with pytest.raises(InsufficientDataError, match="500 rows"):
        fit_booster(tiny, None, TrainingConfig(nthread=1), rounds=3)


def test_labels_use_the_grid_close_of_a_minute_without_a_bar() -> None:
    bars = day_bars(FULL_DAY, ("AAPL",))
    session = calendar.session(FULL_DAY)
    aapl = bars[bars["symbol"] == "AAPL"]
    start = pd.Timestamp(session.open) + pd.Timedelta(minutes=100)
    target = start + pd.Timedelta(minutes=10)
    silent = (aapl["timestamp"] > target - pd.Timedelta(minutes=4)) & (aapl["timestamp"] <= target)
    sparse = bars.drop(index=aapl.index[silent.to_numpy()])
    labels = label_bars(sparse, LabelSpec(horizon_minutes=10)).set_index(["symbol", "timestamp"])
    kept = sparse[sparse["symbol"] == "AAPL"]
    close_at = lambda t: kept.loc[kept["timestamp"] <= t, "close"].iloc[-1]  # noqa: E731
    assert labels.loc[("AAPL", start), "fwd_ret"] == pytest.approx(
        np.log(close_at(target) / close_at(start)), rel=1e-12
    )
