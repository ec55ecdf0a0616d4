"""Live trading: the ``live_trading`` job (launched from the Launchpad), the ledger it writes
(``trading_ledger``), the daily ``live_session_report`` asset read from it, and the sensor
that materializes the report after a session.

Lineage: ``trading_ledger`` is an external asset (Dagster does not materialize it on its
own): each ``live_trading`` run records a materialization of it for the session it wrote,
and failed or interrupted sessions are recorded on it as observations (``automation``).
``live_session_report`` depends on it, so the graph reads live_trading -> trading_ledger ->
live_session_report.

The job is one synchronous op around ``asyncio.run`` (an ``async def`` op could not clean up
when the run is terminated), on the in-process executor, tagged so the instance's tag
concurrency limit allows one session at a time, with ``dagster/max_runtime`` as a backstop.
Termination (SIGINT/SIGTERM) stops the loop gracefully: working orders are cancelled or
kept per ``cancel_open_orders_on_stop``, the ledger is flushed, sockets are closed; then the
interruption is re-raised so the run ends as canceled.
"""

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any

import dagster as dg
from sqlalchemy.exc import SQLAlchemyError
from upath import UPath

from orchestration.launchpad import LiveTradingConfig, launchpad_mapping
from orchestration.partitions import TRADING_DAYS, partition_day
from orchestration.report_metadata import day_metadata, link, session_metadata, status_metadata
from orchestration.resources import DatabaseResource, LakeResource
from trading_runtime.config import Settings, load_settings
from trading_runtime.engine.observer import SessionSnapshot
from trading_runtime.engine.runner import (
    SessionFailed,
    SessionInterrupted,
    SessionRequest,
    resolve_trading_day,
    run_session,
)
from trading_runtime.reports.daily import read_day
from trading_runtime.reports.session import SessionReport, read_session, session_report
from trading_runtime.reports.tearsheet import write_session_tearsheet

LIVE_TRADING_JOB = "live_trading"
LIVE_TRADING_TAG = "platform/live-trading"
TRADING_DAY_TAG = "platform/trading-day"
MODE_TAG = "platform/mode"
MAX_RUNTIME_S = 9 * 3600

TRADING_LEDGER = dg.AssetSpec(
    "trading_ledger",
    group_name="trading",
    kinds={"postgres"},
    description="The trading ledger in Postgres: sessions, decisions, orders and fills written "
    "by live_trading runs (each run records a materialization for the session it wrote, with "
    "its figures and tearsheet). Failed and interrupted sessions are recorded here as "
    "observations.",
)


@dg.op(
    description="Run one trading session: market data -> features -> champion model -> "
    "strategy -> risk -> orders; every decision, order and fill is written to Postgres. "
    "Records the session on trading_ledger and writes its tearsheet."
)
def trade_session(
    context: dg.OpExecutionContext, config: LiveTradingConfig, database: DatabaseResource
) -> dict[str, Any]:
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
        status_every_minutes=config.status_every_minutes,
    )
    context.log.info(
        f"starting a {settings.mode} session of {day} for {len(settings.traded_symbols)} "
        f"symbols; a status line every {config.status_every_minutes} session minutes"
    )
    try:
        with engine_log_to_run(context):
            outcome = run_session(settings, request, RunObserver(context))
    except SessionInterrupted as interrupted:
        context.log.warning(f"{interrupted}; the session was shut down cleanly")
        raise dg.DagsterExecutionInterruptedError() from interrupted
    except SessionFailed as failed:
        recorded = _record_session(context, database, settings, failed.outcome.session_id)
        raise dg.Failure(
            str(failed),
            metadata={
                "session_id": failed.outcome.session_id,
                **failed.outcome.summary,
                **failed.outcome.health,
                **recorded,
            },
        ) from failed
    stats = outcome.report.stats
    context.add_output_metadata(
        {
            **_record_session(context, database, settings, outcome.session_id),
            "minute_latency_p50_ms": round(stats.get("minute_latency_p50_ms", 0.0), 2),
            "minute_latency_p99_ms": round(stats.get("minute_latency_p99_ms", 0.0), 2),
            "unwritten_operations": outcome.unwritten_operations,
            "minutes_with_unresolved_orders": stats.get("unsettled_minutes", 0),
            **outcome.health,
        }
    )
    return {
        "session_id": outcome.session_id,
        "trading_day": str(outcome.trading_day),
        **outcome.summary,
    }


class RunObserver:
    """Shows a running session in its Dagster run: each status snapshot becomes a log line
    and an observation of ``trading_ledger`` (its numbers chart in the asset's Plots tab)."""

    def __init__(self, context: dg.OpExecutionContext) -> None:
        self._context = context

    def session_status(self, snapshot: SessionSnapshot) -> None:
        prefix = "session status (final)" if snapshot.final else "session status"
        self._context.log.info(f"{prefix}: {snapshot.status_line()}")
        self._context.log_event(
            dg.AssetObservation(asset_key=TRADING_LEDGER.key, metadata=status_metadata(snapshot))
        )


class _RunLogHandler(logging.Handler):
    """Forwards the runtime's log records (INFO and up) to the run's log."""

    def __init__(self, log: dg.DagsterLogManager) -> None:
        super().__init__(logging.INFO)
        self._log = log

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = f"{record.name}: {record.getMessage()}"
            if record.exc_info and record.exc_info[1] is not None:
                message += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
            self._log.log(record.levelno, message)
        except Exception:
            self.handleError(record)


@contextlib.contextmanager
def engine_log_to_run(context: dg.OpExecutionContext) -> Iterator[_RunLogHandler]:
    """While the block runs, ``trading_runtime``'s log (INFO and up, whatever thread logs it)
    goes to the run's log, and nowhere else (no raw lines on the console)."""
    runtime = logging.getLogger("trading_runtime")
    handler = _RunLogHandler(context.log)
    level, propagate = runtime.level, runtime.propagate
    runtime.addHandler(handler)
    runtime.setLevel(logging.INFO)
    runtime.propagate = False
    try:
        yield handler
    finally:
        runtime.removeHandler(handler)
        runtime.setLevel(level)
        runtime.propagate = propagate


def _record_session(
    context: dg.OpExecutionContext,
    database: DatabaseResource,
    settings: Settings,
    session_id: int,
) -> dict[str, dg.MetadataValue]:
    """Read the session back from the ledger, write its tearsheet and record it on
    ``trading_ledger``; returns the metadata for the run's output.

    The session is over and its ledger flushed: a report that cannot be made (storage or
    database trouble) is logged, never turned into a failed session; the daily report and
    ``trading-platform report SESSION --open`` write it again later.
    """
    try:
        report = session_report(read_session(database.ledger(), session_id))
    except SQLAlchemyError as error:
        context.log.warning(f"session {session_id} could not be read back for its report: {error}")
        return {"session_id": dg.MetadataValue.int(session_id)}
    metadata = session_metadata(report)
    tearsheet = _write_tearsheet(context, report, settings.data_root)
    if tearsheet is not None:
        metadata["tearsheet"] = link(tearsheet)
    context.log_event(dg.AssetMaterialization(asset_key=TRADING_LEDGER.key, metadata=metadata))
    return metadata


def _write_tearsheet(
    context: dg.OpExecutionContext | dg.AssetExecutionContext,
    report: SessionReport,
    data_root: str,
) -> UPath | None:
    try:
        path = write_session_tearsheet(report, data_root)
    except OSError as error:
        context.log.warning(f"tearsheet of session {report.info.id} not written: {error}")
        return None
    context.log.info(f"tearsheet of session {report.info.id}: {path}")
    return path


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
    kinds={"postgres", "html"},
    deps=[TRADING_LEDGER],
    description="Daily report of the live sessions of a trading day, each session counted "
    "once: paper and live sessions totalled per account, sim replays apart (the latest "
    "replay and the spread of all). PnL, return, drawdown, round trips, fills, rejections "
    "and slippage against the decision price, with a tearsheet (HTML) per session.",
)
def live_session_report(
    context: dg.AssetExecutionContext, database: DatabaseResource, lake: LakeResource
) -> dg.MaterializeResult:
    day = read_day(database.ledger(), partition_day(context.partition_key))
    tearsheets = {}
    for session in day.sessions:
        path = _write_tearsheet(context, session, lake.data_root)
        if path is not None:
            tearsheets[session.info.id] = path
    return dg.MaterializeResult(metadata=day_metadata(day, tearsheets, lake.data_root))


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
