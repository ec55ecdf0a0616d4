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
