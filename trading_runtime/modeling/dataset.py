"""Training datasets: complete feature rows joined with their labels, ordered in time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trading_runtime.features.spec import FEATURE_SPEC, FeatureSpec


@dataclass(frozen=True)
class Dataset:
    """``features`` (n x f float32), ``labels`` (n,), and ``index`` (symbol, timestamp,
    session_date, close, fwd_ret) row-aligned, sorted by timestamp then symbol."""

    features: np.ndarray
    labels: np.ndarray
    index: pd.DataFrame
    feature_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def days(self) -> list[dt.date]:
        return sorted(set(self.index["session_date"]))

    def select_days(self, days: list[dt.date]) -> Dataset:
        mask = self.index["session_date"].isin(set(days)).to_numpy()
        return Dataset(
            self.features[mask],
            self.labels[mask],
            self.index[mask].reset_index(drop=True),
            self.feature_names,
        )

    def class_counts(self) -> dict[int, int]:
        values, counts = np.unique(self.labels, return_counts=True)
        return {int(v): int(c) for v, c in zip(values, counts, strict=True)}


def build_dataset(
    features: pd.DataFrame, labels: pd.DataFrame, spec: FeatureSpec = FEATURE_SPEC
) -> Dataset:
    """Inner-join complete feature rows with labels on (symbol, timestamp)."""
    complete = features[features["complete"]]
    joined = complete.merge(labels, on=["symbol", "timestamp"], how="inner")
    joined = joined.sort_values(["timestamp", "symbol"], kind="stable").reset_index(drop=True)
    matrix = joined[list(spec.names)].to_numpy(dtype=np.float32)
    index = joined[["symbol", "timestamp", "session_date", "close", "fwd_ret"]]
    return Dataset(matrix, joined["label"].to_numpy(dtype=np.int64), index, tuple(spec.names))
