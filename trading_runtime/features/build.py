"""Feature tables per session, and the checks that hold them honest.

* ``build_feature_day``: batch features of one stored session, written next to the bars
  (feature values as float32), without the symbol-days its coverage record excludes.
* ``check_parity``: the streaming computation replayed over a day equals the batch table.
* ``check_no_lookahead``: recomputing with the future removed leaves past rows unchanged.
* ``compare_features``: the row-by-row comparison both use.

``features.checks`` runs them over stored partitions (the data, not only the code).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trading_runtime.domain.bars import Bar
from trading_runtime.features.batch import compute_features
from trading_runtime.features.spec import FEATURE_SPEC, FeatureSpec
from trading_runtime.features.streaming import StreamingFeatures
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.coverage import excluded_symbols
from trading_runtime.marketdata.storage import ParquetLake

# Feature tables are stored as float32, the precision the model reads them in
# (``modeling.dataset`` and the backtest cast to float32 anyway): half the bytes, the same
# model inputs. A stored value differs from its float64 recomputation by at most half a
# float32 ulp (6e-8 relative); checks of stored tables allow that and nothing more.
STORED_DTYPE = np.float32
STORED_TOLERANCE = 1e-6


@dataclass(frozen=True)
class FeatureDayResult:
    """What one session's build wrote. Holds no frame, so a build over many sessions keeps
    one partition in memory at a time; :attr:`bars` reads the session's bars back."""

    day: dt.date
    rows: int
    complete_rows: int
    traded_rows: int
    symbols: int
    path: str
    excluded: dict[str, str]  # symbol -> reason, from the coverage record
    lake: ParquetLake

    @property
    def bars(self) -> pd.DataFrame:
        """The bars the features were computed from (stored bars less the excluded symbols)."""
        return without_excluded(self.lake.read_bars(self.day), self.excluded)


def without_excluded(bars: pd.DataFrame, excluded: Collection[str]) -> pd.DataFrame:
    """``bars`` less the symbols a day's coverage record excludes (as features are built)."""
    return bars[~bars["symbol"].isin(excluded)].reset_index(drop=True)


def build_feature_day(
    day: dt.date, lake: ParquetLake, reference_symbol: str, spec: FeatureSpec = FEATURE_SPEC
) -> FeatureDayResult:
    """Features of ``day``'s stored bars, less the symbols its coverage record excludes.

    Raises ``MissingPartitionError`` when the day's bars or coverage were never stored.
    """
    excluded = excluded_symbols(lake.read_coverage(day))
    bars = without_excluded(lake.read_bars(day), excluded)
    features = compute_features(bars, reference_symbol, spec)
    features = features.astype(dict.fromkeys(spec.names, STORED_DTYPE))
    path = lake.write_features(day, spec.hash, features)
    return FeatureDayResult(
        day=day,
        rows=len(features),
        complete_rows=int(features["complete"].sum()),
        traded_rows=int(features["traded"].sum()),
        symbols=int(features["symbol"].nunique()),
        path=str(path),
        excluded=excluded,
        lake=lake,
    )


@dataclass(frozen=True)
class ParityReport:
    rows_compared: int
    max_abs_difference: dict[str, float]
    mismatched_rows: int
    tolerance: float

    @property
    def passed(self) -> bool:
        return self.rows_compared > 0 and self.mismatched_rows == 0


def _frame_to_bars(frame: pd.DataFrame) -> list[Bar]:
    columns = [
        frame[c].to_numpy()
        for c in ("symbol", "open", "high", "low", "close", "volume", "trade_count", "vwap")
    ]
    timestamps = pd.DatetimeIndex(frame["timestamp"]).to_pydatetime()
    return [
        Bar(s, t, float(o), float(h), float(lo), float(c), float(v), float(n), float(w))
        for t, s, o, h, lo, c, v, n, w in zip(timestamps, *columns, strict=True)
    ]


def check_parity(
    bars: pd.DataFrame,
    reference_symbol: str,
    spec: FeatureSpec = FEATURE_SPEC,
    tolerance: float = 1e-9,
) -> ParityReport:
    """Replay ``bars`` through ``StreamingFeatures`` as the live engine does (every minute of
    each session closed on the clock, with whatever bars it has) and compare with batch."""
    batch = compute_features(bars, reference_symbol, spec)
    engine = StreamingFeatures(sorted(bars["symbol"].unique()), reference_symbol, spec)
    by_minute = dict(iter(bars.groupby("timestamp", sort=True)))
    days = sorted(set(pd.DatetimeIndex(bars["timestamp"]).tz_convert(calendar.NEW_YORK).date))
    symbols: list[str] = []
    timestamps: list[pd.Timestamp] = []
    values: list[np.ndarray] = []
    for day in days:
        for minute in calendar.session(day).bar_timestamps():
            group = by_minute.get(minute)
            minute_bars = _frame_to_bars(group) if group is not None else []
            rows = engine.close_minute(minute.to_pydatetime(), minute_bars)
            symbols.extend(rows.symbols)
            timestamps.extend([minute] * len(rows.symbols))
            values.append(rows.values)
    streamed = pd.DataFrame(
        np.vstack(values) if values else np.empty((0, len(spec.names))), columns=list(spec.names)
    )
    streamed.insert(0, "timestamp", pd.DatetimeIndex(timestamps))
    streamed.insert(0, "symbol", symbols)
    return compare_features(batch, streamed, spec, tolerance)


def compare_features(
    expected: pd.DataFrame,
    actual: pd.DataFrame,
    spec: FeatureSpec = FEATURE_SPEC,
    tolerance: float = 1e-9,
) -> ParityReport:
    """Row-by-row comparison of two feature tables keyed by (symbol, timestamp): a row
    present in one only, a NaN against a number, or a relative difference above
    ``tolerance`` (of ``max(1, |expected|)``) is a mismatch."""
    merged = expected.merge(
        actual, on=["symbol", "timestamp"], suffixes=("", "__other"), how="outer", indicator=True
    )
    unmatched = int((merged["_merge"] != "both").sum())
    both = merged[merged["_merge"] == "both"]
    differences: dict[str, float] = {}
    bad = np.zeros(len(both), dtype=bool)
    for name in spec.names:
        a = both[name].to_numpy(dtype=float)
        b = both[f"{name}__other"].to_numpy(dtype=float)
        nan_mismatch = np.isnan(a) != np.isnan(b)
        gap = np.where(np.isnan(a) | np.isnan(b), 0.0, np.abs(a - b))
        scale = np.maximum(1.0, np.abs(a))
        bad |= nan_mismatch | (gap > tolerance * scale)
        differences[name] = float(gap.max()) if len(gap) else 0.0
    return ParityReport(len(both), differences, int(bad.sum()) + unmatched, tolerance)


@dataclass(frozen=True)
class LookaheadReport:
    """``cutoffs`` the minutes the future was cut at; ``failed_cutoffs`` those at which some
    row at or before the cutoff changed."""

    cutoffs: tuple[str, ...]
    rows_compared: int
    changed_rows: int
    failed_cutoffs: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.rows_compared > 0 and self.changed_rows == 0


def check_no_lookahead(
    bars: pd.DataFrame,
    reference_symbol: str,
    cutoffs: Sequence[pd.Timestamp] | None = None,
    spec: FeatureSpec = FEATURE_SPEC,
    features: pd.DataFrame | None = None,
    tolerance: float = 1e-9,
) -> LookaheadReport:
    """Rows of ``features`` at or before each cutoff must equal the features recomputed from
    the bars up to that cutoff (the future removed).

    ``features`` defaults to the features of all of ``bars`` (a check of the code); pass the
    stored table to check the data as well. ``cutoffs`` default to the middle minute.
    """
    if cutoffs is None:
        minutes = np.sort(bars["timestamp"].unique())
        cutoffs = [pd.Timestamp(minutes[len(minutes) // 2])]
    full = compute_features(bars, reference_symbol, spec) if features is None else features
    compared = changed = 0
    failed: list[str] = []
    for cutoff in cutoffs:
        # Rows after the cutoff exist in both (the grid runs to the close); only the rows up
        # to it are comparable.
        truncated = compute_features(bars[bars["timestamp"] <= cutoff], reference_symbol, spec)
        report = compare_features(
            truncated[truncated["timestamp"] <= cutoff],
            full[full["timestamp"] <= cutoff],
            spec,
            tolerance,
        )
        compared += report.rows_compared
        changed += report.mismatched_rows
        if report.mismatched_rows:
            failed.append(str(pd.Timestamp(cutoff)))
    return LookaheadReport(
        tuple(str(pd.Timestamp(c)) for c in cutoffs), compared, changed, tuple(failed)
    )
