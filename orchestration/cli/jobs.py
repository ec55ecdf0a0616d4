"""Thin calls into the platform for the commands: each runs one Dagster job in this process
(on the instance ``make dev`` shows, so every run appears in the UI) or one runtime function,
with progress on the console and failures as :class:`UserError`.

    Platform                    settings, Dagster instance and definitions, prepared once
    ingest / train / ...        one job each; ``promote_by_sensor`` runs what the
                                ``promote_model`` sensor asks for
    backtest                    the in-process backtest of a model over stored sessions
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
from rich.console import Console
from sqlalchemy import Engine

from orchestration.cli.errors import UserError, run_failure
from orchestration.cli.orphans import HOST_TAG, this_host
from orchestration.cli.progress import Detail, Done, watch_run
from trading_runtime.config import Settings, load_settings
from trading_runtime.marketdata import calendar

# Dagster's console logger prints raw event lines (a STEP_FAILURE with its whole stack trace);
# the progress display prints the run's messages, checks and step outcomes, and a failure ends
# as one line, so the console logger stays silent.
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass
class Platform:
    settings: Settings
    instance: dg.DagsterInstance
    defs: dg.Definitions
    console: Console
    description: str

    @cached_property
    def engine(self) -> Engine:
        from trading_runtime.store.db import create_engine_for, resolve_database_url

        return create_engine_for(resolve_database_url(self.settings).trading)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
        self.instance.dispose()


def open_platform(console: Console) -> Platform:
    """Resolve the database (starting the embedded server if needed), apply migrations,
    export Dagster's environment and load the definitions."""
    settings = load_settings()
    from orchestration import environment

    prepared = environment.prepare(settings)
    from orchestration.definitions import build_definitions

    return Platform(
        settings=settings,
        instance=dg.DagsterInstance.get(),
        defs=build_definitions(settings),
        console=console,
        description=prepared.describe(),
    )


def run_job(
    platform: Platform,
    job_name: str,
    title: str,
    run_config: dict[str, Any] | None = None,
    *,
    tags: dict[str, str] | None = None,
    partition_key: str | None = None,
    detail: Detail | None = None,
) -> dg.ExecuteInProcessResult:
    """Run ``job_name`` in this process with progress; raise :class:`UserError` on failure.

    ``detail(run_id)`` may describe domain progress for the bar.
    """
    job = platform.defs.resolve_job_def(job_name)

    def execute(run_id: str) -> dg.ExecuteInProcessResult:
        return job.execute_in_process(
            run_config=run_config,
            instance=platform.instance,
            tags={HOST_TAG: this_host(), **(tags or {})},
            partition_key=partition_key,
            run_id=run_id,
            raise_on_error=False,
        )

    result = watch_run(platform.console, platform.instance, title, execute, detail)
    if not result.success:
        raise run_failure(job_name, result.run_id, _root_cause(result))
    return result


def _root_cause(result: dg.ExecuteInProcessResult) -> Any:
    for event in result.all_events:
        data = event.step_failure_data if event.is_step_failure else None
        if data is not None and data.error is not None:
            error = data.error
            while error.cause is not None:
                error = error.cause
            return error
    return None


# --- the jobs ------------------------------------------------------------------------------


def ingest(platform: Platform, days: list[dt.date]) -> dg.ExecuteInProcessResult:
    from orchestration.partitions import partition_key

    lake_root = Path(platform.settings.data_root)
    started = dt.datetime.now(dt.UTC).timestamp()

    from trading_runtime.features.spec import FEATURE_SPEC
    from trading_runtime.marketdata.storage import ParquetLake

    lake = ParquetLake(str(lake_root))

    def written(run_id: str) -> Done | str:
        if not lake_root.exists():  # object storage: no cheap per-file progress
            return ""
        bars = sum(_written_since(lake.bars_path(d), started) for d in days)
        features = sum(
            _written_since(lake.features_path(d, FEATURE_SPEC.hash), started) for d in days
        )
        text = f"bars {bars}/{len(days)} · features {features}/{len(days)} sessions"
        return Done(text, bars + features, 2 * len(days))

    return run_job(
        platform,
        "ingest",
        f"Dagster: historical_bars + feature_table for {days[0]} .. {days[-1]} "
        f"({len(days)} sessions)",
        QUIET,
        tags={
            "dagster/asset_partition_range_start": partition_key(days[0]),
            "dagster/asset_partition_range_end": partition_key(days[-1]),
        },
        detail=written,
    )


def _written_since(path: Any, since: float) -> bool:
    try:
        return bool(os.stat(str(path)).st_mtime >= since)
    except FileNotFoundError:
        return False


@dataclass(frozen=True)
class Trained:
    """``reused``: a version trained from the same recipe, code and data was registered
    already, and model_candidate returned it instead of training again."""

    model_version_id: int
    reused: bool


def train(platform: Platform, window_days: int, end: dt.date | None) -> Trained:
    """Train and evaluate a candidate (or reuse the identical registered one)."""
    config: dict[str, Any] = {"window_days": window_days}
    if end is not None:
        config["end_date"] = end.isoformat()
    result = run_job(
        platform,
        "train_and_evaluate",
        f"Dagster: model_candidate + model_evaluation ({window_days} sessions)",
        {**QUIET, "ops": {"model_candidate": {"config": config}}},
    )
    [materialization] = result.asset_materializations_for_node("model_candidate")
    reused = materialization.metadata.get("reused")
    return Trained(
        int(materialization.metadata["model_version_id"].value),  # type: ignore[arg-type]
        bool(reused is not None and reused.value),
    )


def promote_by_sensor(platform: Platform) -> list[dict[str, Any]]:
    """Evaluate the ``promote_model`` sensor now and run the promotion it asks for."""
    from orchestration.promotion import promote_model
    from orchestration.resources import DatabaseResource

    with dg.build_sensor_context(
        instance=platform.instance, resources={"database": DatabaseResource()}
    ) as context:
        evaluation = promote_model(context)
    requests = evaluation.run_requests if isinstance(evaluation, dg.SensorResult) else []
    outcomes = []
    for request in requests or []:
        result = run_job(
            platform,
            "promote_model_job",
            f"promote_model sensor -> promotion run for model {request.tags['model_version_id']}",
            {**QUIET, **request.run_config},
            tags=dict(request.tags),
        )
        outcomes.append(result.output_for_node("apply_promotion_gates"))
    return outcomes


def promote(
    platform: Platform, model_version_id: int, reason: str, actor: str = "operator"
) -> None:
    platform.engine  # noqa: B018 -- resolve the database before the run
    from trading_runtime.store.registry import ModelRegistry

    ModelRegistry(platform.engine).get(model_version_id)  # unknown id: refused before the run
    run_job(
        platform,
        "manual_promotion",
        f"Dagster: manual promotion of model {model_version_id}",
        {
            **QUIET,
            "ops": {
                "promote_manually": {
                    "config": {
                        "model_version_id": model_version_id,
                        "reason": reason,
                        "actor": actor,
                    }
                }
            },
        },
    )


def rollback(platform: Platform, reason: str) -> int:
    result = run_job(
        platform,
        "rollback_model",
        "Dagster: roll the champion back",
        {**QUIET, "ops": {"roll_back": {"config": {"reason": reason}}}},
    )
    return int(result.output_for_node("roll_back"))


def live_session(platform: Platform, launchpad: dict[str, Any]) -> dict[str, Any]:
    """Run ``live_trading`` with these Launchpad values; returns the session summary."""
    from trading_runtime.store.reads import LedgerReader

    reader = LedgerReader(platform.engine)

    def minutes(run_id: str) -> Done | str:
        bar = reader.last_decided_bar(run_id)
        if bar is None:
            return "waiting for the first minute"
        session = calendar.session_for_timestamp(bar)
        if session is None:
            return ""
        minute = session.minute_index(bar) + 1
        return Done("session minutes traded", minute, session.minutes)

    mode = launchpad.get("mode", platform.settings.mode.value)
    result = run_job(
        platform,
        "live_trading",
        f"Dagster: live_trading ({mode}) {launchpad.get('session_date') or ''}".rstrip(),
        launchpad,
        detail=minutes,
    )
    return dict(result.output_for_node("trade_session"))


def daily_report(platform: Platform, day: dt.date) -> None:
    from orchestration.partitions import partition_key

    run_job(
        platform,
        "live_session_report_job",
        f"Dagster: live_session_report for {day}",
        QUIET,
        partition_key=partition_key(day),
    )


def backtest(platform: Platform, days: list[dt.date], model_version_id: int | None) -> Any:
    """Backtest a model (default: the champion) over stored sessions; returns the result."""
    from trading_runtime.backtest.replay import run_backtest
    from trading_runtime.features.spec import FEATURE_SPEC
    from trading_runtime.marketdata.storage import ParquetLake
    from trading_runtime.modeling.artifact import TradingModel
    from trading_runtime.store.registry import ModelRegistry

    registry = ModelRegistry(platform.engine)
    model_id = model_version_id if model_version_id is not None else registry.champion_id()
    if model_id is None:
        raise UserError("no champion model yet", "train one: `trading-platform train`")
    lake = ParquetLake(platform.settings.data_root)
    missing = [d for d in days if not lake.has_features(d, FEATURE_SPEC.hash)]
    if missing:
        raise UserError(
            f"{len(missing)} of {len(days)} sessions are not in the lake (first: {missing[0]})",
            f"ingest them: `trading-platform ingest --from {missing[0]} --to {missing[-1]}`",
        )
    import pandas as pd

    model = TradingModel.from_bytes(registry.load_artifact(model_id))
    settings = platform.settings
    with platform.console.status(f"backtesting model {model_id} over {len(days)} sessions"):
        return model_id, run_backtest(
            pd.concat([lake.read_bars(d) for d in days], ignore_index=True),
            lake.read_features_range(days, FEATURE_SPEC.hash),
            model,
            model_id,
            settings.backtest_config(),
        )
