"""The cached predictor returns XGBoost's own probabilities."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost as xgb

from trading_runtime.features.spec import FEATURE_SPEC
from trading_runtime.modeling.artifact import TradingModel
from trading_runtime.modeling.labels import LabelSpec
from trading_runtime.modeling.predictor import DensePredictor

FEATURES = len(FEATURE_SPEC.names)


def _booster(rounds: int = 30, seed: int = 3) -> xgb.Booster:
    generator = np.random.default_rng(seed)
    x = generator.normal(size=(600, FEATURES)).astype(np.float32)
    x[generator.random(x.shape) < 0.05] = np.nan
    y = (np.nan_to_num(x[:, 0]) > 0.3).astype(int) + (np.nan_to_num(x[:, 1]) > 0.0)
    matrix = xgb.DMatrix(x, label=y)
    params = {"objective": "multi:softprob", "num_class": 3, "max_depth": 4, "nthread": 1}
    return xgb.train(params, matrix, num_boost_round=rounds)


def _inputs(rows: int, seed: int = 11) -> np.ndarray:
    generator = np.random.default_rng(seed)
    x = generator.normal(size=(rows, FEATURES))
    x[generator.random(x.shape) < 0.1] = np.nan
    return x


@pytest.mark.parametrize("rows", [1, 7, 100, 1000])
def test_probabilities_equal_xgboost_inplace_predict(rows: int) -> None:
    booster = _booster()
    model = TradingModel.from_booster(booster, FEATURE_SPEC, LabelSpec(), best_iteration=19)
    x = _inputs(rows)
    expected = booster.inplace_predict(
        x.astype(np.float32), iteration_range=(0, 20), validate_features=False
    ).reshape(rows, 3)
    got = model.predict_proba(x)
    assert got.dtype == np.float32 and got.shape == (rows, 3)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    # the best iteration is honoured: all trees give other probabilities
    assert not np.allclose(got, booster.inplace_predict(x.astype(np.float32)).reshape(rows, 3))


def test_a_strided_float64_view_is_scored_as_its_values() -> None:
    booster = _booster()
    predictor = DensePredictor(booster, (0, 30), classes=3)
    wide = _inputs(50)
    view = np.repeat(wide, 2, axis=0)[::2]
    assert not view.flags.c_contiguous
    np.testing.assert_allclose(predictor.predict(view), predictor.predict(wide), atol=0)
    assert predictor.direct


def test_consecutive_calls_do_not_share_an_output_buffer() -> None:
    predictor = DensePredictor(_booster(), (0, 30), classes=3)
    first_input, second_input = _inputs(20, seed=1), _inputs(20, seed=2)
    first = predictor.predict(first_input)
    snapshot = first.copy()
    predictor.predict(second_input)
    np.testing.assert_array_equal(first, snapshot)


def test_no_rows_and_wrong_widths() -> None:
    predictor = DensePredictor(_booster(), (0, 30), classes=3)
    assert predictor.predict(np.empty((0, FEATURES))).shape == (0, 3)
    with pytest.raises(ValueError, match="features"):
        predictor.predict(np.zeros((3, FEATURES - 1)))
