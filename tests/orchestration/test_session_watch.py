"""A live session watched in Dagster while it runs: the engine's log in the run's log, a
status line every N session minutes, and observations of trading_ledger carrying equity."""

from __future__ import annotations

import logging
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import Engine

from orchestration.definitions import build_definitions
from orchestration.trading import TRADING_LEDGER, engine_log_to_run
from tests.support.models import register_champion
from trading_runtime.config import load_settings
from trading_runtime.store.registry import ModelRegistry

REPLAY_DAY = "2026-11-25"


def _messages(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    return [entry.user_message for entry in instance.all_logs(run_id) if entry.user_message]


@pytest.mark.slow
def test_a_live_run_shows_status_lines_and_charts_equity_on_the_ledger(
    platform_env: Path,
    engine: Engine,
    dagster_instance: dg.DagsterInstance,
    capfd: pytest.CaptureFixture[str],
) -> None:
    champion = register_champion(ModelRegistry(engine))
    defs = build_definitions(load_settings())
    result = defs.resolve_job_def("live_trading").execute_in_process(
        instance=dagster_instance,
        run_config={"session_date": REPLAY_DAY, "status_every_minutes": 60},
    )
    assert result.success
    session_id = result.output_for_node("trade_session")["session_id"]
    messages = _messages(dagster_instance, result.run_id)

    # The engine's own log reaches the run (the emulator line comes from the runner's logger).
    assert any(
        m.startswith("trading_runtime.engine.broker_connection: emulator replaying")
        for m in messages
    )
    status = [m for m in messages if m.startswith("session status")]
    assert len(status) >= 3, messages  # 390 minutes: several every-60-minute lines and a final
    assert status[-1].startswith("session status (final): ")
    for line in status:
        for key in ("equity=$", "pnl=", "positions=", "orders=", "fills=", "latency_p50="):
            assert key in line, line
        assert f"session={session_id}" in line and f"model={champion}" in line, line

    observations = [
        event.asset_observation_data.asset_observation
        for event in result.all_events
        if event.event_type is dg.DagsterEventType.ASSET_OBSERVATION
    ]
    assert len(observations) == len(status)
    assert {o.asset_key for o in observations} == {TRADING_LEDGER.key}
    minutes = [o.metadata["minutes_processed"].value for o in observations]
    assert minutes == sorted(minutes) and minutes[0] >= 60
    for observation in observations:
        assert observation.metadata["equity_usd"].value > 0
        assert observation.metadata["session_id"].value == session_id
    # The final observation's equity is the session's recorded ending equity.
    [materialization] = result.get_asset_materialization_events()
    ending = materialization.materialization.metadata["ending_equity_usd"].value
    assert observations[-1].metadata["final"].value is True
    assert observations[-1].metadata["equity_usd"].value == pytest.approx(ending, abs=0.01)
    # The ledger's Plots tab reads the observations back from the instance.
    stored = dagster_instance.fetch_observations(TRADING_LEDGER.key, limit=100).records
    assert len(stored) == len(observations)
    # The process's console: no line per Dagster event, no raw engine warnings.
    console = capfd.readouterr()
    assert " - DEBUG - " not in console.err + console.out
    assert "still unresolved;" not in console.err + console.out


def test_runtime_log_reaches_the_run_log_above_debug() -> None:
    runtime = logging.getLogger("trading_runtime.engine.live")
    seen: list[str] = []

    @dg.op
    def trade(context) -> None:  # type: ignore[no-untyped-def]
        with engine_log_to_run(context):
            runtime.info("model %s loaded", 4)
            runtime.warning("stream %s reconnected", "bars")
            runtime.debug("not forwarded")

    @dg.job
    def job() -> None:
        trade()

    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance)
        seen = _messages(instance, result.run_id)
    assert result.success
    assert "trading_runtime.engine.live: model 4 loaded" in seen
    assert "trading_runtime.engine.live: stream bars reconnected" in seen
    assert not any("not forwarded" in m for m in seen)
    assert logging.getLogger("trading_runtime").propagate  # restored after the block
