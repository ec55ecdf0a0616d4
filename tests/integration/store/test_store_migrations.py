"""Alembic history: upgrade, downgrade, upgrade again; ORM metadata equals the migrated schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL

from trading_runtime.store.db import (
    ALEMBIC_VERSION_TABLE,
    create_engine_for,
    current_revision,
    downgrade,
    migrate,
)
from trading_runtime.store.models import TRADING_TABLES, Base, include_trading_objects


def schema_differences(url: URL | str) -> list[object]:
    engine = create_engine_for(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "compare_server_default": True,
                    "include_name": include_trading_objects,
                },
            )
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def tables(url: URL | str) -> set[str]:
    engine = create_engine_for(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade_on_an_empty_database(empty_database_url: str) -> None:
    assert current_revision(empty_database_url) is None
    migrate(empty_database_url)
    assert current_revision(empty_database_url) == "0002"
    assert tables(empty_database_url) == {*TRADING_TABLES, ALEMBIC_VERSION_TABLE}

    downgrade(empty_database_url, "base")
    assert current_revision(empty_database_url) is None
    assert tables(empty_database_url) == {ALEMBIC_VERSION_TABLE}

    migrate(empty_database_url)
    migrate(empty_database_url)  # already at head: nothing to do
    assert current_revision(empty_database_url) == "0002"
    assert schema_differences(empty_database_url) == []


def test_orm_metadata_matches_the_migrated_schema(database_url: str) -> None:
    assert schema_differences(database_url) == []


def test_our_history_lives_beside_dagsters_alembic_version(empty_database_url: str) -> None:
    # Dagster keeps its own alembic_version (and tables) in a shared database.
    engine = create_engine_for(empty_database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE alembic_version (version_num varchar(32))"))
            connection.execute(text("INSERT INTO alembic_version VALUES ('dagster-rev')"))
            connection.execute(text("CREATE TABLE runs (id serial primary key)"))
        migrate(empty_database_url)
        with engine.connect() as connection:
            dagster_revision = connection.execute(
                text("SELECT version_num FROM alembic_version")
            ).scalar_one()
        assert dagster_revision == "dagster-rev"
        assert current_revision(empty_database_url) == "0002"
        # Foreign tables are not part of our comparison, so no drop is proposed for them.
        assert schema_differences(empty_database_url) == []
        downgrade(empty_database_url, "base")
        assert {"alembic_version", "runs"} <= tables(empty_database_url)
    finally:
        engine.dispose()
