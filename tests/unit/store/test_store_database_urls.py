"""Where the database is: URL resolution, driver normalisation, passwords never shown."""

from __future__ import annotations

from typing import Any

import pytest

from trading_runtime.config import ConfigurationError, Settings
from trading_runtime.store.__main__ import main as store_cli
from trading_runtime.store.db import redact_url, resolve_database_url

PASSWORD = "s3cr%t@pass"
ENCODED = "s3cr%25t%40pass"  # the same password, URL-encoded


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "scheme", ["postgres", "postgresql", "postgresql+psycopg2", "postgresql+psycopg"]
)
def test_any_postgres_scheme_is_normalised_per_consumer(scheme: str) -> None:
    urls = resolve_database_url(
        settings(DATABASE_URL=f"{scheme}://trader:pw@db.example:6543/ledger")
    )
    assert urls.trading.drivername == "postgresql+psycopg"
    assert urls.dagster.drivername == "postgresql+psycopg2"
    # With one URL, Dagster shares the database.
    for url in (urls.trading, urls.dagster):
        assert (url.host, url.port, url.database, url.username) == (
            "db.example",
            6543,
            "ledger",
            "trader",
        )
    assert not urls.embedded


def test_seed_db_keys_build_the_url() -> None:
    urls = resolve_database_url(
        settings(DB_HOST="pg", DB_PORT=5433, DB_NAME="bot", DB_USER="u", DB_PASSWORD=PASSWORD)
    )
    assert urls.trading_url_with_password() == f"postgresql+psycopg://u:{ENCODED}@pg:5433/bot"
    assert urls.dagster.password == PASSWORD


def test_dagster_database_url_overrides_only_dagster() -> None:
    urls = resolve_database_url(
        settings(
            DATABASE_URL="postgresql://u:pw@pg/trading",
            DAGSTER_DATABASE_URL="postgresql://d:pw2@other/dagster",
        )
    )
    assert urls.trading.database == "trading"
    assert (urls.dagster.host, urls.dagster.database, urls.dagster.drivername) == (
        "other",
        "dagster",
        "postgresql+psycopg2",
    )


def test_passwords_are_hidden_wherever_urls_are_shown() -> None:
    urls = resolve_database_url(settings(DATABASE_URL=f"postgresql://u:{ENCODED}@pg/trading"))
    shown = [str(urls.trading), repr(urls.trading), repr(urls), urls.describe()]
    for text in shown:
        assert PASSWORD not in text and ENCODED not in text
    assert "***" in urls.describe()
    assert redact_url(f"postgresql://u:{ENCODED}@pg/x") == "postgresql://u:***@pg/x"
    assert PASSWORD not in redact_url(f"not a url://u:{PASSWORD}@pg/x")


@pytest.mark.parametrize(
    "url", ["mysql://u:topsecret@h/db", "sqlite:///x.db", "::not-a-url:topsecret@"]
)
def test_non_postgres_urls_are_refused_without_echoing_the_password(url: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        resolve_database_url(settings(DATABASE_URL=url))
    assert "topsecret" not in str(raised.value)


def test_cli_url_hides_the_password_and_the_export_line_carries_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql://u:{ENCODED}@pg:5432/trading")
    assert store_cli(["url"]) == 0
    shown = capsys.readouterr().out
    assert "postgresql+psycopg://u:***@pg:5432/trading" in shown
    assert PASSWORD not in shown and ENCODED not in shown

    assert store_cli(["url", "--export-dagster-env"]) == 0
    exported = capsys.readouterr().out.strip()
    assert (
        exported == f"export DAGSTER_POSTGRES_URL=postgresql+psycopg2://u:{ENCODED}@pg:5432/trading"
    )


def test_cli_reports_configuration_errors_with_exit_status_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://u:topsecret@h/db")
    assert store_cli(["url"]) == 2
    assert "topsecret" not in capsys.readouterr().err
