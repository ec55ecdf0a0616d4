"""Forecast metrics against independent oracles (scipy, scikit-learn, numpy by hand)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import pearsonr, spearmanr
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss
from sklearn.metrics import log_loss as sklearn_log_loss

from trading_runtime.modeling import metrics as m
from trading_runtime.modeling.bootstrap import bootstrap_mean


def _probabilities(rng: np.random.Generator, rows: int) -> np.ndarray:
    return rng.dirichlet(np.ones(3), size=rows)


def test_log_loss_matches_sklearn() -> None:
    rng = np.random.default_rng(1)
    probabilities = _probabilities(rng, 200)
    labels = rng.integers(0, 3, size=200)
    assert m.log_loss(labels, probabilities) == pytest.approx(
        sklearn_log_loss(labels, probabilities, labels=[0, 1, 2])
    )


def test_multiclass_brier_matches_sklearn_unscaled() -> None:
    rng = np.random.default_rng(2)
    probabilities = _probabilities(rng, 300)
    labels = rng.integers(0, 3, size=300)
    expected = brier_score_loss(labels, probabilities, labels=[0, 1, 2], scale_by_half=False)
    assert m.brier_score(labels, probabilities) == pytest.approx(expected)


def test_reliability_table_matches_sklearn_calibration_curve() -> None:
    rng = np.random.default_rng(3)
    predicted = rng.beta(2, 5, size=1000)
    outcomes = rng.random(1000) < predicted
    table = m.reliability_table(predicted, outcomes, bins=10)
    observed, mean_predicted = calibration_curve(outcomes, predicted, n_bins=10)
    np.testing.assert_allclose([b.observed_frequency for b in table], observed)
    np.testing.assert_allclose([b.mean_predicted for b in table], mean_predicted)
    assert sum(b.rows for b in table) == 1000


def test_expected_calibration_error_by_hand() -> None:
    # Two bins used: [0.0, 0.5] holds 0.2, 0.4 (one hit); (0.5, 1.0] holds 0.9, 0.9, 0.6 (two).
    predicted = np.array([0.2, 0.4, 0.9, 0.9, 0.6])
    outcomes = np.array([0, 1, 1, 0, 1])
    table = m.reliability_table(predicted, outcomes, bins=2)
    low_gap = abs((0.2 + 0.4) / 2 - 1 / 2)
    high_gap = abs((0.9 + 0.9 + 0.6) / 3 - 2 / 3)
    expected = (2 * low_gap + 3 * high_gap) / 5
    assert m.expected_calibration_error(table) == pytest.approx(expected)
    assert math.isnan(m.expected_calibration_error([]))


def test_a_probability_on_an_edge_falls_in_the_lower_bin_as_in_sklearn() -> None:
    table = m.reliability_table(np.array([0.5, 0.5, 0.7]), np.array([1, 0, 1]), bins=2)
    assert [b.rows for b in table] == [2, 1]


def test_probabilities_outside_the_unit_interval_are_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        m.reliability_table(np.array([0.2, 1.2]), np.array([0, 1]))


def _cross_sections() -> pd.DataFrame:
    """Two days, three minutes a day, five symbols; one minute with a constant score and
    one with only two symbols (both have no IC)."""
    rng = np.random.default_rng(4)
    rows = []
    for day in (dt.date(2026, 3, 2), dt.date(2026, 3, 3)):
        for minute in range(3):
            timestamp = pd.Timestamp(f"{day} 15:{30 + minute}", tz="UTC")
            symbols = 2 if (day.day, minute) == (3, 2) else 5
            scores = rng.normal(size=symbols)
            if (day.day, minute) == (2, 1):
                scores[:] = 0.25
            returns = 0.3 * scores + rng.normal(size=symbols) * 1e-3 + rng.normal(size=symbols)
            rows += [
                {"t": timestamp, "day": day, "score": s, "ret": r}
                for s, r in zip(scores, returns, strict=True)
            ]
    frame = pd.DataFrame(rows)
    frame.loc[3, "score"] = frame.loc[4, "score"]  # a tie, ranked by average rank
    return frame


@pytest.mark.parametrize("rank", [False, True])
def test_daily_ic_is_the_mean_of_per_minute_correlations(rank: bool) -> None:
    frame = _cross_sections()
    oracle = spearmanr if rank else pearsonr
    expected: dict[dt.date, list[float]] = {}
    for (day, _), minute in frame.groupby(["day", "t"]):
        if len(minute) < 3 or minute["score"].nunique() == 1:
            continue
        expected.setdefault(day, []).append(float(oracle(minute["score"], minute["ret"])[0]))
    daily = m.daily_ic(
        frame["score"].to_numpy(), frame["ret"].to_numpy(), frame["t"], frame["day"], rank=rank
    )
    assert set(daily) == set(expected)
    for day, values in expected.items():
        assert daily[day] == pytest.approx(np.mean(values), abs=1e-12)
    minutes = m.minute_ic(frame["score"].to_numpy(), frame["ret"].to_numpy(), frame["t"], rank)
    assert len(minutes) == 4  # six minutes, one constant, one with two symbols


def test_icir_is_mean_over_standard_deviation_of_daily_ic() -> None:
    daily = [0.05, 0.02, float("nan"), 0.08, -0.01]
    values = np.array([0.05, 0.02, 0.08, -0.01])
    mean, icir = m.ic_summary(daily)
    assert mean == pytest.approx(values.mean())
    assert icir == pytest.approx(values.mean() / values.std(ddof=1))
    assert all(math.isnan(v) for v in m.ic_summary([float("nan")]))


def test_bootstrap_interval_covers_a_weighted_mean_and_is_deterministic() -> None:
    rng = np.random.default_rng(5)
    values = rng.normal(0.01, 0.02, size=40)
    weights = rng.integers(200, 400, size=40)
    first = bootstrap_mean(values, weights, seed=3)
    assert first == bootstrap_mean(values, weights, seed=3)
    assert first.estimate == pytest.approx(np.average(values, weights=weights))
    assert first.lower < first.estimate < first.upper
    # Roughly the normal interval of a mean: the bootstrap should be of the same width.
    normal_half_width = 1.96 * values.std(ddof=1) / math.sqrt(len(values))
    assert (first.upper - first.lower) / 2 == pytest.approx(normal_half_width, rel=0.3)


def test_bootstrap_of_too_few_days_is_undefined_and_never_above_zero() -> None:
    one = bootstrap_mean([0.5])
    assert one.estimate == 0.5 and not one.defined and not one.above(0.0)
    assert bootstrap_mean([float("nan"), float("nan")]).days == 0
    with pytest.raises(ValueError):
        bootstrap_mean([0.1, 0.2], [1.0, -1.0])
