from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
from sqlalchemy.engine import make_url

from orchestration.definitions import build_definitions, defs
from orchestration.partitions import TRADING_DAYS, trading_day_partitions
from orchestration.schedules import retrain_after_close
from orchestration.trading import LIVE_TRADING_TAG
from trading_runtime.config import load_settings

ROOT = Path(__file__).resolve().parents[2]
NEW_YORK = ZoneInfo("America/New_York")


def test_definitions_load_and_validate() -> None:
    dg.Definitions.validate_loadable(defs)
    jobs = {job.name for job in defs.resolve_all_job_defs()}
    assert {"ingest", "train_and_evaluate", "retrain", "live_trading", "promote_model_job"} <= jobs
    assets = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert assets == {
        "historical_bars",
        "feature_table",
        "model_candidate",
        "model_evaluation",
        "live_session_report",
        "trading_ledger",
    }


def test_the_code_location_loads_like_the_ui_loads_it() -> None:
    loaded = dg.Definitions.validate_loadable(build_definitions(load_settings()))
    assert loaded is None


def test_live_trading_runs_alone_in_process_with_a_runtime_limit() -> None:
    live_trading = defs.resolve_job_def("live_trading")
    assert live_trading.tags[LIVE_TRADING_TAG] == "true"
    assert int(live_trading.tags["dagster/max_runtime"]) > 6.5 * 3600
    assert live_trading.executor_def.name == "in_process"


def test_the_instance_limits_live_trading_to_one_run(
    monkeypatch, empty_database_url, tmp_path
) -> None:
    url = make_url(empty_database_url).set(drivername="postgresql+psycopg2")
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", url.render_as_string(hide_password=False))
    monkeypatch.setenv("DAGSTER_STORAGE_DIR", str(tmp_path / "storage"))
    monkeypatch.setenv("DAGSTER_COMPUTE_LOG_DIR", str(tmp_path / "logs"))
    with dg.DagsterInstance.from_config(str(ROOT)) as instance:
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
        assert {"key": LIVE_TRADING_TAG, "limit": 1} in limits
        assert instance.run_monitoring_enabled
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"


def test_partitions_are_trading_days() -> None:
    partitions = trading_day_partitions(dt.date(2026, 11, 2))
    keys = partitions.get_partition_keys(
        current_time=dt.datetime(2026, 11, 30, 12, tzinfo=NEW_YORK)
    )
    assert "2026-11-26" not in keys  # Thanksgiving
    assert "2026-11-28" not in keys  # Saturday
    assert keys[-3:] == [
        "2026-11-25",
        "2026-11-27",
        "2026-11-30",
    ]  # today's key exists from midnight
    assert TRADING_DAYS.has_partition_key("2026-11-27")


def test_retraining_skips_holidays_and_targets_the_day_that_closed() -> None:
    holiday = dt.datetime(2026, 11, 26, 16, 30, tzinfo=NEW_YORK)
    with dg.build_schedule_context(scheduled_execution_time=holiday) as context:
        assert isinstance(retrain_after_close(context), dg.SkipReason)
    session_day = dt.datetime(2026, 11, 27, 16, 30, tzinfo=NEW_YORK)
    with dg.build_schedule_context(scheduled_execution_time=session_day) as context:
        request = retrain_after_close(context)
    assert isinstance(request, dg.RunRequest)
    assert request.partition_key == "2026-11-27"
    assert request.run_config["ops"]["model_candidate"]["config"]["end_date"] == "2026-11-27"


def test_the_automation_page_lists_the_session_schedule_and_alert_sensors() -> None:
    schedule = defs.resolve_schedule_def("live_trading_at_open")
    assert schedule.default_status is dg.DefaultScheduleStatus.STOPPED  # it trades
    assert schedule.job_name == "live_trading"
    assert schedule.execution_timezone == "America/New_York"
    sensors = {
        name: defs.resolve_sensor_def(name)
        for name in ("live_session_failed", "live_session_interrupted")
    }
    for sensor in sensors.values():
        assert sensor.default_status is dg.DefaultSensorStatus.RUNNING
        assert sensor.description


def test_every_asset_check_says_what_it_checks() -> None:
    specs = list(defs.resolve_asset_graph().asset_check_keys)
    assert {key.name for key in specs} == {
        "bar_quality",
        "bar_coverage",
        "feature_parity",
        "no_lookahead",
        "evaluation_sanity",
        "plausibility",
    }
    for key in specs:
        spec = defs.resolve_asset_graph().get_check_spec(key)
        assert spec.description, key
