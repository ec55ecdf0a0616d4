from __future__ import annotations

from typing import Any

from trading_runtime.modeling.promotion import PromotionGates, decide_promotion

DAYS = ["2026-11-20", "2026-11-23"]


def summary(
    logloss: float = 1.00, baseline: float = 1.05, total_return: float = 0.01
) -> dict[str, Any]:
    return {
        "test_days": DAYS,
        "classification": {"rows": 5000, "logloss": logloss, "baseline_logloss": baseline},
        "backtest": {"total_return": total_return, "max_drawdown": -0.02},
    }


def evaluation(
    candidate: dict[str, Any],
    champion: dict[str, Any] | None = None,
    champion_id: int | None = None,
    sane: bool = True,
) -> dict[str, Any]:
    return {
        "candidate": candidate,
        "champion": champion,
        "champion_id": champion_id,
        "sanity": {
            "passed": sane,
            "problems": [] if sane else ["backtest produced no equity curve"],
        },
    }


def test_a_first_candidate_that_passes_every_gate_is_promoted() -> None:
    decision = decide_promotion(evaluation(summary()), current_champion_id=None)
    assert decision.promote and decision.failed == []
    assert "beats_champion" not in decision.gates


def test_each_gate_can_refuse() -> None:
    assert decide_promotion(evaluation(summary(logloss=1.06)), None).failed == ["beats_prior"]
    assert decide_promotion(evaluation(summary(total_return=-0.01)), None).failed == [
        "backtest_return"
    ]
    assert decide_promotion(evaluation(summary(), sane=False), None).failed == ["evaluation_sanity"]
    few_rows = PromotionGates(min_test_rows=10_000)
    assert decide_promotion(evaluation(summary()), None, few_rows).failed == ["test_rows"]


def test_the_candidate_must_beat_the_champion_on_the_same_days() -> None:
    better = evaluation(summary(logloss=0.99), champion=summary(logloss=1.00), champion_id=4)
    assert decide_promotion(better, current_champion_id=4).promote
    worse = evaluation(summary(logloss=1.01), champion=summary(logloss=1.00), champion_id=4)
    assert decide_promotion(worse, current_champion_id=4).failed == ["beats_champion"]


def test_a_champion_that_changed_since_the_evaluation_fails_the_comparison() -> None:
    stale = evaluation(summary(logloss=0.90), champion=summary(logloss=1.00), champion_id=4)
    decision = decide_promotion(stale, current_champion_id=5)
    assert decision.failed == ["beats_champion"]
    assert "not evaluated" in decision.gates["beats_champion"]["note"]
