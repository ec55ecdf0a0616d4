"""``run_session``: the composition root, in process and as a process that gets a signal."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tests.support.eventually import eventually
from tests.support.models import register_champion
from trading_runtime.config import load_settings
from trading_runtime.domain import TradingMode
from trading_runtime.engine.runner import SessionFailed, SessionRequest, run_session
from trading_runtime.store.registry import ModelRegistry

ROOT = Path(__file__).resolve().parents[3]
DAY = dt.date(2026, 11, 27)


@pytest.fixture
def environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str
) -> dict[str, str]:
    values = {
        "DATABASE_URL": database_url,
        "DATA_ROOT": str(tmp_path / "lake"),
        "SPOOL_DIR": str(tmp_path / "spool"),
        "SYMBOLS": "AAPL,MSFT,NVDA",
        "BUY_PROBABILITY_THRESHOLD": "0.5",
    }
    for key in ("ALPACA_API_KEY", "ALPACA_SECRET_KEY", "TRADING_MODE", "DB_HOST"):
        monkeypatch.delenv(key, raising=False)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    return values


@pytest.fixture
def champion(engine: Engine) -> int:
    return register_champion(ModelRegistry(engine))


def test_a_sim_session_runs_to_the_close_and_is_closed_in_the_ledger(
    environment, champion, engine: Engine
) -> None:
    outcome = run_session(load_settings(), SessionRequest(mode=TradingMode.SIM, trading_day=DAY))
    assert outcome.report.status == "completed"
    assert outcome.unwritten_operations == 0
    assert outcome.session_key.startswith("sim-2026-11-27-")
    with engine.connect() as connection:
        row = connection.execute(
            text("select status, ending_equity, ended_at from trading_sessions where id = :id"),
            {"id": outcome.session_id},
        ).one()
    assert row.status == "completed" and row.ending_equity is not None and row.ended_at is not None
    assert outcome.summary["decisions"] == 210 * 3


def test_sigint_stops_the_session_cleanly_and_marks_it_interrupted(
    environment, champion, engine: Engine, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        **environment,
        "SLOW_SESSION_DAY": DAY.isoformat(),
        "SLOW_SESSION_DELAY_S": "0.05",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.slow_session"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def decisions_recorded() -> bool:
            with engine.connect() as connection:
                return connection.execute(text("select count(*) from decisions")).scalar_one() > 60

        eventually(decisions_recorded, timeout_s=60, interval_s=0.1)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 3, stderr[-2000:]
    assert "interrupted session" in stdout
    with engine.connect() as connection:
        status = connection.execute(text("select status from trading_sessions")).scalar_one()
        working = connection.execute(
            text(
                "select count(*) from orders where status in ('new', 'accepted', 'pending_new', 'partially_filled')"
            )
        ).scalar_one()
        minutes = connection.execute(
            text("select count(distinct bar_timestamp) from decisions")
        ).scalar_one()
    assert status == "interrupted"
    assert working == 0
    assert 20 < minutes < 210
    assert not list((tmp_path / "spool").glob("*.jsonl")) or all(
        p.stat().st_size == 0 for p in (tmp_path / "spool").glob("*.jsonl")
    )


def test_a_session_that_cannot_start_is_closed_as_failed(environment, engine: Engine) -> None:
    with pytest.raises(SessionFailed, match="no champion model") as failed:
        run_session(load_settings(), SessionRequest(mode=TradingMode.SIM, trading_day=DAY))
    assert failed.value.outcome.report.status == "failed"
    with engine.connect() as connection:
        status = connection.execute(text("select status from trading_sessions")).scalar_one()
    assert status == "failed"
