"""Scheduled retraining after the close, and the asset jobs it and the demo use."""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg

from orchestration.data import feature_table, historical_bars
from orchestration.model import model_candidate, model_evaluation
from orchestration.partitions import NEW_YORK, partition_key
from trading_runtime.marketdata import calendar

ingest_job = dg.define_asset_job(
    "ingest",
    selection=dg.AssetSelection.assets(historical_bars, feature_table),
    description="Bars and features for a range of sessions (one run per range).",
)

train_job = dg.define_asset_job(
    "train_and_evaluate",
    selection=dg.AssetSelection.assets(model_candidate, model_evaluation),
    description="Train a candidate on the rolling window and evaluate it.",
)

retrain_job = dg.define_asset_job(
    "retrain",
    selection=dg.AssetSelection.assets(
        historical_bars, feature_table, model_candidate, model_evaluation
    ),
    description="Ingest the session that just closed, rebuild its features, retrain, evaluate.",
)


@dg.schedule(
    job=retrain_job,
    cron_schedule="30 16 * * 1-5",
    execution_timezone=NEW_YORK,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="After the close on trading days (holidays are skipped): ingest, retrain, "
    "evaluate. The promote_model sensor takes it from there.",
)
def retrain_after_close(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    when = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    day = when.astimezone(ZoneInfo(NEW_YORK)).date()
    if not calendar.is_session(day):
        return dg.SkipReason(f"{day} is not a trading day")
    key = partition_key(day)
    return dg.RunRequest(
        run_key=f"retrain-{key}",
        partition_key=key,
        run_config={"ops": {"model_candidate": {"config": {"end_date": key}}}},
        tags={"trading_day": key},
    )
