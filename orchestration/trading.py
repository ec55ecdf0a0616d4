"""Live trading: the ``live_trading`` job (launched from the Launchpad), the daily
``live_session_report`` asset, and the sensor that materializes the report after a session.

The job is one synchronous op around ``asyncio.run`` (an ``async def`` op could not clean up
when the run is terminated), on the in-process executor, tagged so the instance's tag
concurrency limit allows one session at a time, with ``dagster/max_runtime`` as a backstop.
Termination (SIGINT/SIGTERM) stops the loop gracefully: working orders are cancelled or
kept per ``cancel_open_orders_on_stop``, the ledger is flushed, sockets are closed; then the
interruption is re-raised so the run ends as canceled.
"""

import datetime as dt
from typing import Any

import dagster as dg

from orchestration.launchpad import LiveTradingConfig, launchpad_mapping
from orchestration.partitions import TRADING_DAYS, partition_day
from orchestration.resources import DatabaseResource
from trading_runtime.config import Settings, load_settings
from trading_runtime.engine.runner import (
    SessionFailed,
    SessionInterrupted,
    SessionRequest,
    resolve_trading_day,
    run_session,
)
from trading_runtime.reporting import daily_report_metrics

LIVE_TRADING_JOB = "live_trading"
LIVE_TRADING_TAG = "platform/live-trading"
TRADING_DAY_TAG = "platform/trading-day"
MODE_TAG = "platform/mode"
MAX_RUNTIME_S = 9 * 3600


@dg.op(
    description="Run one trading session: market data -> features -> champion model -> "
    "strategy -> risk -> orders; every decision, order and fill is written to Postgres."
)
def trade_session(context: dg.OpExecutionContext, config: LiveTradingConfig) -> dict[str, Any]:
    settings = load_settings(**config.overrides())
    day = resolve_trading_day(settings.mode, config.requested_day(), dt.datetime.now(dt.UTC))
    context.instance.add_run_tags(
        context.run_id, {TRADING_DAY_TAG: day.isoformat(), MODE_TAG: settings.mode.value}
    )
    request = SessionRequest(
        mode=settings.mode,
        trading_day=day,
        dagster_run_id=context.run_id,
        minute_grace_s=config.minute_grace_s,
    )
    context.log.info(
        f"starting a {settings.mode} session for {len(settings.traded_symbols)} symbols"
    )
    try:
        outcome = run_session(settings, request)
    except SessionInterrupted as interrupted:
        context.log.warning(f"{interrupted}; the session was shut down cleanly")
        raise dg.DagsterExecutionInterruptedError() from interrupted
    except SessionFailed as failed:
        raise dg.Failure(
            str(failed),
            metadata={"session_id": failed.outcome.session_id, **failed.outcome.summary},
        ) from failed
    report = outcome.report
    context.add_output_metadata(
        {
            "session_id": outcome.session_id,
            "trading_day": str(outcome.trading_day),
            "mode": outcome.mode.value,
            "status": report.status.value,
            "model_version_id": report.model_version_id,
            "starting_equity": float(report.starting_equity),
            "ending_equity": float(report.ending_equity),
            "orders": outcome.summary["orders"],
            "fills": outcome.summary["fills"],
            "decisions": outcome.summary["decisions"],
            "minute_latency_p99_ms": report.stats.get("minute_latency_p99_ms", 0.0),
            "unwritten_operations": outcome.unwritten_operations,
        }
    )
    return {
        "session_id": outcome.session_id,
        "trading_day": str(outcome.trading_day),
        **outcome.summary,
    }


def live_trading_job(settings: Settings) -> dg.JobDefinition:
    """The ``live_trading`` job; its Launchpad defaults to ``settings`` (see ``launchpad``)."""

    @dg.job(
        name=LIVE_TRADING_JOB,
        config=launchpad_mapping(settings),
        executor_def=dg.in_process_executor,
        tags={LIVE_TRADING_TAG: "true", "dagster/max_runtime": str(MAX_RUNTIME_S)},
        description="The live trading loop for one session (sim by default; paper with keys; "
        "live with the explicit confirmation). Launch it from the Launchpad.",
    )
    def live_trading() -> None:
        trade_session()

    return live_trading


@dg.asset(
    partitions_def=TRADING_DAYS,
    group_name="trading",
    kinds={"postgres"},
    description="Daily report of the live sessions of a trading day: PnL, orders, fills, "
    "fill rate and slippage against the decision price, from the ledger.",
)
def live_session_report(
    context: dg.AssetExecutionContext, database: DatabaseResource
) -> dg.MaterializeResult:
    day = partition_day(context.partition_key)
    metrics = daily_report_metrics(database.ledger().daily_report(day))
    rows = [
        f"| {m['session_id']} | {m['mode']} | {m['status']} | {m['starting_equity']} "
        f"| {m['ending_equity']} | {m['equity_pnl']} | {m['orders']} | {m['fills']} "
        f"| {m['mean_slippage_bps']:.2f} | {', '.join(m['open_symbols']) or '-'} |"
        for m in metrics["per_session"]
    ]
    header = (
        "| session | mode | status | starting equity | ending equity | PnL | orders | fills "
        "| slippage (bps) | open |\n|---|---|---|---|---|---|---|---|---|---|\n"
    )
    return dg.MaterializeResult(
        metadata={
            **{k: v for k, v in metrics.items() if k != "per_session"},
            "sessions_table": dg.MetadataValue.md(header + "\n".join(rows)),
        }
    )


report_job = dg.define_asset_job(
    "live_session_report_job",
    selection=dg.AssetSelection.assets(live_session_report),
)


def report_after_session(live_trading: dg.JobDefinition) -> dg.SensorDefinition:
    """Materializes the day's ``live_session_report`` after each successful session."""

    @dg.run_status_sensor(
        name="report_after_session",
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[live_trading],
        request_job=report_job,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Materializes the day's live_session_report after each live session.",
    )
    def sensor(context: dg.RunStatusSensorContext) -> dg.RunRequest | dg.SkipReason:
        run = context.dagster_run
        day = run.tags.get(TRADING_DAY_TAG)
        if day is None:
            return dg.SkipReason(f"run {run.run_id} has no {TRADING_DAY_TAG} tag")
        if not TRADING_DAYS.has_partition_key(day):
            return dg.SkipReason(f"{day} has no report partition")
        return dg.RunRequest(run_key=f"report-{run.run_id}", partition_key=day)

    return sensor
