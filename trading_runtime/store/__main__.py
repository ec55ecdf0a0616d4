"""Database command line: ``python -m trading_runtime.store {migrate|url|stop-embedded}``.

    migrate                   resolve the database (starting the embedded server if no URL
                              is configured) and upgrade our schema to the latest revision
    url                       print where the trading tables and Dagster's storage live,
                              passwords hidden
    url --export-dagster-env  print ``export DAGSTER_POSTGRES_URL='...'`` for a shell or a
                              Makefile to eval. This line CONTAINS THE PASSWORD: Dagster's
                              ``dagster.yaml`` reads the URL from that variable. Eval it,
                              never log it.
    stop-embedded             stop the embedded server (no-op when none runs)

Exit status: 0 on success, 2 on a configuration error, 1 when the database is unavailable.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys

from sqlalchemy.exc import OperationalError

from trading_runtime.config import ConfigurationError, load_settings
from trading_runtime.store.db import (
    DatabaseUnavailableError,
    current_revision,
    migrate,
    redact_url,
    resolve_database_url,
    stop_embedded,
)
from trading_runtime.store.db_errors import describe_error

DAGSTER_URL_VARIABLE = "DAGSTER_POSTGRES_URL"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m trading_runtime.store", description="Trading database tools."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="upgrade the trading schema to the latest revision")
    url_parser = commands.add_parser("url", help="print database URLs (passwords hidden)")
    url_parser.add_argument(
        "--export-dagster-env",
        action="store_true",
        help=f"print `export {DAGSTER_URL_VARIABLE}=...` (password included) for eval",
    )
    commands.add_parser("stop-embedded", help="stop the embedded PostgreSQL server")
    arguments = parser.parse_args(argv)
    # Our own progress at INFO; the embedded server's and Alembic's chatter only if it matters.
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(message)s"
    )
    logging.getLogger("trading_runtime").setLevel(logging.INFO)

    try:
        settings = load_settings()
        if arguments.command == "stop-embedded":
            stopped = stop_embedded(settings)
            print("stopped" if stopped else "not running")
            return 0
        urls = resolve_database_url(settings)
        if arguments.command == "migrate":
            migrate(urls.trading)
            print(f"{redact_url(urls.trading)} at revision {current_revision(urls.trading)}")
            return 0
        if arguments.export_dagster_env:
            value = shlex.quote(urls.dagster_url_with_password())
            print(f"export {DAGSTER_URL_VARIABLE}={value}")
            return 0
        print(f"trading: {redact_url(urls.trading)}")
        print(f"dagster: {redact_url(urls.dagster)}")
        print(f"embedded: {'yes' if urls.embedded else 'no'}")
        return 0
    except ConfigurationError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    except DatabaseUnavailableError as error:
        print(f"database unavailable: {error}", file=sys.stderr)
        return 1
    except OperationalError as error:
        print(f"database unavailable: {describe_error(error)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
