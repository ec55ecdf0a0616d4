"""Terminating the live_trading run: the loop shuts down cleanly, the ledger says
``interrupted``, and Dagster records the run as canceled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from tests.support.eventually import eventually
from tests.support.models import register_champion
from trading_runtime.store.registry import ModelRegistry

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_terminating_the_run_stops_the_session_cleanly(
    platform_env: Path, engine: Engine, empty_database_url: str, tmp_path: Path
) -> None:
    register_champion(ModelRegistry(engine))
    home = tmp_path / "dagster_home"
    home.mkdir()
    dagster_url = make_url(empty_database_url).set(drivername="postgresql+psycopg2")
    url = dagster_url.render_as_string(hide_password=False)
    (home / "dagster.yaml").write_text(
        f"storage:\n  postgres:\n    postgres_url: '{url}'\ntelemetry:\n  enabled: false\n"
    )
    (tmp_path / "run.yaml").write_text("session_date: '2026-11-25'\nreplay_speed: 30\n")
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    dagster = str(Path(sys.executable).parent / "dagster")
    process = subprocess.Popen(
        [
            dagster,
            "job",
            "execute",
            "-m",
            "orchestration.definitions",
            "-j",
            "live_trading",
            "-c",
            "run.yaml",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        def trading() -> bool:
            with engine.connect() as connection:
                return connection.execute(text("select count(*) from decisions")).scalar_one() > 100

        eventually(trading, timeout_s=90, interval_s=0.2)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            [run] = instance.get_runs()
            instance.report_run_canceling(run)  # what the UI's Terminate button records first
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert "shut down cleanly" in output, output[-3000:]
    with engine.connect() as connection:
        status = connection.execute(text("select status from trading_sessions")).scalar_one()
        stopped = connection.execute(
            text("select count(*) from engine_events where kind = 'session_stopped'")
        ).scalar_one()
    assert status == "interrupted"
    assert stopped == 1
    with dg.DagsterInstance.from_config(str(home)) as instance:
        [run] = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.CANCELED
