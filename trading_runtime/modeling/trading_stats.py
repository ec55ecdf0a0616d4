"""Trading statistics of backtests: per day, per round trip, and pooled over several
backtests (the walk-forward folds, each starting with fresh cash).

Definitions (returns are simple returns, fractions not percent):

* **net** daily return: end-of-day equity over the previous end of day (the starting cash
  on a backtest's first day), as filled and after commissions; **gross** adds the day's
  trading costs back (commissions plus slippage against the decision price, the last close
  when the order was decided), divided by the equity at the start of the day;
* a **round trip** (a trade) runs from a fill that opens a position in a symbol to the fill
  that brings it back to zero; its net PnL includes its commissions; ``net_bps`` is the
  net PnL over the bought notional; holding time is wall-clock minutes from the first
  entry fill to the closing fill; positions still open at the end are counted, not scored;
* **turnover** of a day: traded notional (buys and sells) over the equity at the start of
  the day;
* ``daily_sharpe``: mean over standard deviation (ddof=1) of daily net returns times
  sqrt(252); ``information_ratio``: the same of daily net returns minus the benchmark's;
  ``annualised_return``: ``(1 + total) ** (252 / days) - 1``; ``max_drawdown``: the worst
  fall of minute equity from its running peak, folds chained end to start.

:func:`backtest_frames` is the one place that knows the columns of ``BacktestResult``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trading_runtime.backtest.replay import BacktestResult
from trading_runtime.marketdata import calendar

TRADING_DAYS_PER_YEAR = 252


@dataclass(frozen=True)
class BacktestFrames:
    """``equity``: timestamp, equity, benchmark_equity (one row per replayed minute);
    ``fills``: timestamp, symbol, side ('buy'/'sell'), qty, price, fee, cost (commission
    plus slippage cost in dollars, >= 0 when the fill was worse than the decision price)."""

    equity: pd.DataFrame
    fills: pd.DataFrame
    starting_cash: float


def backtest_frames(result: BacktestResult, starting_cash: float) -> BacktestFrames:
    """Map a backtest's equity curve and fills to the columns the statistics use."""
    equity = result.equity_curve[["timestamp", "equity", "benchmark_equity"]].copy()
    columns = ["timestamp", "symbol", "side", "qty", "price", "fee", "cost"]
    if result.fills.empty:
        return BacktestFrames(equity, pd.DataFrame(columns=columns), starting_cash)
    fills = result.fills.copy()
    qty = fills["qty"].to_numpy(dtype=float)
    price = fills["price"].to_numpy(dtype=float)
    slip = fills["slippage_bps"].to_numpy(dtype=float) / 1e4
    buy = (fills["side"] == "buy").to_numpy()
    # slippage_bps is signed so that positive is worse: buys (p / p0 - 1), sells -(p / p0 - 1).
    decision_price = np.where(buy, price / (1.0 + slip), price / (1.0 - slip))
    slippage_cost = np.where(buy, price - decision_price, decision_price - price) * qty
    fills["cost"] = fills["fee"].to_numpy(dtype=float) + slippage_cost
    return BacktestFrames(equity, fills[columns].reset_index(drop=True), starting_cash)


@dataclass(frozen=True)
class RoundTrip:
    symbol: str
    opened_at: pd.Timestamp
    closed_at: pd.Timestamp
    entry_notional: float
    net_pnl: float
    gross_pnl: float

    @property
    def net_bps(self) -> float:
        return self.net_pnl / self.entry_notional * 1e4

    @property
    def gross_bps(self) -> float:
        return self.gross_pnl / self.entry_notional * 1e4

    @property
    def holding_minutes(self) -> float:
        return (self.closed_at - self.opened_at).total_seconds() / 60.0


@dataclass(slots=True)
class _OpenTrip:
    opened_at: pd.Timestamp
    qty: float = 0.0
    bought: float = 0.0
    cash: float = 0.0
    cost: float = 0.0


def round_trips(fills: pd.DataFrame) -> tuple[list[RoundTrip], int]:
    """Closed round trips in closing order, and the number of positions left open."""
    trips: list[RoundTrip] = []
    open_trips: dict[str, _OpenTrip] = {}
    for row in fills.sort_values("timestamp", kind="stable").itertuples(index=False):
        signed = float(row.qty) if row.side == "buy" else -float(row.qty)
        trip = open_trips.get(row.symbol)
        if trip is None:
            if signed <= 0:
                continue  # a sell without a position (never short): nothing to score
            trip = open_trips[row.symbol] = _OpenTrip(opened_at=row.timestamp)
        trip.qty += signed
        if signed > 0:
            trip.bought += signed * float(row.price)
        trip.cash -= signed * float(row.price) + float(row.fee)
        trip.cost += float(row.cost)
        if trip.qty <= 1e-9:
            trips.append(
                RoundTrip(
                    symbol=row.symbol,
                    opened_at=trip.opened_at,
                    closed_at=row.timestamp,
                    entry_notional=trip.bought,
                    net_pnl=trip.cash,
                    gross_pnl=trip.cash + trip.cost,
                )
            )
            del open_trips[row.symbol]
    return trips, len(open_trips)


def daily_table(frames: BacktestFrames) -> pd.DataFrame:
    """One row per replayed session: day, net_return, gross_return, benchmark_return,
    turnover, costs, fees, trades (round trips closed that day)."""
    equity = frames.equity
    if equity.empty:
        return pd.DataFrame(
            columns=[
                "day",
                "net_return",
                "gross_return",
                "benchmark_return",
                "turnover",
                "costs",
                "fees",
                "trades",
            ]
        )
    days = _session_days(equity["timestamp"])
    ends = equity.assign(day=days).groupby("day", sort=True)[["equity", "benchmark_equity"]].last()
    start = frames.starting_cash
    previous_equity = np.concatenate(([start], ends["equity"].to_numpy()[:-1]))
    previous_benchmark = np.concatenate(([start], ends["benchmark_equity"].to_numpy()[:-1]))
    fills = frames.fills
    fill_days = _session_days(fills["timestamp"]) if not fills.empty else np.array([])
    by_day = (
        fills.assign(day=fill_days, notional=fills["qty"] * fills["price"])
        .groupby("day")[["notional", "cost", "fee"]]
        .sum()
        .reindex(ends.index, fill_value=0.0)
        if not fills.empty
        else pd.DataFrame(0.0, index=ends.index, columns=["notional", "cost", "fee"])
    )
    trips, _ = round_trips(fills)
    trip_days = pd.Series(_session_days(pd.Series([t.closed_at for t in trips])), dtype=object)
    trades = trip_days.value_counts().reindex(ends.index, fill_value=0)
    net = ends["equity"].to_numpy() / previous_equity - 1.0
    return pd.DataFrame(
        {
            "day": list(ends.index),
            "net_return": net,
            "gross_return": net + by_day["cost"].to_numpy() / previous_equity,
            "benchmark_return": ends["benchmark_equity"].to_numpy() / previous_benchmark - 1.0,
            "turnover": by_day["notional"].to_numpy() / previous_equity,
            "costs": by_day["cost"].to_numpy(),
            "fees": by_day["fee"].to_numpy(),
            "trades": trades.to_numpy(dtype=int),
        }
    )


def equity_path(frames: BacktestFrames) -> np.ndarray:
    """Minute equity relative to the starting cash, starting at 1.0."""
    return np.concatenate(([1.0], frames.equity["equity"].to_numpy() / frames.starting_cash))


def max_drawdown(paths: Sequence[np.ndarray]) -> float:
    """Worst relative fall from the running peak of the paths chained end to start (<= 0)."""
    level, chained = 1.0, []
    for path in paths:
        chained.append(level * path)
        level = float(chained[-1][-1])
    if not chained:
        return 0.0
    values = np.concatenate(chained)
    peaks = np.maximum.accumulate(values)
    return float((values / peaks - 1.0).min())


def trading_summary(
    daily: pd.DataFrame, trips: Sequence[RoundTrip], open_trips: int, paths: Sequence[np.ndarray]
) -> dict[str, float | int]:
    """Pooled statistics over the days of ``daily`` (several backtests concatenated)."""
    net = daily["net_return"].to_numpy(dtype=float)
    gross = daily["gross_return"].to_numpy(dtype=float)
    benchmark = daily["benchmark_return"].to_numpy(dtype=float)
    days = len(net)
    total = float(np.prod(1.0 + net) - 1.0) if days else 0.0
    closed = len(trips)
    return {
        "days": days,
        "trades": closed,
        "open_trades": open_trips,
        "win_rate": _mean([t.net_pnl > 0 for t in trips]),
        "mean_net_bps": _mean([t.net_bps for t in trips]),
        "mean_gross_bps": _mean([t.gross_bps for t in trips]),
        "mean_holding_minutes": _mean([t.holding_minutes for t in trips]),
        "mean_daily_turnover": float(daily["turnover"].mean()) if days else 0.0,
        "costs": float(daily["costs"].sum()),
        "fees": float(daily["fees"].sum()),
        "net_return": total,
        "gross_return": float(np.prod(1.0 + gross) - 1.0) if days else 0.0,
        "benchmark_return": float(np.prod(1.0 + benchmark) - 1.0) if days else 0.0,
        "annualised_return": _annualised(total, days),
        "information_ratio": _sharpe(net - benchmark),
        "daily_sharpe": _sharpe(net),
        "max_drawdown": max_drawdown(paths),
    }


def _session_days(timestamps: pd.Series) -> np.ndarray:
    if len(timestamps) == 0:
        return np.array([], dtype=object)
    return np.asarray(
        pd.DatetimeIndex(pd.to_datetime(timestamps, utc=True)).tz_convert(calendar.NEW_YORK).date
    )


def _mean(values: Sequence[float | bool]) -> float:
    return float(np.mean(values)) if len(values) else math.nan


def _sharpe(returns: np.ndarray) -> float:
    if len(returns) < 2:
        return math.nan
    std = float(returns.std(ddof=1))
    return float(returns.mean() / std * math.sqrt(TRADING_DAYS_PER_YEAR)) if std > 0 else math.nan


def _annualised(total: float, days: int) -> float:
    if days == 0:
        return math.nan
    if total <= -1.0:
        return -1.0
    return float((1.0 + total) ** (TRADING_DAYS_PER_YEAR / days) - 1.0)
