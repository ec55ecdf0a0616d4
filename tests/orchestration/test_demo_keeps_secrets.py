"""A whole demo with sentinel Alpaca keys and a sentinel database password: the sentinels are
found in no console output, no log or storage file, no Dagster event log or run config, and
no table (ours or Dagster's)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
API_KEY = "PKZX7QW3VJ9TB2MLR4ND"
SECRET_KEY = "sKq9Vz2XwT7pLm4RbN8cYh3Jf6Dg1Ha5Ue0Io"
DB_PASSWORD = "dbPw7Hq2Zx9Lk4Vm"
SENTINELS = (API_KEY, SECRET_KEY, DB_PASSWORD)


def found_in(text: str) -> list[str]:
    """Sentinels in ``text``, as they are or hex-encoded (bytea columns print as hex)."""
    lowered = text.lower()
    return [s for s in SENTINELS if s in text or s.encode().hex() in lowered.replace("\\\\x", "")]


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """A new database on the local server (trust auth: any password is accepted)."""
    try:
        admin = psycopg.connect(SERVER, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        pytest.skip(f"no local PostgreSQL server on 127.0.0.1:5432 to run the demo on: {error}")
    name = f"tp_secrets_{uuid.uuid4().hex[:8]}"
    with closing(admin):
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with closing(psycopg.connect(SERVER, autocommit=True)) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def every_table_as_text(database: str) -> dict[str, str]:
    url = SERVER.rsplit("/", 1)[0] + f"/{database}"
    tables: dict[str, str] = {}
    with closing(psycopg.connect(url)) as connection:
        names = connection.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' "
            "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
        for schema, table in names:
            rows = connection.execute(
                sql.SQL("SELECT t::text FROM {}.{} AS t").format(
                    sql.Identifier(schema), sql.Identifier(table)
                )
            ).fetchall()
            tables[f"{schema}.{table}"] = "\n".join(row[0] for row in rows)
    return tables


def files_written_since(folder: Path, started: float) -> Iterator[Path]:
    if folder.exists():
        for path in folder.rglob("*"):
            if path.is_file() and path.stat().st_mtime >= started:
                yield path


@pytest.mark.slow
def test_a_demo_run_with_sentinel_secrets_leaks_none_of_them(
    fresh_database: str, tmp_path: Path
) -> None:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DAGSTER_", "DB_", "ALPACA_", "SYMBOLS", "TRADING_"))
    }
    environment.update(
        TRADING_MODE="sim",
        ALPACA_API_KEY=API_KEY,
        ALPACA_SECRET_KEY=SECRET_KEY,
        DATABASE_URL=f"postgresql://postgres:{DB_PASSWORD}@127.0.0.1:5432/{fresh_database}",
        DATA_ROOT=str(tmp_path / "lake"),
        SPOOL_DIR=str(tmp_path / "spool"),
        EMBEDDED_POSTGRES_DIR=str(tmp_path / "unused-embedded"),
        PYTHONPATH=str(REPOSITORY_ROOT),
    )
    started = time.time() - 1
    demo = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestration.cli",
            "demo",
            "--days",
            "30",
            "--symbols",
            "AAPL,MSFT",
        ],
        cwd=REPOSITORY_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
    )
    console = demo.stdout + demo.stderr
    assert demo.returncode == 0, console[-3000:]
    assert "Demo session" in demo.stdout  # the whole cycle ran, down to the live session

    assert found_in(console) == [], "a secret was printed on the console"
    # Dagster's home, storage and compute logs (under .data/dagster), the lake, the spool.
    for folder in (REPOSITORY_ROOT / ".data" / "dagster", tmp_path):
        for path in files_written_since(folder, started):
            text = path.read_bytes().decode("utf-8", errors="replace")
            assert found_in(text) == [], f"a secret was written to {path}"
    # Our ledger and registry, and Dagster's runs, run configs and event logs (same database).
    tables = every_table_as_text(fresh_database)
    assert {"public.trading_sessions", "public.runs", "public.event_logs"} <= set(tables)
    assert "AAPL" in tables["public.trading_sessions"] and tables["public.event_logs"]
    leaks = {table: found_in(text) for table, text in tables.items() if found_in(text)}
    assert leaks == {}, f"secrets stored in {sorted(leaks)}"
