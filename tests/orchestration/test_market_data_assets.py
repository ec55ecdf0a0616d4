"""historical_bars and feature_table through Dagster: sessions recorded as they complete (the
UI shows what the lake holds after a failure, a rerun fetches the rest), the run failing only
when a session is unusable, and excluded symbol-days left out of the features."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

import dagster as dg
import pytest
from pydantic import Field

from orchestration.data import feature_table, historical_bars
from orchestration.partitions import partition_key
from orchestration.resources import LakeResource, MarketDataResource, PlatformSettingsResource
from trading_runtime.features.spec import FEATURE_SPEC
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.sources import BarSource, FetchedDay, SyntheticBarSource
from trading_runtime.marketdata.storage import ParquetLake

DAYS = calendar.sessions_between(dt.date(2026, 3, 2), dt.date(2026, 3, 6))
FETCHED: list[dt.date] = []


FAILURES: list[dt.date] = []


class FlakySource:
    """The synthetic market without the symbols in ``drop``, failing when it reaches
    ``fail_on``: for good (not retried) or ``once`` (a transient error)."""

    def __init__(self, fail_on: dt.date | None, drop: frozenset[str], once: bool) -> None:
        self.inner = SyntheticBarSource(7, "SPY")
        self.name = self.inner.name  # its bars carry the inner source's provenance
        self.fail_on = fail_on
        self.drop = drop
        self.once = once

    @property
    def requests_made(self) -> int:
        return 0

    def fetch(self, days: Sequence[dt.date], symbols: Sequence[str]) -> Iterator[FetchedDay]:
        for fetched in self.inner.fetch(days, symbols):
            if fetched.day == self.fail_on and not (self.once and FAILURES):
                FAILURES.append(fetched.day)
                if self.once:
                    raise ConnectionError(f"the source went away on {fetched.day}")
                raise dg.Failure(f"the source is gone from {fetched.day}", allow_retries=False)
            FETCHED.append(fetched.day)
            kept = fetched.bars[~fetched.bars["symbol"].isin(self.drop)]
            yield FetchedDay(fetched.day, kept, fetched.provenance, fetched.splits)


class FlakyMarketData(MarketDataResource):
    fail_on: str | None = None
    once: bool = False
    drop: list[str] = Field(default_factory=list)

    def bar_source(self) -> BarSource:
        day = dt.date.fromisoformat(self.fail_on) if self.fail_on else None
        return FlakySource(day, frozenset(self.drop), self.once)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance


@pytest.fixture
def lake_root(platform_env) -> str:
    FETCHED.clear()
    FAILURES.clear()
    return str(platform_env / "lake")


def _materialize(
    instance: dg.DagsterInstance, lake_root: str, market_data: MarketDataResource
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [historical_bars, feature_table],
        instance=instance,
        resources={
            "lake": LakeResource(data_root=lake_root),
            "market_data": market_data,
            "platform": PlatformSettingsResource(),
        },
        tags={
            "dagster/asset_partition_range_start": partition_key(DAYS[0]),
            "dagster/asset_partition_range_end": partition_key(DAYS[-1]),
        },
        raise_on_error=False,
    )


def _materialized(instance: dg.DagsterInstance, key: str) -> set[str]:
    return set(instance.get_materialized_partitions(dg.AssetKey(key)))


def test_a_failed_ingest_shows_the_stored_sessions_and_a_rerun_fetches_the_rest(
    lake_root: str, instance: dg.DagsterInstance
) -> None:
    failed = _materialize(instance, lake_root, FlakyMarketData(fail_on=str(DAYS[3])))
    assert not failed.success
    stored = {partition_key(d) for d in DAYS[:3]}
    assert _materialized(instance, "historical_bars") == stored
    assert _materialized(instance, "feature_table") == set()
    assert DAYS[:3] == FETCHED

    rerun = _materialize(instance, lake_root, FlakyMarketData())
    assert rerun.success
    assert FETCHED == DAYS  # the first three sessions were not fetched again
    assert _materialized(instance, "historical_bars") == {partition_key(d) for d in DAYS}
    checks = {c.check_name: c.passed for c in rerun.get_asset_check_evaluations()}
    assert checks == {
        "bar_quality": True,
        "bar_coverage": checks["bar_coverage"],  # a WARN-level report; thin names may warn
        "feature_parity": True,
        "no_lookahead": True,
    }


def test_a_transient_failure_is_retried_and_the_retry_fetches_only_what_is_missing(
    lake_root: str, instance: dg.DagsterInstance
) -> None:
    result = _materialize(instance, lake_root, FlakyMarketData(fail_on=str(DAYS[3]), once=True))
    assert result.success  # the step's RetryPolicy ran it again, no manual re-run
    assert [DAYS[3]] == FAILURES
    assert FETCHED == DAYS
    assert _materialized(instance, "historical_bars") == {partition_key(d) for d in DAYS}


def test_a_missing_symbol_is_excluded_from_the_features_without_failing_the_run(
    lake_root: str, instance: dg.DagsterInstance
) -> None:
    result = _materialize(instance, lake_root, FlakyMarketData(drop=["NVDA"]))
    assert result.success
    coverage_check = next(
        c for c in result.get_asset_check_evaluations() if c.check_name == "bar_coverage"
    )
    assert not coverage_check.passed
    assert coverage_check.severity is dg.AssetCheckSeverity.WARN
    lake = ParquetLake(lake_root)
    features = lake.read_features_range(DAYS, FEATURE_SPEC.hash)
    assert "NVDA" not in set(features["symbol"])
    assert {"AAPL", "MSFT"} <= set(features["symbol"])


def test_the_run_fails_when_the_reference_symbol_is_missing(
    lake_root: str, instance: dg.DagsterInstance
) -> None:
    result = _materialize(instance, lake_root, FlakyMarketData(drop=["SPY"]))
    assert not result.success
    quality = next(c for c in result.get_asset_check_evaluations() if c.check_name == "bar_quality")
    assert not quality.passed
    assert "reference symbol SPY: no bars" in quality.metadata["failures"].value
    assert _materialized(instance, "feature_table") == set()
