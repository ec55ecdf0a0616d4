"""The walk-forward report rounded for people, and the gates listed in a fixed order."""

from __future__ import annotations

from typing import Any

from tests.support.reports import evaluation, walk_forward_report
from trading_runtime.modeling.promotion import GATES, decide_promotion
from trading_runtime.modeling.summary import caveat, fold_rows, gate_lines, model_lines


def _report(**changes: Any) -> dict[str, Any]:
    report = walk_forward_report(**changes)
    fold = {
        "fold": 1,
        "train_start": "2026-09-02",
        "train_end": "2026-10-28",
        "train_days": 40,
        "embargo_days": 0,
        "test_start": "2026-10-29",
        "test_end": "2026-11-04",
        "test_days": 5,
        "rounds": 48,
        "test_rows": 175500,
        "logloss": 1.039712,
        "win_rate": 0.84066,
        "net_return": 0.225912,
    }
    report["folds"] = [fold]
    report["pooled"].update({"rows": 175500, "logloss": 1.046725, "net_return": 1.5625087})
    return report


def test_fold_rows_show_percentages_as_percentages_and_log_loss_to_four_decimals() -> None:
    fold, pooled = fold_rows(_report())
    assert fold["train"] == "2026-09-02..10-28 (40 d)"
    assert fold["log loss"] == 1.0397
    assert fold["win %"] == 84.07 and fold["net %"] == 22.59
    assert fold["test rows"] == 175500
    assert pooled["fold"] == "all" and pooled["net %"] == 156.25


def test_a_caveat_appears_only_when_results_are_implausible() -> None:
    assert caveat(_report()) is None
    warning = caveat(_report(sharpe=66.0))
    assert warning is not None and "daily Sharpe 66.0 > 10" in warning


def test_gates_are_listed_in_one_order_whatever_order_they_were_stored_in() -> None:
    decision = decide_promotion(_report(trades=0), evaluation(), None)
    shuffled = dict(reversed(list(decision.gates.items())))
    lines = gate_lines({**shuffled, "thresholds": {"min_trades": 30}})
    assert [line.split(" ")[1].rstrip(":") for line in lines] == [
        name for name in GATES if name in decision.gates
    ]
    assert "FAIL trading: the model never traded on the test days" in lines
    assert any(line.startswith("SKIP leak_checks") for line in lines)


def test_the_model_summary_names_the_outcome() -> None:
    report = _report(sharpe=66.0)
    decision = decide_promotion(report, evaluation(), None)
    held = {"action": decision.outcome, "reason": decision.reason, "gates": decision.gates}
    metrics = {"walk_forward": report, "rounds": 46.0, "fold_rounds": [48, 43, 40, 51]}
    rows = model_lines(7, metrics, held, None)
    assert rows[0] == (
        "Model",
        "candidate v7: refit on 2026-09-02..2026-11-04 with 46 boosting rounds (the median "
        "of the folds' [48, 43, 40, 51])",
    )
    assert ("Decision", "v7 held for a manual decision (not promoted automatically)") in rows
    assert any(title == "Caveat" for title, _ in rows)
