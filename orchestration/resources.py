"""Resources: the only way assets, checks, sensors and jobs reach the outside world.

* ``LakeResource``: the Parquet lake under ``DATA_ROOT`` (local folder or object storage).
* ``MarketDataResource``: where historical bars come from. Two implementations, chosen in
  ``definitions.py`` from ``MARKET_DATA_SOURCE``: ``SyntheticMarketData`` (deterministic,
  no keys, no network) and ``AlpacaMarketData`` (alpaca-py, keys from the environment).
* ``DatabaseResource``: Postgres (ledger and model registry), resolved from the environment
  exactly as every other process of the platform resolves it.
* ``PlatformSettingsResource``: the typed settings (universe, trading rules, modes).
"""

from typing import Any

import dagster as dg
from pydantic import PrivateAttr
from sqlalchemy import Engine

from trading_runtime.config import Settings, load_settings
from trading_runtime.marketdata.coverage import CoverageThresholds
from trading_runtime.marketdata.sources import BarSource, HistoryBarSource, SyntheticBarSource
from trading_runtime.marketdata.storage import ParquetLake


class PlatformSettingsResource(dg.ConfigurableResource):
    """Typed settings read from the environment of the process running the step."""

    def get(self) -> Settings:
        return _settings()

    def coverage_thresholds(self) -> CoverageThresholds:
        settings = self.get()
        return CoverageThresholds(
            warn_below=settings.coverage_warn_below,
            exclude_below=settings.coverage_exclude_below,
            max_unusable_fraction=settings.max_unusable_symbol_fraction,
        )

    @property
    def universe(self) -> list[str]:
        return self.get().universe


class LakeResource(dg.ConfigurableResource):
    data_root: str

    def lake(self) -> ParquetLake:
        return ParquetLake(self.data_root)


class MarketDataResource(dg.ConfigurableResource):
    """Abstract: one-minute bars of some sessions for some symbols."""

    def bar_source(self) -> BarSource:
        raise NotImplementedError


class SyntheticMarketData(MarketDataResource):
    seed: int
    reference_symbol: str = "SPY"
    predictability: float = 1.0

    def bar_source(self) -> BarSource:
        return SyntheticBarSource(self.seed, self.reference_symbol, self.predictability)


class AlpacaMarketData(MarketDataResource):
    """Alpaca's historical bars; keys, data URL, feed, timeout, pacing and retries come from
    the environment only."""

    def bar_source(self) -> BarSource:
        from trading_runtime.adapters.alpaca.config import AlpacaEndpoints
        from trading_runtime.adapters.alpaca.history import AlpacaHistory, HistoryPolicy

        settings = _settings()
        endpoints = AlpacaEndpoints.from_settings(settings)
        history = AlpacaHistory(
            endpoints,
            timeout_s=settings.rest_timeout_s,
            policy=HistoryPolicy(
                requests_per_minute=settings.alpaca_requests_per_minute,
                max_attempts=settings.ingest_max_attempts,
                wait_max_s=settings.ingest_retry_max_wait_s,
            ),
        )
        return HistoryBarSource(
            history, f"alpaca({endpoints.feed})", settings.ingest_max_days_per_request
        )


class DatabaseResource(dg.ConfigurableResource):
    """The platform's Postgres: model registry and trading ledger."""

    _engine: Engine | None = PrivateAttr(default=None)

    def engine(self) -> Engine:
        if self._engine is None:
            from trading_runtime.store.db import create_engine_for, prepare_database

            urls = prepare_database(_settings())
            self._engine = create_engine_for(urls.trading)
        return self._engine

    def registry(self) -> Any:
        from trading_runtime.store.registry import ModelRegistry

        return ModelRegistry(self.engine())

    def ledger(self) -> Any:
        """Reads of the trading ledger (reports)."""
        from trading_runtime.store.reads import LedgerReader

        return LedgerReader(self.engine())

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._engine is not None:
            self._engine.dispose()


def _settings() -> Settings:
    # Read on use, not cached: the environment of the step's process is the source of truth.
    return load_settings()
