"""The ``live_trading`` Launchpad: every field of a session with its default and description,
validated before a run is created.

    LiveTradingConfig       the op's config: one field per Launchpad entry, with the platform's
                            built-in defaults; ``overrides()`` maps it onto the settings keys
    launchpad_mapping(s)    the job's config mapping: the same fields at the top level of the
                            run config, defaulting to the values of settings ``s`` (the
                            environment of the code location), validated by
                            :func:`validate_launch` when the run is launched

Dagster validates a pydantic ``Config`` only when the step starts, inside the run. The mapping
runs while the run config is resolved, before Dagster creates the run, so a bad value (a date
that is not a session, a threshold out of range, ``live`` without its confirmation) is refused
at launch with one line naming the field. The rules themselves are the settings' rules
(``trading_runtime.config.Settings``) plus the session-date rules of the session runner.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, cast

import dagster as dg
from pydantic import (
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from trading_runtime.config import ConfigurationError, Settings
from trading_runtime.domain.enums import TradingMode
from trading_runtime.engine.runner import resolve_trading_day

# Lower-case member names: Dagster shows enum *names* in the Launchpad.
LaunchMode = enum.Enum("LaunchMode", {mode.value: mode.value for mode in TradingMode})  # type: ignore[misc]

SYMBOL_PATTERN = re.compile(r"^[A-Z][A-Z0-9.]{0,9}$")

# Launchpad field -> settings key it overrides.
SETTINGS_KEYS = {
    "mode": "TRADING_MODE",
    "symbols": "SYMBOLS",
    "buy_probability_threshold": "BUY_PROBABILITY_THRESHOLD",
    "sell_probability_threshold": "SELL_PROBABILITY_THRESHOLD",
    "max_buys_per_symbol_per_day": "MAX_BUYS_PER_SYMBOL_PER_DAY",
    "max_position_fraction": "MAX_POSITION_FRACTION",
    "daily_loss_limit_fraction": "DAILY_LOSS_LIMIT_FRACTION",
    "flatten_at_close": "FLATTEN_AT_CLOSE",
    "cancel_open_orders_on_stop": "CANCEL_OPEN_ORDERS_ON_STOP",
    "replay_speed": "SIM_REPLAY_SPEED",
}
_SETTINGS_ATTRIBUTES = {
    "mode": "mode",
    "symbols": "symbols",
    "replay_speed": "sim_replay_speed",
}


# The run's log (the UI, the event log) keeps every event and message whatever this says; the
# process's console shows warnings and errors only, not a DEBUG line per Dagster event (the
# Launchpad has no room for Dagster's own ``loggers`` section, so the mapping sets it).
CONSOLE_LOGGER = {"console": {"config": {"log_level": "WARNING"}}}


class LaunchpadConfigError(ValueError):
    """A Launchpad value the session cannot run with; the message is one line."""


def _builtin(field: str) -> Any:
    """The settings' own default for a Launchpad field (Decimals as floats for Dagster)."""
    if field == "mode":
        return LaunchMode("sim")
    name = _SETTINGS_ATTRIBUTES.get(field, field)
    value = Settings.model_fields[name].get_default(call_default_factory=True)
    return float(value) if isinstance(value, Decimal) else value


class LiveTradingConfig(dg.Config):
    """One trading session. Launched from the UI, the defaults are the code location's
    environment (see the README's settings table). They become settings overrides, so, like
    the settings, validation errors never echo input values."""

    model_config = ConfigDict(hide_input_in_errors=True)

    mode: LaunchMode = Field(
        default=_builtin("mode"),
        description="sim: replay a past session against the emulator; paper: Alpaca paper "
        "trading (needs ALPACA_API_KEY/ALPACA_SECRET_KEY); live: real money (needs the keys and "
        "LIVE_TRADING_CONFIRMATION). Environment: TRADING_MODE.",
    )
    session_date: str = Field(
        default="",
        description="YYYY-MM-DD, an NYSE session. sim: the session to replay (empty = the last "
        "completed session); paper/live: empty or today.",
    )
    symbols: list[str] = Field(
        default=_builtin("symbols"),
        description="Traded symbols, upper case (AAPL, BRK.B). Environment: SYMBOLS.",
    )
    buy_probability_threshold: float = Field(
        default=_builtin("buy_probability_threshold"),
        description="Buy when P(up) reaches this probability (0..1).",
    )
    sell_probability_threshold: float = Field(
        default=_builtin("sell_probability_threshold"),
        description="Sell a position when down is the most likely class and P(down) reaches "
        "this probability (0..1).",
    )
    max_buys_per_symbol_per_day: int = Field(
        default=_builtin("max_buys_per_symbol_per_day"),
        description="Buy orders per symbol per session (0 = no buys).",
    )
    max_position_fraction: float = Field(
        default=_builtin("max_position_fraction"),
        description="A position never exceeds this fraction of equity (0..1].",
    )
    daily_loss_limit_fraction: float = Field(
        default=_builtin("daily_loss_limit_fraction"),
        description="Kill switch: no new entries after losing this fraction of the day's "
        "starting equity (0..1].",
    )
    flatten_at_close: bool = Field(
        default=_builtin("flatten_at_close"),
        description="Sell every position shortly before the close.",
    )
    cancel_open_orders_on_stop: bool = Field(
        default=_builtin("cancel_open_orders_on_stop"),
        description="Cancel working orders when the session stops (else they stay open).",
    )
    replay_speed: float = Field(
        default=_builtin("replay_speed"),
        description="sim only: session minutes per second; 0 = lockstep, as fast as the "
        "engine trades.",
    )
    minute_grace_s: float = Field(
        default=2.0,
        ge=0,
        description="Seconds after the end of a minute before the minute is closed on the "
        "clock (paper/live), so late bars still count.",
    )
    status_every_minutes: int = Field(
        default=15,
        ge=1,
        description="A status line in the run's log (equity, PnL, positions, orders, fills, "
        "minute latency, model) and an observation of trading_ledger (charted in its Plots "
        "tab) every this many session minutes, and one at the end. A sim replay's minutes "
        "pass faster than the clock.",
    )

    def overrides(self) -> dict[str, Any]:
        """These values under the settings' environment keys."""
        values = {key: getattr(self, field) for field, key in SETTINGS_KEYS.items()}
        values["TRADING_MODE"] = self.mode.value
        values["SYMBOLS"] = ",".join(self.symbols)
        return values

    def requested_day(self) -> dt.date | None:
        return dt.date.fromisoformat(self.session_date) if self.session_date else None

    @field_validator("symbols", mode="before")
    @classmethod
    def _upper_case(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [str(symbol).strip().upper() for symbol in value]
        return value

    @model_validator(mode="after")
    def _session_can_run(self) -> LiveTradingConfig:
        validate_launch(self, dt.datetime.now(dt.UTC))
        return self


def validate_launch(config: LiveTradingConfig, now: dt.datetime) -> None:
    """Raise :class:`LaunchpadConfigError` (one line, naming the field) unless a session can
    start with ``config`` at ``now`` in this process's environment."""
    bad = [s for s in config.symbols if not SYMBOL_PATTERN.match(s)]
    if bad or not config.symbols:
        raise LaunchpadConfigError(
            f"symbols: {', '.join(bad) or 'empty'}: use upper-case tickers such as AAPL or BRK.B"
        )
    try:
        requested = config.requested_day()
    except ValueError:
        raise LaunchpadConfigError(
            f"session_date: {config.session_date!r} is not a date (YYYY-MM-DD)"
        ) from None
    try:
        settings = Settings(**config.overrides())
    except ValidationError as error:
        raise LaunchpadConfigError(_one_line(error)) from None
    try:
        resolve_trading_day(settings.mode, requested, now)
    except (ConfigurationError, ValueError) as error:
        raise LaunchpadConfigError(f"session_date: {error}") from None


def _one_line(error: ValidationError) -> str:
    fields = {key: field for field, key in SETTINGS_KEYS.items()}
    parts = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        parts.append(f"{fields.get(location, location)}: {message}" if location else message)
    return "; ".join(parts)


def launch_defaults(settings: Settings) -> dict[str, Any]:
    """Launchpad defaults from ``settings`` (the code location's environment)."""
    config = LiveTradingConfig.model_construct()
    values = {field: getattr(config, field) for field in LiveTradingConfig.model_fields}
    for field in SETTINGS_KEYS:
        value = getattr(settings, _SETTINGS_ATTRIBUTES.get(field, field))
        values[field] = float(value) if isinstance(value, Decimal) else value
    values["mode"] = LaunchMode(settings.mode.value)
    return values


def launchpad_mapping(settings: Settings) -> dg.ConfigMapping:
    """The ``live_trading`` run config: the Launchpad fields at the top level, defaulting to
    ``settings``; resolving it validates the session (before Dagster creates the run)."""
    defaults = launch_defaults(settings)
    fields: dict[str, Any] = {}
    for name, info in LiveTradingConfig.model_fields.items():
        annotation = (
            Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        )
        fields[name] = (annotation, Field(default=defaults[name], description=info.description))
    launchpad = cast(
        type[LiveTradingConfig],
        create_model("LiveTradingLaunchpad", __base__=LiveTradingConfig, **fields),
    )

    def to_run_config(values: Mapping[str, Any]) -> dict[str, Any]:
        try:
            config = launchpad(**values)
        except ValidationError as error:
            raise LaunchpadConfigError(_one_line(error)) from None
        ops_config = config.model_dump(mode="json")
        return {"ops": {"trade_session": {"config": ops_config}}, "loggers": CONSOLE_LOGGER}

    return dg.ConfigMapping(config_fn=to_run_config, config_schema=launchpad.to_config_schema())
