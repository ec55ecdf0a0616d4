"""Training datasets: complete feature rows joined with their labels, ordered in time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq

from trading_runtime.features.spec import FEATURE_SPEC, FeatureSpec
from trading_runtime.marketdata.storage import MissingPartitionError, ParquetLake
from trading_runtime.modeling.labels import LABEL_SPEC, LabelSpec, label_bars


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


def load_window(
    lake: ParquetLake,
    days: Sequence[dt.date],
    spec: FeatureSpec = FEATURE_SPEC,
    label_spec: LabelSpec = LABEL_SPEC,
) -> Dataset:
    """The training window read one stored session at a time.

    Each partition is read with Parquet column projection (the key columns, the features and
    ``complete``; feature values are stored as float32), reduced to its complete rows,
    labelled from that session's bars and turned into float32 rows by :func:`build_dataset`;
    only those rows are kept, so memory holds the window's float32 matrix plus one partition.
    Equal to :func:`build_dataset` over the whole range. Raises ``MissingPartitionError``
    for a session whose features or bars were never stored.
    """
    columns = ["symbol", "timestamp", "session_date", "close", *spec.names, "complete"]
    parts: list[Dataset] = []
    for day in sorted(set(days)):
        path = lake.features_path(day, spec.hash)
        if not path.exists():
            raise MissingPartitionError(f"{path} has not been materialized")
        with path.open("rb") as handle:
            table = pq.read_table(handle, columns=columns)
        table = table.filter(pc.field("complete"))
        labels = label_bars(lake.read_bars(day), label_spec)
        parts.append(build_dataset(table.to_pandas(), labels, spec))
    if not parts:
        raise MissingPartitionError("no feature days were asked for")
    return Dataset(
        np.concatenate([p.features for p in parts]),
        np.concatenate([p.labels for p in parts]),
        pd.concat([p.index for p in parts], ignore_index=True),
        tuple(spec.names),
    )
