"""The walk-forward report and the gate decisions, rounded for people.

Used by the Dagster metadata (``fold_rows`` as a table) and by any command line
(``evaluation_lines``). Percentages are shown as percentages, log loss with 4 decimals,
correlations with 3, money in dollars and cents.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trading_runtime.modeling.promotion import GATES, SKIPPED, plausibility

# (key in a fold or pooled record, column title, kind)
FOLD_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("rows", "test rows", "int"),
    ("logloss", "log loss", "logloss"),
    ("prior_logloss", "prior", "logloss"),
    ("brier", "Brier", "logloss"),
    ("prior_brier", "prior Brier", "logloss"),
    ("accuracy", "accuracy %", "percent"),
    ("majority_accuracy", "majority %", "percent"),
    ("ece", "ECE", "logloss"),
    ("ic", "IC", "ic"),
    ("rank_ic", "rank IC", "ic"),
    ("trades", "trades", "int"),
    ("win_rate", "win %", "percent"),
    ("mean_net_bps", "net bps/trade", "bps"),
    ("mean_holding_minutes", "hold min", "bps"),
    ("mean_daily_turnover", "turnover/day", "ratio"),
    ("net_return", "net %", "percent"),
    ("gross_return", "gross %", "percent"),
    ("benchmark_return", "benchmark %", "percent"),
    ("information_ratio", "IR", "ratio"),
    ("daily_sharpe", "daily Sharpe", "ratio"),
    ("max_drawdown", "max DD %", "percent"),
)


def rounded(value: Any, kind: str) -> float | int | None:
    """A number rounded for people (percent kinds are multiplied by 100)."""
    if value is None:
        return None
    if kind == "int":
        return int(value)
    if kind == "percent":
        return round(100.0 * float(value), 2)
    digits = {"logloss": 4, "ic": 3, "bps": 1, "ratio": 2, "money": 2}[kind]
    return round(float(value), digits)


def fold_rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per fold and a pooled row: dates and rounded metrics (``FOLD_COLUMNS``)."""
    rows = []
    for fold in report.get("folds") or []:
        row: dict[str, Any] = {
            "fold": str(fold["fold"]),
            "train": f"{_span(fold['train_start'], fold['train_end'])} ({fold['train_days']} d)",
            "embargo days": int(fold["embargo_days"]),
            "test": f"{_span(fold['test_start'], fold['test_end'])} ({fold['test_days']} d)",
            "rounds": int(fold["rounds"]),
        }
        fold = {**fold, "rows": fold.get("test_rows")}
        row.update({title: rounded(fold.get(key), kind) for key, title, kind in FOLD_COLUMNS})
        rows.append(row)
    pooled = report.get("pooled") or {}
    folds = report.get("folds") or []
    if folds:
        row = {
            "fold": "all",
            "train": "",
            "embargo days": int(folds[0]["embargo_days"]),
            "test": f"{_span(folds[0]['test_start'], folds[-1]['test_end'])} ({pooled.get('days')} d)",
            "rounds": None,
        }
        row.update({title: rounded(pooled.get(key), kind) for key, title, kind in FOLD_COLUMNS})
        rows.append(row)
    return rows


def _span(start: str, end: str) -> str:
    """``2026-09-02..10-28`` (the year once when both dates share it)."""
    return f"{start}..{end[5:] if start[:4] == end[:4] else end}"


def _number(value: Any, spec: str, percent: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{100.0 * value:{spec}}%" if percent else f"{value:{spec}}"


def interval_text(interval: Mapping[str, Any] | None, spec: str, percent: bool = False) -> str:
    if not interval:
        return "n/a"
    return (
        f"{_number(interval.get('estimate'), spec, percent)} "
        f"({_number(interval.get('lower'), spec, percent)} .. "
        f"{_number(interval.get('upper'), spec, percent)})"
    )


def walk_forward_lines(report: Mapping[str, Any]) -> list[str]:
    """The design, the fold table and :func:`spread_lines`, as text."""
    design = report.get("design") or {}
    lines = [
        f"{design.get('folds')} folds ({design.get('scheme')}), {design.get('test_days')} test days"
        f" each, embargo {design.get('embargo_days')} days, early stopping on the last "
        f"{design.get('early_stopping_days')} training days; the registered model is refit "
        "on the whole window"
    ]
    header = (
        f"{'fold':<5}{'train':<25}{'test':<24}{'rows':>8}{'logloss':>9}{'prior':>8}"
        f"{'rank IC':>8}{'trades':>7}{'win':>7}{'net':>9}{'gross':>9}{'bench':>8}"
    )
    lines.append(header)
    for row in fold_rows(report):
        lines.append(
            f"{row['fold']:<5}{row['train']:<25}{row['test']:<24}"
            f"{_cell(row['test rows'], 'd'):>8}{_cell(row['log loss'], '.4f'):>9}"
            f"{_cell(row['prior'], '.4f'):>8}{_cell(row['rank IC'], '.3f'):>8}"
            f"{_cell(row['trades'], 'd'):>7}{_cell(row['win %'], '.1f', '%'):>7}"
            f"{_cell(row['net %'], '+.2f', '%'):>9}{_cell(row['gross %'], '+.2f', '%'):>9}"
            f"{_cell(row['benchmark %'], '+.2f', '%'):>8}"
        )
    return lines + spread_lines(report)


def spread_lines(report: Mapping[str, Any]) -> list[str]:
    """Dispersion across folds, intervals over test days and the pooled risk figures."""
    lines = []
    spread = report.get("dispersion") or {}
    parts = []
    for key, label, spec, percent in (
        ("logloss_improvement", "log-loss gain", ".4f", False),
        ("rank_ic", "rank IC", ".3f", False),
        ("net_return", "net return", ".2f", True),
    ):
        if key in spread:
            mean, std = spread[key]["mean"], spread[key]["std"]
            parts.append(f"{label} {_number(mean, spec, percent)} ± {_number(std, spec, percent)}")
    if parts:
        lines.append("mean ± std across folds: " + "; ".join(parts))
    intervals = report.get("intervals") or {}
    days = (intervals.get("logloss_improvement") or {}).get("days")
    lines.append(
        f"95 % intervals over {days} test days: log-loss gain over the prior "
        f"{interval_text(intervals.get('logloss_improvement'), '+.4f')}, over the climatology "
        f"{interval_text(intervals.get('logloss_improvement_climatology'), '+.4f')}; rank IC "
        f"{interval_text(intervals.get('rank_ic'), '+.3f')}; daily net return "
        f"{interval_text(intervals.get('daily_net_return'), '+.2f', True)}; daily gross "
        f"{interval_text(intervals.get('daily_gross_return'), '+.2f', True)}"
    )
    pooled = report.get("pooled") or {}
    lines.append(
        f"daily Sharpe {_number(pooled.get('daily_sharpe'), '.1f')}, information ratio "
        f"{_number(pooled.get('information_ratio'), '.1f')}, max drawdown "
        f"{_number(pooled.get('max_drawdown'), '.2f', True)}, annualised "
        f"{_number(pooled.get('annualised_return'), ',.0f', True)}, costs "
        f"${_number(pooled.get('costs'), ',.2f')} (fees ${_number(pooled.get('fees'), ',.2f')})"
    )
    return lines


def _cell(value: Any, spec: str, suffix: str = "") -> str:
    return "n/a" if value is None else f"{value:{spec}}{suffix}"


def caveat(report: Mapping[str, Any]) -> str | None:
    """A warning line when the results are too good to be true (default thresholds)."""
    gate = plausibility(report.get("pooled") or {})
    if gate["passed"]:
        return None
    return (
        f"CAVEAT: {gate['reason']}. The synthetic market plants an edge on purpose; on real "
        "data results like these mean a leak or missing costs."
    )


def gate_lines(gates: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One line per gate, in ``GATES`` order (stored JSON may reorder keys): PASS / FAIL /
    SKIP and its reason with numbers. Entries that are not gates are left out."""
    labels = {True: "PASS", False: "FAIL"}
    return [
        f"{'SKIP' if gate.get('status') == SKIPPED else labels[bool(gate.get('passed'))]} "
        f"{name}: {gate.get('reason')}"
        for name in GATES
        if (gate := gates.get(name)) is not None
    ]


def evaluation_lines(
    report: Mapping[str, Any], gates: Mapping[str, Mapping[str, Any]] | None
) -> list[tuple[str, str]]:
    """(title, text) rows for a command-line summary: walk-forward, caveat, gates."""
    rows = [
        ("Walk-fwd" if i == 0 else "", line) for i, line in enumerate(walk_forward_lines(report))
    ]
    warning = caveat(report)
    if warning:
        rows.append(("Caveat", warning))
    for i, line in enumerate(gate_lines(gates or {})):
        rows.append(("Gates" if i == 0 else "", line))
    return rows


def model_lines(
    candidate_id: int,
    metrics: Mapping[str, Any],
    decision: Mapping[str, Any] | None,
    champion_id: int | None,
) -> list[tuple[str, str]]:
    """(title, text) rows for a command-line summary of one candidate: the refit, the
    walk-forward results, a caveat when implausible, the gates and the outcome.
    ``decision``: the recorded decision (``action``: promote, hold or reject; ``reason``,
    ``gates``; ``actor`` for audited ones) or None when none was taken."""
    report = metrics.get("walk_forward") or {}
    folds = report.get("folds") or []
    window = f"{folds[0]['train_start']}..{folds[-1]['test_end']}" if folds else "?"
    rows = [
        (
            "Model",
            f"candidate v{candidate_id}: refit on {window} with {int(metrics.get('rounds') or 0)} "
            f"boosting rounds (the median of the folds' {metrics.get('fold_rounds') or '?'})",
        )
    ]
    rows += evaluation_lines(report, (decision or {}).get("gates"))
    if decision is None:
        outcome = "no decision recorded"
    elif decision["action"] in ("promote", "manual_promote"):
        outcome = f"v{candidate_id} promoted by {decision['actor']}: {decision['reason']}"
    elif decision["action"] == "hold":
        outcome = f"v{candidate_id} held for a manual decision (not promoted automatically)"
    else:
        kept = f"champion v{champion_id} stays" if champion_id is not None else "no champion"
        outcome = f"v{candidate_id} rejected ({kept})"
    rows.append(("Decision", outcome))
    return rows
