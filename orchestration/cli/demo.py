"""``trading-platform demo``: the whole cycle through Dagster on the embedded defaults (no
keys, no network, no database server): ingest and featurize a window of sessions of the
synthetic market (skipped when the lake holds them, checked); train and evaluate a candidate
with walk-forward validation (an identical registered one is reused); let the
``promote_model`` sensor's gates decide (a candidate held as implausible alone is promoted by
hand, with the reason on record; one that failed any other gate never is); replay the next,
unseen session through the live engine against the Alpaca emulator with the champion (the
live step is skipped without one); materialize the day's report, and print a summary."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.table import Table

from orchestration.cli import jobs
from orchestration.cli.orphans import fail_orphaned_runs
from trading_runtime.marketdata import calendar


def start_platform(platform: jobs.Platform, storage_is_local: bool) -> None:
    """What ``demo`` and ``dev`` do first: report and fail runs whose process is gone."""
    for orphan in fail_orphaned_runs(platform.instance, storage_is_local=storage_is_local):
        platform.console.print(
            f"[yellow]marked run {orphan.run_id} ({orphan.job_name}) failed: its process "
            f"(pid {orphan.pid}) is gone[/]",
            highlight=False,
        )


def demo(platform: jobs.Platform, window_days: int) -> None:
    settings = platform.settings
    console = platform.console
    replay_day = calendar.last_completed_session(dt.datetime.now(dt.UTC))
    days = calendar.previous_sessions(replay_day, window_days)
    console.print(f"    {platform.description}", highlight=False)
    console.print(
        f"    universe: {len(settings.traded_symbols)} symbols + {settings.reference_symbol}; "
        f"history: {days[0]} .. {days[-1]} ({len(days)} sessions); replay: {replay_day}",
        highlight=False,
    )
    _ingest_or_reuse(platform, days)
    trained = jobs.train(platform, window_days, days[-1])
    champion_before = _champion_id(platform)
    if trained.reused:
        console.print(
            f"    model {trained.model_version_id}: trained from the same recipe, code and data "
            "already; reused, not retrained",
            highlight=False,
        )
    outcomes = jobs.promote_by_sensor(platform)
    for outcome in outcomes:
        console.print(f"    model {outcome['model_version_id']}: {outcome['action']}")
        if outcome["action"] == "hold":
            _promote_held_candidate(platform, outcome)
    if not outcomes:
        console.print(
            f"    no promotion decision pending: model {trained.model_version_id} is "
            f"{_status(platform, trained.model_version_id)} (not decided on again)",
            highlight=False,
        )
    console.print(_model_summary(platform))
    champion = _champion_id(platform)
    if champion is None:
        console.print(
            "No champion: the live step is skipped, because the live loop refuses to start "
            "without a promoted model. The gates' reasons are above; nothing trades until a "
            "candidate passes them.",
            highlight=False,
        )
        return
    if champion != trained.model_version_id:
        console.print(
            f"No new champion: model {trained.model_version_id} was not promoted (the gates' "
            f"reasons are above). The live step trades the current champion, model {champion}, "
            "unchanged.",
            highlight=False,
        )
    elif champion == champion_before:
        console.print(
            f"Model {champion} is the champion already; the live step trades it.",
            highlight=False,
        )
    session = jobs.live_session(platform, {"session_date": str(replay_day)})
    jobs.daily_report(platform, replay_day)
    console.print(_summary(platform, session))
    console.print(
        "Open the UI: [bold]trading-platform dev[/] (make dev), then http://127.0.0.1:3000; "
        f"this session: [bold]trading-platform report {session['session_id']} --open[/]"
    )


def _ingest_or_reuse(platform: jobs.Platform, days: list[dt.date]) -> None:
    """Ingest unless every session is in the lake already, from the configured source, with
    features of the current feature code whose latest leak checks passed."""
    from orchestration.definitions import market_data_for
    from orchestration.feature_checks import checked_days
    from trading_runtime.features.spec import FEATURE_SPEC
    from trading_runtime.marketdata.storage import ParquetLake

    settings = platform.settings
    lake = ParquetLake(settings.data_root)
    source = market_data_for(settings).bar_source().name
    stored = all(
        lake.has_day(day, settings.universe, source) and lake.has_features(day, FEATURE_SPEC.hash)
        for day in days
    )
    if stored and not checked_days(platform.instance, days).excluded:
        platform.console.print(
            f"    reused: all {len(days)} sessions are in the lake from {source} with features "
            f"{FEATURE_SPEC.hash} whose leak checks passed; not ingested again",
            highlight=False,
        )
        return
    jobs.ingest(platform, days)


def _promote_held_candidate(platform: jobs.Platform, outcome: dict[str, Any]) -> None:
    """The demo's market plants an edge on purpose, so its results are implausibly good and
    the candidate is held for review; the demo then does what an operator would do after
    reading the caveat: a manual promotion with the reason on record. Only a candidate held
    for plausibility alone: one that failed any other gate is never promoted by hand."""
    failed = [name for name, gate in outcome["gates"].items() if gate["status"] == "failed"]
    if failed != ["plausibility"]:
        platform.console.print(
            f"    held, but not for plausibility alone ({', '.join(failed)}): not promoted",
            highlight=False,
        )
        return
    reason = (
        "demo on the synthetic market, whose planted edge is implausibly strong by design: "
        + outcome["reason"]
    )
    platform.console.print(f"    held for review; promoting by hand: {reason}", highlight=False)
    jobs.promote(platform, outcome["model_version_id"], reason, actor="make demo")


def _status(platform: jobs.Platform, model_version_id: int) -> str:
    from trading_runtime.store.registry import ModelRegistry

    return ModelRegistry(platform.engine).get(model_version_id).status.value


def _champion_id(platform: jobs.Platform) -> int | None:
    from trading_runtime.store.registry import ModelRegistry

    return ModelRegistry(platform.engine).champion_id()


def _model_summary(platform: jobs.Platform) -> Table:
    from orchestration.model import candidate_summary
    from trading_runtime.store.registry import ModelRegistry

    table = Table(title="Newest model version", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    for title, text in candidate_summary(ModelRegistry(platform.engine)):
        table.add_row(title, text)
    return table


def _summary(platform: jobs.Platform, session: dict[str, Any]) -> Table:
    from trading_runtime.reports.session import key_figures, read_session, session_report
    from trading_runtime.store.reads import LedgerReader

    report = session_report(read_session(LedgerReader(platform.engine), session["session_id"]))
    info = report.info
    table = Table(title=f"Demo session {info.id}: {info.trading_day} ({info.mode.value})")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("status", info.status.value)
    for name, value in key_figures(report):
        table.add_row(name, value)
    return table
