"""What ``model_evaluation`` and ``model_candidate`` show on the asset page: the fold table
and the evaluation's figures, rounded for people (percentages in percent)."""

from typing import Any

import dagster as dg

from orchestration import plots
from trading_runtime.modeling.summary import caveat, fold_rows, gate_lines, rounded, spread_lines


def metadata_float(value: Any, kind: str) -> dg.MetadataValue | None:
    """A float rounded for people; None (left out of the metadata) when undefined."""
    number = rounded(value, kind)
    return None if number is None else dg.MetadataValue.float(float(number))


def fold_table(report: dict[str, Any]) -> dg.MetadataValue:
    """The fold table (rounded by ``fold_rows``: percentages in percent)."""
    rows = fold_rows(report)
    columns = [
        dg.TableColumn(name, "string" if name in ("fold", "train", "test") else "float")
        for name in rows[0]
    ]
    return dg.MetadataValue.table(
        records=[dg.TableRecord(row) for row in rows], schema=dg.TableSchema(columns=columns)
    )


def evaluation_metadata(
    version_id: int,
    report: dict[str, Any],
    champion: dict[str, Any] | None,
    gates: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    pooled = report["pooled"]
    intervals = report["intervals"]
    metadata: dict[str, Any] = {
        "model_version_id": version_id,
        "test_days": f"{report['daily'][0]['day']}..{report['daily'][-1]['day']} "
        f"({len(report['daily'])} days in {len(report['folds'])} folds)",
        "walk_forward": fold_table(report),
        "summary": dg.MetadataValue.md("\n\n".join(spread_lines(report))),
        "logloss": metadata_float(pooled["logloss"], "logloss"),
        "prior_logloss": metadata_float(pooled["prior_logloss"], "logloss"),
        "logloss_improvement": metadata_float(pooled["logloss_improvement"], "logloss"),
        "logloss_improvement_lower": metadata_float(
            intervals["logloss_improvement"]["lower"], "logloss"
        ),
        "brier": metadata_float(pooled["brier"], "logloss"),
        "prior_brier": metadata_float(pooled["prior_brier"], "logloss"),
        "accuracy_pct": metadata_float(pooled["accuracy"], "percent"),
        "majority_accuracy_pct": metadata_float(pooled["majority_accuracy"], "percent"),
        "ece": metadata_float(pooled["ece"], "logloss"),
        "ic": metadata_float(pooled["ic"], "ic"),
        "icir": metadata_float(pooled["icir"], "ratio"),
        "rank_ic": metadata_float(pooled["rank_ic"], "ic"),
        "rank_icir": metadata_float(pooled["rank_icir"], "ratio"),
        "trades": dg.MetadataValue.int(int(pooled.get("trades") or 0)),
        "win_rate_pct": metadata_float(pooled.get("win_rate"), "percent"),
        "mean_net_bps_per_trade": metadata_float(pooled.get("mean_net_bps"), "bps"),
        "net_return_pct": metadata_float(pooled.get("net_return"), "percent"),
        "gross_return_pct": metadata_float(pooled.get("gross_return"), "percent"),
        "benchmark_return_pct": metadata_float(pooled.get("benchmark_return"), "percent"),
        "daily_sharpe": metadata_float(pooled.get("daily_sharpe"), "ratio"),
        "information_ratio": metadata_float(pooled.get("information_ratio"), "ratio"),
        "max_drawdown_pct": metadata_float(pooled.get("max_drawdown"), "percent"),
        "costs_usd": metadata_float(pooled.get("costs"), "money"),
        "gates_preview": dg.MetadataValue.md("\n".join(f"- {line}" for line in gate_lines(gates))),
        "returns": plots.walk_forward_returns(report["daily"]),
        "confusion_matrix": plots.confusion_matrix(pooled["confusion_matrix"]),
        "reliability": plots.reliability(report["calibration"]),
    }
    warning = caveat(report)
    if warning:
        metadata["caveat"] = dg.MetadataValue.md(f"**{warning}**")
    if champion is not None:
        metadata["champion_id"] = champion["id"]
        metadata["champion_scored_days"] = len(champion["daily_logloss"])
    return defined(metadata)


def defined(metadata: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in metadata.items() if value is not None}
