"""Every settings error path, with sentinel secrets around: none of them is ever printed."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from orchestration.trading import LiveTradingConfig
from trading_runtime.config import ConfigurationError, Settings, load_settings
from trading_runtime.store.db import resolve_database_url

API_KEY = "PKZX7QW3VJ9TB2MLR4ND"
SECRET_KEY = "sKq9Vz2XwT7pLm4RbN8cYh3Jf6Dg1Ha5Ue0Io"
DB_PASSWORD = "dbPw7Hq2Zx9Lk4Vm"
SENTINELS = (API_KEY, SECRET_KEY, DB_PASSWORD)


def leaked(text: str) -> list[str]:
    """Pieces of a sentinel (six characters or more) found in ``text``: a truncated repr
    (``'PKZX7...'``) leaks part of a secret too."""
    return [
        sentinel[i : i + 6]
        for sentinel in SENTINELS
        for i in range(len(sentinel) - 5)
        if sentinel[i : i + 6] in text
    ]


@pytest.fixture(autouse=True)
def secrets_in_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env file
    for key in ("TRADING_MODE", "SYMBOLS", "DB_HOST", "DB_NAME", "LIVE_TRADING_CONFIRMATION"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("ALPACA_API_KEY", API_KEY)
    monkeypatch.setenv("ALPACA_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("DATABASE_URL", f"postgresql://trader:{DB_PASSWORD}@db.internal/trading")
    monkeypatch.setenv("DB_PASSWORD", DB_PASSWORD)


def only_one_key(monkeypatch: pytest.MonkeyPatch) -> Callable[[], object]:
    monkeypatch.delenv("ALPACA_API_KEY")
    return lambda: load_settings()


ERROR_PATHS: dict[str, Callable[[pytest.MonkeyPatch], Callable[[], object]]] = {
    "live without the confirmation": lambda mp: lambda: load_settings(TRADING_MODE="live"),
    "live without confirmation, from the environment": lambda mp: (
        mp.setenv("TRADING_MODE", "live") or (lambda: load_settings())
    ),
    "empty SYMBOLS": lambda mp: lambda: load_settings(SYMBOLS=" , "),
    "only the secret key set": only_one_key,
    "only the API key set": lambda mp: mp.delenv("ALPACA_SECRET_KEY") or (lambda: load_settings()),
    "paper without keys": lambda mp: (
        mp.delenv("ALPACA_API_KEY")
        or mp.delenv("ALPACA_SECRET_KEY")
        or (lambda: load_settings(TRADING_MODE="paper"))
    ),
    "alpaca market data without keys": lambda mp: (
        mp.delenv("ALPACA_API_KEY")
        or mp.delenv("ALPACA_SECRET_KEY")
        or (lambda: load_settings(MARKET_DATA_SOURCE="alpaca"))
    ),
    "a secret of the wrong type": lambda mp: (
        lambda: load_settings(ALPACA_SECRET_KEY={"value": SECRET_KEY})
    ),
    "a bad number": lambda mp: lambda: load_settings(BUY_PROBABILITY_THRESHOLD="lots"),
    "a number out of range": lambda mp: lambda: load_settings(MAX_POSITION_FRACTION="2"),
    "a bad port": lambda mp: lambda: load_settings(DB_PORT="five"),
    "an unknown mode": lambda mp: lambda: load_settings(TRADING_MODE="yolo"),
    "a bad date": lambda mp: lambda: load_settings(HISTORY_START="yesterday"),
    "an unknown setting": lambda mp: lambda: load_settings(NOT_A_SETTING=SECRET_KEY),
    "several errors at once": lambda mp: (
        lambda: load_settings(TRADING_MODE="live", DB_PORT="x", SYMBOLS="")
    ),
    "the settings class called directly": lambda mp: lambda: Settings(TRADING_MODE="live"),
    "a database URL that is not Postgres": lambda mp: (
        lambda: resolve_database_url(
            load_settings(DATABASE_URL=f"mysql://trader:{DB_PASSWORD}@db/trading")
        )
    ),
    "a database URL that does not parse": lambda mp: (
        lambda: resolve_database_url(
            load_settings(DATABASE_URL=f"postgresql://trader:{DB_PASSWORD}@db:port/trading")
        )
    ),
    "launchpad config of the wrong type": lambda mp: (
        lambda: LiveTradingConfig(
            symbols=SECRET_KEY  # type: ignore[arg-type]
        )
    ),
    "launchpad overrides that fail as settings": lambda mp: (
        lambda: load_settings(**LiveTradingConfig(mode="live", symbols=[]).overrides())
    ),
}


@pytest.mark.parametrize("path", list(ERROR_PATHS))
def test_settings_errors_never_show_a_secret(monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    attempt = ERROR_PATHS[path](monkeypatch)
    with pytest.raises((ConfigurationError, ValidationError)) as raised:
        attempt()
    error = raised.value
    text = "".join(traceback.format_exception(error)) + repr(error) + str(error)
    assert leaked(text) == [], f"{path}: a secret is in the error text"
    assert str(error).strip()  # the error still says something


def test_errors_still_name_the_key_and_the_reason() -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_settings(BUY_PROBABILITY_THRESHOLD="lots", TRADING_MODE="live")
    message = str(raised.value)
    assert "BUY_PROBABILITY_THRESHOLD: Input should be a valid number" in message
    with pytest.raises(ConfigurationError, match="LIVE_TRADING_CONFIRMATION"):
        load_settings(TRADING_MODE="live")
