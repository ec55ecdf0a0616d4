"""A leak written into one feature partition is caught by feature_table's checks in Dagster,
and model_candidate trains without that partition (naming it); a later run that rebuilds
the partition cleanly makes it usable again (the *latest* results count)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import pandas as pd
import pytest

from orchestration.data import feature_table, historical_bars
from orchestration.feature_checks import checked_days
from orchestration.model import model_candidate
from orchestration.partitions import partition_key
from orchestration.resources import (
    DatabaseResource,
    LakeResource,
    PlatformSettingsResource,
    SyntheticMarketData,
)
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.storage import ParquetLake
from trading_runtime.store.registry import ModelRegistry

DAYS = calendar.sessions_between(dt.date(2026, 3, 2), dt.date(2026, 3, 17))
LEAKY = DAYS[8]


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance


def _plant_leak(monkeypatch: pytest.MonkeyPatch) -> None:
    """Feature files of ``LEAKY`` are written with the next minute's return in ``ret_5``."""
    write = ParquetLake.write_features

    def leaky_write(self: ParquetLake, day: dt.date, spec_hash: str, features: pd.DataFrame):
        if day == LEAKY:
            features = features.copy()
            ordered = features.sort_values(["symbol", "timestamp"])
            future = ordered.groupby("symbol")["ret_1"].shift(-1).reindex(features.index)
            features["ret_5"] = future.fillna(0.0)
        return write(self, day, spec_hash, features)

    monkeypatch.setattr(ParquetLake, "write_features", leaky_write)


def _ingest(instance: dg.DagsterInstance, lake_root: str) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [historical_bars, feature_table],
        instance=instance,
        resources={
            "lake": LakeResource(data_root=lake_root),
            "market_data": SyntheticMarketData(seed=7),
            "platform": PlatformSettingsResource(),
        },
        tags={
            "dagster/asset_partition_range_start": partition_key(DAYS[0]),
            "dagster/asset_partition_range_end": partition_key(DAYS[-1]),
        },
        raise_on_error=False,
    )


@pytest.mark.slow
def test_a_leaky_partition_is_caught_and_left_out_of_training(
    platform_env, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake_root = str(platform_env / "lake")
    with monkeypatch.context() as patch:
        _plant_leak(patch)
        ingest = _ingest(instance, lake_root)
    assert not ingest.success  # blocking checks failed
    checks = {c.check_name: c for c in ingest.get_asset_check_evaluations()}
    for name in ("no_lookahead", "feature_parity"):
        assert not checks[name].passed
        assert checks[name].metadata["failed_days"].value == [str(LEAKY)]
        assert len(checks[name].metadata["passed_days"].value) == len(DAYS) - 1
    assert str(LEAKY) in checks["no_lookahead"].metadata["failures"].value

    checked = checked_days(instance, DAYS)
    assert LEAKY not in checked.passed and len(checked.passed) == len(DAYS) - 1
    assert "no_lookahead failed" in checked.excluded[LEAKY]

    training = dg.materialize(
        [model_candidate],
        instance=instance,
        resources={
            "lake": LakeResource(data_root=lake_root),
            "database": DatabaseResource(),
            "platform": PlatformSettingsResource(),
        },
        run_config={
            "ops": {
                "model_candidate": {
                    "config": {
                        "window_days": len(DAYS) - 1,
                        "folds": 4,
                        "test_days": 1,
                        "validation_days": 1,
                        "n_estimators": 20,
                    }
                }
            }
        },
    )
    assert training.success
    [event] = training.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert str(LEAKY) in metadata["excluded_partitions"].value
    from trading_runtime.config import load_settings
    from trading_runtime.store.db import create_engine_for, resolve_database_url

    engine = create_engine_for(resolve_database_url(load_settings()).trading)
    try:
        record = ModelRegistry(engine).get(int(metadata["model_version_id"].value))
    finally:
        engine.dispose()
    trained = set(record.metrics["walk_forward"]["training_days"])
    assert str(LEAKY) not in trained and str(DAYS[-1]) in trained
    assert str(LEAKY) in record.metrics["excluded_partitions"]

    # Rebuilt cleanly by a later run: its latest results pass, so training may use it again.
    assert _ingest(instance, lake_root).success
    assert checked_days(instance, DAYS).passed == list(DAYS)
