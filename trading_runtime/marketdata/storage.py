"""Parquet storage of bars and features, one file per trading day, under ``DATA_ROOT``.

``DATA_ROOT`` is a local folder or any fsspec URL (``s3://bucket/prefix``); paths go through
``upath.UPath`` so the same code serves both. Writes go to a temporary name and are renamed
into place so a reader never sees half a file.

Layout::

    {root}/bars/date=YYYY-MM-DD/bars.parquet
    {root}/features/spec={spec_hash}/date=YYYY-MM-DD/features.parquet
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from upath import UPath

BAR_SCHEMA = pa.schema(
    [
        ("symbol", pa.string()),
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("open", pa.float64()),
        ("high", pa.float64()),
        ("low", pa.float64()),
        ("close", pa.float64()),
        ("volume", pa.float64()),
        ("trade_count", pa.float64()),
        ("vwap", pa.float64()),
    ]
)


class MissingPartitionError(FileNotFoundError):
    """A day that was asked for has not been written."""


class ParquetLake:
    """Reads and writes day files of bars and features."""

    def __init__(self, root: str) -> None:
        self.root = UPath(root)

    def bars_path(self, day: dt.date) -> UPath:
        return self.root / "bars" / f"date={day.isoformat()}" / "bars.parquet"

    def features_path(self, day: dt.date, spec_hash: str) -> UPath:
        return (
            self.root
            / "features"
            / f"spec={spec_hash}"
            / f"date={day.isoformat()}"
            / "features.parquet"
        )

    # --- bars -----------------------------------------------------------------------------
    def write_bars(self, day: dt.date, bars: pd.DataFrame) -> UPath:
        table = pa.Table.from_pandas(
            bars[list(BAR_SCHEMA.names)], schema=BAR_SCHEMA, preserve_index=False
        )
        return self._write(self.bars_path(day), table)

    def read_bars(self, day: dt.date) -> pd.DataFrame:
        return self._read(self.bars_path(day))

    def has_bars(self, day: dt.date) -> bool:
        return self.bars_path(day).exists()

    # --- features -------------------------------------------------------------------------
    def write_features(self, day: dt.date, spec_hash: str, features: pd.DataFrame) -> UPath:
        table = pa.Table.from_pandas(features, preserve_index=False)
        return self._write(self.features_path(day, spec_hash), table)

    def read_features(self, day: dt.date, spec_hash: str) -> pd.DataFrame:
        return self._read(self.features_path(day, spec_hash))

    def read_features_range(self, days: Iterable[dt.date], spec_hash: str) -> pd.DataFrame:
        frames = [self.read_features(day, spec_hash) for day in days]
        if not frames:
            raise MissingPartitionError("no feature days were asked for")
        return pd.concat(frames, ignore_index=True)

    def has_features(self, day: dt.date, spec_hash: str) -> bool:
        return self.features_path(day, spec_hash).exists()

    def bar_days(self) -> list[dt.date]:
        folder = self.root / "bars"
        if not folder.exists():
            return []
        days = []
        for child in folder.iterdir():
            name = child.name
            if name.startswith("date=") and (child / "bars.parquet").exists():
                days.append(dt.date.fromisoformat(name.removeprefix("date=")))
        return sorted(days)

    # --- io -------------------------------------------------------------------------------
    def _write(self, path: UPath, table: pa.Table) -> UPath:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        with temporary.open("wb") as handle:
            pq.write_table(table, handle, compression="zstd")
        temporary.rename(path)
        return path

    def _read(self, path: UPath) -> pd.DataFrame:
        if not path.exists():
            raise MissingPartitionError(f"{path} has not been materialized")
        with path.open("rb") as handle:
            return pq.read_table(handle).to_pandas()
