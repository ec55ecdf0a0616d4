"""A bot that runs itself: the session launched before the open, and alerts when it fails.

    live_trading_at_open(job)   schedule (stopped by default: it trades) that launches the
                                day's ``live_trading`` session at 09:25 New York time on NYSE
                                trading days, in the configured mode, bounded by the day's close
                                (early closes included)
    session_alert_sensors(job)  run-status sensors for failed and canceled (interrupted)
                                sessions: each records an observation on ``trading_ledger``,
                                logs a warning and, when ``ALERT_WEBHOOK_URL`` is set, POSTs a
                                JSON alert to it

The alerts are recorded on ``trading_ledger``, declared with the live job in ``trading``.

The webhook URL comes from the environment only and is never logged (chat webhooks carry
their token in the URL). Alerts carry no secrets: messages pass through :func:`redact`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
import stamina

from orchestration.partitions import NEW_YORK
from orchestration.trading import MODE_TAG, TRADING_DAY_TAG, TRADING_LEDGER
from trading_runtime.config import load_settings
from trading_runtime.domain.enums import TradingMode
from trading_runtime.marketdata import calendar

logger = logging.getLogger(__name__)

ALERT_WEBHOOK_VARIABLE = "ALERT_WEBHOOK_URL"
WEBHOOK_TIMEOUT_S = 5.0
OPEN_LEAD_MINUTES = 5
# The session may run this long past the close (final reconciliation, ledger flush).
CLOSE_MARGIN = dt.timedelta(minutes=30)


def live_trading_at_open(live_trading: dg.JobDefinition) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="live_trading_at_open",
        job=live_trading,
        cron_schedule=f"{30 - OPEN_LEAD_MINUTES} 9 * * 1-5",
        execution_timezone=NEW_YORK,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="Launches the day's live_trading session five minutes before the open on "
        "NYSE trading days (holidays skipped) in the configured TRADING_MODE (sim replays the "
        "last completed session). Stopped by default: it trades.",
    )
    def schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        when = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
        return session_request(when, load_settings().mode)

    return schedule


def session_request(when: dt.datetime, mode: TradingMode) -> dg.RunRequest | dg.SkipReason:
    """The run request for the session of ``when``'s New York day, or why there is none."""
    day = when.astimezone(ZoneInfo(NEW_YORK)).date()
    if not calendar.is_session(day):
        return dg.SkipReason(f"{day} is not an NYSE trading day")
    session = calendar.session(day)
    runtime_s = int((session.close + CLOSE_MARGIN - when).total_seconds())
    return dg.RunRequest(
        run_key=f"live-{mode.value}-{day.isoformat()}",
        run_config={
            "mode": mode.value,
            # paper/live trade today's session; sim replays the last completed one.
            "session_date": "" if mode is TradingMode.SIM else day.isoformat(),
        },
        tags={"dagster/max_runtime": str(runtime_s), "platform/scheduled-day": day.isoformat()},
    )


def session_alert_sensors(live_trading: dg.JobDefinition) -> list[dg.SensorDefinition]:
    @dg.run_failure_sensor(
        name="live_session_failed",
        monitored_jobs=[live_trading],
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Records a failed live_trading session on trading_ledger, logs it and "
        f"POSTs an alert to {ALERT_WEBHOOK_VARIABLE} when set.",
    )
    def failed(context: dg.RunFailureSensorContext) -> None:
        reasons = [context.failure_event.message or ""]
        for event in context.get_step_failure_events():
            error = event.step_failure_data.error if event.step_failure_data else None
            if error is not None:
                reasons.append(f"{event.step_key}: {_root_cause(error)}")
        _alert(context, "failed", reasons)

    @dg.run_status_sensor(
        name="live_session_interrupted",
        run_status=dg.DagsterRunStatus.CANCELED,
        monitored_jobs=[live_trading],
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Records an interrupted (canceled) live_trading session on trading_ledger, "
        f"logs it and POSTs an alert to {ALERT_WEBHOOK_VARIABLE} when set.",
    )
    def interrupted(context: dg.RunStatusSensorContext) -> None:
        _alert(context, "interrupted", ["the run was canceled"])

    return [failed, interrupted]


def _root_cause(error: Any) -> str:
    while error.cause is not None:
        error = error.cause
    return f"{error.cls_name}: {error.message.strip()}"


def _alert(context: dg.RunStatusSensorContext, status: str, reasons: Iterable[str]) -> None:
    run = context.dagster_run
    alert = {
        "event": f"live_session_{status}",
        "run_id": run.run_id,
        "job": run.job_name,
        "trading_day": run.tags.get(TRADING_DAY_TAG),
        "mode": run.tags.get(MODE_TAG),
        "reason": redact(" | ".join(r for r in reasons if r), _secret_values()),
    }
    context.instance.report_runless_asset_event(
        dg.AssetObservation(
            asset_key=TRADING_LEDGER.key,
            metadata={
                "session_status": status,
                "run_id": dg.MetadataValue.dagster_run(run.run_id),
                "trading_day": alert["trading_day"] or "",
                "mode": alert["mode"] or "",
                "reason": alert["reason"],
            },
        )
    )
    context.log.warning(f"live session {status}: run {run.run_id}: {alert['reason']}")
    url = os.environ.get(ALERT_WEBHOOK_VARIABLE)
    if url:
        try:
            post_alert(url, alert)
        except (urllib.error.URLError, OSError) as error:
            context.log.warning(f"alert webhook failed: {_describe(error)}")


def _transient(error: Exception) -> bool:
    if isinstance(error, urllib.error.HTTPError):
        return error.code >= 500 or error.code == 429
    return isinstance(error, (urllib.error.URLError, OSError))


@stamina.retry(on=_transient, attempts=3, timeout=WEBHOOK_TIMEOUT_S * 3)
def post_alert(url: str, alert: dict[str, Any]) -> None:
    """POST ``alert`` as JSON; transient failures are retried with backoff and jitter."""
    request = urllib.request.Request(
        url,
        data=json.dumps(alert).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as response:
        response.read()


def _describe(error: BaseException) -> str:
    # Never the URL: it may carry a token.
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code}"
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    return type(error).__name__


_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with URL passwords and every secret value replaced by ``***``."""
    text = _URL_PASSWORD.sub(r"\1***@", text)
    for secret in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _secret_values() -> list[str]:
    settings = load_settings()
    secrets = [
        settings.database_url,
        settings.db_password,
        settings.dagster_database_url,
        settings.alpaca_api_key,
        settings.alpaca_secret_key,
    ]
    values = [secret.get_secret_value() for secret in secrets if secret is not None]
    webhook = os.environ.get(ALERT_WEBHOOK_VARIABLE)
    return [*values, *([webhook] if webhook else [])]
