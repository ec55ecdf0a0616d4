"""Promotion gates: when a candidate may replace the champion. Pure; the Dagster sensor and
the manual promotion job call it, and the registry records the outcome with the gates.

A candidate is promoted when every gate passes:

* ``test_rows``: enough out-of-sample rows to mean something;
* ``beats_prior``: its test log loss is below the class-prior baseline's;
* ``backtest_return``: the cost-aware backtest on the test days returns at least
  ``min_backtest_return``;
* ``drawdown``: the backtest's maximum drawdown is no worse than ``max_drawdown``;
* ``evaluation_sanity``: the evaluation's own sanity check passed;
* ``beats_champion``: when a champion exists, it was evaluated on the same days and the
  candidate's log loss is lower by at least ``min_logloss_improvement``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PromotionGates:
    min_test_rows: int = 1000
    min_backtest_return: float = 0.0
    max_drawdown: float = -0.10
    min_logloss_improvement: float = 0.0


@dataclass(frozen=True)
class PromotionDecision:
    promote: bool
    gates: dict[str, dict[str, Any]]

    @property
    def failed(self) -> list[str]:
        return [name for name, gate in self.gates.items() if not gate["passed"]]

    @property
    def reason(self) -> str:
        if self.promote:
            return "all promotion gates passed"
        return "failed gates: " + ", ".join(self.failed)


def _gate(value: Any, threshold: Any, passed: bool) -> dict[str, Any]:
    return {"value": value, "threshold": threshold, "passed": bool(passed)}


def decide_promotion(
    evaluation: Mapping[str, Any],
    current_champion_id: int | None,
    gates: PromotionGates = PromotionGates(),
) -> PromotionDecision:
    """Gate decision for a candidate from its stored evaluation (``model_evaluation``:
    ``candidate`` and ``champion`` summaries on the same days, ``champion_id``, ``sanity``).

    The champion comparison counts only if the evaluated champion is still the champion;
    a champion that exists but was not scored on the candidate's days fails the gate.
    """
    candidate = evaluation["candidate"]
    classification = candidate["classification"]
    backtest = candidate["backtest"]
    logloss = classification.get("logloss")
    baseline = classification.get("baseline_logloss")
    total_return = backtest.get("total_return")
    drawdown = backtest.get("max_drawdown")
    sanity = evaluation.get("sanity") or {"passed": False, "problems": ["no sanity check recorded"]}
    results = {
        "test_rows": _gate(
            classification.get("rows", 0),
            gates.min_test_rows,
            classification.get("rows", 0) >= gates.min_test_rows,
        ),
        "beats_prior": _gate(
            logloss, baseline, logloss is not None and baseline is not None and logloss < baseline
        ),
        "backtest_return": _gate(
            total_return,
            gates.min_backtest_return,
            total_return is not None and total_return >= gates.min_backtest_return,
        ),
        "drawdown": _gate(
            drawdown, gates.max_drawdown, drawdown is not None and drawdown >= gates.max_drawdown
        ),
        "evaluation_sanity": _gate(sanity.get("problems"), [], bool(sanity.get("passed"))),
    }
    if current_champion_id is not None:
        champion = (
            evaluation.get("champion")
            if evaluation.get("champion_id") == current_champion_id
            else None
        )
        same_days = champion is not None and champion.get("test_days") == candidate.get("test_days")
        champion_logloss = champion["classification"].get("logloss") if champion else None
        beats = (
            same_days
            and logloss is not None
            and champion_logloss is not None
            and logloss <= champion_logloss - gates.min_logloss_improvement
        )
        results["beats_champion"] = _gate(logloss, champion_logloss, beats)
        if not same_days:
            results["beats_champion"]["note"] = (
                "the current champion was not evaluated on the candidate's test days"
            )
    return PromotionDecision(all(g["passed"] for g in results.values()), results)
