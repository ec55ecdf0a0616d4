"""The live_trading Launchpad: every field with a default and a description, defaults taken
from the environment, and bad values refused while the run config is resolved, before Dagster
creates a run."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from orchestration.definitions import build_definitions
from orchestration.launchpad import LaunchpadConfigError, LiveTradingConfig, validate_launch
from trading_runtime.config import LIVE_TRADING_CONFIRMATION, load_settings

FIELDS = {
    "mode",
    "session_date",
    "symbols",
    "buy_probability_threshold",
    "sell_probability_threshold",
    "max_buys_per_symbol_per_day",
    "max_position_fraction",
    "daily_loss_limit_fraction",
    "flatten_at_close",
    "cancel_open_orders_on_stop",
    "replay_speed",
    "minute_grace_s",
    "status_every_minutes",
}
NOON = dt.datetime(2026, 11, 30, 17, tzinfo=dt.UTC)


def _launchpad_fields(defs: dg.Definitions) -> dict[str, dg.Field]:
    job = defs.resolve_job_def("live_trading")
    return dict(job.run_config_schema.config_type.fields)


def test_every_field_is_shown_with_a_default_and_a_description(platform_env) -> None:
    fields = _launchpad_fields(build_definitions(load_settings()))
    assert set(fields) == FIELDS
    for name, field in fields.items():
        assert field.default_provided, name
        assert field.default_value is not None, name
        assert field.description, name
    mode = fields["mode"].config_type
    enum_type = getattr(mode, "inner_type", mode)
    assert {value.config_value for value in enum_type.enum_values} == {"sim", "paper", "live"}


def test_defaults_are_the_environment_of_the_code_location(platform_env, monkeypatch) -> None:
    monkeypatch.setenv("BUY_PROBABILITY_THRESHOLD", "0.6")
    monkeypatch.setenv("SIM_REPLAY_SPEED", "30")
    fields = _launchpad_fields(build_definitions(load_settings()))
    assert fields["buy_probability_threshold"].default_value == 0.6
    assert fields["replay_speed"].default_value == 30.0
    assert fields["symbols"].default_value == ["AAPL", "MSFT", "NVDA", "AMZN", "META"]
    assert fields["mode"].default_value == "sim"


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"mode": "papr"}, "not in enum"),
        ({"session_date": "2026-11-26"}, "session_date: 2026-11-26 is not an NYSE trading day"),
        ({"session_date": "27/11/2026"}, "session_date: '27/11/2026' is not a date (YYYY-MM-DD)"),
        ({"buy_probability_threshold": -0.1}, "buy_probability_threshold: Input should be"),
        ({"max_buys_per_symbol_per_day": -1}, "max_buys_per_symbol_per_day: Input should be"),
        ({"symbols": ["AAPL", "msft$"]}, "symbols: MSFT$: use upper-case tickers"),
        ({"mode": "live"}, "TRADING_MODE=live needs ALPACA_API_KEY"),
    ],
)
def test_a_bad_value_is_refused_before_the_run_is_created(platform_env, values, reason) -> None:
    job = build_definitions(load_settings()).resolve_job_def("live_trading")
    with dg.DagsterInstance.ephemeral() as instance:
        with pytest.raises(dg.DagsterError) as raised:
            job.execute_in_process(run_config=values, instance=instance)
        assert instance.get_runs() == []
    error = raised.value
    cause = error.__cause__ or error
    message = str(cause) if isinstance(cause, LaunchpadConfigError) else str(error)
    assert reason in message
    if isinstance(cause, LaunchpadConfigError):
        assert "\n" not in message


def test_live_needs_the_confirmation_even_with_keys(platform_env, monkeypatch) -> None:
    monkeypatch.setenv("ALPACA_API_KEY", "key-id")
    monkeypatch.setenv("ALPACA_SECRET_KEY", "secret-value")
    config = LiveTradingConfig.model_construct(
        mode=LiveTradingConfig.model_fields["mode"].annotation("live")
    )
    with pytest.raises(LaunchpadConfigError, match="LIVE_TRADING_CONFIRMATION"):
        validate_launch(config, NOON)
    monkeypatch.setenv("LIVE_TRADING_CONFIRMATION", LIVE_TRADING_CONFIRMATION)
    validate_launch(config, NOON)  # today's session, before the close


def test_paper_trades_today_only(platform_env, monkeypatch) -> None:
    monkeypatch.setenv("ALPACA_API_KEY", "key-id")
    monkeypatch.setenv("ALPACA_SECRET_KEY", "secret-value")
    paper = LiveTradingConfig.model_fields["mode"].annotation("paper")
    config = LiveTradingConfig.model_construct(mode=paper, session_date="2026-11-27")
    with pytest.raises(LaunchpadConfigError, match=r"session_date: paper trading runs today"):
        validate_launch(config, NOON)


def test_a_valid_sim_launch_passes_with_every_field_set(platform_env) -> None:
    config = LiveTradingConfig(session_date="2026-11-27", symbols=["AAPL", "BRK.B"])
    assert config.overrides()["SYMBOLS"] == "AAPL,BRK.B"
    assert config.overrides()["TRADING_MODE"] == "sim"
    assert config.requested_day() == dt.date(2026, 11, 27)
