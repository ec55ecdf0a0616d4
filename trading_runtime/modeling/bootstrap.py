"""Intervals by resampling whole days.

Rows within a day are strongly dependent (one market, one volatility regime, positions
that last minutes), days much less so; so the unit of resampling is the day. The interval
is the percentile bootstrap of a (weighted) mean of per-day values, deterministic for a
given ``seed``. With few days it is somewhat too narrow (percentile intervals under-cover
for small samples); the gates therefore also ask for a minimum number of days.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_RESAMPLES = 2000
DEFAULT_CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """A point estimate with its bootstrap interval over ``days`` days (NaN when undefined)."""

    estimate: float
    lower: float
    upper: float
    days: int
    confidence: float = DEFAULT_CONFIDENCE

    @property
    def defined(self) -> bool:
        return all(math.isfinite(v) for v in (self.estimate, self.lower, self.upper))

    def above(self, threshold: float = 0.0) -> bool:
        """The whole interval lies above ``threshold`` (False when undefined)."""
        return self.defined and self.lower > threshold

    def as_dict(self) -> dict[str, float | int]:
        return {
            "estimate": self.estimate,
            "lower": self.lower,
            "upper": self.upper,
            "days": self.days,
            "confidence": self.confidence,
        }


def bootstrap_mean(
    values: Sequence[float] | np.ndarray,
    weights: Sequence[float] | np.ndarray | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> Interval:
    """Percentile interval of ``sum(w * v) / sum(w)`` over days resampled with replacement.

    Non-finite values are dropped with their weights (a day with no defined value carries
    no evidence). Fewer than two days give an undefined interval around the estimate.
    Raises ``ValueError`` for negative weights or a confidence outside ``(0, 1)``.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must lie in (0, 1)")
    x = np.asarray(values, dtype=np.float64)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
    if x.shape != w.shape:
        raise ValueError("values and weights differ in length")
    if (w < 0).any():
        raise ValueError("weights must be non-negative")
    keep = np.isfinite(x) & (w > 0)
    x, w = x[keep], w[keep]
    if len(x) == 0:
        return Interval(math.nan, math.nan, math.nan, 0, confidence)
    estimate = float((w * x).sum() / w.sum())
    if len(x) < 2:
        return Interval(estimate, math.nan, math.nan, len(x), confidence)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(x), size=(resamples, len(x)))
    means = (w * x)[picks].sum(axis=1) / w[picks].sum(axis=1)
    tail = (1.0 - confidence) / 2.0
    lower, upper = np.quantile(means, [tail, 1.0 - tail])
    return Interval(estimate, float(lower), float(upper), len(x), confidence)
