"""Database fixtures shared by the whole suite.

    postgres_server_url  (session) a PostgreSQL server to create test databases on:
                         ``TEST_DATABASE_URL`` if set (CI: the local server), else an
                         embedded server in a temporary directory, deleted at the end.
                         Started only when a test asks for a database.
    database_url         (function) a fresh, uniquely named database with the trading schema
                         migrated, as a ``postgresql+psycopg://`` URL string; dropped after
                         the test. Cloned from a migrated template by file copy (about
                         50 ms, half the cost of creating and migrating), so every test
                         starts from an empty schema.
    empty_database_url   (function) the same without the schema (migration tests).
    engine               (function) a SQLAlchemy engine on ``database_url``.

Names carry a random suffix, so concurrent test runs can share one server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import closing

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Engine
from sqlalchemy.engine import URL, make_url

from trading_runtime.store.db import create_engine_for, migrate, start_embedded, trading_url

_RUN_TOKEN = uuid.uuid4().hex[:8]


def _admin(server_url: URL) -> psycopg.Connection:
    return psycopg.connect(
        server_url.set(drivername="postgresql").render_as_string(hide_password=False),
        autocommit=True,
    )


def _create_database(server_url: URL, name: str, template: str | None = None) -> None:
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        # FILE_COPY (PostgreSQL >= 15) beats the default WAL_LOG for small databases.
        statement = sql.SQL("{} TEMPLATE {} STRATEGY FILE_COPY").format(
            statement, sql.Identifier(template)
        )
    with closing(_admin(server_url)) as connection:
        connection.execute(statement)


def _drop_database(server_url: URL, name: str) -> None:
    with closing(_admin(server_url)) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def postgres_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[URL]:
    """URL of a server's maintenance database (the one test databases are created from)."""
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        yield trading_url(configured)
        return
    server = start_embedded(tmp_path_factory.mktemp("pgdata"), cleanup_mode="delete")
    try:
        yield make_url(server.get_uri(database="postgres", driver="psycopg"))
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def migrated_template(postgres_server_url: URL) -> Iterator[str]:
    """Name of a database holding the migrated, empty schema (cloned per test)."""
    name = f"tp_template_{_RUN_TOKEN}"
    _create_database(postgres_server_url, name)
    try:
        migrate(postgres_server_url.set(database=name))
        yield name
    finally:
        _drop_database(postgres_server_url, name)


@pytest.fixture
def database_url(postgres_server_url: URL, migrated_template: str) -> Iterator[str]:
    name = f"tp_test_{_RUN_TOKEN}_{uuid.uuid4().hex[:8]}"
    _create_database(postgres_server_url, name, template=migrated_template)
    try:
        yield postgres_server_url.set(database=name).render_as_string(hide_password=False)
    finally:
        _drop_database(postgres_server_url, name)


@pytest.fixture
def empty_database_url(postgres_server_url: URL) -> Iterator[str]:
    name = f"tp_empty_{_RUN_TOKEN}_{uuid.uuid4().hex[:8]}"
    _create_database(postgres_server_url, name)
    try:
        yield postgres_server_url.set(database=name).render_as_string(hide_password=False)
    finally:
        _drop_database(postgres_server_url, name)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine_for(database_url)
    try:
        yield engine
    finally:
        engine.dispose()
