"""Running the Alpaca emulator in tests, and consuming its market-data stream in lockstep.

    with running_emulator(pacing=Pacing.MANUAL) as server:
        client = trading_client(server)
        ...
        server.advance(1)   # replay one minute

The default session is a short slice (10 minutes from 10:00 New York) of a regular trading
day over three symbols, so a whole replay takes well under a second. Protocol tests count
bars, so the emulator replays the dense synthetic market (a bar every minute for every
symbol, :func:`dense_market`); the sparse default market is exercised by the engine tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.trading.client import TradingClient

from trading_runtime.adapters.alpaca.config import AlpacaEndpoints
from trading_runtime.marketdata.synthetic import SyntheticMarket, SyntheticMarketParameters
from trading_runtime.sim import EmulatorConfig, EmulatorServer, Pacing

SESSION_DATE = dt.date(2026, 3, 2)  # a Monday, regular hours
SYMBOLS = ("SPY", "AAPL", "MSFT")
API_KEY = "test-key"
SECRET_KEY = "test-secret"


def dense_market(seed: int = 7) -> SyntheticMarket:
    return SyntheticMarket(seed, parameters=SyntheticMarketParameters.dense())


def dense_bars(day: dt.date, symbols: list[str]) -> pd.DataFrame:
    return dense_market().day_bars(day, symbols)


def emulator_config(**overrides: Any) -> EmulatorConfig:
    settings: dict[str, Any] = {
        "session_date": SESSION_DATE,
        "symbols": SYMBOLS,
        "api_key": API_KEY,
        "secret_key": SECRET_KEY,
        "pacing": Pacing.MANUAL,
        "first_minute": 30,
        "minute_count": 10,
        "ack_timeout_s": 10.0,
        "bar_source": dense_bars,
    }
    settings.update(overrides)
    return EmulatorConfig(**settings)


@contextmanager
def running_emulator(**overrides: Any) -> Iterator[EmulatorServer]:
    with EmulatorServer(emulator_config(**overrides)) as server:
        yield server


def trading_client(server: EmulatorServer, secret_key: str = SECRET_KEY) -> TradingClient:
    return TradingClient(API_KEY, secret_key, url_override=server.base_url)


def data_client(server: EmulatorServer) -> StockHistoricalDataClient:
    return StockHistoricalDataClient(API_KEY, SECRET_KEY, url_override=server.base_url)


def endpoints(server: EmulatorServer) -> AlpacaEndpoints:
    return AlpacaEndpoints.for_emulator(server.base_url, API_KEY, SECRET_KEY)
