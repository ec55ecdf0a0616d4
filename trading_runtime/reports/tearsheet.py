"""The session tearsheet: one self-contained HTML page per trading session.

Contents: status, reason and model version(s); key figures; intraday equity (marked every
minute, with the broker's snapshots) and drawdown; every traded symbol's price with its
fills drawn on it (bars from the lake when the day is stored, else the decision prices the
ledger recorded); the round trips; slippage per fill against the decision price; orders by
status and the rejections. Times are New York time.

    price_series(report, bars)              what each traded symbol's chart is drawn on
    render_session_tearsheet(report, ...)   the page (pure)
    write_session_tearsheet(report, root)   read the day's bars, render, write under
                                            ``{root}/reports/sessions/`` (see ``location``)
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from upath import UPath

from trading_runtime.domain import OrderSide, OrderStatus
from trading_runtime.marketdata.storage import ParquetLake
from trading_runtime.reports import format as fmt
from trading_runtime.reports.equity import drawdown_series
from trading_runtime.reports.html import LEGEND as _LEGEND
from trading_runtime.reports.html import MARGIN as _MARGIN
from trading_runtime.reports.html import TEMPLATE as _TEMPLATE
from trading_runtime.reports.html import Chart, Note, Section, Table, render_page
from trading_runtime.reports.location import session_tearsheet_path, write_text
from trading_runtime.reports.session import SessionReport, key_figures
from trading_runtime.reports.slippage import fill_bps, fill_cost
from trading_runtime.store.read_models import PriceMark

BUY_COLOR, SELL_COLOR = "#1c7ed6", "#f08c00"  # apart from the candles' green and red


@dataclass(frozen=True)
class PriceSeries:
    """A symbol's prices over the session; OHLC only from bars."""

    source: Literal["bars", "decisions"]
    timestamps: tuple[dt.datetime, ...]
    close: tuple[float, ...]
    ohlc: tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]] | None = None


def price_series(report: SessionReport, bars: pd.DataFrame | None) -> dict[str, PriceSeries]:
    """For each traded symbol: its bars of the day (``bars``: the lake's day file, or None)
    when they hold the symbol, else the decision prices of the session."""
    series: dict[str, PriceSeries] = {}
    by_symbol = dict(tuple(bars.groupby("symbol"))) if bars is not None else {}
    marks_by_symbol: dict[str, list[PriceMark]] = defaultdict(list)
    for mark in report.ledger.marks:
        marks_by_symbol[mark.symbol].append(mark)
    for symbol in report.traded_symbols:
        frame = by_symbol.get(symbol)
        if frame is not None and len(frame):
            frame = frame.sort_values("timestamp")
            series[symbol] = PriceSeries(
                "bars",
                tuple(t.to_pydatetime() for t in frame["timestamp"]),
                tuple(frame["close"].astype(float)),
                (
                    tuple(frame["open"].astype(float)),
                    tuple(frame["high"].astype(float)),
                    tuple(frame["low"].astype(float)),
                ),
            )
            continue
        marks = marks_by_symbol[symbol]
        series[symbol] = PriceSeries(
            "decisions",
            tuple(m.bar_timestamp for m in marks),
            tuple(float(m.price) for m in marks),
        )
    return series


def write_session_tearsheet(report: SessionReport, data_root: str) -> UPath:
    """Render the tearsheet of ``report``'s session with the day's bars from the lake under
    ``data_root`` (decision prices when the day is not stored) and write it; returns where."""
    lake = ParquetLake(data_root)
    day = report.info.trading_day
    bars = lake.read_bars(day) if report.traded_symbols and lake.has_bars(day) else None
    page = render_session_tearsheet(report, price_series(report, bars))
    return write_text(session_tearsheet_path(data_root, report.info), page)


def render_session_tearsheet(report: SessionReport, prices: dict[str, PriceSeries]) -> str:
    info = report.info
    models = ", ".join(str(m) for m in report.model_versions) or "none"
    facts = [
        ("status", info.status.value + (f": {info.end_reason}" if info.end_reason else "")),
        ("mode", info.mode.value),
        ("model version(s)", models),
        # When the run happened (a sim replay runs long after the day it replays).
        ("run started", fmt.local_time(info.started_at)),
        ("run ended", fmt.local_time(info.ended_at) if info.ended_at else "still running"),
        ("run took", fmt.duration(report.duration)),
        ("symbols", str(len(info.symbols))),
        ("Dagster run", info.dagster_run_id or fmt.MISSING),
        *key_figures(report),
    ]
    sections = [
        Section("Intraday equity and drawdown", (_equity_chart(report),)),
        Section("Trades over price", _trade_charts(report, prices)),
        Section("Round trips", (_trips_table(report),)),
        Section("Slippage against the decision price", _slippage_items(report)),
        Section("Orders", _order_items(report)),
    ]
    title = f"Session {info.id}: {info.trading_day} ({info.mode.value})"
    subtitle = "Times are New York time. Generated from the trading ledger."
    return render_page(title, subtitle, facts, sections)


# --- charts ----------------------------------------------------------------------------------


def _equity_chart(report: SessionReport) -> Chart:
    figure = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.06
    )
    times = _local(p.timestamp for p in report.equity)
    figure.add_trace(
        go.Scatter(
            x=times,
            y=[float(p.equity) for p in report.equity],
            name="equity (marked each minute)",
            mode="lines",
            hovertemplate="%{x}<br>$%{y:,.2f}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    snapshots = report.ledger.account
    figure.add_trace(
        go.Scatter(
            x=_local(a.timestamp for a in snapshots),
            y=[float(a.equity) for a in snapshots],
            name="broker equity (snapshots)",
            mode="markers",
            marker={"size": 8, "symbol": "diamond"},
            hovertemplate="%{x}<br>$%{y:,.2f}<extra>broker</extra>",
        ),
        row=1,
        col=1,
    )
    figure.add_trace(
        go.Scatter(
            x=times,
            y=[d * 100.0 for d in drawdown_series(report.equity)],
            name="drawdown",
            mode="lines",
            fill="tozeroy",
            line={"color": SELL_COLOR},
            hovertemplate="%{x}<br>%{y:.2f}%<extra>drawdown</extra>",
        ),
        row=2,
        col=1,
    )
    figure.update_yaxes(title_text="equity", tickprefix="$", tickformat=",.0f", row=1, col=1)
    figure.update_yaxes(title_text="drawdown (%)", ticksuffix="%", row=2, col=1)
    figure.update_layout(template=_TEMPLATE, margin=_MARGIN, legend=_LEGEND)
    return Chart("equity", figure, height_px=480)


def _trade_charts(
    report: SessionReport, prices: dict[str, PriceSeries]
) -> tuple[Chart | Note, ...]:
    if not report.traded_symbols:
        return (Note("No fills in this session."),)
    charts: list[Chart | Note] = []
    for symbol in report.traded_symbols:
        series = prices[symbol]
        figure = go.Figure()
        x = _local(series.timestamps)
        if series.ohlc is not None:
            open_, high, low = series.ohlc
            figure.add_trace(
                go.Candlestick(x=x, open=open_, high=high, low=low, close=series.close, name="bars")
            )
        else:
            figure.add_trace(go.Scatter(x=x, y=series.close, mode="lines", name="decision price"))
        figure.add_trace(_trip_lines(report, symbol))
        for side, marker, color in (
            (OrderSide.BUY, "triangle-up", BUY_COLOR),
            (OrderSide.SELL, "triangle-down", SELL_COLOR),
        ):
            fills = [f for f in report.ledger.fills if f.symbol == symbol and f.side is side]
            figure.add_trace(
                go.Scatter(
                    x=_local(f.filled_at for f in fills),
                    y=[float(f.price) for f in fills],
                    mode="markers",
                    name=f"{side.value}s",
                    marker={
                        "symbol": marker,
                        "size": 12,
                        "color": color,
                        "line": {"width": 1, "color": "#1f2933"},
                    },
                    text=[f"{fmt.quantity(f.qty)} @ {fmt.price(f.price)}" for f in fills],
                    hovertemplate="%{x}<br>%{text}<extra>" + side.value + "</extra>",
                )
            )
        source = (
            "one-minute bars from the lake"
            if series.source == "bars"
            else ("decision prices (the day's bars are not stored)")
        )
        figure.update_layout(
            template=_TEMPLATE,
            title={"text": f"{symbol}: {source}", "font": {"size": 14}},
            xaxis_rangeslider_visible=False,
            yaxis={"tickprefix": "$", "tickformat": ",.2f"},
            margin={**_MARGIN, "t": 40},
            legend=_LEGEND,
        )
        charts.append(Chart(f"trades-{symbol}", figure, height_px=320))
    return tuple(charts)


def _trip_lines(report: SessionReport, symbol: str) -> go.Scatter:
    """Each round trip as a dotted line from its average entry to its average exit (or to
    the last price for an open one)."""
    x: list[str | None] = []
    y: list[float | None] = []
    for trip in report.trips:
        if trip.symbol != symbol:
            continue
        end_time = trip.exit_time or trip.marked_at
        end_price = trip.exit_price if trip.exit_time else trip.mark_price
        if end_time is None or end_price is None:
            continue
        x += [fmt.local_time(trip.entry_time), fmt.local_time(end_time), None]
        y += [float(trip.entry_price), float(end_price), None]
    return go.Scatter(
        x=x,
        y=y,
        mode="lines",
        name="round trips",
        line={"dash": "dot", "color": "#52606d", "width": 1.5},
        hoverinfo="skip",
    )


def _slippage_items(report: SessionReport) -> tuple[Chart | Table | Note, ...]:
    rows = report.ledger.slippage
    if not rows:
        return (Note("No fills in this session."),)
    figure = go.Figure()
    for side, color in ((OrderSide.BUY, BUY_COLOR), (OrderSide.SELL, SELL_COLOR)):
        compared = [r for r in rows if r.side is side and fill_bps(r) is not None]
        figure.add_trace(
            go.Scatter(
                x=_local(r.filled_at for r in compared),
                y=[fill_bps(r) for r in compared],
                mode="markers",
                name=f"{side.value} slippage",
                marker={"color": color, "size": 8},
                text=[r.symbol for r in compared],
                hovertemplate="%{x}<br>%{text}: %{y:.1f} bps<extra></extra>",
            )
        )
    figure.update_layout(
        template=_TEMPLATE,
        yaxis={"title": {"text": "adverse slippage (bps)"}, "ticksuffix": " bps"},
        margin=_MARGIN,
        legend=_LEGEND,
    )
    table = Table(
        ("time", "symbol", "side", "qty", "decision price", "limit", "fill price", "bps", "cost"),
        tuple(
            (
                fmt.local_time(r.filled_at),
                r.symbol,
                r.side.value,
                fmt.quantity(r.qty),
                fmt.price(r.decision_price),
                fmt.price(r.limit_price),
                fmt.price(r.fill_price),
                fmt.bps(fill_bps(r)),
                fmt.money(fill_cost(r)),
            )
            for r in rows
        ),
        numeric=frozenset({"qty", "decision price", "limit", "fill price", "bps", "cost"}),
        caption="Positive = adverse: a buy paid more, a sell got less than the decision price.",
    )
    return (Chart("slippage", figure, height_px=300), table)


# --- tables ----------------------------------------------------------------------------------


def _trips_table(report: SessionReport) -> Table | Note:
    if not report.trips:
        return Note("No round trips: nothing was bought or sold.")
    rows = []
    for trip in report.trips:
        entry = "start (held)" if trip.carried_in else fmt.local_time(trip.entry_time)
        held = fmt.duration(trip.holding_time)
        rows.append(
            (
                trip.symbol,
                trip.side.value,
                entry,
                fmt.local_time(trip.exit_time) if trip.exit_time else "open",
                fmt.quantity(trip.entry_qty),
                fmt.money(trip.entry_price),
                fmt.money(trip.exit_price) if trip.exit_price is not None else fmt.MISSING,
                f"{fmt.quantity(trip.open_qty)} @ {fmt.money(trip.mark_price)}"
                if trip.is_open
                else fmt.MISSING,
                fmt.money(trip.pnl, signed=True),
                fmt.percent(trip.return_fraction, signed=True),
                held if not trip.is_open else f"{held} (open)",
                fmt.money(trip.fees),
                str(trip.fills),
            )
        )
    return Table(
        (
            "symbol",
            "side",
            "entry",
            "exit",
            "qty",
            "entry price",
            "exit price",
            "open (marked)",
            "PnL",
            "return",
            "held",
            "fees",
            "fills",
        ),
        tuple(rows),
        numeric=frozenset({"qty", "entry price", "exit price", "PnL", "return", "fees", "fills"}),
        caption="A round trip runs from flat to flat; open trips are valued at the last price.",
    )


def _order_items(report: SessionReport) -> tuple[Table | Note, ...]:
    statuses = report.orders_by_status
    by_status = Table(
        ("status", "orders"),
        tuple((status.value, str(n)) for status, n in sorted(statuses.items())),
        numeric=frozenset({"orders"}),
    )
    rejected = [o for o in report.ledger.orders if o.status is OrderStatus.REJECTED]
    if not rejected:
        return (by_status, Note("No order was rejected."))
    rejections = Table(
        ("time", "symbol", "side", "qty", "code", "message"),
        tuple(
            (
                fmt.local_time(o.submitted_at),
                o.symbol,
                o.side.value,
                fmt.quantity(o.qty),
                str(o.reject_code) if o.reject_code is not None else fmt.MISSING,
                o.reject_message or fmt.MISSING,
            )
            for o in rejected
        ),
        numeric=frozenset({"qty"}),
        caption="Rejected orders",
    )
    return (by_status, rejections)


# --- helpers ---------------------------------------------------------------------------------


def _local(times: Iterable[dt.datetime]) -> list[str]:
    """Plotly draws naive times as given: New York wall-clock strings."""
    return [fmt.local_time(t) for t in times]
