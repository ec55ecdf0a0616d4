"""The ``trading-platform`` commands. Each is a thin call into ``jobs``, ``views`` or a module's
own entry point; errors the user can fix end as one line with a hint (exit 2), a failed run
as one line naming its cause (exit 1), and a traceback is shown only with ``--debug``."""

import datetime as dt
import os
import sys
import warnings
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.text import Text

from orchestration.cli.errors import EXIT_USER_ERROR, UserError, as_user_error
from orchestration.cli.typos import typo_warnings

if TYPE_CHECKING:
    from orchestration.cli.jobs import Platform

console = Console(soft_wrap=True)
if not console.is_terminal:  # logs and pipes: tables as wide as they need
    console.width = 160
errors = Console(stderr=True, soft_wrap=True)
app = typer.Typer(
    name="trading-platform",
    help="Data, models and live trading on Dagster: run the cycle, inspect what happened.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The platform's PostgreSQL.", no_args_is_help=True)
app.add_typer(db_app, name="db")
_state = {"debug": False}

Day = Annotated[str, typer.Option(help="YYYY-MM-DD")]


@app.callback()
def _options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    _state["debug"] = debug
    for warning in typo_warnings(os.environ):
        errors.print(Text.assemble(("warning: ", "yellow"), warning), soft_wrap=True)


def _day(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UserError(f"{option} {text!r} is not a date", "write it as YYYY-MM-DD") from None


def _sessions(start: dt.date, end: dt.date) -> list[dt.date]:
    from trading_runtime.marketdata import calendar

    if end < start:
        raise UserError(f"--to {end} is before --from {start}", "swap the two dates")
    days = calendar.sessions_between(start, end)
    if not days:
        raise UserError(f"no NYSE session between {start} and {end}", "widen the range")
    return days


def _check_window(days: int) -> None:
    """Refuse a training window too short for the default walk-forward before anything runs
    (the defaults ``model_candidate``'s run config takes)."""
    from trading_runtime.modeling.walkforward import WalkForwardConfig

    shortfall = WalkForwardConfig().shortfall(days)
    if shortfall:
        raise UserError(f"--days {days}: {shortfall}", "give --days a larger window")


def _platform() -> "Platform":
    from orchestration.cli.jobs import open_platform

    return open_platform(console)


@app.command()
def demo(
    days: Annotated[int, typer.Option(help="Sessions of history.", min=1)] = 60,
    symbols: Annotated[
        str | None, typer.Option(help="Comma-separated symbols instead of SYMBOLS.")
    ] = None,
) -> None:
    """Run the whole cycle on the embedded defaults: ingest, train, promote, trade, report."""
    _check_window(days)
    if symbols:
        os.environ["SYMBOLS"] = symbols
    from orchestration.cli.demo import demo as run_demo
    from orchestration.cli.demo import start_platform

    platform = _platform()
    try:
        start_platform(platform, storage_is_local=platform.description.startswith("embedded"))
        run_demo(platform, days)
    finally:
        platform.close()


@app.command()
def dev(port: Annotated[int, typer.Option(help="Port of the UI.")] = 3000) -> None:
    """Start the Dagster UI and daemon on the platform's storage (one per instance)."""
    from orchestration import environment
    from orchestration.cli.demo import start_platform
    from orchestration.cli.dev import acquire_dev_lock, check_port_free, exec_dagster_dev

    lock = acquire_dev_lock(environment.DEV_LOCK, port)
    check_port_free(port)
    platform = _platform()
    try:
        start_platform(platform, storage_is_local=platform.description.startswith("embedded"))
        console.print(platform.description, highlight=False)
    finally:
        platform.close()
    exec_dagster_dev(port, environment.WORKSPACE, lock)


@app.command()
def ingest(
    start: Annotated[str, typer.Option("--from", help="First session, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last session, YYYY-MM-DD.")],
) -> None:
    """Materialize historical_bars and feature_table for a range of sessions."""
    from orchestration.cli import jobs

    days = _sessions(_day(start, "--from"), _day(end, "--to"))
    platform = _platform()
    try:
        jobs.ingest(platform, days)
    finally:
        platform.close()


@app.command()
def train(
    days: Annotated[int, typer.Option(help="Sessions in the training window.", min=1)] = 60,
    end: Annotated[str | None, typer.Option(help="Last session of the window.")] = None,
) -> None:
    """Train and evaluate a candidate (the promote_model sensor decides on it)."""
    from orchestration.cli import jobs
    from orchestration.cli.views import model_report

    _check_window(days)
    last = _day(end, "--end") if end else None
    platform = _platform()
    try:
        trained = jobs.train(platform, days, last)
        if trained.reused:
            console.print(
                f"model {trained.model_version_id} was trained from the same recipe, code and "
                "data already: reused, not retrained",
                highlight=False,
            )
        console.print(model_report(platform.engine, trained.model_version_id))
    finally:
        platform.close()


@app.command()
def backtest(
    day: Annotated[str | None, typer.Option(help="One session, YYYY-MM-DD.")] = None,
    start: Annotated[str | None, typer.Option("--from", help="First session.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last session.")] = None,
    model: Annotated[int | None, typer.Option(help="Model version (default: champion).")] = None,
) -> None:
    """Backtest a model over stored sessions through the live strategy and risk code."""
    from orchestration.cli import jobs

    if (day and (start or end)) or (not day and not (start and end)):
        raise UserError("give either --day or both --from and --to", "e.g. --day 2026-11-27")
    days = (
        _sessions(_day(day, "--day"), _day(day, "--day"))
        if day
        else _sessions(_day(start or "", "--from"), _day(end or "", "--to"))
    )
    platform = _platform()
    try:
        model_id, result = jobs.backtest(platform, days, model)
    finally:
        platform.close()
    m = result.metrics
    console.print(
        f"model {model_id}, {days[0]} .. {days[-1]}: return {m['total_return']:+.2%} vs "
        f"benchmark {m['benchmark_return']:+.2%}; max drawdown {m['max_drawdown']:.2%}; "
        f"{int(m['orders'])} orders",
        highlight=False,
    )


@app.command()
def promote(
    model_version_id: Annotated[int, typer.Argument(metavar="MODEL_ID")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail).")],
) -> None:
    """Make a model version the champion by hand (audited)."""
    from orchestration.cli import jobs

    platform = _platform()
    try:
        jobs.promote(platform, model_version_id, reason)
    finally:
        platform.close()
    console.print(f"model {model_version_id} is the champion")


@app.command()
def rollback(reason: Annotated[str, typer.Option(help="Why (kept in the audit trail).")]) -> None:
    """Re-promote the champion's predecessor (audited)."""
    from orchestration.cli import jobs

    platform = _platform()
    try:
        model_id = jobs.rollback(platform, reason)
    finally:
        platform.close()
    console.print(f"model {model_id} is the champion again")


@app.command()
def sessions(limit: Annotated[int, typer.Option(help="How many.", min=1)] = 20) -> None:
    """List the most recent trading sessions."""
    from orchestration.cli.views import sessions_table
    from trading_runtime.store.reads import LedgerReader

    platform = _platform()
    try:
        console.print(sessions_table(LedgerReader(platform.engine).recent_sessions(limit)))
    finally:
        platform.close()


@app.command()
def trades(session_id: Annotated[int, typer.Argument(metavar="SESSION")]) -> None:
    """List the fills of a session."""
    from orchestration.cli.views import trades_table
    from trading_runtime.store.reads import LedgerReader

    platform = _platform()
    try:
        console.print(trades_table(LedgerReader(platform.engine).session_summary(session_id)))
    finally:
        platform.close()


@app.command()
def report(
    target: Annotated[str, typer.Argument(metavar="SESSION|MODEL")],
    open_: Annotated[bool, typer.Option("--open", help="Open it in the browser.")] = False,
) -> None:
    """Summarise a session (12, session:12) or a model (model:3, champion)."""
    from orchestration.cli import views

    parsed = views.ReportTarget.parse(target)
    platform = _platform()
    try:
        views.show_report(console, platform.engine, parsed)
        if open_:
            opened = views.open_report(
                platform.engine, parsed, platform.settings.data_root, "http://127.0.0.1:3000"
            )
            console.print(f"opened {opened}", highlight=False)
    finally:
        platform.close()


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def sim(context: typer.Context) -> None:
    """The Alpaca-compatible emulator (python -m trading_runtime.sim; --help for options)."""
    from trading_runtime.sim.__main__ import main as sim_main

    sim_main(list(context.args))


@db_app.command("migrate")
def db_migrate() -> None:
    """Start the embedded server if needed and upgrade the schema."""
    from trading_runtime.store.__main__ import main as store_main

    raise typer.Exit(store_main(["migrate"]))


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL server."""
    from trading_runtime.store.__main__ import main as store_main

    raise typer.Exit(store_main(["stop-embedded"]))


def main(argv: list[str] | None = None) -> int:
    """Run a command; returns the exit status."""
    import click
    import dagster as dg

    # Dagster flags beta parameters (backfill policies, sensor owners) on every load; they
    # say nothing to someone running a command.
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    _state["debug"] = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        result = app(args=argv, prog_name="trading-platform", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except click.exceptions.ClickException as error:
        error.show()
        return error.exit_code
    except click.exceptions.Abort:
        return 130
    except KeyboardInterrupt:
        errors.print("interrupted")
        return 130
    except Exception as error:
        if _state["debug"]:
            errors.print_exception()
        user_error = as_user_error(error)
        if user_error is None:
            _error_line(
                f"unexpected {type(error).__name__}: {' '.join(str(error).split())} "
                "(rerun with --debug for the traceback)"
            )
            return 1
        _error_line(str(user_error))
        return user_error.exit_code or EXIT_USER_ERROR


def _error_line(message: str) -> None:
    errors.print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True)
