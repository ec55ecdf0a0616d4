"""With no URL configured, an embedded PostgreSQL is started, prepared and left running."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import psycopg2
import pytest
from sqlalchemy import text

from trading_runtime.config import Settings
from trading_runtime.store.db import (
    create_engine_for,
    current_revision,
    prepare_database,
    resolve_database_url,
    stop_embedded,
)


@pytest.fixture
def embedded_settings(tmp_path: Path) -> Iterator[Settings]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, EMBEDDED_POSTGRES_DIR=tmp_path / "data" / "postgres"
    )
    try:
        yield settings
    finally:
        stop_embedded(settings)


def test_the_embedded_server_hosts_trading_and_dagster_databases(
    embedded_settings: Settings,
) -> None:
    urls = prepare_database(embedded_settings)
    assert urls.embedded
    assert (urls.trading.database, urls.dagster.database) == ("trading", "dagster")
    assert current_revision(urls.trading) == "0002"

    engine = create_engine_for(urls.trading)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM model_versions")).scalar() == 0
    finally:
        engine.dispose()
    # Dagster connects with psycopg2, through the URL it would read from the environment.
    dagster_dsn = urls.dagster.set(drivername="postgresql").render_as_string(hide_password=False)
    with closing(psycopg2.connect(dagster_dsn)) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        assert cursor.fetchone() == ("dagster",)


def test_resolving_again_attaches_and_a_stopped_server_is_started_again(
    embedded_settings: Settings,
) -> None:
    first = resolve_database_url(embedded_settings)
    again = resolve_database_url(embedded_settings)  # attaches, does not re-initialise
    assert again.trading == first.trading
    assert stop_embedded(embedded_settings) is True
    assert stop_embedded(embedded_settings) is False  # already stopped

    restarted = resolve_database_url(embedded_settings)
    engine = create_engine_for(restarted.trading)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT current_database()")).scalar() == "trading"
    finally:
        engine.dispose()
