"""The whole cycle through Dagster on a small synthetic market: bars and features for a range
of sessions, a candidate walked forward, refit and evaluated, the promote_model sensor's
request applied (the default market's planted edge is implausibly strong, so the candidate
is held for review and promoted by hand with a reason), a live session replayed against the
emulator, and the day's report, with Postgres storage for both Dagster and the platform."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import create_engine, text

from orchestration.definitions import build_definitions
from orchestration.partitions import partition_key
from orchestration.promotion import promote_model
from orchestration.report_metadata import INLINE_MARKDOWN_LIMIT
from orchestration.resources import DatabaseResource
from orchestration.trading import TRADING_LEDGER
from tests.unit.reports.builders import page_figures
from trading_runtime.config import load_settings
from trading_runtime.features.spec import FEATURE_SPEC
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.storage import ParquetLake
from trading_runtime.marketdata.universe import DEMO_SYMBOLS
from trading_runtime.reports.session import read_session, session_report
from trading_runtime.store.reads import LedgerReader

REPLAY_DAY = dt.date(2026, 11, 27)  # an early close: the live session is short
WINDOW = 40


@pytest.mark.slow
def test_assets_promotion_and_a_live_session_end_to_end(
    platform_env,
    dagster_instance: dg.DagsterInstance,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Enough symbols and sessions for the walk-forward gates to have something to judge.
    monkeypatch.setenv("SYMBOLS", ",".join(DEMO_SYMBOLS))
    settings = load_settings()
    defs = build_definitions(settings)
    days = calendar.previous_sessions(REPLAY_DAY, WINDOW)

    ingest = defs.resolve_job_def("ingest").execute_in_process(
        instance=dagster_instance,
        tags={
            "dagster/asset_partition_range_start": partition_key(days[0]),
            "dagster/asset_partition_range_end": partition_key(days[-1]),
        },
    )
    assert ingest.success
    checks = {c.check_name: c.passed for c in ingest.get_asset_check_evaluations()}
    assert {k: v for k, v in checks.items() if k != "bar_coverage"} == {
        "bar_quality": True,
        "feature_parity": True,
        "no_lookahead": True,
    }
    lake = ParquetLake(settings.data_root)
    assert lake.bar_days() == days
    assert all(lake.has_features(day, FEATURE_SPEC.hash) for day in days)
    # The default market is sparse: minutes without a bar are rows of the grid all the same.
    coverage = lake.read_coverage_range(days)
    assert set(coverage["symbol"]) == set(settings.universe)
    assert coverage["coverage"].mean() < 0.99
    features = lake.read_features(days[-1], FEATURE_SPEC.hash)
    assert not features["traded"].all() and features["complete"].any()

    train = defs.resolve_job_def("train_and_evaluate").execute_in_process(
        instance=dagster_instance,
        run_config={
            "ops": {
                "model_candidate": {
                    "config": {
                        "window_days": WINDOW,
                        "folds": 4,
                        "test_days": 5,
                        "validation_days": 3,
                        "n_estimators": 120,
                    }
                }
            }
        },
    )
    assert train.success
    [trained] = [
        e.materialization
        for e in train.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("model_candidate")
    ]
    assert trained.metadata["rows"].value > 10_000  # training rows on the sparse grid
    [evaluated] = [
        e.materialization
        for e in train.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("model_evaluation")
    ]
    model_tearsheet = Path(evaluated.metadata["tearsheet"].value)
    assert model_tearsheet.name == f"model-{trained.metadata['model_version_id'].value}.html"
    assert {"returns", "ic", "calibration", "importance"} <= set(
        page_figures(model_tearsheet.read_text())
    )
    assert len(evaluated.metadata["key_figures"].value.records) >= 10  # a table, shown inline
    checks = {c.check_name: c for c in train.get_asset_check_evaluations()}
    assert checks["evaluation_sanity"].passed
    assert not checks["plausibility"].passed
    assert checks["plausibility"].severity is dg.AssetCheckSeverity.WARN

    with dg.build_sensor_context(
        instance=dagster_instance, resources={"database": DatabaseResource()}
    ) as context:
        sensor_result = promote_model(context)
    assert isinstance(sensor_result, dg.SensorResult)
    [request] = sensor_result.run_requests
    candidate_id = int(request.tags["model_version_id"])
    assert request.run_key == f"model-{candidate_id}"
    promotion = defs.resolve_job_def("promote_model_job").execute_in_process(
        instance=dagster_instance, run_config=request.run_config, tags=dict(request.tags)
    )
    assert promotion.success
    decision = promotion.output_for_node("apply_promotion_gates")
    assert request.tags["expected_outcome"] == decision["action"] == "hold"
    assert [name for name, gate in decision["gates"].items() if not gate["passed"]] == [
        "plausibility",
    ]
    assert decision["gates"]["leak_checks"]["status"] == "passed"
    manual = defs.resolve_job_def("manual_promotion").execute_in_process(
        instance=dagster_instance,
        run_config={
            "ops": {
                "promote_manually": {
                    "config": {"model_version_id": candidate_id, "reason": "planted edge"}
                }
            }
        },
    )
    assert manual.success

    live = defs.resolve_job_def("live_trading").execute_in_process(
        instance=dagster_instance,
        run_config={"session_date": str(REPLAY_DAY), "buy_probability_threshold": 0.55},
    )
    assert live.success
    outcome = live.output_for_node("trade_session")
    [output] = [e for e in live.events_for_node("trade_session") if e.is_successful_output]
    run_metadata = output.step_output_data.metadata
    [ledger_event] = live.get_asset_materialization_events()
    assert ledger_event.asset_key == TRADING_LEDGER.key  # live_trading -> trading_ledger
    assert dagster_instance.get_run_by_id(live.run_id).tags["platform/trading-day"] == str(
        REPLAY_DAY
    )

    report = defs.resolve_job_def("live_session_report_job").execute_in_process(
        instance=dagster_instance, partition_key=partition_key(REPLAY_DAY)
    )
    assert report.success
    [materialization] = report.get_asset_materialization_events()
    report_metadata = materialization.materialization.metadata

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            session = connection.execute(
                text("select status, ending_equity from trading_sessions where id = :id"),
                {"id": outcome["session_id"]},
            ).one()
            champion = connection.execute(
                text("select id from model_versions where status = 'champion'")
            ).scalar_one()
            audit = connection.execute(
                text(
                    "select action, reason, dagster_run_id from model_promotions "
                    "where model_version_id = :id"
                ),
                {"id": candidate_id},
            ).one()
            fills = connection.execute(
                text(
                    "select symbol, sum(case when side = 'buy' then qty else -qty end) "
                    "from fills where session_id = :id group by symbol"
                ),
                {"id": outcome["session_id"]},
            ).all()
            broker = connection.execute(
                text(
                    "select symbol, qty from position_snapshots where session_id = :id and source = 'broker' "
                    "and taken_at = (select max(taken_at) from position_snapshots "
                    "where session_id = :id and source = 'broker')"
                ),
                {"id": outcome["session_id"]},
            ).all()
            orders = connection.execute(
                text("select count(*), count(model_version_id) from orders where session_id = :id"),
                {"id": outcome["session_id"]},
            ).one()
    finally:
        engine.dispose()

    assert session.status == "completed"
    assert champion == candidate_id
    assert audit.action == "manual_promote" and audit.reason == "planted edge"
    assert audit.dagster_run_id == manual.run_id
    assert orders[0] > 0 and orders[0] == orders[1], "every order carries its model version"
    from_fills = {symbol: qty for symbol, qty in fills if qty != 0}
    from_broker = {symbol: qty for symbol, qty in broker if qty != 0}
    assert from_fills == from_broker
    assert Decimal(str(session.ending_equity)) > 0

    # The run's output and the trading_ledger event carry the session's figures and tearsheet.
    assert run_metadata["session_id"].value == outcome["session_id"]
    assert run_metadata["orders"].value == orders[0]
    expected_pnl = float(Decimal(str(session.ending_equity)) - settings.sim_starting_cash)
    assert run_metadata["pnl_usd"].value == pytest.approx(expected_pnl, abs=0.005)
    assert len(run_metadata["key_figures"].value) < INLINE_MARKDOWN_LIMIT
    tearsheet = Path(run_metadata["tearsheet"].value)
    assert "trades-" in tearsheet.read_text() and tearsheet.is_relative_to(settings.data_root)
    ledger_metadata = ledger_event.materialization.metadata
    assert ledger_metadata["tearsheet"] == run_metadata["tearsheet"]

    # The day's report: this one sim replay, with the same tearsheet.
    assert (report_metadata["sessions"].value, report_metadata["sim_replays"].value) == (1, 1)
    assert report_metadata["sim_latest_session_id"].value == outcome["session_id"]
    assert report_metadata["tearsheet"] == run_metadata["tearsheet"]

    # The intraday curve marked from fills and decision prices agrees with the broker's equity
    # wherever the broker reported it (both value positions at the last bar's close).
    engine = create_engine(database_url)
    try:
        report = session_report(read_session(LedgerReader(engine), outcome["session_id"]))
    finally:
        engine.dispose()
    marked = {p.timestamp: p.equity for p in report.equity}
    compared = [
        (marked[a.timestamp], a.equity) for a in report.ledger.account if a.timestamp in marked
    ]
    assert len(compared) >= 2
    for mine, broker in compared:
        assert abs(mine - broker) <= Decimal("0.01"), (mine, broker)
