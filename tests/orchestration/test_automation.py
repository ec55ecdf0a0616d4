"""The session schedule (trading days, the configured mode, bounded by the day's close) and
the alert sensors (an observation on trading_ledger, a log line, a webhook without secrets)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from orchestration.automation import redact, session_request
from orchestration.definitions import build_definitions
from orchestration.trading import TRADING_LEDGER
from trading_runtime.config import load_settings
from trading_runtime.domain.enums import TradingMode

NEW_YORK = ZoneInfo("America/New_York")


def _at_0925(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(9, 25), tzinfo=NEW_YORK)


def test_the_schedule_skips_holidays_and_weekends() -> None:
    assert isinstance(
        session_request(_at_0925(dt.date(2026, 11, 26)), TradingMode.PAPER), dg.SkipReason
    )
    assert isinstance(
        session_request(_at_0925(dt.date(2026, 11, 28)), TradingMode.PAPER), dg.SkipReason
    )


def test_paper_launches_today_and_the_run_ends_by_the_close() -> None:
    request = session_request(_at_0925(dt.date(2026, 11, 30)), TradingMode.PAPER)
    assert isinstance(request, dg.RunRequest)
    assert request.run_config == {"mode": "paper", "session_date": "2026-11-30"}
    assert request.run_key == "live-paper-2026-11-30"
    # 09:25 -> 16:00 close + 30 minutes of shutdown margin
    assert request.tags["dagster/max_runtime"] == str(7 * 3600 + 5 * 60)


def test_an_early_close_shortens_the_run() -> None:
    request = session_request(_at_0925(dt.date(2026, 11, 27)), TradingMode.PAPER)
    assert isinstance(request, dg.RunRequest)
    assert request.tags["dagster/max_runtime"] == str(4 * 3600 + 5 * 60)  # 13:00 close


@pytest.mark.parametrize("day", [dt.date(2026, 3, 6), dt.date(2026, 3, 9)])  # EST, then EDT
def test_daylight_saving_time_keeps_the_launch_five_minutes_before_the_open(day) -> None:
    request = session_request(_at_0925(day), TradingMode.LIVE)
    assert isinstance(request, dg.RunRequest)
    assert request.tags["dagster/max_runtime"] == str(7 * 3600 + 5 * 60)


def test_sim_replays_the_last_completed_session(platform_env) -> None:
    defs = build_definitions(load_settings())
    schedule = defs.resolve_schedule_def("live_trading_at_open")
    with dg.build_schedule_context(
        scheduled_execution_time=_at_0925(dt.date(2026, 11, 30))
    ) as context:
        request = schedule.evaluate_tick(context).run_requests[0]
    assert request.run_config == {"mode": "sim", "session_date": ""}
    # The request is a valid Launchpad config for the job.
    job = defs.resolve_job_def("live_trading")
    assert (
        dg.validate_run_config(job, request.run_config)["ops"]["trade_session"]["config"]["mode"]
        == "sim"
    )


def test_redaction_hides_url_passwords_and_secret_values() -> None:
    text = "connect postgresql://user:hunter22@db/x failed; key abcd1234 refused"
    assert (
        redact(text, ["abcd1234"]) == "connect postgresql://user:***@db/x failed; key *** refused"
    )


class _Webhook:
    def __init__(self, statuses: list[int]) -> None:
        self.bodies: list[dict] = []
        self.statuses = statuses
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                webhook.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(webhook.statuses.pop(0) if webhook.statuses else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/t0ken-in-the-path"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[_Webhook]:
    server = _Webhook(statuses=[500])  # the first attempt fails: the alert is retried
    try:
        yield server
    finally:
        server.close()


def _observations(instance: dg.DagsterInstance) -> list[dict]:
    records = instance.fetch_observations(TRADING_LEDGER.key, limit=10).records
    return [
        {k: v.value for k, v in r.asset_observation.metadata.items()}
        for r in records
        if r.asset_observation is not None
    ]


def test_a_failed_session_is_recorded_logged_and_posted_without_secrets(
    platform_env, dagster_instance, monkeypatch, webhook, caplog
) -> None:
    secret = "sk-very-secret-value"
    monkeypatch.setenv("ALPACA_API_KEY", "key-id-1234")
    monkeypatch.setenv("ALPACA_SECRET_KEY", secret)
    monkeypatch.setenv("TRADING_MODE", "sim")
    monkeypatch.setenv("ALERT_WEBHOOK_URL", webhook.url)
    defs = build_definitions(load_settings())
    job = defs.resolve_job_def("live_trading")
    run = dagster_instance.create_run_for_job(
        job_def=job,
        run_config={},
        tags={"platform/trading-day": "2026-11-27", "platform/mode": "sim"},
    )
    dagster_instance.report_run_failed(run, f"broker said no to {secret}")
    failure = (
        dagster_instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        .records[0]
        .event_log_entry.dagster_event
    )
    sensor = defs.resolve_sensor_def("live_session_failed")
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor.name,
        dagster_event=failure,
        dagster_instance=dagster_instance,
        dagster_run=dagster_instance.get_run_by_id(run.run_id),
    ).for_run_failure()
    sensor(context)

    [alert] = webhook.bodies[-1:]
    assert len(webhook.bodies) == 2  # 500, then delivered
    assert alert["event"] == "live_session_failed"
    assert alert["run_id"] == run.run_id and alert["trading_day"] == "2026-11-27"
    assert "broker said no to ***" in alert["reason"]
    assert secret not in json.dumps(alert) and "t0ken" not in json.dumps(alert)
    [observation] = _observations(dagster_instance)
    assert observation["session_status"] == "failed"
    assert secret not in json.dumps(observation, default=str)


def test_an_interrupted_session_is_recorded_without_a_webhook(
    platform_env, dagster_instance, monkeypatch
) -> None:
    monkeypatch.delenv("ALERT_WEBHOOK_URL", raising=False)
    defs = build_definitions(load_settings())
    run = dagster_instance.create_run_for_job(
        job_def=defs.resolve_job_def("live_trading"), run_config={}
    )
    dagster_instance.report_run_canceled(run)
    canceled = (
        dagster_instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_CANCELED)
        .records[0]
        .event_log_entry.dagster_event
    )
    sensor = defs.resolve_sensor_def("live_session_interrupted")
    sensor(
        dg.build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_event=canceled,
            dagster_instance=dagster_instance,
            dagster_run=dagster_instance.get_run_by_id(run.run_id),
        )
    )
    [observation] = _observations(dagster_instance)
    assert observation["session_status"] == "interrupted"
