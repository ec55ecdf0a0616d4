"""The process environment Dagster needs: instance home, Postgres storage URL, local folders.

``prepare()`` resolves the database exactly as every platform process does (starting the
embedded PostgreSQL when no URL is configured), applies our migrations, and exports the
variables ``dagster.yaml`` reads. The Dagster URL carries the password because Dagster reads
it from the environment; it is never printed.

Dagster's home (``DAGSTER_HOME``) is ``.data/dagster/home``, so what Dagster and its UI write
there (``.nux/``, ``.telemetry/``, schedules and history) stays out of the repository; the
repository's ``dagster.yaml`` is the source of truth and is copied there on every start.
"""

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from trading_runtime.config import Settings
from trading_runtime.store.db import DatabaseUrls, prepare_database

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / ".data"
DAGSTER_DIR = DATA_DIR / "dagster"
DAGSTER_HOME = DAGSTER_DIR / "home"
DEV_LOCK = DAGSTER_DIR / "dev.lock"
WORKSPACE = ROOT / "workspace.yaml"


@dataclass(frozen=True)
class PreparedEnvironment:
    urls: DatabaseUrls
    variables: dict[str, str]

    def describe(self) -> str:
        return self.urls.describe()


def prepare(settings: Settings) -> PreparedEnvironment:
    urls = prepare_database(settings)
    variables = {
        "DAGSTER_HOME": str(DAGSTER_HOME),
        "DAGSTER_POSTGRES_URL": urls.dagster_url_with_password(),
        "DAGSTER_STORAGE_DIR": str(DAGSTER_DIR / "storage"),
        "DAGSTER_COMPUTE_LOG_DIR": str(DAGSTER_DIR / "logs"),
    }
    for key in ("DAGSTER_HOME", "DAGSTER_STORAGE_DIR", "DAGSTER_COMPUTE_LOG_DIR"):
        Path(variables[key]).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / "dagster.yaml", DAGSTER_HOME / "dagster.yaml")
    os.environ.update(variables)
    return PreparedEnvironment(urls, variables)
