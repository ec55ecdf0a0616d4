"""Session and day reports as Dagster metadata: typed numbers (charted over materializations),
inline tables and short markdown, links to the tearsheets.

Names carry their unit: ``_usd`` (dollars, rounded to cents), ``_pct`` (percent points,
rounded to 0.01), ``_bps`` (basis points, 0.01). A figure that is not known (no closed round
trip, no fill to compare) is a null value, never a zero.

The Dagster UI shows markdown shorter than :data:`INLINE_MARKDOWN_LIMIT` characters and
every table directly on the asset page; longer markdown goes behind a "Show Markdown" modal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import dagster as dg
from upath import UPath

from trading_runtime.domain import TradingMode
from trading_runtime.engine.observer import SessionSnapshot
from trading_runtime.reports import format as fmt
from trading_runtime.reports.daily import DayReport
from trading_runtime.reports.location import is_local, reports_root
from trading_runtime.reports.model_tearsheet import ModelReport, model_key_figures
from trading_runtime.reports.session import SessionReport, key_figures

INLINE_MARKDOWN_LIMIT = 1000


def link(path: UPath) -> dg.MetadataValue:
    """A local file as its absolute path (copyable in the UI), object storage as its URL."""
    if is_local(path):
        return dg.MetadataValue.path(str(Path(path.path).resolve()))
    return dg.MetadataValue.url(str(path))


def _float(value: float | None) -> dg.MetadataValue:
    return dg.MetadataValue.null() if value is None else dg.MetadataValue.float(value)


def session_metadata(report: SessionReport) -> dict[str, dg.MetadataValue]:
    """The figures of one session (run output metadata, ``trading_ledger`` events)."""
    info = report.info
    return {
        "session_id": dg.MetadataValue.int(info.id),
        "trading_day": dg.MetadataValue.text(info.trading_day.isoformat()),
        "mode": dg.MetadataValue.text(info.mode.value),
        "status": dg.MetadataValue.text(info.status.value),
        "end_reason": dg.MetadataValue.text(info.end_reason or ""),
        "model_versions": dg.MetadataValue.text(", ".join(map(str, report.model_versions))),
        "starting_equity_usd": _float(fmt.cents(report.starting_equity)),
        "ending_equity_usd": _float(fmt.cents(report.ending_equity)),
        "pnl_usd": _float(fmt.cents(report.pnl)),
        "return_pct": _float(fmt.percent_points(report.return_fraction)),
        "max_drawdown_pct": _float(fmt.percent_points(report.drawdown.fraction)),
        "round_trips": dg.MetadataValue.int(len(report.closed_trips)),
        "open_round_trips": dg.MetadataValue.int(len(report.trips) - len(report.closed_trips)),
        "win_rate_pct": _float(fmt.percent_points(report.win_rate)),
        "fees_usd": _float(fmt.cents(report.fees)),
        "slippage_bps": _float(fmt.rounded(report.slippage.mean_bps)),
        "slippage_cost_usd": _float(fmt.cents(report.slippage.cost)),
        "decisions": dg.MetadataValue.int(report.decision_count),
        "orders": dg.MetadataValue.int(report.order_count),
        "fills": dg.MetadataValue.int(report.fill_count),
        "rejections": dg.MetadataValue.int(report.rejection_count),
        "key_figures": dg.MetadataValue.md(_markdown(("figure", "value"), key_figures(report))),
    }


def status_metadata(snapshot: SessionSnapshot) -> dict[str, dg.MetadataValue]:
    """A running session's figures (``trading_ledger`` observations, charted while it runs)."""
    model = snapshot.model_version_id
    return {
        "session_id": dg.MetadataValue.int(snapshot.session_id),
        "minutes_processed": dg.MetadataValue.int(snapshot.minutes_processed),
        "equity_usd": _float(fmt.cents(snapshot.equity)),
        "pnl_usd": _float(fmt.cents(snapshot.pnl)),
        "open_positions": dg.MetadataValue.int(snapshot.open_positions),
        "orders": dg.MetadataValue.int(snapshot.orders_submitted),
        "orders_rejected": dg.MetadataValue.int(snapshot.orders_rejected),
        "fills": dg.MetadataValue.int(snapshot.fills),
        "minute_latency_p50_ms": _float(fmt.rounded(snapshot.minute_latency_p50_ms)),
        "minute_latency_p99_ms": _float(fmt.rounded(snapshot.minute_latency_p99_ms)),
        "model_version_id": dg.MetadataValue.null()
        if model is None
        else dg.MetadataValue.int(model),
        "final": dg.MetadataValue.bool(snapshot.final),
    }


def model_report_metadata(
    model: ModelReport, tearsheet: UPath | None
) -> dict[str, dg.MetadataValue]:
    """The model tearsheet's link and its key figures as a table (shown on the asset page)."""
    figures = model_key_figures(model.walk_forward)
    metadata: dict[str, dg.MetadataValue] = {
        "key_figures": dg.MetadataValue.table(
            records=[dg.TableRecord({"figure": name, "value": text}) for name, text in figures],
            schema=dg.TableSchema(
                columns=[dg.TableColumn("figure", "string"), dg.TableColumn("value", "string")]
            ),
        )
    }
    if tearsheet is not None:
        metadata["tearsheet"] = link(tearsheet)
    return metadata


def day_metadata(
    day: DayReport, tearsheets: Mapping[int, UPath], data_root: str
) -> dict[str, dg.MetadataValue]:
    """The day's report: counts by mode, account totals for paper and live, the latest sim
    replay and the spread of all replays, a summary and one table per kind of session."""
    metadata: dict[str, dg.MetadataValue] = {
        "sessions": dg.MetadataValue.int(len(day.sessions)),
        "sim_replays": dg.MetadataValue.int(len(day.of_mode(TradingMode.SIM))),
        "paper_sessions": dg.MetadataValue.int(len(day.of_mode(TradingMode.PAPER))),
        "live_sessions": dg.MetadataValue.int(len(day.of_mode(TradingMode.LIVE))),
    }
    summary: list[tuple[str, ...]] = []
    for mode in (TradingMode.LIVE, TradingMode.PAPER):
        account = day.account(mode)
        if account is None:
            continue
        slippage = account.slippage
        metadata |= {
            f"{mode}_pnl_usd": _float(fmt.cents(account.pnl)),
            f"{mode}_return_pct": _float(fmt.percent_points(account.return_fraction)),
            f"{mode}_round_trips": dg.MetadataValue.int(account.round_trips),
            f"{mode}_orders": dg.MetadataValue.int(account.orders),
            f"{mode}_fills": dg.MetadataValue.int(account.fills),
            f"{mode}_fees_usd": _float(fmt.cents(account.fees)),
            f"{mode}_slippage_bps": _float(fmt.rounded(slippage.mean_bps)),
        }
        summary.append(
            (
                f"{mode} ({_count(len(account.sessions), 'session')})",
                fmt.money(account.pnl, signed=True),
                fmt.percent(account.return_fraction, signed=True),
                str(account.round_trips),
                fmt.bps(slippage.mean_bps),
            )
        )
        metadata[f"{mode}_session_table"] = _sessions_table(account.sessions, tearsheets, data_root)
    replays = day.replays
    if replays is not None:
        latest = replays.latest
        spread = replays.pnl_range
        metadata |= {
            "sim_latest_session_id": dg.MetadataValue.int(latest.info.id),
            "sim_latest_pnl_usd": _float(fmt.cents(latest.pnl)),
            "sim_latest_return_pct": _float(fmt.percent_points(latest.return_fraction)),
            "sim_latest_max_drawdown_pct": _float(fmt.percent_points(latest.drawdown.fraction)),
            "sim_latest_round_trips": dg.MetadataValue.int(len(latest.closed_trips)),
            "sim_latest_slippage_bps": _float(fmt.rounded(latest.slippage.mean_bps)),
            "sim_mean_pnl_usd": _float(fmt.cents(replays.mean_pnl)),
        }
        summary.append(
            (
                f"sim: latest replay (session {latest.info.id})",
                fmt.money(latest.pnl, signed=True),
                fmt.percent(latest.return_fraction, signed=True),
                str(len(latest.closed_trips)),
                fmt.bps(latest.slippage.mean_bps),
            )
        )
        if len(replays.sessions) > 1 and spread is not None:
            summary.append(
                (
                    f"sim: {len(replays.sessions)} replays, mean (range)",
                    f"{fmt.money(replays.mean_pnl, signed=True)} "
                    f"({fmt.money(spread[0], signed=True)} to {fmt.money(spread[1], signed=True)})",
                    "",
                    "",
                    "",
                )
            )
        metadata["sim_replay_table"] = _sessions_table(replays.sessions, tearsheets, data_root)
    columns = ("sessions", "PnL", "return", "round trips", "slippage")
    metadata["summary"] = dg.MetadataValue.md(
        _markdown(columns, summary) if summary else "No session traded this day."
    )
    latest_session = day.latest
    if latest_session is not None and latest_session.info.id in tearsheets:
        metadata["tearsheet"] = link(tearsheets[latest_session.info.id])
    metadata["reports_folder"] = link(reports_root(data_root) / "sessions")
    return metadata


def _sessions_table(
    sessions: Iterable[SessionReport], tearsheets: Mapping[int, UPath], data_root: str
) -> dg.MetadataValue:
    root = str(reports_root(data_root))
    columns = [
        dg.TableColumn("session", "int"),
        dg.TableColumn("status"),
        dg.TableColumn("run started (New York)"),
        dg.TableColumn("models"),
        dg.TableColumn("PnL"),
        dg.TableColumn("return"),
        dg.TableColumn("max drawdown"),
        dg.TableColumn("round trips", "int"),
        dg.TableColumn("win rate"),
        dg.TableColumn("fills", "int"),
        dg.TableColumn("rejections", "int"),
        dg.TableColumn("slippage"),
        dg.TableColumn("tearsheet", description=f"under {root}"),
    ]
    records = []
    for s in sessions:
        path = tearsheets.get(s.info.id)
        records.append(
            dg.TableRecord(
                {
                    "session": s.info.id,
                    "status": s.info.status.value,
                    "run started (New York)": fmt.local_time(s.info.started_at),
                    "models": ", ".join(map(str, s.model_versions)) or fmt.MISSING,
                    "PnL": fmt.money(s.pnl, signed=True),
                    "return": fmt.percent(s.return_fraction, signed=True),
                    "max drawdown": fmt.percent(s.drawdown.fraction),
                    "round trips": len(s.closed_trips),
                    "win rate": fmt.percent(s.win_rate, places=0),
                    "fills": s.fill_count,
                    "rejections": s.rejection_count,
                    "slippage": fmt.bps(s.slippage.mean_bps),
                    "tearsheet": str(path).removeprefix(root).lstrip("/") if path else "",
                }
            )
        )
    return dg.MetadataValue.table(records, dg.TableSchema(columns))


def _markdown(columns: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
