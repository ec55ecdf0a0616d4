"""The code location: definitions by concept, resources chosen once from the settings."""

from __future__ import annotations

import dagster as dg

from orchestration import automation, data, model, promotion, schedules, trading
from orchestration.resources import (
    AlpacaMarketData,
    DatabaseResource,
    LakeResource,
    MarketDataResource,
    PlatformSettingsResource,
    SyntheticMarketData,
)
from trading_runtime.config import Settings, load_settings


def market_data_for(settings: Settings) -> MarketDataResource:
    if settings.market_data_source == "alpaca":
        return AlpacaMarketData()
    return SyntheticMarketData(
        seed=settings.synthetic_seed,
        reference_symbol=settings.reference_symbol,
        predictability=settings.synthetic_predictability,
    )


def build_definitions(settings: Settings) -> dg.Definitions:
    live_trading = trading.live_trading_job(settings)
    return dg.Definitions(
        assets=[
            data.historical_bars,
            data.feature_table,
            model.model_candidate,
            model.model_evaluation,
            trading.live_session_report,
            trading.TRADING_LEDGER,
        ],
        jobs=[
            schedules.ingest_job,
            schedules.train_job,
            schedules.retrain_job,
            promotion.promote_model_job,
            promotion.manual_promotion,
            promotion.rollback_model,
            live_trading,
            trading.report_job,
        ],
        sensors=[
            promotion.promote_model,
            trading.report_after_session(live_trading),
            *automation.session_alert_sensors(live_trading),
        ],
        schedules=[schedules.retrain_after_close, automation.live_trading_at_open(live_trading)],
        resources={
            "lake": LakeResource(data_root=settings.data_root),
            "market_data": market_data_for(settings),
            "database": DatabaseResource(),
            "platform": PlatformSettingsResource(),
        },
    )


defs = build_definitions(load_settings())
