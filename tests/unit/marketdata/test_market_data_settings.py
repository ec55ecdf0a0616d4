"""The market-data settings: synthetic predictability, ingestion pacing and coverage thresholds."""

from __future__ import annotations

import pytest

from trading_runtime.config import ConfigurationError, load_settings
from trading_runtime.marketdata.sources import SyntheticBarSource


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for key in ("ALPACA_API_KEY", "ALPACA_SECRET_KEY", "TRADING_MODE", "SYMBOLS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env file


def test_defaults_are_alpacas_limits_and_todays_synthetic_market() -> None:
    settings = load_settings()
    assert settings.synthetic_predictability == 1.0
    assert settings.alpaca_requests_per_minute == 200
    assert (settings.coverage_warn_below, settings.coverage_exclude_below) == (0.2, 0.05)


def test_predictability_reaches_the_synthetic_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTHETIC_PREDICTABILITY", "0")
    settings = load_settings()
    source = SyntheticBarSource(settings.synthetic_seed, "SPY", settings.synthetic_predictability)
    assert source.name == "synthetic(seed=7, predictability=0)"


@pytest.mark.parametrize(
    "overrides",
    [
        {"SYNTHETIC_PREDICTABILITY": 1.5},
        {"COVERAGE_WARN_BELOW": 0.1, "COVERAGE_EXCLUDE_BELOW": 0.2},
        {"ALPACA_REQUESTS_PER_MINUTE": 0},
    ],
)
def test_inconsistent_market_data_settings_are_refused(overrides: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError):
        load_settings(**overrides)
