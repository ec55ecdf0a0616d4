"""Running the Alpaca emulator in tests, and consuming its market-data stream in lockstep.

    with running_emulator(pacing=Pacing.MANUAL) as server:
        client = trading_client(server)
        ...
        server.advance(1)   # replay one minute

The default session is a short slice (10 minutes from 10:00 New York) of a regular trading
day over three symbols, so a whole replay takes well under a second.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.trading.client import TradingClient

from trading_runtime.adapters.alpaca.config import AlpacaEndpoints
from trading_runtime.sim import EmulatorConfig, EmulatorServer, Pacing

SESSION_DATE = dt.date(2026, 3, 2)  # a Monday, regular hours
SYMBOLS = ("SPY", "AAPL", "MSFT")
API_KEY = "test-key"
SECRET_KEY = "test-secret"


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
