from __future__ import annotations

import pytest

from trading_runtime.config import (
    LIVE_TRADING_CONFIRMATION,
    ConfigurationError,
    Settings,
    load_settings,
)
from trading_runtime.domain import TradingMode


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for key in (
        "ALPACA_API_KEY",
        "ALPACA_SECRET_KEY",
        "TRADING_MODE",
        "DATABASE_URL",
        "SYMBOLS",
        "DB_HOST",
        "DB_NAME",
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env file


def test_sim_without_keys_and_paper_with_keys() -> None:
    assert Settings().mode is TradingMode.SIM
    assert Settings(ALPACA_API_KEY="k", ALPACA_SECRET_KEY="s").mode is TradingMode.PAPER


def test_live_needs_keys_and_the_explicit_confirmation() -> None:
    with pytest.raises(ConfigurationError, match="needs ALPACA_API_KEY"):
        load_settings(TRADING_MODE="live")
    with pytest.raises(ConfigurationError, match="LIVE_TRADING_CONFIRMATION"):
        load_settings(TRADING_MODE="live", ALPACA_API_KEY="k", ALPACA_SECRET_KEY="s")
    settings = load_settings(
        TRADING_MODE="live",
        ALPACA_API_KEY="k",
        ALPACA_SECRET_KEY="s",
        LIVE_TRADING_CONFIRMATION=LIVE_TRADING_CONFIRMATION,
    )
    assert settings.mode is TradingMode.LIVE


def test_secrets_never_show_in_repr_or_dumps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPACA_API_KEY", "key-id-123")
    monkeypatch.setenv("ALPACA_SECRET_KEY", "very-secret-456")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:db-password-789@h/db")
    settings = Settings()
    text = repr(settings) + str(settings.model_dump()) + settings.model_dump_json()
    for secret in ("very-secret-456", "db-password-789", "key-id-123"):
        assert secret not in text


def test_symbols_are_parsed_from_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYMBOLS", "aapl, msft,SPY")
    settings = Settings()
    assert settings.symbols == ["AAPL", "MSFT", "SPY"]
    assert settings.traded_symbols == ["AAPL", "MSFT"]
    assert settings.universe == ["SPY", "AAPL", "MSFT"]


def test_seed_database_keys_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_HOST", "db.internal")
    monkeypatch.setenv("DB_NAME", "trading")
    monkeypatch.setenv("DB_USER", "bot")
    monkeypatch.setenv("DB_PASSWORD", "p@ss")
    assert (
        Settings().database_url_from_parts()
        == "postgresql+psycopg://bot:p%40ss@db.internal:5432/trading"
    )


def test_unknown_keyword_settings_are_errors() -> None:
    with pytest.raises(ConfigurationError):
        load_settings(NOT_A_SETTING=1)
