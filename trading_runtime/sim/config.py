"""Configuration of the Alpaca-compatible emulator: the session, the account, pacing, faults.

Map:
    Pacing          how fast the replay advances (lockstep with the client, fixed speed, manual)
    FaultConfig     fault injection, all off by default (used by tests)
    EmulatorConfig  everything the emulator needs to run one session
    BarSource       ``(day, symbols) -> DataFrame`` of one-minute bars; see
                    :func:`synthetic_bar_source` and :func:`parquet_bar_source`
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

import pandas as pd

from trading_runtime.marketdata.storage import ParquetLake
from trading_runtime.marketdata.synthetic import SyntheticMarket
from trading_runtime.marketdata.universe import DEMO_SYMBOLS, REFERENCE_SYMBOL
from trading_runtime.venue.fills import FillModelConfig

BarSource = Callable[[dt.date, list[str]], pd.DataFrame]
"""Bars of one session for the given symbols. Columns: symbol, timestamp (UTC), open, high,
low, close, volume, trade_count, vwap. Symbols it does not know are simply absent."""

DEFAULT_API_KEY = "emulator-key"
DEFAULT_SECRET_KEY = "emulator-secret"


class Pacing(StrEnum):
    """How the replay advances from one minute to the next.

    ``lockstep``: after publishing bar ``m`` wait for ``POST /v2/sim/ack`` through bar ``m``
    (or ``ack_timeout_s``). ``speed``: ``speed`` session minutes per wall-clock second.
    ``manual``: only when told to (``Emulator.advance`` or ``POST /v2/sim/advance``); bars
    are published to whoever is subscribed at that moment, without waiting for a client.
    """

    LOCKSTEP = "lockstep"
    SPEED = "speed"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """Faults to inject. Random faults draw from ``random.Random(seed)``, so a run repeats.

    * ``drop_data_connection_after_frames``: close the market-data connection instead of
      sending its (N+1)-th bar frame, at most ``max_data_connection_drops`` times. The frame
      is delivered after the client reconnects; no bar is skipped.
    * ``duplicate_bar_probability``: per minute, send the bar frame twice.
    * ``out_of_order_probability``: per minute, hold the frame back and send it after the
      next minute's frame.
    * ``malformed_bar_probability``: per minute, add one malformed bar (a missing field, a NaN
      or non-positive price, or high below low) to the frame, next to the sound bars.
    * ``http_429_next_requests`` / ``http_500_next_requests``: answer the next K REST
      requests (outside ``/v2/sim``) with that status before doing anything.
    * ``lost_order_responses``: the next K order submissions are accepted and then answered
      with HTTP 500 (the caller cannot know the order exists).
    * ``slow_next_requests`` / ``slow_response_s``: the next K REST requests are processed,
      then answered after ``slow_response_s`` seconds (client timeouts).
    * ``reject_symbols``: orders for these symbols are refused on submission (HTTP 422).
    * ``reject_after_accept_symbols``: orders for these symbols are accepted, then rejected
      when they reach the market (a ``rejected`` trade update).
    * ``max_participation``: overrides the fill model's participation cap (forces partial
      fills when low).
    """

    seed: int = 0
    drop_data_connection_after_frames: int | None = None
    max_data_connection_drops: int = 1
    duplicate_bar_probability: float = 0.0
    out_of_order_probability: float = 0.0
    malformed_bar_probability: float = 0.0
    http_429_next_requests: int = 0
    http_500_next_requests: int = 0
    lost_order_responses: int = 0
    slow_next_requests: int = 0
    slow_response_s: float = 0.0
    reject_symbols: frozenset[str] = frozenset()
    reject_after_accept_symbols: frozenset[str] = frozenset()
    max_participation: Decimal | None = None

    def __post_init__(self) -> None:
        for name in (
            "duplicate_bar_probability",
            "out_of_order_probability",
            "malformed_bar_probability",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {value}")
        if (
            self.drop_data_connection_after_frames is not None
            and self.drop_data_connection_after_frames < 1
        ):
            raise ValueError("drop_data_connection_after_frames must be at least 1")
        object.__setattr__(
            self, "reject_symbols", frozenset(s.upper() for s in self.reject_symbols)
        )
        object.__setattr__(
            self,
            "reject_after_accept_symbols",
            frozenset(s.upper() for s in self.reject_after_accept_symbols),
        )


def synthetic_bar_source(seed: int) -> BarSource:
    """Bars from the deterministic :class:`SyntheticMarket` (always includes the reference)."""
    market = SyntheticMarket(seed)

    def source(day: dt.date, symbols: list[str]) -> pd.DataFrame:
        return market.day_bars(day, symbols)

    return source


def parquet_bar_source(root: str) -> BarSource:
    """Bars stored in the Parquet lake under ``root`` (one file per day)."""
    lake = ParquetLake(root)

    def source(day: dt.date, symbols: list[str]) -> pd.DataFrame:
        bars = lake.read_bars(day)
        return bars[bars["symbol"].isin(symbols)].reset_index(drop=True)

    return source


@dataclass(frozen=True)
class EmulatorConfig:
    """One emulated session.

    ``session_date`` None means the last completed NYSE session when the emulator starts.
    ``first_minute`` / ``minute_count`` replay a slice of the session (minutes counted from
    the open); bars before ``first_minute`` are history, served by ``/v2/stocks/bars``.
    ``bar_source`` None means the synthetic market with ``seed``. Order and execution ids
    are unique per emulator (as at a real broker, where a ledger keeps them forever); set
    ``id_seed`` to make them repeat exactly from run to run (and equal a backtest's with the
    same ``BacktestConfig.id_seed``). ``rate_limit_per_minute`` turns on Alpaca's request rate
    limit per key (None: off; ``python -m trading_runtime.sim`` turns it on at 200).
    ``min_minute_s``: in lockstep, a minute lasts at least this long on the wall clock (a
    market the client cannot outrun, so an outside observer can act within a minute).
    ``state_file``: keep the account, orders, fills and replay position there, so a restarted
    emulator goes on where it stopped (:mod:`trading_runtime.sim.persistence`).
    """

    session_date: dt.date | None = None
    symbols: tuple[str, ...] = (REFERENCE_SYMBOL, *DEMO_SYMBOLS)
    api_key: str = DEFAULT_API_KEY
    secret_key: str = field(default=DEFAULT_SECRET_KEY, repr=False)
    starting_cash: Decimal = Decimal("100000")
    pacing: Pacing = Pacing.LOCKSTEP
    speed: float = 60.0
    ack_timeout_s: float = 30.0
    min_minute_s: float = 0.0
    state_file: Path | None = None
    fill_model: FillModelConfig = field(default_factory=FillModelConfig)
    faults: FaultConfig = field(default_factory=FaultConfig)
    bar_source: BarSource | None = field(default=None, repr=False, compare=False)
    seed: int = 7
    id_seed: int | None = None
    first_minute: int = 0
    minute_count: int | None = None
    max_bars_page_size: int = 10_000
    rate_limit_per_minute: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "symbols", tuple(dict.fromkeys(s.strip().upper() for s in self.symbols))
        )
        object.__setattr__(self, "pacing", Pacing(self.pacing))
        if not self.symbols:
            raise ValueError("the emulator needs at least one symbol")
        if not self.api_key or not self.secret_key:
            raise ValueError("the emulator needs an API key and a secret key")
        if self.starting_cash <= 0:
            raise ValueError("starting_cash must be positive")
        if self.speed <= 0:
            raise ValueError("speed must be positive (session minutes per second)")
        if self.ack_timeout_s <= 0:
            raise ValueError("ack_timeout_s must be positive")
        if self.min_minute_s < 0:
            raise ValueError("min_minute_s must be >= 0")
        if self.first_minute < 0 or (self.minute_count is not None and self.minute_count < 1):
            raise ValueError("first_minute must be >= 0 and minute_count >= 1")
        if not 1 <= self.max_bars_page_size <= 10_000:
            raise ValueError("max_bars_page_size must be within [1, 10000]")
        if self.rate_limit_per_minute is not None and self.rate_limit_per_minute < 1:
            raise ValueError("rate_limit_per_minute must be at least 1 (None turns it off)")

    def resolved_bar_source(self) -> BarSource:
        return self.bar_source if self.bar_source is not None else synthetic_bar_source(self.seed)

    def effective_fill_model(self) -> FillModelConfig:
        if self.faults.max_participation is None:
            return self.fill_model
        return dataclasses.replace(self.fill_model, max_participation=self.faults.max_participation)
