"""Environment for Dagster tests: settings come from the process environment, as in a
deployment, so each test points it at its own database, lake and spool."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy.engine import make_url

from orchestration import environment

SYMBOLS = "AAPL,MSFT,NVDA,AMZN,META"


@pytest.fixture
def platform_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Path:
    for key in (
        "ALPACA_API_KEY",
        "ALPACA_SECRET_KEY",
        "TRADING_MODE",
        "DB_HOST",
        "DAGSTER_DATABASE_URL",
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DATA_ROOT", str(tmp_path / "lake"))
    monkeypatch.setenv("SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("SYMBOLS", SYMBOLS)
    monkeypatch.setenv("MARKET_DATA_SOURCE", "synthetic")
    return tmp_path


@pytest.fixture
def cli_env(platform_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Dagster's home and the dev lock under the test's folder; environment restored after."""
    dagster_dir = platform_env / "dagster"
    monkeypatch.setattr(environment, "DAGSTER_DIR", dagster_dir)
    monkeypatch.setattr(environment, "DAGSTER_HOME", dagster_dir / "home")
    monkeypatch.setattr(environment, "DEV_LOCK", dagster_dir / "dev.lock")
    for key in (
        "DAGSTER_HOME",
        "DAGSTER_POSTGRES_URL",
        "DAGSTER_STORAGE_DIR",
        "DAGSTER_COMPUTE_LOG_DIR",
    ):
        monkeypatch.setenv(key, "unset")  # prepare() overwrites them; monkeypatch restores
    return platform_env


@pytest.fixture
def dagster_instance(empty_database_url: str, tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    """A Dagster instance on Postgres storage (dagster-postgres, psycopg2), as deployed."""
    (tmp_path / "dagster").mkdir()
    url = make_url(empty_database_url).set(drivername="postgresql+psycopg2")
    overrides = {
        "storage": {"postgres": {"postgres_url": url.render_as_string(hide_password=False)}}
    }
    with dg.DagsterInstance.local_temp(
        tempdir=str(tmp_path / "dagster"), overrides=overrides
    ) as instance:
        yield instance
