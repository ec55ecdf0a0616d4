"""The model tearsheet: one self-contained HTML page per model version, from the walk-forward
report its training stored in the registry (``modeling.report``) and its booster.

Contents: key figures with units; the walk-forward table (one row per fold and the pooled
row, ``modeling.summary.fold_rows``); cumulative net and gross return of the folds' backtests
against buy-and-hold of the reference, test day by test day; IC and rank IC per test day
with their means; the calibration (reliability) curve per class; feature importance (gain).

    read_model(registry, id)             the registry's record -> :class:`ModelReport`
    model_key_figures(report)            the headline numbers, (label, text with units)
    render_model_tearsheet(model)        the page (pure)
    write_model_tearsheet(model, root)   written under ``{root}/reports/models/``
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import plotly.graph_objects as go
from upath import UPath

from trading_runtime.modeling.summary import caveat, fold_rows, spread_lines
from trading_runtime.reports import format as fmt
from trading_runtime.reports.html import (
    LEGEND,
    MARGIN,
    TEMPLATE,
    Chart,
    Note,
    Section,
    Table,
    render_page,
)
from trading_runtime.reports.location import model_tearsheet_path, write_text

CLASSES = ("down", "flat", "up")
_CLASS_COLORS = {"down": "#e03131", "flat": "#868e96", "up": "#2f9e44"}


class ModelReportError(ValueError):
    """The model version has no walk-forward report to show (trained before it existed)."""


@dataclass(frozen=True)
class ModelReport:
    """What the page shows: ``walk_forward`` is the stored report (``modeling.report``),
    ``importance`` total gain per feature."""

    model_version_id: int
    name: str
    status: str
    created_at: dt.datetime
    walk_forward: Mapping[str, Any]
    importance: Mapping[str, float]
    dagster_run_id: str | None = None
    refit_rounds: int | None = None
    decision: str | None = None
    promotions: tuple[str, ...] = field(default_factory=tuple)


def read_model(registry: Any, model_version_id: int) -> ModelReport:
    """The record, booster and promotion audit of ``model_version_id`` from ``registry`` (a
    ``store.registry.ModelRegistry``). Raises :class:`ModelReportError` without a
    walk-forward report; the registry's ``KeyError``-like errors for an unknown id."""
    from trading_runtime.modeling.artifact import TradingModel

    record = registry.get(model_version_id)
    report = record.metrics.get("walk_forward")
    if not report or not report.get("daily"):
        raise ModelReportError(f"model {model_version_id} has no walk-forward report")
    model = TradingModel.from_bytes(registry.load_artifact(model_version_id))
    decision = (record.evaluation or {}).get("decision") or {}
    audit = tuple(
        f"{p.action} by {p.actor} ({fmt.local_time(p.created_at)}): {p.reason}"
        for p in registry.promotions(model_version_id)
    )
    rounds = record.metrics.get("rounds")
    return ModelReport(
        model_version_id=record.id,
        name=record.name,
        status=record.status.value,
        created_at=record.created_at,
        walk_forward=report,
        importance=model.feature_importance(),
        dagster_run_id=record.dagster_run_id,
        refit_rounds=int(rounds) if rounds is not None else None,
        decision=decision.get("action"),
        promotions=audit,
    )


def write_model_tearsheet(model: ModelReport, data_root: str) -> UPath:
    """Render ``model``'s tearsheet and write it under ``data_root``; returns where."""
    page = render_model_tearsheet(model)
    return write_text(model_tearsheet_path(data_root, model.model_version_id), page)


def model_key_figures(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The headline numbers of a walk-forward report, rounded, with units."""
    pooled = report.get("pooled") or {}
    intervals = report.get("intervals") or {}
    daily = report.get("daily") or []
    gain = intervals.get("logloss_improvement") or {}
    return [
        (
            "test days",
            f"{len(daily)} ({daily[0]['day']} .. {daily[-1]['day']}) in "
            f"{len(report.get('folds') or [])} folds"
            if daily
            else fmt.MISSING,
        ),
        ("test rows", f"{int(pooled.get('rows') or 0):,}"),
        (
            "log loss",
            f"{_fixed(pooled.get('logloss'), 4)} (prior {_fixed(pooled.get('prior_logloss'), 4)})",
        ),
        (
            "log-loss gain over the prior",
            f"{_fixed(gain.get('estimate'), 4, signed=True)} (95 % interval "
            f"{_fixed(gain.get('lower'), 4, signed=True)} .. "
            f"{_fixed(gain.get('upper'), 4, signed=True)})",
        ),
        (
            "accuracy",
            f"{fmt.percent(pooled.get('accuracy'))} "
            f"(majority class {fmt.percent(pooled.get('majority_accuracy'))})",
        ),
        ("calibration error (ECE)", fmt.percent(pooled.get("ece"))),
        (
            "IC / rank IC (mean per day)",
            f"{_fixed(pooled.get('ic'), 3, signed=True)} / "
            f"{_fixed(pooled.get('rank_ic'), 3, signed=True)}",
        ),
        (
            "net return (backtest)",
            f"{fmt.percent(pooled.get('net_return'), signed=True)} (gross "
            f"{fmt.percent(pooled.get('gross_return'), signed=True)}; buy-and-hold "
            f"{fmt.percent(pooled.get('benchmark_return'), signed=True)})",
        ),
        ("max drawdown", fmt.percent(pooled.get("max_drawdown"))),
        (
            "daily Sharpe / information ratio",
            f"{_fixed(pooled.get('daily_sharpe'), 2)} / "
            f"{_fixed(pooled.get('information_ratio'), 2)}",
        ),
        (
            "trades",
            f"{int(pooled.get('trades') or 0):,} (win rate "
            f"{fmt.percent(pooled.get('win_rate'), places=1)}, "
            f"{fmt.bps(pooled.get('mean_net_bps'))} net per trade)",
        ),
        ("costs", fmt.money(pooled.get("costs"))),
    ]


def render_model_tearsheet(model: ModelReport) -> str:
    report = model.walk_forward
    facts = [
        ("status", model.status + (f" (decision: {model.decision})" if model.decision else "")),
        ("registered", fmt.local_time(model.created_at)),
        ("refit rounds", str(model.refit_rounds) if model.refit_rounds else fmt.MISSING),
        ("Dagster run", model.dagster_run_id or fmt.MISSING),
        *model_key_figures(report),
    ]
    notes: list[Chart | Table | Note] = [Note(line) for line in spread_lines(report)]
    warning = caveat(report)
    if warning:
        notes.insert(0, Note(warning))
    sections = [
        Section("Walk-forward folds", (_fold_table(report), *notes)),
        Section("Cumulative return against the benchmark", (_returns_chart(report),)),
        Section("IC and rank IC per test day", (_ic_chart(report),)),
        Section("Calibration", (_calibration_chart(report),)),
        Section("Feature importance", (_importance_chart(model.importance),)),
    ]
    if model.promotions:
        sections.append(Section("Promotions", tuple(Note(line) for line in model.promotions)))
    title = f"Model {model.model_version_id}: {model.name}"
    subtitle = (
        "Walk-forward validation: every figure is measured on test days the fold did not "
        "train on, net of costs. Times are New York time."
    )
    return render_page(title, subtitle, facts, sections)


# --- the parts ---------------------------------------------------------------------------------


def _fold_table(report: Mapping[str, Any]) -> Table | Note:
    rows = fold_rows(report)
    if not rows:
        return Note("No folds.")
    columns = tuple(rows[0])
    text_columns = {"fold", "train", "test"}
    return Table(
        columns,
        tuple(tuple(_cell(row[c]) for c in columns) for row in rows),
        numeric=frozenset(c for c in columns if c not in text_columns),
        caption="Per fold and pooled ('all'); columns marked % are percent, IC and rank IC "
        "are mean daily cross-sectional correlations.",
    )


def _returns_chart(report: Mapping[str, Any]) -> Chart | Note:
    daily = report.get("daily") or []
    if not daily or "net_return" not in daily[0]:
        return Note("The folds were not backtested.")
    days = [d["day"] for d in daily]
    figure = go.Figure()
    for key, name, style in (
        ("net_return", "net of costs", {"width": 2.5}),
        ("gross_return", "gross", {"dash": "dot"}),
        ("benchmark_return", "buy and hold (reference)", {"color": "#52606d"}),
    ):
        figure.add_trace(
            go.Scatter(
                x=days,
                y=_cumulative_percent([d.get(key) for d in daily]),
                mode="lines",
                name=name,
                line=style,
                hovertemplate="%{x}<br>%{y:+.2f}%<extra>" + name + "</extra>",
            )
        )
    _fold_boundaries(figure, daily)
    figure.update_layout(
        template=TEMPLATE,
        yaxis={"title": {"text": "cumulative return (%)"}, "ticksuffix": "%"},
        xaxis={"type": "category", "title": {"text": "test day"}},
        margin=MARGIN,
        legend=LEGEND,
    )
    return Chart("returns", figure, height_px=380)


def _ic_chart(report: Mapping[str, Any]) -> Chart:
    daily = report.get("daily") or []
    days = [d["day"] for d in daily]
    figure = go.Figure()
    for key, name, color in (("ic", "IC", "#1c7ed6"), ("rank_ic", "rank IC", "#f08c00")):
        values = [d.get(key) for d in daily]
        figure.add_trace(
            go.Bar(
                x=days,
                y=values,
                name=f"{name} per day",
                marker_color=color,
                opacity=0.55,
                hovertemplate="%{x}<br>%{y:+.3f}<extra>" + name + "</extra>",
            )
        )
        known = [v for v in values if v is not None]
        if known:
            figure.add_trace(
                go.Scatter(
                    x=days,
                    y=[float(np.mean(known))] * len(days),
                    mode="lines",
                    name=f"{name} mean {np.mean(known):+.3f}",
                    line={"color": color, "dash": "dash"},
                    hoverinfo="skip",
                )
            )
    _fold_boundaries(figure, daily)
    figure.update_layout(
        template=TEMPLATE,
        barmode="group",
        yaxis={"title": {"text": "correlation"}, "tickformat": "+.2f"},
        xaxis={"type": "category", "title": {"text": "test day"}},
        margin=MARGIN,
        legend=LEGEND,
    )
    return Chart("ic", figure, height_px=340)


def _calibration_chart(report: Mapping[str, Any]) -> Chart:
    calibration = report.get("calibration") or {}
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            name="perfectly calibrated",
            line={"color": "#adb5bd", "dash": "dot"},
            hoverinfo="skip",
        )
    )
    for name in CLASSES:
        bins = [b for b in calibration.get(f"reliability_{name}") or [] if b.get("rows")]
        figure.add_trace(
            go.Scatter(
                x=[b["mean_predicted"] for b in bins],
                y=[b["observed_frequency"] for b in bins],
                mode="lines+markers",
                name=name,
                line={"color": _CLASS_COLORS[name]},
                text=[f"{b['bin']}: {b['rows']:,} rows" for b in bins],
                hovertemplate="%{text}<br>predicted %{x:.1%}, observed %{y:.1%}<extra>"
                + name
                + "</extra>",
            )
        )
    figure.update_layout(
        template=TEMPLATE,
        xaxis={"title": {"text": "mean predicted probability"}, "range": [0, 1]},
        yaxis={"title": {"text": "observed frequency"}, "range": [0, 1]},
        margin=MARGIN,
        legend=LEGEND,
        width=560,
    )
    return Chart("calibration", figure, height_px=460)


def _importance_chart(importance: Mapping[str, float]) -> Chart | Note:
    if not importance:
        return Note("No feature importance recorded.")
    items = sorted(importance.items(), key=lambda item: item[1])
    total = sum(value for _, value in items) or 1.0
    figure = go.Figure(
        go.Bar(
            x=[100.0 * value / total for _, value in items],
            y=[name for name, _ in items],
            orientation="h",
            marker_color="#1c7ed6",
            hovertemplate="%{y}: %{x:.1f}% of the total gain<extra></extra>",
        )
    )
    figure.update_layout(
        template=TEMPLATE,
        xaxis={"title": {"text": "share of the total gain (%)"}, "ticksuffix": "%"},
        margin={**MARGIN, "l": 160},
    )
    return Chart("importance", figure, height_px=max(260, 22 * len(items) + 80))


# --- helpers ---------------------------------------------------------------------------------


def _cumulative_percent(returns: Sequence[float | None]) -> list[float]:
    """Daily returns (fractions; unknown as 0) compounded, in percent."""
    values = np.array([r or 0.0 for r in returns], dtype=float)
    return [float(v) for v in 100.0 * (np.cumprod(1.0 + values) - 1.0)]


def _fold_boundaries(figure: go.Figure, daily: Sequence[Mapping[str, Any]]) -> None:
    """A thin vertical line where the next fold's test block starts."""
    for k in range(1, len(daily)):
        if daily[k].get("fold") != daily[k - 1].get("fold"):
            figure.add_vline(x=k - 0.5, line={"color": "#ced4da", "width": 1})


def _fixed(value: float | None, places: int, *, signed: bool = False) -> str:
    if value is None:
        return fmt.MISSING
    return f"{value:{'+' if signed else ''}.{places}f}"


def _cell(value: Any) -> str:
    if value is None:
        return fmt.MISSING
    if isinstance(value, (int, float)):  # already rounded by ``fold_rows``
        return f"{value:,}"
    return str(value)
