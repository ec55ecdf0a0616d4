"""The process environment Dagster needs: instance home, Postgres storage URL, local folders.

``prepare()`` resolves the database exactly as every platform process does (starting the
embedded PostgreSQL when no URL is configured), applies our migrations, and exports the
variables ``dagster.yaml`` reads. The Dagster URL carries the password because Dagster reads
it from the environment; it is never printed.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from trading_runtime.config import Settings
from trading_runtime.store.db import DatabaseUrls, prepare_database

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class PreparedEnvironment:
    urls: DatabaseUrls
    variables: dict[str, str]

    def describe(self) -> str:
        return self.urls.describe()


def prepare(settings: Settings) -> PreparedEnvironment:
    urls = prepare_database(settings)
    data_dir = (ROOT / ".data").resolve()
    variables = {
        "DAGSTER_HOME": str(ROOT),
        "DAGSTER_POSTGRES_URL": urls.dagster_url_with_password(),
        "DAGSTER_STORAGE_DIR": str(data_dir / "dagster" / "storage"),
        "DAGSTER_COMPUTE_LOG_DIR": str(data_dir / "dagster" / "logs"),
    }
    for key in ("DAGSTER_STORAGE_DIR", "DAGSTER_COMPUTE_LOG_DIR"):
        Path(variables[key]).mkdir(parents=True, exist_ok=True)
    os.environ.update(variables)
    return PreparedEnvironment(urls, variables)
