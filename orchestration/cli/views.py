"""Tables for the read-only commands: ``sessions``, ``trades SESSION``, ``report TARGET``.

``report`` prints a summary from the ledger (a session) or the registry (a model). Its
``--open`` seam is :data:`TEARSHEETS`: a writer registered there for the target's kind
produces an HTML file under ``DATA_ROOT/reports/`` that is opened in the browser (a copy in
the temporary folder when ``DATA_ROOT`` is object storage); without one, ``--open`` opens the
target's page in the Dagster UI. Sessions have the session tearsheet, models the model
tearsheet.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from upath import UPath

from orchestration.cli.errors import UserError
from trading_runtime.reports import format as fmt

ReportKind = Literal["session", "model"]


@dataclass(frozen=True)
class ReportTarget:
    kind: ReportKind
    id: int | None  # None: the current champion (models only)

    @classmethod
    def parse(cls, text: str) -> ReportTarget:
        """``12`` or ``session:12``; ``model:3``; ``champion``."""
        kind, _, value = text.strip().lower().rpartition(":")
        if not kind and value == "champion":
            return cls("model", None)
        kind = kind or "session"
        if kind not in ("session", "model") or not value.isdigit():
            raise UserError(
                f"{text!r} is not a report target",
                "use a session id (12 or session:12), model:ID or champion",
            )
        return cls(kind, int(value))  # type: ignore[arg-type]


def session_tearsheet(engine: Engine, target: ReportTarget, data_root: str) -> UPath:
    """Write the tearsheet of session ``target.id`` from the ledger; returns where."""
    from trading_runtime.reports.session import read_session, session_report
    from trading_runtime.reports.tearsheet import write_session_tearsheet
    from trading_runtime.store.reads import LedgerReader

    assert target.id is not None
    report = session_report(read_session(LedgerReader(engine), target.id))
    return write_session_tearsheet(report, data_root)


def model_tearsheet(engine: Engine, target: ReportTarget, data_root: str) -> UPath:
    """Write the tearsheet of model ``target.id`` (None: the champion) from the registry."""
    from trading_runtime.reports.model_tearsheet import (
        ModelReportError,
        read_model,
        write_model_tearsheet,
    )
    from trading_runtime.store.registry import ModelRegistry

    registry = ModelRegistry(engine)
    model_id = target.id if target.id is not None else registry.champion_id()
    if model_id is None:
        raise UserError("no champion model yet", "train one: `trading-platform train`")
    try:
        model = read_model(registry, model_id)
    except ModelReportError as error:
        raise UserError(str(error), "retrain it: `trading-platform train`") from None
    return write_model_tearsheet(model, data_root)


# Kind -> writer of a self-contained HTML report for one target under DATA_ROOT.
TEARSHEETS: dict[ReportKind, Callable[[Engine, ReportTarget, str], UPath]] = {
    "session": session_tearsheet,
    "model": model_tearsheet,
}


def _time(value: dt.datetime | None) -> str:
    return "-" if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def sessions_table(sessions: list[Any]) -> Table:
    table = Table(title="Trading sessions (newest first)")
    for column in ("id", "day", "mode", "status", "started (UTC)", "start equity", "end equity"):
        table.add_column(column, justify="right" if "equity" in column else "left")
    table.add_column("PnL", justify="right")
    for s in sessions:
        start = s.starting_equity
        pnl = s.ending_equity - start if s.ending_equity is not None and start is not None else None
        table.add_row(
            str(s.id),
            str(s.trading_day),
            s.mode.value,
            s.status,
            _time(s.started_at),
            fmt.money(start),
            fmt.money(s.ending_equity),
            fmt.money(pnl, signed=True),
        )
    return table


def trades_table(summary: Any) -> Table:
    info = summary.session
    table = Table(title=f"Fills of session {info.id} ({info.trading_day}, {info.mode.value})")
    for column in ("time (UTC)", "symbol", "side", "qty", "price", "fee", "model"):
        table.add_column(column, justify="right" if column in ("qty", "price", "fee") else "left")
    for fill in summary.fills:
        table.add_row(
            _time(fill.filled_at),
            fill.symbol,
            fill.side.value,
            fmt.quantity(fill.qty),
            fmt.price(fill.price),
            fmt.money(fill.fee),
            str(fill.model_version_id or "-"),
        )
    return table


def session_report(engine: Engine, session_id: int) -> Table:
    from trading_runtime.reports.session import key_figures, read_session, session_report
    from trading_runtime.store.reads import LedgerReader

    report = session_report(read_session(LedgerReader(engine), session_id))
    info = report.info
    table = Table(title=f"Session {session_id}: {info.trading_day} {info.mode.value}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("status", info.status.value + (f": {info.end_reason}" if info.end_reason else ""))
    table.add_row("symbols", str(len(info.symbols)))
    table.add_row("model version(s)", ", ".join(map(str, report.model_versions)) or "-")
    for name, value in key_figures(report):
        table.add_row(name, value)
    open_symbols = sorted({t.symbol for t in report.trips if t.is_open})
    table.add_row("open at the end", ", ".join(open_symbols) or "none")
    table.add_row("Dagster run", info.dagster_run_id or "-")
    return table


def model_report(engine: Engine, model_version_id: int | None) -> Table:
    """The champion (or ``model_version_id``): walk-forward results, gates, decision, audit."""
    from orchestration.model import candidate_summary
    from trading_runtime.store.registry import ModelRegistry

    registry = ModelRegistry(engine)
    record = registry.champion() if model_version_id is None else registry.get(model_version_id)
    if record is None:
        raise UserError("no champion model yet", "train one: `trading-platform train`")
    table = Table(title=f"Model {record.id} ({record.status.value})", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    for title, text in candidate_summary(registry, record.id):
        table.add_row(title, text)
    for promotion in registry.promotions(record.id):
        table.add_row(f"{promotion.action} by {promotion.actor}", promotion.reason)
    return table


def show_report(console: Console, engine: Engine, target: ReportTarget) -> None:
    if target.kind == "session":
        assert target.id is not None
        console.print(session_report(engine, target.id))
    else:
        console.print(model_report(engine, target.id))


def open_report(engine: Engine, target: ReportTarget, data_root: str, ui_url: str) -> str:
    """Open the target's HTML report (or its page in the Dagster UI); return what was opened."""
    writer = TEARSHEETS.get(target.kind)
    if writer is not None:
        from trading_runtime.reports.location import is_local

        written = writer(engine, target, data_root)
        if is_local(written):
            local = Path(written.path)
        else:  # a browser cannot open object storage: a local copy
            local = Path(tempfile.gettempdir()) / "trading-platform-reports" / written.name
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(written.read_bytes())
        location = local.resolve().as_uri()
    elif target.kind == "session":
        from trading_runtime.store.reads import LedgerReader

        assert target.id is not None
        run_id = LedgerReader(engine).session_info(target.id).dagster_run_id
        location = f"{ui_url}/runs/{run_id}" if run_id else f"{ui_url}/runs"
    else:
        location = f"{ui_url}/assets/model_evaluation"
    webbrowser.open(location)
    return location
