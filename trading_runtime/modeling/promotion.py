"""Promotion gates: when a candidate may replace the champion automatically. Pure; the
Dagster sensor previews them, the promotion run decides with them and the registry's audit
trail records every gate with its numbers and a sentence saying why.

A candidate is promoted automatically when no gate fails (a ``skipped`` gate, one whose
inputs are not available, neither passes nor blocks and says so):

* ``evaluation_sanity``: the evaluation's own sanity check passed;
* ``test_days``: at least ``min_test_days`` walk-forward test days;
* ``skill``: the per-day log-loss improvement over the class prior (row-weighted mean over
  the walk-forward test days) has its 95 % interval (days resampled) above 0, and so does
  the improvement over the climatology of each fold's test block (its observed class
  shares). The prior alone can be beaten without any skill: when class shares drift between
  training and test, a forecast shrunk towards uniform (what early stopping makes of noise)
  beats the training shares; no constant forecast beats the climatology;
* ``direction``: the daily rank IC of ``P(up) - P(down)`` has its interval above 0. The
  log loss alone rewards a model that only knows *whether* the price will move (volatility
  predicts that); the strategy needs to know *which way*;
* ``trading``: at least ``min_trades`` round trips on the test days and a net return above 0
  (its interval is recorded); a model that never trades fails;
* ``drawdown``: the chained walk-forward drawdown is no worse than ``max_drawdown``;
* ``plausibility``: too good to be true (daily Sharpe above ``max_daily_sharpe`` or a win
  rate above ``max_win_rate``) blocks automatic promotion and is shown as a warning; a
  candidate blocked by warnings alone is ``held_for_review`` (not rejected), so a manual
  promotion with a reason remains possible;
* ``leak_checks``: every training day has passing ``no_lookahead`` and ``feature_parity``
  results; the days without are named (skipped when no per-day results are given);
* ``beats_champion`` (when a champion exists): paired per-day log-loss differences
  (champion minus candidate) on shared out-of-sample days, at least ``min_paired_days`` of
  them, have their interval above 0. A tie or a difference within the noise keeps the
  champion. Skipped when the champion was built for other features than the running code
  computes: the live loop cannot load it, so it is no standard to beat.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from trading_runtime.modeling.bootstrap import Interval, bootstrap_mean

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
# Every gate, in the order decisions list them.
GATES = (
    "evaluation_sanity",
    "test_days",
    "skill",
    "direction",
    "trading",
    "drawdown",
    "plausibility",
    "leak_checks",
    "beats_champion",
)


@dataclass(frozen=True)
class PromotionGates:
    min_test_days: int = 10
    min_trades: int = 30
    max_drawdown: float = -0.10
    max_daily_sharpe: float = 10.0
    max_win_rate: float = 0.85
    min_paired_days: int = 10

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PromotionDecision:
    promote: bool
    gates: dict[str, dict[str, Any]]

    @property
    def failed(self) -> list[str]:
        return [name for name, gate in self.gates.items() if gate["status"] == FAILED]

    @property
    def held_for_review(self) -> bool:
        """Blocked only by warnings (plausibility): a person decides, by a manual promotion."""
        failed = self.failed
        return bool(failed) and all(self.gates[name].get("severity") == "warn" for name in failed)

    @property
    def outcome(self) -> str:
        """``promote``, ``hold`` (for review) or ``reject``."""
        if self.promote:
            return "promote"
        return "hold" if self.held_for_review else "reject"

    @property
    def reason(self) -> str:
        if self.promote:
            return "all promotion gates passed"
        return "; ".join(f"{name}: {self.gates[name]['reason']}" for name in self.failed)


def _gate(status: str, reason: str, **numbers: Any) -> dict[str, Any]:
    return {"status": status, "passed": status == PASSED, "reason": reason, **numbers}


def _check(passed: bool, reason: str, **numbers: Any) -> dict[str, Any]:
    return _gate(PASSED if passed else FAILED, reason, **numbers)


def _interval(values: Mapping[str, Any] | None) -> Interval:
    values = values or {}

    def number(key: str) -> float:
        value = values.get(key)
        return float(value) if isinstance(value, (int, float)) else math.nan

    return Interval(
        number("estimate"), number("lower"), number("upper"), int(values.get("days") or 0)
    )


def _ci(interval: Interval, digits: int = 4, percent: bool = False) -> str:
    if percent:
        return f"{interval.estimate:+.2%} (95 % CI {interval.lower:+.2%} .. {interval.upper:+.2%})"
    return (
        f"{interval.estimate:+.{digits}f} (95 % CI {interval.lower:+.{digits}f} .. "
        f"{interval.upper:+.{digits}f})"
    )


def decide_promotion(
    report: Mapping[str, Any],
    evaluation: Mapping[str, Any],
    current_champion_id: int | None,
    gates: PromotionGates = PromotionGates(),
) -> PromotionDecision:
    """Gate decision for a candidate from its walk-forward ``report`` (stored with the
    version) and its ``evaluation`` (``sanity``, ``leak_checks``, ``champion``: the
    champion's per-day log loss on the candidate's test days, with its id).

    The champion comparison counts only if the evaluated champion is still the champion.
    """
    pooled = report.get("pooled") or {}
    intervals = report.get("intervals") or {}
    sanity = evaluation.get("sanity") or {"passed": False, "problems": ["no sanity check recorded"]}
    results = {
        "evaluation_sanity": _check(
            bool(sanity.get("passed")),
            "; ".join(sanity.get("problems") or []) or "the evaluation adds up",
            problems=sanity.get("problems"),
        ),
        "test_days": _check(
            int(pooled.get("days") or 0) >= gates.min_test_days,
            f"{int(pooled.get('days') or 0)} walk-forward test days (at least "
            f"{gates.min_test_days})",
            value=int(pooled.get("days") or 0),
            threshold=gates.min_test_days,
        ),
        "skill": _skill(
            intervals.get("logloss_improvement"), intervals.get("logloss_improvement_climatology")
        ),
        "direction": _direction(intervals.get("rank_ic")),
        "trading": _trading(pooled, intervals.get("daily_net_return"), gates),
        "drawdown": _drawdown(pooled, gates),
        "plausibility": plausibility(pooled, gates),
        "leak_checks": leak_check_gate(
            report.get("training_days") or [],
            (evaluation.get("leak_checks") or {}).get("passed_days"),
        ),
    }
    if current_champion_id is not None:
        results["beats_champion"] = _beats_champion(
            report.get("daily") or [], evaluation.get("champion"), current_champion_id, gates
        )
    promote = all(gate["status"] != FAILED for gate in results.values())
    return PromotionDecision(promote, results)


def _skill(
    over_prior: Mapping[str, Any] | None, over_climatology: Mapping[str, Any] | None
) -> dict[str, Any]:
    prior, climatology = _interval(over_prior), _interval(over_climatology)
    passed = prior.above(0.0) and climatology.above(0.0)
    return _check(
        passed,
        f"log-loss improvement per row over {prior.days} days: over the prior {_ci(prior)}, "
        f"over the test blocks' climatology {_ci(climatology)}"
        + (": both above 0" if passed else ": not both above 0"),
        value=prior.estimate,
        interval=prior.as_dict(),
        climatology_interval=climatology.as_dict(),
        threshold=0.0,
    )


def _direction(values: Mapping[str, Any] | None) -> dict[str, Any]:
    interval = _interval(values)
    return _check(
        interval.above(0.0),
        f"daily rank IC of P(up) - P(down) {_ci(interval)}"
        + (": above 0" if interval.above(0.0) else ": not above 0"),
        value=interval.estimate,
        interval=interval.as_dict(),
        threshold=0.0,
    )


def _trading(
    pooled: Mapping[str, Any], daily_return: Mapping[str, Any] | None, gates: PromotionGates
) -> dict[str, Any]:
    trades = int(pooled.get("trades") or 0)
    net = pooled.get("net_return")
    interval = _interval(daily_return)
    numbers = {
        "trades": trades,
        "min_trades": gates.min_trades,
        "net_return": net,
        "daily_net_return": interval.as_dict(),
    }
    if trades == 0:
        return _check(False, "the model never traded on the test days", **numbers)
    reason = (
        f"{trades} round trips (at least {gates.min_trades}); net return "
        f"{(net or 0.0):+.2%}, daily {_ci(interval, percent=True)}"
    )
    passed = trades >= gates.min_trades and net is not None and net > 0.0
    return _check(passed, reason, **numbers)


def _drawdown(pooled: Mapping[str, Any], gates: PromotionGates) -> dict[str, Any]:
    drawdown = pooled.get("max_drawdown")
    passed = drawdown is not None and drawdown >= gates.max_drawdown
    text = f"{drawdown:.2%}" if drawdown is not None else "unknown"
    return _check(
        passed,
        f"maximum drawdown {text} (limit {gates.max_drawdown:.2%})",
        value=drawdown,
        threshold=gates.max_drawdown,
    )


def plausibility(
    pooled: Mapping[str, Any], gates: PromotionGates = PromotionGates()
) -> dict[str, Any]:
    """Too good to be true? Fails when the daily Sharpe or the win rate exceeds its limit
    (the win rate only over at least ``min_trades`` trades: a few lucky trades are not a
    sign of a leak, and the trading gate refuses them anyway)."""
    sharpe = pooled.get("daily_sharpe")
    win_rate = pooled.get("win_rate")
    trades = int(pooled.get("trades") or 0)
    flags = []
    if sharpe is not None and sharpe > gates.max_daily_sharpe:
        flags.append(f"daily Sharpe {sharpe:.1f} > {gates.max_daily_sharpe:g}")
    if win_rate is not None and trades >= gates.min_trades and win_rate > gates.max_win_rate:
        flags.append(f"win rate {win_rate:.1%} > {gates.max_win_rate:.0%} over {trades} trades")
    sharpe_text = f"{sharpe:.1f}" if sharpe is not None else "n/a"
    win_text = f"{win_rate:.1%}" if win_rate is not None else "n/a"
    reason = (
        "implausible, check costs and leaks before trusting it: " + "; ".join(flags)
        if flags
        else f"daily Sharpe {sharpe_text}, win rate {win_text}: within plausible limits"
    )
    return _check(
        not flags,
        reason,
        daily_sharpe=sharpe,
        win_rate=win_rate,
        max_daily_sharpe=gates.max_daily_sharpe,
        max_win_rate=gates.max_win_rate,
        severity="warn",
    )


def leak_check_gate(
    training_days: Iterable[str], passed_days: Iterable[str] | None
) -> dict[str, Any]:
    """Every training day (ISO date) must be among the days whose latest ``no_lookahead``
    and ``feature_parity`` results passed; ``passed_days=None``: no per-day results."""
    trained = sorted(set(training_days))
    if passed_days is None:
        return _gate(
            SKIPPED,
            "no per-day leak-check results were given; training days are not verified",
            training_days=len(trained),
        )
    excluded = sorted(set(trained) - set(passed_days))
    reason = (
        f"trained on {len(excluded)} days without passing leak checks: {', '.join(excluded)}"
        if excluded
        else f"all {len(trained)} training days passed no_lookahead and feature_parity"
    )
    return _check(not excluded, reason, training_days=len(trained), excluded_days=excluded)


def _beats_champion(
    daily: Sequence[Mapping[str, Any]],
    champion: Mapping[str, Any] | None,
    current_champion_id: int,
    gates: PromotionGates,
) -> dict[str, Any]:
    if champion is None or champion.get("id") != current_champion_id:
        return _check(
            False,
            f"the current champion {current_champion_id} was not evaluated on the candidate's "
            "test days",
            champion_id=current_champion_id,
        )
    if champion.get("cannot_serve"):
        return _gate(
            SKIPPED,
            f"champion {current_champion_id} cannot trade on the running code "
            f"({champion['cannot_serve']}): there is no champion to beat",
            champion_id=current_champion_id,
        )
    candidate = {d["day"]: d["logloss"] for d in daily if d.get("logloss") is not None}
    theirs = champion.get("daily_logloss") or {}
    shared = sorted(set(candidate) & {day for day, v in theirs.items() if v is not None})
    differences = [theirs[day] - candidate[day] for day in shared]
    interval = bootstrap_mean(differences)
    numbers = {
        "champion_id": current_champion_id,
        "paired_days": len(shared),
        "interval": interval.as_dict(),
        "value": interval.estimate,
        "champion_sources": champion.get("sources"),
    }
    if len(shared) < gates.min_paired_days:
        return _check(
            False,
            f"{len(shared)} shared out-of-sample days with champion {current_champion_id} "
            f"(at least {gates.min_paired_days}): the champion stays",
            **numbers,
        )
    if interval.above(0.0):
        verdict = "better than the champion"
    elif interval.defined and interval.lower == interval.upper == 0.0:
        verdict = "a tie: the champion stays"
    else:
        verdict = "not better than the champion beyond noise: the champion stays"
    return _check(
        interval.above(0.0),
        f"per-day log loss, champion minus candidate, {_ci(interval, 5)} over {len(shared)} "
        f"days: {verdict}",
        **numbers,
    )
