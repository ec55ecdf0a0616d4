"""Alembic environment of the trading schema.

Connection, in order: a connection handed over by ``trading_runtime.store.db.migrate``
(``config.attributes["connection"]``), a URL handed over the same way
(``config.attributes["url"]``), else the platform settings (``DATABASE_URL``, ``DB_*`` or the
embedded server). Only our tables are considered: Dagster may keep its own tables (and its
own ``alembic_version``) in the same database.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from trading_runtime.store.db import (
    ALEMBIC_VERSION_TABLE,
    MIGRATION_LOCK_KEY,
    create_engine_for,
    resolve_database_url,
)
from trading_runtime.store.models import Base, include_trading_objects

config = context.config
target_metadata = Base.metadata


def _configure(**options: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        version_table=ALEMBIC_VERSION_TABLE,
        include_name=include_trading_objects,
        compare_type=True,
        compare_server_default=True,
        **options,
    )


def _url() -> Any:
    url = config.attributes.get("url")
    if url is not None:
        return url
    from trading_runtime.config import load_settings

    return resolve_database_url(load_settings()).trading


def _run(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        # Serialise concurrent migrators (two processes starting at once).
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        context.run_migrations()


def run_migrations_offline() -> None:
    """Emit SQL instead of executing it (``alembic upgrade head --sql``)."""
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine_for(_url(), pool_size=1, max_overflow=0)
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
