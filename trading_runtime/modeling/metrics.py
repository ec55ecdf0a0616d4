"""Forecast metrics of the direction model: scoring rules, calibration and information
coefficients. Pure numpy/pandas; every function documents its units.

* **Scoring rules** against the class prior: ``log_loss`` (natural log, per row) and the
  multi-class ``brier_score`` (sum over the three classes of the squared error, per row,
  in ``[0, 2]``); accuracy against always predicting the majority class.
* **Calibration**: ``reliability_table`` of one class's probability in uniform bins and its
  ``expected_calibration_error`` (ECE: the row-weighted mean absolute gap between the mean
  predicted probability and the observed frequency per bin).
* **Information coefficients** of the score ``P(up) - P(down)`` against the forward log
  return, cross-sectional per minute and averaged per day, the way Qlib reports them: the
  IC of a day is the mean of that day's per-minute Pearson correlations across symbols,
  the rank IC uses Spearman (average ranks for ties); over days, ``IC`` is the mean of the
  daily values and ``ICIR`` the mean divided by their standard deviation (ddof=1), not
  annualised. A minute with fewer than ``min_symbols`` symbols or a constant score or
  return has no IC.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trading_runtime.domain.enums import Direction

_EPSILON = 1e-15
# Below this standard deviation a cross-section is constant (scores are differences of
# float32 probabilities; returns are log returns of cent prices).
_CONSTANT_STD = 1e-10
CLASS_NAMES = ("down", "flat", "up")


def score(probabilities: np.ndarray) -> np.ndarray:
    """The directional score ``P(up) - P(down)`` in ``[-1, 1]`` per row (float64)."""
    return probabilities[:, int(Direction.UP)].astype(np.float64) - probabilities[
        :, int(Direction.DOWN)
    ].astype(np.float64)


def row_log_loss(labels: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Per-row ``-log p(true class)`` (probabilities clipped at 1e-15)."""
    picked = probabilities[np.arange(len(labels)), labels].astype(np.float64)
    return -np.log(np.clip(picked, _EPSILON, 1.0))


def log_loss(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean multi-class log loss (natural log) per row."""
    return float(row_log_loss(labels, probabilities).mean())


def row_brier(labels: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Per-row multi-class Brier score: ``sum_k (p_k - 1[y = k])^2``, in ``[0, 2]``."""
    onehot = np.zeros(probabilities.shape, dtype=np.float64)
    onehot[np.arange(len(labels)), labels] = 1.0
    return ((probabilities.astype(np.float64) - onehot) ** 2).sum(axis=1)


def brier_score(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean multi-class Brier score per row (see :func:`row_brier`)."""
    return float(row_brier(labels, probabilities).mean())


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Rows: true class; columns: predicted class (down, flat, up)."""
    matrix = np.zeros((3, 3), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


# --- calibration -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReliabilityBin:
    lower: float
    upper: float
    rows: int
    mean_predicted: float
    observed_frequency: float


def reliability_table(
    predicted: np.ndarray, outcomes: np.ndarray, bins: int = 10
) -> list[ReliabilityBin]:
    """Uniform bins over ``[0, 1]`` of one class's predicted probability.

    A value on an inner edge belongs to the lower bin (the convention of scikit-learn's
    ``calibration_curve``); empty bins are left out. ``outcomes`` are 0/1.
    Raises ``ValueError`` when probabilities lie outside ``[0, 1]`` or ``bins < 1``.
    """
    if bins < 1:
        raise ValueError("a reliability table needs at least one bin")
    values = np.asarray(predicted, dtype=np.float64)
    if len(values) and (values.min() < 0.0 or values.max() > 1.0):
        raise ValueError("probabilities outside [0, 1]")
    hits = np.asarray(outcomes, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.searchsorted(edges[1:-1], values)
    totals = np.bincount(index, minlength=bins)
    sums = np.bincount(index, weights=values, minlength=bins)
    positives = np.bincount(index, weights=hits, minlength=bins)
    return [
        ReliabilityBin(
            lower=float(edges[k]),
            upper=float(edges[k + 1]),
            rows=int(totals[k]),
            mean_predicted=float(sums[k] / totals[k]),
            observed_frequency=float(positives[k] / totals[k]),
        )
        for k in range(bins)
        if totals[k]
    ]


def expected_calibration_error(table: Sequence[ReliabilityBin]) -> float:
    """Row-weighted mean ``|mean predicted - observed frequency|`` over the bins; NaN when
    the table is empty."""
    rows = sum(b.rows for b in table)
    if rows == 0:
        return math.nan
    return float(sum(b.rows * abs(b.mean_predicted - b.observed_frequency) for b in table) / rows)


def calibration(labels: np.ndarray, probabilities: np.ndarray, bins: int = 10) -> dict[str, object]:
    """Per class: the reliability table and its ECE; ``ece`` is the mean over the classes."""
    result: dict[str, object] = {}
    errors = []
    for k, name in enumerate(CLASS_NAMES):
        table = reliability_table(probabilities[:, k], labels == k, bins)
        error = expected_calibration_error(table)
        errors.append(error)
        result[f"ece_{name}"] = error
        result[f"reliability_{name}"] = [
            {
                "bin": f"{b.lower:.1f}-{b.upper:.1f}",
                "rows": b.rows,
                "mean_predicted": b.mean_predicted,
                "observed_frequency": b.observed_frequency,
            }
            for b in table
        ]
    result["ece"] = float(np.mean(errors))
    return result


# --- information coefficients -------------------------------------------------------------------
def minute_ic(
    scores: np.ndarray,
    returns: np.ndarray,
    timestamps: Sequence[object] | np.ndarray | pd.Series,
    rank: bool = False,
    min_symbols: int = 3,
) -> pd.Series:
    """Cross-sectional correlation per timestamp (Pearson, or Spearman when ``rank``),
    indexed by timestamp; minutes without a defined correlation are dropped."""
    frame = pd.DataFrame(
        {
            "t": np.asarray(timestamps),
            "x": np.asarray(scores, dtype=np.float64),
            "y": np.asarray(returns, dtype=np.float64),
        }
    )
    groups = frame.groupby("t", sort=True)
    if rank:
        frame["x"] = groups["x"].rank(method="average")
        frame["y"] = groups["y"].rank(method="average")
        groups = frame.groupby("t", sort=True)
    frame["dx"] = frame["x"] - groups["x"].transform("mean")
    frame["dy"] = frame["y"] - groups["y"].transform("mean")
    frame["xy"] = frame["dx"] * frame["dy"]
    frame["xx"] = frame["dx"] ** 2
    frame["yy"] = frame["dy"] ** 2
    sums = frame.groupby("t", sort=True)[["xy", "xx", "yy"]].sum()
    counts = groups.size()
    n = counts.to_numpy(dtype=np.float64)
    std_x = np.sqrt(sums["xx"].to_numpy() / np.maximum(n - 1, 1))
    std_y = np.sqrt(sums["yy"].to_numpy() / np.maximum(n - 1, 1))
    valid = (n >= min_symbols) & (std_x > _CONSTANT_STD) & (std_y > _CONSTANT_STD)
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = sums["xy"].to_numpy() / np.sqrt(sums["xx"].to_numpy() * sums["yy"].to_numpy())
    return pd.Series(correlation[valid], index=sums.index[valid], name="ic")


def daily_ic(
    scores: np.ndarray,
    returns: np.ndarray,
    timestamps: np.ndarray | pd.Series,
    days: np.ndarray | pd.Series,
    rank: bool = False,
    min_symbols: int = 3,
) -> dict[dt.date, float]:
    """Mean of the per-minute cross-sectional correlations of each day (NaN for a day
    without a single defined minute)."""
    day_of = pd.Series(np.asarray(days), index=np.asarray(timestamps)).groupby(level=0).first()
    per_minute = minute_ic(scores, returns, timestamps, rank, min_symbols)
    per_day = per_minute.groupby(day_of.reindex(per_minute.index).to_numpy()).mean()
    return {day: float(per_day.get(day, math.nan)) for day in sorted(set(day_of.to_numpy()))}


def ic_summary(daily: Sequence[float]) -> tuple[float, float]:
    """``(mean, mean / std)`` of daily ICs (NaN days ignored; ICIR is NaN with fewer than
    two days or zero dispersion)."""
    values = np.asarray([v for v in daily if v is not None and math.isfinite(v)], dtype=float)
    if len(values) == 0:
        return math.nan, math.nan
    mean = float(values.mean())
    std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return mean, (mean / std if std > 0 else math.nan)
