"""``python -m orchestration.cli {demo,dev}``: the two ways the platform is run from a checkout.

``demo`` runs the whole cycle through Dagster on the embedded defaults (no keys, no network,
no database server): ingest and featurize a window of sessions of the synthetic market, train
and evaluate a candidate, let the ``promote_model`` sensor's logic promote it, replay the next,
unseen session through the live engine against the Alpaca emulator, materialize the day's
report, and print a summary. ``dev`` starts the Dagster UI and daemon on the same storage.
"""

import argparse
import datetime as dt
import functools
import logging
import os
import shutil
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

from trading_runtime.config import load_settings
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.universe import DEMO_SYMBOLS

logger = logging.getLogger("demo")
QUIET = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def _step(title: str) -> Callable[[Callable[[], Any]], Any]:
    def run(function: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        print(f"==> {title}", flush=True)
        result = function()
        print(f"    done in {time.perf_counter() - started:.1f} s", flush=True)
        return result

    return run


def demo(window_days: int, symbols: list[str] | None) -> int:
    if symbols:
        os.environ["SYMBOLS"] = ",".join(symbols)
    settings = load_settings()
    from orchestration import environment

    prepared = _step("Postgres (embedded unless DATABASE_URL is set) and migrations")(
        lambda: environment.prepare(settings)
    )
    print(f"    {prepared.describe()}")

    import dagster as dg

    from orchestration.definitions import defs
    from orchestration.partitions import partition_key
    from orchestration.promotion import promote_model
    from orchestration.resources import DatabaseResource

    instance = dg.DagsterInstance.get()
    replay_day = calendar.last_completed_session(dt.datetime.now(dt.UTC))
    days = calendar.previous_sessions(replay_day, window_days)
    print(f"    universe: {len(settings.traded_symbols)} symbols + {settings.reference_symbol}")
    print(f"    history: {days[0]} .. {days[-1]} ({len(days)} sessions); replay: {replay_day}")

    def ingest() -> dg.ExecuteInProcessResult:
        return defs.resolve_job_def("ingest").execute_in_process(
            instance=instance,
            run_config=QUIET,
            tags={
                "dagster/asset_partition_range_start": partition_key(days[0]),
                "dagster/asset_partition_range_end": partition_key(days[-1]),
            },
        )

    _require(_step("Dagster: historical_bars + feature_table (one run over the range)")(ingest))

    def train() -> dg.ExecuteInProcessResult:
        return defs.resolve_job_def("train_and_evaluate").execute_in_process(
            instance=instance,
            run_config={
                **QUIET,
                "ops": {
                    "model_candidate": {
                        "config": {"window_days": window_days, "end_date": str(days[-1])}
                    }
                },
            },
        )

    _require(_step("Dagster: model_candidate + model_evaluation")(train))

    def promote() -> list[dg.ExecuteInProcessResult]:
        with dg.build_sensor_context(
            instance=instance, resources={"database": DatabaseResource()}
        ) as context:
            result = promote_model(context)
        requests = result.run_requests if isinstance(result, dg.SensorResult) else []
        runs = []
        for request in requests or []:
            runs.append(
                defs.resolve_job_def("promote_model_job").execute_in_process(
                    instance=instance,
                    run_config={**QUIET, **request.run_config},
                    tags=dict(request.tags),
                )
            )
        return runs

    for run in _step("promote_model sensor -> promotion run")(promote):
        _require(run)
        outcome = run.output_for_node("apply_promotion_gates")
        if outcome["action"] == "hold":
            title = "manual_promotion (the candidate is held for review: implausible results)"
            _require(_step(title)(functools.partial(_promote_by_hand, defs, instance, outcome)))

    from trading_runtime.store.db import create_engine_for, resolve_database_url
    from trading_runtime.store.registry import ModelRegistry

    engine = create_engine_for(resolve_database_url(settings).trading)
    try:
        has_champion = ModelRegistry(engine).champion_id() is not None
    finally:
        engine.dispose()
    if not has_champion:
        _print_summary(settings, days, replay_day, None)
        print(
            "No champion: the live session is not run (the live loop refuses to start without one)."
        )
        return 0

    def trade() -> dg.ExecuteInProcessResult:
        return defs.resolve_job_def("live_trading").execute_in_process(
            instance=instance,
            run_config={
                **QUIET,
                "ops": {"trade_session": {"config": {"session_date": str(replay_day)}}},
            },
        )

    live = _step(f"Dagster: live_trading, sim mode, replaying {replay_day} against the emulator")(
        trade
    )
    _require(live)

    def report() -> dg.ExecuteInProcessResult:
        return defs.resolve_job_def("live_session_report_job").execute_in_process(
            instance=instance, run_config=QUIET, partition_key=partition_key(replay_day)
        )

    _require(_step("Dagster: live_session_report")(report))
    _print_summary(settings, days, replay_day, live.output_for_node("trade_session"))
    return 0


def _promote_by_hand(defs: Any, instance: Any, outcome: dict[str, Any]) -> Any:
    """The demo's market plants an edge on purpose, so its results are implausibly good and
    the candidate is held for review; the demo then does what an operator would do after
    reading the caveat: a manual promotion with the reason on record."""
    reason = (
        "demo on the synthetic market, whose planted edge is implausibly strong by design: "
        + outcome["reason"]
    )
    print(f"    {reason}")
    return defs.resolve_job_def("manual_promotion").execute_in_process(
        instance=instance,
        run_config={
            **QUIET,
            "ops": {
                "promote_manually": {
                    "config": {
                        "model_version_id": outcome["model_version_id"],
                        "reason": reason,
                        "actor": "make demo",
                    }
                }
            },
        },
    )


def _require(result: Any) -> None:
    if not result.success:
        raise SystemExit(f"run {result.run_id} failed; see the logs above")


def _print_summary(
    settings: Any, days: list[dt.date], replay_day: dt.date, session: dict[str, Any] | None
) -> None:
    from orchestration.model import candidate_summary
    from trading_runtime.reporting import session_metrics
    from trading_runtime.store.db import create_engine_for, resolve_database_url
    from trading_runtime.store.ledger import LedgerRepository
    from trading_runtime.store.registry import ModelRegistry

    database = create_engine_for(resolve_database_url(settings).trading)
    try:
        registry = ModelRegistry(database)
        model_rows = candidate_summary(registry)
        champion_id = registry.champion_id()
        if session is not None:
            ledger = LedgerRepository(database)
            summary = ledger.session_summary(session["session_id"])
            metrics = session_metrics(ledger.daily_report(replay_day), session["session_id"])
    finally:
        database.dispose()
    rows = [
        (
            "Data",
            f"{days[0]} .. {days[-1]}: {len(days)} sessions, "
            f"{len(settings.traded_symbols)} symbols + {settings.reference_symbol}, "
            f"synthetic seed {settings.synthetic_seed}",
        ),
    ]
    rows += model_rows
    if session is not None:
        info = summary.session
        starting = info.summary.get("starting_equity") if info.summary else None
        open_symbols = ", ".join(metrics["open_symbols"]) or "none"
        rows += [
            (
                "Session",
                f"{replay_day} sim with champion v{champion_id}, session {info.id} "
                f"{info.status}: {summary.decision_count} decisions, {summary.order_count} "
                f"orders, {summary.fill_count} fills in Postgres",
            ),
            (
                "",
                f"equity {starting} -> {info.ending_equity}; realized PnL "
                f"{metrics['realized_pnl']:+.2f}; slippage "
                f"{metrics['mean_slippage_bps']:.2f} bps; open positions: {open_symbols}",
            ),
        ]
    rule = "-" * 78
    print(rule)
    for title, text in rows:
        print(f"{title:<10}{text}")
    print(rule)
    print(
        "Open the UI: make dev, then http://127.0.0.1:3000 (launch live_trading from the Launchpad)"
    )


def dev(port: int) -> int:
    settings = load_settings()
    from orchestration import environment

    prepared = environment.prepare(settings)
    print(prepared.describe(), flush=True)
    dagster = shutil.which("dagster", path=os.path.dirname(sys.executable)) or "dagster"
    arguments = [
        dagster,
        "dev",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-w",
        str(environment.ROOT / "workspace.yaml"),
    ]
    os.execv(dagster, arguments)
    return 0  # not reached


def _quiet_library_warnings() -> None:
    import dagster as dg

    # Dagster flags beta parameters (backfill policies, sensor owners) on every load; they
    # say nothing to a user running the demo.
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help="run the whole cycle on the embedded defaults")
    demo_parser.add_argument(
        "--days", type=int, default=60, help="sessions of history (default 60)"
    )
    demo_parser.add_argument(
        "--symbols",
        default=None,
        help="comma-separated symbols to trade instead of SYMBOLS (default: the Nasdaq-100); "
        f"e.g. {','.join(DEMO_SYMBOLS[:4])} for a quicker run",
    )
    dev_parser = commands.add_parser("dev", help="Dagster UI and daemon on 127.0.0.1")
    dev_parser.add_argument("--port", type=int, default=3000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    _quiet_library_warnings()
    if args.command == "demo":
        symbols = (
            [s.strip().upper() for s in args.symbols.split(",") if s.strip()]
            if args.symbols
            else None
        )
        return demo(args.days, symbols)
    return dev(args.port)


if __name__ == "__main__":
    raise SystemExit(main())
