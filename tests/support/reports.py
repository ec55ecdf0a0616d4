"""Hand-made walk-forward reports and evaluations, the inputs of the promotion gates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from trading_runtime.marketdata import calendar

DAYS = [d.isoformat() for d in calendar.previous_sessions(dt.date(2026, 11, 30), 20)]


def interval(estimate: float, lower: float, upper: float, days: int = 20) -> dict[str, Any]:
    return {"estimate": estimate, "lower": lower, "upper": upper, "days": days, "confidence": 0.95}


def walk_forward_report(
    improvement: tuple[float, float, float] = (0.010, 0.006, 0.014),
    over_climatology: tuple[float, float, float] = (0.008, 0.004, 0.012),
    rank_ic: tuple[float, float, float] = (0.05, 0.03, 0.07),
    trades: int = 120,
    net_return: float = 0.04,
    sharpe: float = 4.0,
    win_rate: float = 0.6,
    daily_logloss: list[float] | None = None,
) -> dict[str, Any]:
    """A report whose every gate passes with the default thresholds unless told otherwise."""
    losses = daily_logloss or [1.05] * len(DAYS)
    return {
        "pooled": {
            "days": len(DAYS),
            "trades": trades,
            "net_return": net_return,
            "daily_sharpe": sharpe,
            "win_rate": win_rate if trades else None,
            "max_drawdown": -0.02,
        },
        "intervals": {
            "logloss_improvement": interval(*improvement),
            "logloss_improvement_climatology": interval(*over_climatology),
            "rank_ic": interval(*rank_ic),
            "daily_net_return": interval(0.002, 0.0005, 0.0035),
        },
        "daily": [{"day": d, "logloss": v} for d, v in zip(DAYS, losses, strict=True)],
        "training_days": DAYS,
    }


def evaluation(
    champion: dict[str, Any] | None = None,
    sane: bool = True,
    leak_checked_days: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "sanity": {"passed": sane, "problems": [] if sane else ["backtest produced no equity"]},
        "champion": champion,
        "leak_checks": {"passed_days": leak_checked_days},
    }


def tearsheet_report(folds: int = 2, days_per_fold: int = 5, seed: int = 3) -> dict[str, Any]:
    """A complete walk-forward report as ``modeling.report.build_report`` stores it: folds,
    pooled figures, intervals, calibration bins and one record per test day."""
    import random

    rng = random.Random(seed)
    days = DAYS[-folds * days_per_fold :]
    daily = [
        {
            "day": day,
            "fold": 1 + i // days_per_fold,
            "rows": 390,
            "logloss": 1.04,
            "ic": rng.uniform(-0.05, 0.15),
            "rank_ic": rng.uniform(-0.05, 0.15),
            "net_return": rng.uniform(-0.004, 0.008),
            "gross_return": rng.uniform(0.0, 0.009),
            "benchmark_return": rng.uniform(-0.006, 0.006),
        }
        for i, day in enumerate(days)
    ]
    fold_rows = [
        {
            "fold": k + 1,
            "train_start": DAYS[0],
            "train_end": DAYS[DAYS.index(days[k * days_per_fold]) - 1],
            "train_days": DAYS.index(days[k * days_per_fold]),
            "embargo_days": 0,
            "test_start": days[k * days_per_fold],
            "test_end": days[(k + 1) * days_per_fold - 1],
            "test_days": days_per_fold,
            "rounds": 40 + k,
            "test_rows": 390 * days_per_fold,
            "logloss": 1.0391234,
            "prior_logloss": 1.0512345,
            "accuracy": 0.43121,
            "ic": 0.05123,
            "rank_ic": 0.04876,
            "trades": 60,
            "win_rate": 0.5612,
            "net_return": 0.012345,
            "gross_return": 0.02,
            "benchmark_return": 0.003,
            "daily_sharpe": 2.345,
            "max_drawdown": -0.0123,
        }
        for k in range(folds)
    ]
    bins = [
        {
            "bin": f"{b / 10:.1f}-{(b + 1) / 10:.1f}",
            "rows": 100 if b < 8 else 0,
            "mean_predicted": b / 10 + 0.05,
            "observed_frequency": min(1.0, b / 10 + 0.05 + rng.uniform(-0.05, 0.05)),
        }
        for b in range(10)
    ]
    report = walk_forward_report(net_return=0.0312, sharpe=2.1, win_rate=0.56)
    report["pooled"].update(
        {
            "rows": 390 * len(days),
            "days": len(days),
            "logloss": 1.0391234,
            "prior_logloss": 1.0512345,
            "accuracy": 0.43121,
            "majority_accuracy": 0.40012,
            "ece": 0.0123,
            "ic": 0.0512,
            "rank_ic": 0.0487,
            "gross_return": 0.0411,
            "benchmark_return": 0.0061,
            "information_ratio": 1.234,
            "mean_net_bps": 4.56,
            "costs": 1234.5678,
        }
    )
    report.update(
        {
            "design": {"folds": folds, "scheme": "expanding", "test_days": days_per_fold},
            "folds": fold_rows,
            "daily": daily,
            "calibration": {f"reliability_{name}": bins for name in ("down", "flat", "up")},
            "dispersion": {"rank_ic": {"mean": 0.0487, "std": 0.01, "folds": folds}},
        }
    )
    return report
