"""Typed settings for every process of the platform.

Values come from the environment (and an optional ``.env`` file); secrets are only ever read
from there and are held as ``SecretStr`` so they never appear in ``repr``, logs or metadata.

Map:
    Settings            the whole configuration, validated at start-up
    Settings.mode       the effective runtime mode (sim without keys, paper with keys,
                        live only with the explicit confirmation)
    Settings.decision_config()
                        the strategy and risk rules, built from the flat keys
    Settings.fill_model_config() / backtest_config()
                        the trading costs every backtest charges (commission, half-spread,
                        slippage), on the venue's fill model
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from trading_runtime.domain.enums import TradingMode
from trading_runtime.marketdata.universe import DEFAULT_UNIVERSE, REFERENCE_SYMBOL
from trading_runtime.venue.fills import FillModelConfig as _FillModel

if TYPE_CHECKING:
    from trading_runtime.backtest.replay import BacktestConfig
    from trading_runtime.core.minute import DecisionConfig

LIVE_TRADING_CONFIRMATION = "I understand this trades real money"


def _venue_default(name: str) -> Any:
    """A cost's default, as the venue's fill model defines it (one place)."""
    return _FillModel.__dataclass_fields__[name].default


class ConfigurationError(ValueError):
    """The configuration cannot run: missing keys, an unsafe mode, contradictory values."""


def _split_symbols(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip().upper() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Process configuration. Unknown keys in an explicit constructor call are errors."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="forbid",
        case_sensitive=False,
        populate_by_name=True,
        # Model-level errors would otherwise print the whole input, secrets included.
        hide_input_in_errors=True,
    )

    # --- storage -------------------------------------------------------------------------
    database_url: SecretStr | None = Field(default=None, alias="DATABASE_URL")
    db_host: str | None = Field(default=None, alias="DB_HOST")
    db_port: int = Field(default=5432, alias="DB_PORT")
    db_name: str | None = Field(default=None, alias="DB_NAME")
    db_user: str | None = Field(default=None, alias="DB_USER")
    db_password: SecretStr | None = Field(default=None, alias="DB_PASSWORD")
    dagster_database_url: SecretStr | None = Field(default=None, alias="DAGSTER_DATABASE_URL")
    embedded_postgres_dir: Path = Field(
        default=Path(".data/postgres"), alias="EMBEDDED_POSTGRES_DIR"
    )
    data_root: str = Field(default=".data/lake", alias="DATA_ROOT")
    spool_dir: Path = Field(default=Path(".data/spool"), alias="SPOOL_DIR")

    # --- market data -----------------------------------------------------------------------
    market_data_source: Literal["synthetic", "alpaca"] = Field(
        default="synthetic", alias="MARKET_DATA_SOURCE"
    )
    symbols: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_UNIVERSE), alias="SYMBOLS"
    )
    reference_symbol: str = Field(default=REFERENCE_SYMBOL, alias="REFERENCE_SYMBOL")
    synthetic_seed: int = Field(default=7, alias="SYNTHETIC_SEED")
    synthetic_predictability: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        alias="SYNTHETIC_PREDICTABILITY",
        description="strength of the synthetic market's planted edge: 1 the default, 0 none",
    )
    history_start: dt.date = Field(default=dt.date(2026, 1, 2), alias="HISTORY_START")
    alpaca_data_feed: Literal["iex", "sip"] = Field(default="iex", alias="ALPACA_DATA_FEED")

    # --- ingestion -------------------------------------------------------------------------
    alpaca_requests_per_minute: float = Field(
        default=200.0, gt=0, alias="ALPACA_REQUESTS_PER_MINUTE"
    )
    ingest_max_attempts: int = Field(default=8, ge=1, alias="INGEST_MAX_ATTEMPTS")
    ingest_retry_max_wait_s: float = Field(default=30.0, gt=0, alias="INGEST_RETRY_MAX_WAIT_S")
    ingest_max_days_per_request: int = Field(default=20, ge=1, alias="INGEST_MAX_DAYS_PER_REQUEST")
    coverage_warn_below: float = Field(default=0.2, ge=0.0, le=1.0, alias="COVERAGE_WARN_BELOW")
    coverage_exclude_below: float = Field(
        default=0.05, ge=0.0, le=1.0, alias="COVERAGE_EXCLUDE_BELOW"
    )
    max_unusable_symbol_fraction: float = Field(
        default=0.5, ge=0.0, le=1.0, alias="MAX_UNUSABLE_SYMBOL_FRACTION"
    )

    # --- broker ----------------------------------------------------------------------------
    trading_mode: TradingMode | None = Field(default=None, alias="TRADING_MODE")
    live_trading_confirmation: str | None = Field(default=None, alias="LIVE_TRADING_CONFIRMATION")
    alpaca_api_key: SecretStr | None = Field(default=None, alias="ALPACA_API_KEY")
    alpaca_secret_key: SecretStr | None = Field(default=None, alias="ALPACA_SECRET_KEY")
    alpaca_trading_url: str | None = Field(default=None, alias="ALPACA_TRADING_URL")
    alpaca_data_url: str | None = Field(default=None, alias="ALPACA_DATA_URL")
    alpaca_data_stream_url: str | None = Field(default=None, alias="ALPACA_DATA_STREAM_URL")
    alpaca_trading_stream_url: str | None = Field(default=None, alias="ALPACA_TRADING_STREAM_URL")
    rest_timeout_s: float = Field(default=10.0, gt=0, alias="ALPACA_REST_TIMEOUT_S")

    # --- strategy and risk (defaults are the seed bot's rules) ------------------------------
    buy_probability_threshold: float = Field(
        default=0.75, ge=0.0, le=1.0, alias="BUY_PROBABILITY_THRESHOLD"
    )
    sell_probability_threshold: float = Field(
        default=0.0, ge=0.0, le=1.0, alias="SELL_PROBABILITY_THRESHOLD"
    )
    max_buys_per_symbol_per_day: int = Field(default=3, ge=0, alias="MAX_BUYS_PER_SYMBOL_PER_DAY")
    max_position_fraction: Decimal = Field(
        default=Decimal("0.20"), gt=0, le=1, alias="MAX_POSITION_FRACTION"
    )
    limit_offset_bps: Decimal = Field(default=Decimal("10"), ge=0, alias="LIMIT_OFFSET_BPS")
    no_entry_minutes_before_close: int = Field(
        default=15, ge=0, alias="NO_ENTRY_MINUTES_BEFORE_CLOSE"
    )
    flatten_at_close: bool = Field(default=False, alias="FLATTEN_AT_CLOSE")
    flatten_minutes_before_close: int = Field(default=5, ge=1, alias="FLATTEN_MINUTES_BEFORE_CLOSE")
    daily_loss_limit_fraction: Decimal = Field(
        default=Decimal("0.03"), gt=0, le=1, alias="DAILY_LOSS_LIMIT_FRACTION"
    )
    flatten_on_kill_switch: bool = Field(default=False, alias="FLATTEN_ON_KILL_SWITCH")
    legacy_day_trade_guard: bool = Field(default=False, alias="LEGACY_DAY_TRADE_GUARD")
    cancel_open_orders_on_stop: bool = Field(default=True, alias="CANCEL_OPEN_ORDERS_ON_STOP")
    model_poll_interval_s: float = Field(default=30.0, gt=0, alias="MODEL_POLL_INTERVAL_S")

    # --- trading costs in backtests (the venue's fill model; defaults are conservative) ----
    commission_per_share: Decimal = Field(
        default=_venue_default("commission_per_share"),
        ge=0,
        alias="COMMISSION_PER_SHARE",
        description="dollars per share executed (0 at Alpaca for US equities)",
    )
    commission_per_order: Decimal = Field(
        default=_venue_default("commission_per_order"),
        ge=0,
        alias="COMMISSION_PER_ORDER",
        description="dollars per order, on its first execution",
    )
    half_spread_bps: Decimal | None = Field(
        default=None,
        ge=0,
        alias="HALF_SPREAD_BPS",
        description="half the bid-ask spread in bps of the open; unset: estimated from each "
        "bar as SPREAD_RANGE_FRACTION of its high-low range",
    )
    spread_range_fraction: Decimal = Field(
        default=_venue_default("spread_range_fraction"), ge=0, le=1, alias="SPREAD_RANGE_FRACTION"
    )
    slippage_bps: Decimal = Field(
        default=_venue_default("slippage_bps"),
        ge=0,
        alias="SLIPPAGE_BPS",
        description="price moved against every execution, in bps of the open",
    )

    # --- sim -------------------------------------------------------------------------------
    sim_starting_cash: Decimal = Field(default=Decimal("100000"), gt=0, alias="SIM_STARTING_CASH")
    sim_replay_speed: float = Field(
        default=0.0,
        ge=0.0,
        alias="SIM_REPLAY_SPEED",
        description="session minutes per second; 0 replays in lockstep, as fast as the engine",
    )

    sim_broker_url: str | None = Field(
        default=None,
        alias="SIM_BROKER_URL",
        description="http://host:port of a running `python -m trading_runtime.sim`: sim "
        "sessions trade against it (it outlives engine restarts) instead of starting their own",
    )

    @field_validator("symbols", mode="before")
    @classmethod
    def _parse_symbols(cls, value: Any) -> Any:
        return _split_symbols(value)

    @field_validator("reference_symbol", mode="before")
    @classmethod
    def _upper_reference(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _validate(self) -> Settings:
        if not self.symbols:
            raise ConfigurationError("SYMBOLS is empty: name at least one symbol to trade")
        if (self.alpaca_api_key is None) != (self.alpaca_secret_key is None):
            raise ConfigurationError("ALPACA_API_KEY and ALPACA_SECRET_KEY must be set together")
        mode = self.mode
        if mode in (TradingMode.PAPER, TradingMode.LIVE) and not self.has_alpaca_keys:
            raise ConfigurationError(f"TRADING_MODE={mode} needs ALPACA_API_KEY/ALPACA_SECRET_KEY")
        if mode is TradingMode.LIVE and self.live_trading_confirmation != LIVE_TRADING_CONFIRMATION:
            raise ConfigurationError(
                "TRADING_MODE=live trades real money; set LIVE_TRADING_CONFIRMATION="
                f"'{LIVE_TRADING_CONFIRMATION}' to confirm"
            )
        if self.market_data_source == "alpaca" and not self.has_alpaca_keys:
            raise ConfigurationError("MARKET_DATA_SOURCE=alpaca needs Alpaca keys")
        if self.coverage_exclude_below > self.coverage_warn_below:
            raise ConfigurationError("COVERAGE_EXCLUDE_BELOW must not exceed COVERAGE_WARN_BELOW")
        return self

    # --- derived -----------------------------------------------------------------------------
    @property
    def has_alpaca_keys(self) -> bool:
        return self.alpaca_api_key is not None and self.alpaca_secret_key is not None

    @property
    def mode(self) -> TradingMode:
        """The effective mode: explicit setting, else paper with keys, else sim."""
        if self.trading_mode is not None:
            return self.trading_mode
        return TradingMode.PAPER if self.has_alpaca_keys else TradingMode.SIM

    @property
    def universe(self) -> list[str]:
        """Traded symbols plus the reference symbol, reference first, no duplicates."""
        return [self.reference_symbol, *[s for s in self.symbols if s != self.reference_symbol]]

    @property
    def traded_symbols(self) -> list[str]:
        return [s for s in self.symbols if s != self.reference_symbol]

    def decision_config(self) -> DecisionConfig:
        """The strategy and risk rules these settings describe."""
        from trading_runtime.core.minute import DecisionConfig
        from trading_runtime.risk.checks import RiskConfig
        from trading_runtime.strategy.rules import StrategyConfig

        return DecisionConfig(
            strategy=StrategyConfig(
                buy_threshold=self.buy_probability_threshold,
                sell_threshold=self.sell_probability_threshold,
                max_buys_per_symbol_per_day=self.max_buys_per_symbol_per_day,
                max_position_fraction=self.max_position_fraction,
                limit_offset_bps=self.limit_offset_bps,
                no_entry_minutes_before_close=self.no_entry_minutes_before_close,
                flatten_at_close=self.flatten_at_close,
                flatten_minutes_before_close=self.flatten_minutes_before_close,
            ),
            risk=RiskConfig(
                max_position_fraction=self.max_position_fraction,
                max_buys_per_symbol_per_day=self.max_buys_per_symbol_per_day,
                daily_loss_limit_fraction=self.daily_loss_limit_fraction,
                legacy_day_trade_guard=self.legacy_day_trade_guard,
            ),
            flatten_on_kill_switch=self.flatten_on_kill_switch,
        )

    def fill_model_config(self) -> _FillModel:
        """The venue's fill model with the configured costs."""
        return _FillModel(
            slippage_bps=self.slippage_bps,
            half_spread_bps=self.half_spread_bps,
            spread_range_fraction=self.spread_range_fraction,
            commission_per_share=self.commission_per_share,
            commission_per_order=self.commission_per_order,
        )

    def backtest_config(self) -> BacktestConfig:
        """Everything a backtest takes from the settings: cash, rules, costs, reference."""
        from trading_runtime.backtest.replay import BacktestConfig

        return BacktestConfig(
            starting_cash=self.sim_starting_cash,
            decision=self.decision_config(),
            fill_model=self.fill_model_config(),
            reference_symbol=self.reference_symbol,
        )

    def database_url_from_parts(self) -> str | None:
        """``DATABASE_URL`` if set, else one built from the seed's ``DB_*`` keys, else None."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        if self.db_host and self.db_name:
            from sqlalchemy.engine import URL

            url = URL.create(
                "postgresql+psycopg",
                username=self.db_user,
                password=self.db_password.get_secret_value() if self.db_password else None,
                host=self.db_host,
                port=self.db_port,
                database=self.db_name,
            )
            return url.render_as_string(hide_password=False)
        return None


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment; ``overrides`` use the environment key names.

    Raises :class:`ConfigurationError` whose message names the keys at fault and says why,
    never with the values given (a secret may be among them).
    """
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise ConfigurationError(describe_settings_error(error)) from None


def describe_settings_error(error: ValidationError) -> str:
    """One line per problem, ``KEY: why``, built without any input value."""
    lines = []
    for problem in error.errors(include_url=False, include_input=False, include_context=False):
        where = ".".join(str(part) for part in problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"{where}: {message}" if where else message)
    return "invalid settings: " + "; ".join(lines)
