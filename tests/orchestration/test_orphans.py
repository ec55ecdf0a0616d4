"""A run whose process was killed (``kill -9`` of ``make demo``) is marked failed when the
platform next starts; a run whose process is alive is left alone."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from rich.console import Console
from sqlalchemy.engine import make_url

from orchestration.cli.demo import start_platform
from orchestration.cli.jobs import Platform
from orchestration.cli.orphans import orphaned_runs
from trading_runtime.config import load_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def dagster_home(empty_database_url: str, tmp_path: Path) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    url = make_url(empty_database_url).set(drivername="postgresql+psycopg2")
    (home / "dagster.yaml").write_text(
        f"storage:\n  postgres:\n    postgres_url: '{url.render_as_string(hide_password=False)}'\n"
        "telemetry:\n  enabled: false\n"
    )
    return home


@pytest.fixture
def blocking_run(dagster_home: Path) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.blocking_run"],
        cwd=ROOT,
        env={**os.environ, "DAGSTER_HOME": str(dagster_home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # blocks until the op runs
        assert line.startswith("started "), line
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def _platform(instance: dg.DagsterInstance, output: io.StringIO) -> Platform:
    return Platform(
        settings=load_settings(),
        instance=instance,
        defs=dg.Definitions(),
        console=Console(file=output, width=200),
        description="embedded",
    )


@pytest.mark.slow
def test_a_killed_run_is_marked_failed_at_the_next_start(
    platform_env, dagster_home: Path, blocking_run: subprocess.Popen[str]
) -> None:
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        [run] = instance.get_runs()
        assert run.status is dg.DagsterRunStatus.STARTED
        assert orphaned_runs(instance, storage_is_local=True) == []  # alive: left alone

        blocking_run.send_signal(signal.SIGKILL)
        blocking_run.wait(timeout=30)
        assert instance.get_run_by_id(run.run_id).status is dg.DagsterRunStatus.STARTED

        output = io.StringIO()
        start_platform(_platform(instance, output), storage_is_local=True)

        assert instance.get_run_by_id(run.run_id).status is dg.DagsterRunStatus.FAILURE
        assert f"marked run {run.run_id} (blocking) failed" in output.getvalue()
        failure = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE
        ).records[0]
        assert "is gone" in (failure.event_log_entry.dagster_event.message or "")


@pytest.mark.slow
def test_runs_of_unknown_hosts_on_shared_storage_are_left_alone(
    platform_env, dagster_home: Path, blocking_run: subprocess.Popen[str]
) -> None:
    blocking_run.send_signal(signal.SIGKILL)
    blocking_run.wait(timeout=30)
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        assert orphaned_runs(instance, storage_is_local=False) == []
        assert len(orphaned_runs(instance, storage_is_local=True)) == 1
