"""The promotion gates on hand-made walk-forward reports: each gate can refuse, and says why
with its numbers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from tests.support.reports import DAYS, evaluation
from tests.support.reports import walk_forward_report as report
from trading_runtime.marketdata.storage import ParquetLake
from trading_runtime.modeling.artifact import ModelIncompatibleError
from trading_runtime.modeling.pipeline import champion_daily_logloss
from trading_runtime.modeling.promotion import PromotionGates, decide_promotion, leak_check_gate


def test_a_first_candidate_with_skill_trades_and_plausible_results_is_promoted() -> None:
    decision = decide_promotion(report(), evaluation(), current_champion_id=None)
    assert decision.promote and decision.failed == []
    assert "beats_champion" not in decision.gates
    assert decision.gates["leak_checks"]["status"] == "skipped"
    assert decision.gates["skill"]["interval"]["lower"] == 0.006


def test_skill_needs_its_whole_interval_above_zero() -> None:
    decision = decide_promotion(report(improvement=(0.004, -0.001, 0.009)), evaluation(), None)
    assert decision.failed == ["skill"]
    assert "-0.0010" in decision.gates["skill"]["reason"]


def test_beating_a_drifted_prior_is_not_skill_without_beating_the_climatology() -> None:
    drift = report(improvement=(0.004, 0.002, 0.006), over_climatology=(-0.001, -0.002, 0.0))
    decision = decide_promotion(drift, evaluation(), None)
    assert decision.failed == ["skill"]
    assert decision.gates["skill"]["climatology_interval"]["upper"] == 0.0


def test_direction_needs_a_positive_rank_ic_interval() -> None:
    decision = decide_promotion(report(rank_ic=(0.004, -0.01, 0.02)), evaluation(), None)
    assert decision.failed == ["direction"]


def test_a_model_that_never_trades_is_rejected_never_passed() -> None:
    decision = decide_promotion(report(trades=0, net_return=0.0), evaluation(), None)
    assert decision.failed == ["trading"]
    assert decision.gates["trading"]["reason"] == "the model never traded on the test days"


def test_trading_needs_enough_trades_and_a_positive_net_return() -> None:
    assert decide_promotion(report(trades=29), evaluation(), None).failed == ["trading"]
    assert decide_promotion(report(net_return=-0.001), evaluation(), None).failed == ["trading"]
    relaxed = PromotionGates(min_trades=10)
    assert decide_promotion(report(trades=12), evaluation(), None, relaxed).promote


def test_too_good_to_be_true_blocks_automatic_promotion_as_a_warning() -> None:
    sharp = decide_promotion(report(sharpe=45.0), evaluation(), None)
    assert sharp.failed == ["plausibility"]
    gate = sharp.gates["plausibility"]
    assert gate["severity"] == "warn" and "daily Sharpe 45.0 > 10" in gate["reason"]
    lucky = decide_promotion(report(win_rate=0.9), evaluation(), None)
    assert lucky.failed == ["plausibility"] and "win rate 90.0% > 85%" in lucky.reason
    few = decide_promotion(report(trades=8, win_rate=1.0), evaluation(), None)
    assert "plausibility" not in few.failed, "a win rate over 8 trades says little"


def test_an_insane_evaluation_is_refused() -> None:
    assert decide_promotion(report(), evaluation(sane=False), None).failed == ["evaluation_sanity"]


def test_leak_checks_name_the_training_days_without_passing_results() -> None:
    gate = leak_check_gate(DAYS, DAYS[:-2])
    assert gate["status"] == "failed" and gate["excluded_days"] == DAYS[-2:]
    assert DAYS[-1] in gate["reason"]
    assert leak_check_gate(DAYS, DAYS)["passed"]
    leaky = evaluation(leak_checked_days=DAYS[1:])
    assert decide_promotion(report(), leaky, None).failed == ["leak_checks"]


def _champion(losses: list[float], champion_id: int = 4) -> dict[str, Any]:
    return {"id": champion_id, "daily_logloss": dict(zip(DAYS, losses, strict=True))}


def test_a_candidate_beats_the_champion_only_when_the_paired_interval_says_so() -> None:
    rng = np.random.default_rng(0)
    theirs = list(1.05 + rng.normal(0, 0.002, len(DAYS)))
    better = [v - 0.003 + rng.normal(0, 0.0005) for v in theirs]
    decision = decide_promotion(
        report(daily_logloss=better), evaluation(_champion(theirs)), current_champion_id=4
    )
    assert decision.promote, decision.reason
    gate = decision.gates["beats_champion"]
    assert gate["paired_days"] == 20 and gate["interval"]["lower"] > 0


def test_noise_and_ties_keep_the_champion() -> None:
    rng = np.random.default_rng(1)
    theirs = list(1.05 + rng.normal(0, 0.002, len(DAYS)))
    noisy = [v + rng.normal(0, 0.001) for v in theirs]
    noise = decide_promotion(report(daily_logloss=noisy), evaluation(_champion(theirs)), 4)
    assert noise.failed == ["beats_champion"]
    assert "beyond noise" in noise.gates["beats_champion"]["reason"]
    tie = decide_promotion(report(daily_logloss=theirs), evaluation(_champion(theirs)), 4)
    assert tie.failed == ["beats_champion"] and "a tie" in tie.gates["beats_champion"]["reason"]


def test_too_few_shared_days_or_a_stale_champion_keep_the_champion() -> None:
    losses = [1.0] * len(DAYS)
    sparse = _champion([1.1] * 5 + [None] * 15)  # type: ignore[list-item]
    assert (
        "5 shared" in decide_promotion(report(daily_logloss=losses), evaluation(sparse), 4).reason
    )
    stale = decide_promotion(report(), evaluation(_champion([1.2] * 20)), current_champion_id=5)
    assert stale.failed == ["beats_champion"]
    assert "not evaluated" in stale.gates["beats_champion"]["reason"]


def test_the_champions_stored_record_counts_only_for_the_same_symbols_and_labels() -> None:
    candidate = report() | {"universe": ["AAPL", "MSFT"], "label": {"horizon_minutes": 10}}
    same = report(daily_logloss=[1.07] * 20) | {
        "universe": ["AAPL", "MSFT"],
        "label": {"horizon_minutes": 10},
    }
    other = same | {"universe": ["AAPL", "MSFT", "NVDA"]}
    # Trained through the last test day: no day is left for the artifact to score.
    through = dt.date.fromisoformat(DAYS[-1])
    used = champion_daily_logloss(ParquetLake("unused"), None, through, same, candidate)
    assert used["sources"] == {"artifact": 0, "walk_forward": 20}
    assert set(used["daily_logloss"].values()) == {1.07}
    unused = champion_daily_logloss(ParquetLake("unused"), None, through, other, candidate)
    assert unused["daily_logloss"] == {} and "other symbols" in unused["notes"][0]
    decision = decide_promotion(candidate, evaluation({"id": 4, **unused}), 4)
    assert "0 shared out-of-sample days" in decision.gates["beats_champion"]["reason"]


class _OtherFeatures:
    """A champion artifact built for other features than the running code computes."""

    def check_compatible(self, spec: Any) -> None:
        raise ModelIncompatibleError(
            f"model features 895be7fd2a77 do not match the running feature spec {spec.hash}"
        )


def test_a_champion_the_running_code_cannot_serve_is_no_standard_to_beat() -> None:
    candidate = report(daily_logloss=[1.07] * 20)
    stored = report(daily_logloss=[1.0] * 20)  # its old record would win every day
    through = dt.date.fromisoformat(DAYS[0])
    scores = champion_daily_logloss(
        ParquetLake("unused"),
        _OtherFeatures(),  # type: ignore[arg-type]
        through,
        stored,
        candidate,
    )
    assert scores["daily_logloss"] == {} and "895be7fd2a77" in scores["cannot_serve"]
    decision = decide_promotion(candidate, evaluation({"id": 4, **scores}), 4)
    gate = decision.gates["beats_champion"]
    assert gate["status"] == "skipped" and "cannot trade on the running code" in gate["reason"]
    assert decision.promote, decision.reason
    # the same record from a champion that can serve keeps the champion
    servable = champion_daily_logloss(ParquetLake("unused"), None, through, stored, candidate)
    assert decide_promotion(candidate, evaluation({"id": 4, **servable}), 4).failed == [
        "beats_champion"
    ]
