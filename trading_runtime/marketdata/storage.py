"""Parquet storage of bars and features, one file per trading day, under ``DATA_ROOT``.

``DATA_ROOT`` is a local folder or any fsspec URL (``s3://bucket/prefix``); paths go through
``upath.UPath`` so the same code serves both. Writes go to a temporary name and are renamed
into place so a reader never sees half a file.

Layout::

    {root}/bars/date=YYYY-MM-DD/bars.parquet           regular-hours bars (BAR_SCHEMA)
    {root}/coverage/date=YYYY-MM-DD/coverage.parquet   per requested symbol (COVERAGE_SCHEMA)
    {root}/features/spec={spec_hash}/date=YYYY-MM-DD/features.parquet

A bars file carries its provenance as Parquet key-value metadata (``source``, ``feed``,
``adjustment``, ``splits``...; :meth:`ParquetLake.read_bar_metadata`). The coverage file is
written after the bars file, so a day is complete (:meth:`ParquetLake.has_day`) exactly when
its coverage record exists and names every requested symbol.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from upath import UPath

from trading_runtime.marketdata.coverage import COVERAGE_SCHEMA

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


_METADATA_KEY = b"trading_platform"


class MissingPartitionError(FileNotFoundError):
    """A day that was asked for has not been written."""


class ParquetLake:
    """Reads and writes day files of bars and features."""

    def __init__(self, root: str) -> None:
        self.root = UPath(root)

    def bars_path(self, day: dt.date) -> UPath:
        return self.root / "bars" / f"date={day.isoformat()}" / "bars.parquet"

    def coverage_path(self, day: dt.date) -> UPath:
        return self.root / "coverage" / f"date={day.isoformat()}" / "coverage.parquet"

    def features_path(self, day: dt.date, spec_hash: str) -> UPath:
        return (
            self.root
            / "features"
            / f"spec={spec_hash}"
            / f"date={day.isoformat()}"
            / "features.parquet"
        )

    # --- bars -----------------------------------------------------------------------------
    def write_bars(
        self, day: dt.date, bars: pd.DataFrame, metadata: Mapping[str, object] | None = None
    ) -> UPath:
        """Store ``day``'s bars with ``metadata`` (JSON-serialisable provenance)."""
        table = pa.Table.from_pandas(
            bars[list(BAR_SCHEMA.names)], schema=BAR_SCHEMA, preserve_index=False
        )
        if metadata:
            table = table.replace_schema_metadata(
                {**(table.schema.metadata or {}), _METADATA_KEY: json.dumps(dict(metadata))}
            )
        return self._write(self.bars_path(day), table)

    def read_bars(self, day: dt.date) -> pd.DataFrame:
        return self._read(self.bars_path(day))

    def read_bar_metadata(self, day: dt.date) -> dict[str, object]:
        """The provenance stored with ``day``'s bars (empty when none was)."""
        path = self.bars_path(day)
        if not path.exists():
            raise MissingPartitionError(f"{path} has not been materialized")
        with path.open("rb") as handle:
            stored = pq.read_schema(handle).metadata or {}
        return json.loads(stored[_METADATA_KEY]) if _METADATA_KEY in stored else {}

    def has_bars(self, day: dt.date) -> bool:
        return self.bars_path(day).exists()

    # --- coverage -------------------------------------------------------------------------
    def write_coverage(self, day: dt.date, coverage: pd.DataFrame) -> UPath:
        table = pa.Table.from_pandas(
            coverage[list(COVERAGE_SCHEMA.names)], schema=COVERAGE_SCHEMA, preserve_index=False
        )
        return self._write(self.coverage_path(day), table)

    def read_coverage(self, day: dt.date) -> pd.DataFrame:
        """``day``'s coverage record (COVERAGE_SCHEMA columns, one row per symbol)."""
        return self._read(self.coverage_path(day))

    def read_coverage_range(self, days: Iterable[dt.date]) -> pd.DataFrame:
        """Coverage records of ``days`` (those that exist), concatenated."""
        frames = [self.read_coverage(day) for day in days if self.coverage_path(day).exists()]
        if not frames:
            return COVERAGE_SCHEMA.empty_table().to_pandas()
        return pd.concat(frames, ignore_index=True)

    def has_day(self, day: dt.date, symbols: Sequence[str], source: str | None = None) -> bool:
        """True when ``day`` was ingested completely for ``symbols`` (bars and coverage),
        from ``source`` when one is named (bars of another source, such as a synthetic market
        of another seed or strength, are not the day asked for)."""
        if not (self.coverage_path(day).exists() and self.bars_path(day).exists()):
            return False
        if source is not None and self.read_bar_metadata(day).get("source") != source:
            return False
        recorded = set(self.read_coverage(day)["symbol"])
        return recorded.issuperset(symbols)

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
