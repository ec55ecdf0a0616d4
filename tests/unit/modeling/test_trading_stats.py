"""Trading statistics from hand-made backtest frames, computed by hand."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from trading_runtime.backtest.replay import BacktestResult
from trading_runtime.modeling.trading_stats import (
    backtest_frames,
    daily_table,
    equity_path,
    max_drawdown,
    round_trips,
    trading_summary,
)

DAY_1, DAY_2 = dt.date(2026, 3, 2), dt.date(2026, 3, 3)


def _at(day: dt.date, hhmm: str) -> pd.Timestamp:
    return pd.Timestamp(f"{day} {hhmm}", tz="America/New_York").tz_convert("UTC")


def _fill(when: pd.Timestamp, symbol: str, side: str, qty: float, price: float, **kw) -> dict:
    return {
        "timestamp": when,
        "symbol": symbol,
        "side": side,
        "qty": qty,
        "price": price,
        "fee": kw.get("fee", 0.0),
        "client_order_id": kw.get("order", f"{symbol}-{side}-{when.value}"),
        "slippage_bps": kw.get("slippage_bps", 0.0),
        "event": "fill",
    }


def _result() -> BacktestResult:
    """Day 1: AAPL bought 10 @ 100 (2 bps slippage, $1 fee) then 10 more @ 101, sold 20 @ 102
    ($1 fee): one winning trip. MSFT bought 5 @ 200, carried overnight, sold @ 190 on day 2:
    one losing trip. Day 2: NVDA bought 4 @ 50 and still open at the end."""
    fills = pd.DataFrame(
        [
            _fill(_at(DAY_1, "10:00"), "AAPL", "buy", 10, 100.0, fee=1.0, slippage_bps=2.0),
            _fill(_at(DAY_1, "10:05"), "AAPL", "buy", 10, 101.0),
            _fill(_at(DAY_1, "10:30"), "AAPL", "sell", 20, 102.0, fee=1.0),
            _fill(_at(DAY_1, "11:00"), "MSFT", "buy", 5, 200.0),
            _fill(_at(DAY_2, "10:00"), "MSFT", "sell", 5, 190.0, slippage_bps=-1.0),
            _fill(_at(DAY_2, "11:00"), "NVDA", "buy", 4, 50.0),
        ]
    )
    curve = pd.DataFrame(
        {
            "timestamp": [
                _at(DAY_1, "09:30"),
                _at(DAY_1, "15:59"),
                _at(DAY_2, "09:30"),
                _at(DAY_2, "15:59"),
            ],
            "equity": [10_000.0, 10_100.0, 9_900.0, 10_050.0],
            "cash": [10_000.0] * 4,
            "market_value": [0.0] * 4,
            "benchmark_equity": [10_000.0, 10_200.0, 10_100.0, 10_098.0],
        }
    )
    return BacktestResult(curve, pd.DataFrame(), fills, {}, {})


def test_round_trips_from_entry_to_flat() -> None:
    frames = backtest_frames(_result(), 10_000.0)
    trips, still_open = round_trips(frames.fills)
    assert still_open == 1  # NVDA
    aapl, msft = trips
    assert aapl.symbol == "AAPL" and msft.symbol == "MSFT"
    assert aapl.entry_notional == pytest.approx(2010.0)
    assert aapl.net_pnl == pytest.approx(20 * 102 - 2010 - 2.0)
    # 2 bps slippage on the first buy: decision price 100 / 1.0002; plus $2 of fees.
    slippage = 10 * (100.0 - 100.0 / 1.0002)
    assert aapl.gross_pnl == pytest.approx(aapl.net_pnl + 2.0 + slippage)
    assert aapl.net_bps == pytest.approx(aapl.net_pnl / 2010.0 * 1e4)
    assert aapl.holding_minutes == 30.0
    assert msft.net_pnl == pytest.approx(-50.0)
    # A sell filled 1 bp better than decided: negative cost, gross below net.
    assert msft.gross_pnl == pytest.approx(-50.0 + 5 * (190.0 / 1.0001 - 190.0))
    assert msft.gross_pnl < msft.net_pnl
    assert msft.holding_minutes == pytest.approx(23 * 60)


def test_daily_returns_turnover_and_trades_by_day() -> None:
    frames = backtest_frames(_result(), 10_000.0)
    daily = daily_table(frames)
    assert list(daily["day"]) == [DAY_1, DAY_2]
    assert daily["net_return"].tolist() == pytest.approx([0.01, 10_050 / 10_100 - 1])
    assert daily["benchmark_return"].tolist() == pytest.approx([0.02, 10_098 / 10_200 - 1])
    notional_1 = 1000 + 1010 + 2040 + 1000
    assert daily["turnover"].tolist() == pytest.approx([notional_1 / 10_000, (950 + 200) / 10_100])
    costs_1 = 2.0 + 10 * (100.0 - 100.0 / 1.0002)
    assert daily["gross_return"].iloc[0] == pytest.approx(0.01 + costs_1 / 10_000)
    assert daily["trades"].tolist() == [1, 1]
    assert daily["fees"].tolist() == [2.0, 0.0]


def test_pooled_summary_by_hand() -> None:
    frames = backtest_frames(_result(), 10_000.0)
    daily = daily_table(frames)
    trips, still_open = round_trips(frames.fills)
    summary = trading_summary(daily, trips, still_open, [equity_path(frames)])
    net = daily["net_return"].to_numpy()
    active = net - daily["benchmark_return"].to_numpy()
    assert summary["trades"] == 2 and summary["open_trades"] == 1
    assert summary["win_rate"] == 0.5
    assert summary["net_return"] == pytest.approx(10_050 / 10_000 - 1)
    assert summary["annualised_return"] == pytest.approx(1.005**126 - 1)
    assert summary["daily_sharpe"] == pytest.approx(net.mean() / net.std(ddof=1) * math.sqrt(252))
    assert summary["information_ratio"] == pytest.approx(
        active.mean() / active.std(ddof=1) * math.sqrt(252)
    )
    assert summary["max_drawdown"] == pytest.approx(9_900 / 10_100 - 1)
    assert summary["mean_holding_minutes"] == pytest.approx((30 + 23 * 60) / 2)


def test_drawdown_chains_backtests_that_each_start_with_fresh_cash() -> None:
    first = np.array([1.0, 1.2, 1.1])
    second = np.array([1.0, 0.9, 1.05])
    # Chained: 1.0 1.2 1.1 | 1.1 0.99 1.155: the worst fall is 0.99 from the 1.2 peak.
    assert max_drawdown([first, second]) == pytest.approx(0.99 / 1.2 - 1)
    assert max_drawdown([]) == 0.0


def test_a_backtest_without_fills_has_no_trades_and_no_win_rate() -> None:
    result = _result()
    idle = BacktestResult(result.equity_curve, pd.DataFrame(), pd.DataFrame(), {}, {})
    frames = backtest_frames(idle, 10_000.0)
    daily = daily_table(frames)
    trips, still_open = round_trips(frames.fills)
    summary = trading_summary(daily, trips, still_open, [equity_path(frames)])
    assert summary["trades"] == 0 and math.isnan(summary["win_rate"])
    assert daily["turnover"].tolist() == [0.0, 0.0]
