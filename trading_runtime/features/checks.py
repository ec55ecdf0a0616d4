"""Leak checks over stored feature partitions: every day of a run, several cutoffs per day.

Per session (``check_stored_day``):

* **no_lookahead** — the *stored* table's rows up to a cutoff must equal the features
  recomputed from the bars up to that cutoff. Cutoffs are drawn at random, seeded by the
  seed and the day: one in each of ``cutoffs`` equal strata of the session, plus the
  penultimate minute, so a leak that starts at any minute of the session (late ones too)
  changes a compared row. Comparing the stored table catches a formula that reads ahead and
  a file that was written with future values alike.
* **feature_parity** — the stored table equals the batch features recomputed from the stored
  bars (every day), and, on the days sampled for it, the streaming (live) computation
  replayed over the day equals the batch one (the replay is the expensive part).

A day passes a check only when it compared rows and found no difference.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trading_runtime.features.batch import compute_features
from trading_runtime.features.build import (
    STORED_TOLERANCE,
    LookaheadReport,
    ParityReport,
    check_no_lookahead,
    check_parity,
    compare_features,
    without_excluded,
)
from trading_runtime.features.spec import FEATURE_SPEC, FeatureSpec
from trading_runtime.marketdata.coverage import excluded_symbols
from trading_runtime.marketdata.storage import MissingPartitionError, ParquetLake


@dataclass(frozen=True)
class DayChecks:
    """The leak checks of one stored session; ``streaming`` is None on days not sampled
    for the streaming replay; ``problem`` says why a day could not be checked at all."""

    day: dt.date
    lookahead: LookaheadReport | None
    stored: ParityReport | None
    streaming: ParityReport | None = None
    problem: str | None = None

    @property
    def lookahead_passed(self) -> bool:
        return self.lookahead is not None and self.lookahead.passed

    @property
    def parity_passed(self) -> bool:
        return (
            self.stored is not None
            and self.stored.passed
            and (self.streaming is None or self.streaming.passed)
        )

    def lookahead_reason(self) -> str:
        if self.lookahead is None:
            return self.problem or "not checked"
        if self.lookahead.passed:
            return f"{len(self.lookahead.cutoffs)} cutoffs, {self.lookahead.rows_compared} rows"
        return (
            f"{self.lookahead.changed_rows} rows change when the future is removed "
            f"(cutoffs {', '.join(self.lookahead.failed_cutoffs) or 'none compared'})"
        )

    def parity_reason(self) -> str:
        if self.stored is None:
            return self.problem or "not checked"
        parts = []
        if not self.stored.passed:
            parts.append(
                f"stored table differs from the batch features in {self.stored.mismatched_rows} "
                "rows"
            )
        if self.streaming is not None and not self.streaming.passed:
            parts.append(f"streaming differs from batch in {self.streaming.mismatched_rows} rows")
        if parts:
            return "; ".join(parts)
        replay = ", streaming replay equal" if self.streaming is not None else ""
        return f"stored table equals batch ({self.stored.rows_compared} rows){replay}"


def _day_seed(seed: int, day: dt.date) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{day.isoformat()}".encode()).digest()[:8], "big")


def lookahead_cutoffs(
    minutes: Sequence[pd.Timestamp] | np.ndarray, count: int, seed: int, day: dt.date
) -> list[pd.Timestamp]:
    """``count`` random minutes of ``minutes`` (sorted), one per equal stratum, seeded by
    ``seed`` and ``day``, plus the penultimate minute (nothing can be cut after the last)."""
    ordered = np.sort(np.asarray(minutes))
    n = len(ordered)
    if n < 2:
        return [pd.Timestamp(m) for m in ordered]
    rng = np.random.default_rng(_day_seed(seed, day))
    edges = np.linspace(0, n - 1, count + 1)
    chosen = {
        int(rng.integers(int(lo), max(int(hi), int(lo) + 1)))
        for lo, hi in itertools.pairwise(edges)
    }
    chosen.add(n - 2)
    return [pd.Timestamp(ordered[i]) for i in sorted(chosen)]


def streaming_sample(days: Sequence[dt.date], count: int, seed: int) -> set[dt.date]:
    """The days whose streaming replay is run: the newest, plus ``count - 1`` drawn at random
    (seeded) from the others."""
    if not days or count <= 0:
        return set()
    ordered = sorted(days)
    rng = np.random.default_rng(seed)
    others = ordered[:-1]
    drawn = rng.choice(len(others), size=min(count - 1, len(others)), replace=False)
    return {ordered[-1], *(others[int(i)] for i in drawn)}


def check_stored_day(
    day: dt.date,
    lake: ParquetLake,
    reference_symbol: str,
    *,
    cutoffs: int = 4,
    seed: int = 0,
    streaming: bool = False,
    spec: FeatureSpec = FEATURE_SPEC,
) -> DayChecks:
    """Both leak checks of ``day``'s stored feature table against its stored bars (less the
    symbols its coverage record excludes, as the table was built)."""
    try:
        stored = lake.read_features(day, spec.hash)
        bars = lake.read_bars(day)
        excluded = excluded_symbols(lake.read_coverage(day))
    except MissingPartitionError as error:
        return DayChecks(day, None, None, None, f"not in the lake: {error}")
    bars = without_excluded(bars, excluded)
    if bars.empty:
        return DayChecks(day, None, None, None, "no bars to check against")
    chosen = lookahead_cutoffs(bars["timestamp"].unique(), cutoffs, seed, day)
    lookahead = check_no_lookahead(
        bars, reference_symbol, chosen, spec, features=stored, tolerance=STORED_TOLERANCE
    )
    batch = compute_features(bars, reference_symbol, spec)
    stored_report = compare_features(batch, stored, spec, STORED_TOLERANCE)
    replay = check_parity(bars, reference_symbol, spec) if streaming else None
    return DayChecks(day, lookahead, stored_report, replay)
