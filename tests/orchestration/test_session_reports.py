"""The day's ``live_session_report`` from a ledger with several sim replays and a paper
session: each session counted once, replays apart from the paper account, typed metadata,
inline tables and a tearsheet per session; and the lineage live_trading -> trading_ledger ->
live_session_report."""

from __future__ import annotations

import webbrowser
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import Engine

from orchestration.cli import main
from orchestration.definitions import defs
from orchestration.report_metadata import INLINE_MARKDOWN_LIMIT
from orchestration.resources import DatabaseResource, LakeResource
from orchestration.trading import TRADING_LEDGER, live_session_report
from tests.support import store_builders as b
from tests.unit.reports.builders import page_figures
from trading_runtime.domain import (
    AccountSnapshot,
    Action,
    OrderSide,
    SessionStatus,
    TradingMode,
)
from trading_runtime.store.operations import (
    EndSession,
    RecordAccount,
    RecordDecisions,
    RecordOrderSubmitted,
    RecordOrderUpdate,
)
from trading_runtime.store.writes import LedgerRepository

START = Decimal("100000")


def record_session(
    engine: Engine, mode: TradingMode, account_id: str, minute: int, gain: str
) -> int:
    """A session that bought 10 AAPL at 100.05 and sold them ``gain`` dollars higher."""
    session_id = b.open_session(
        engine, b.identity(account_id, b.DAY, mode), started_at=b.at(minute)
    )
    repository = LedgerRepository(engine)
    sell_price = str(Decimal("100.05") + Decimal(gain) / 10)
    buy = b.intent(f"s{session_id}-b", qty="10", limit_price="100.10", minute=minute + 1)
    sell = b.intent(
        f"s{session_id}-s", side=OrderSide.SELL, qty="10", limit_price=None, minute=minute + 5
    )
    end = START + Decimal(gain)
    for operation in (
        RecordAccount(session_id, AccountSnapshot(START, START, START, b.at(minute))),
        RecordDecisions(session_id, [b.decision(minute=minute + 1, price=100.0, order=buy)]),
        RecordOrderSubmitted(session_id, buy, b.snapshot(buy), None, b.at(minute + 1)),
        RecordOrderUpdate(
            session_id,
            b.fill_update(buy, f"x{session_id}b", "10", "100.05", "10", "100.05", b.at(minute + 2)),
            None,
        ),
        RecordDecisions(
            session_id,
            [
                b.decision(
                    minute=minute + 5, action=Action.SELL, price=float(sell_price), order=sell
                )
            ],
        ),
        RecordOrderSubmitted(session_id, sell, b.snapshot(sell), None, b.at(minute + 5)),
        RecordOrderUpdate(
            session_id,
            b.fill_update(
                sell, f"x{session_id}s", "10", sell_price, "10", sell_price, b.at(minute + 6)
            ),
            None,
        ),
        RecordAccount(session_id, AccountSnapshot(end, end, end, b.at(minute + 10))),
        EndSession(session_id, SessionStatus.COMPLETED, b.at(minute + 10), end),
    ):
        repository.apply(operation)
    return session_id


def test_the_days_report_counts_each_session_once_and_keeps_replays_apart(
    platform_env: Path, engine: Engine
) -> None:
    replays = [
        record_session(engine, TradingMode.SIM, f"sim-{i}", 20 * i, gain)
        for i, gain in enumerate(("100", "140", "120"))
    ]
    paper = record_session(engine, TradingMode.PAPER, "paper-1", 70, "50")
    lake = platform_env / "lake"

    result = dg.materialize(
        [live_session_report],
        partition_key=b.DAY.isoformat(),
        # DATA_ROOT relative to the working directory (the test's folder), as by default.
        resources={"database": DatabaseResource(), "lake": LakeResource(data_root="lake")},
    )

    [event] = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    values = {key: value.value for key, value in metadata.items()}
    assert (values["sessions"], values["sim_replays"], values["paper_sessions"]) == (4, 3, 1)
    assert values["live_sessions"] == 0 and "live_pnl_usd" not in values
    assert values["paper_pnl_usd"] == 50.0  # the paper account alone: replays never add in
    assert values["paper_return_pct"] == 0.05
    assert (values["paper_round_trips"], values["paper_fills"]) == (1, 2)
    assert values["sim_latest_session_id"] == replays[-1]
    assert values["sim_latest_pnl_usd"] == 120.0
    assert values["sim_mean_pnl_usd"] == 120.0  # (100 + 140 + 120) / 3
    # Bought 0.05 above a decision at 100, sold at the decision price: $0.50 on $2,050.50.
    assert values["paper_slippage_bps"] == 2.44
    assert isinstance(metadata["paper_pnl_usd"], dg.FloatMetadataValue)
    assert isinstance(metadata["sessions"], dg.IntMetadataValue)

    summary = values["summary"]
    assert len(summary) < INLINE_MARKDOWN_LIMIT  # shown on the asset page, not in a modal
    assert "| paper (1 session) | +$50.00 | +0.05% | 1 | 2.4 bps |" in summary
    assert f"sim: latest replay (session {replays[-1]}) | +$120.00" in summary
    assert "sim: 3 replays, mean (range) | +$120.00 (+$100.00 to +$140.00)" in summary

    sim_table = metadata["sim_replay_table"].value
    assert [r.data["session"] for r in sim_table.records] == replays
    assert [r.data["PnL"] for r in sim_table.records] == ["+$100.00", "+$140.00", "+$120.00"]
    [paper_row] = metadata["paper_session_table"].value.records
    assert paper_row.data["session"] == paper
    assert paper_row.data["tearsheet"] == f"sessions/date={b.DAY}/session-{paper}-paper.html"

    latest = Path(values["tearsheet"])
    assert isinstance(metadata["tearsheet"], dg.PathMetadataValue)
    # An absolute path in the UI: copyable from anywhere.
    assert latest == lake / "reports" / "sessions" / f"date={b.DAY}" / f"session-{paper}-paper.html"
    for session_id, mode in [*((r, "sim") for r in replays), (paper, "paper")]:
        page = (latest.parent / f"session-{session_id}-{mode}.html").read_text()
        assert {"equity", "trades-AAPL", "slippage"} <= set(page_figures(page))


def test_a_day_without_sessions_says_so(platform_env: Path, engine: Engine) -> None:
    result = dg.materialize(
        [live_session_report],
        partition_key=b.DAY.isoformat(),
        resources={
            "database": DatabaseResource(),
            "lake": LakeResource(data_root=str(platform_env / "lake")),
        },
    )
    [event] = result.get_asset_materialization_events()
    values = {k: v.value for k, v in event.materialization.metadata.items()}
    assert values["sessions"] == 0 and values["summary"] == "No session traded this day."
    assert "tearsheet" not in values


def test_the_report_reads_the_ledger_the_live_job_writes() -> None:
    graph = defs.resolve_asset_graph()
    report = graph.get(dg.AssetKey("live_session_report"))
    assert report.parent_keys == {TRADING_LEDGER.key}
    ledger = graph.get(TRADING_LEDGER.key)
    assert not ledger.is_materializable  # written by live_trading runs, never by "Materialize"


def test_report_open_writes_the_session_tearsheet_and_opens_it(
    cli_env: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    session_id = record_session(engine, TradingMode.SIM, "sim-cli", 0, "25")
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", opened.append)

    assert main(["report", str(session_id), "--open"]) == 0

    rows = [" ".join(line.strip("│ ").split()) for line in capsys.readouterr().out.splitlines()]
    assert "PnL │ +$25.00" in rows
    assert "round trips │ 1 closed, 0 open" in rows
    expected = cli_env / "lake" / "reports" / "sessions" / f"date={b.DAY}"
    tearsheet = expected / f"session-{session_id}-sim.html"
    assert opened == [tearsheet.as_uri()]
    assert {"equity", "trades-AAPL"} <= set(page_figures(tearsheet.read_text()))


def test_a_tearsheet_that_cannot_be_written_leaves_the_report_whole(
    platform_env: Path, engine: Engine, capfd: pytest.CaptureFixture[str]
) -> None:
    session_id = record_session(engine, TradingMode.PAPER, "paper-1", 0, "10")
    blocked = platform_env / "not-a-folder"
    blocked.write_text("a file where the reports folder would go")

    result = dg.materialize(
        [live_session_report],
        partition_key=b.DAY.isoformat(),
        resources={"database": DatabaseResource(), "lake": LakeResource(data_root=str(blocked))},
    )

    [event] = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert metadata["paper_pnl_usd"].value == 10.0
    assert "tearsheet" not in metadata
    [row] = metadata["paper_session_table"].value.records
    assert (row.data["session"], row.data["tearsheet"]) == (session_id, "")
    assert f"tearsheet of session {session_id} not written" in capfd.readouterr().err
