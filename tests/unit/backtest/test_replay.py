from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from tests.support.reference_replay import reference_replay
from trading_runtime.backtest.replay import BacktestConfig, run_backtest
from trading_runtime.core.minute import DecisionConfig
from trading_runtime.features.batch import compute_features
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.synthetic import SyntheticMarket
from trading_runtime.modeling.dataset import build_dataset
from trading_runtime.modeling.labels import label_bars
from trading_runtime.modeling.training import TrainingConfig, split_days, train_model
from trading_runtime.risk.checks import RiskConfig
from trading_runtime.strategy.rules import StrategyConfig
from trading_runtime.venue import FillModelConfig, FillModelKind

SYMBOLS = ["AAPL", "MSFT", "NVDA", "AMZN", "META", "TSLA"]


@pytest.fixture(scope="module")
def setup():
    market = SyntheticMarket(5)
    days = calendar.previous_sessions(dt.date(2026, 9, 1), 14)
    bars = {day: market.day_bars(day, SYMBOLS) for day in days}
    features = {day: compute_features(frame) for day, frame in bars.items()}
    dataset = build_dataset(
        pd.concat(features.values()), pd.concat(label_bars(f) for f in bars.values())
    )
    split = split_days(dataset.days, validation_days=2, test_days=2)
    result = train_model(dataset, split, TrainingConfig(n_estimators=80, nthread=1))
    test_bars = pd.concat(bars[d] for d in split.test)
    test_features = pd.concat(features[d] for d in split.test)
    return test_bars, test_features, result.model


def test_backtest_is_deterministic_and_its_books_balance(setup) -> None:
    bars, features, model = setup
    config = BacktestConfig(decision=DecisionConfig(strategy=StrategyConfig(buy_threshold=0.6)))
    first = run_backtest(bars, features, model, 1, config)
    second = run_backtest(bars, features, model, 1, config)
    pd.testing.assert_frame_equal(first.equity_curve, second.equity_curve)
    assert first.metrics["buy_orders"] > 0, "the threshold was chosen so the model trades"
    fills = first.fills
    cash = float(config.starting_cash)
    for row in fills.itertuples():
        sign = 1 if row.side == "buy" else -1
        cash -= sign * row.qty * row.price + row.fee
    assert first.equity_curve["cash"].iloc[-1] == pytest.approx(cash, abs=1e-6)
    held = (
        fills.assign(signed=fills["qty"].where(fills["side"] == "buy", -fills["qty"]))
        .groupby("symbol")["signed"]
        .sum()
    )
    assert (held >= 0).all(), "never short"


def test_orders_fill_no_earlier_than_the_next_bar(setup) -> None:
    bars, features, model = setup
    result = run_backtest(
        bars,
        features,
        model,
        1,
        BacktestConfig(decision=DecisionConfig(strategy=StrategyConfig(buy_threshold=0.6))),
    )
    merged = result.fills.merge(
        result.orders[["client_order_id", "submitted_at"]], on="client_order_id"
    )
    assert (merged["timestamp"] > pd.to_datetime(merged["submitted_at"], utc=True)).all()


def test_benchmark_is_buy_and_hold_of_the_reference(setup) -> None:
    bars, features, model = setup
    result = run_backtest(bars, features, model, 1, BacktestConfig(starting_cash=Decimal("100000")))
    spy = bars[bars["symbol"] == "SPY"].sort_values("timestamp")
    shares = int(100000 // spy["open"].iloc[0])
    expected = 100000 - shares * spy["open"].iloc[0] + shares * spy["close"].iloc[-1]
    assert result.equity_curve["benchmark_equity"].iloc[-1] == pytest.approx(expected, rel=1e-9)
    assert result.metrics["benchmark_return"] == pytest.approx(expected / 100000 - 1, rel=1e-9)


def test_scoring_threads_change_no_result_and_the_model_keeps_its_own_setting(setup) -> None:
    bars, features, model = setup

    def threads() -> str:
        config = json.loads(model.booster.save_config())
        return str(config["learner"]["generic_param"]["nthread"])

    before = threads()
    decision = DecisionConfig(strategy=StrategyConfig(buy_threshold=0.6))
    one = run_backtest(
        bars, features, model, 1, BacktestConfig(decision=decision, scoring_threads=1)
    )
    two = run_backtest(
        bars, features, model, 1, BacktestConfig(decision=decision, scoring_threads=2)
    )
    pd.testing.assert_frame_equal(one.equity_curve, two.equity_curve)
    pd.testing.assert_frame_equal(one.orders, two.orders)
    assert one.decision_counts == two.decision_counts
    assert threads() == before == "1"


# Configurations that reach every path of the minute loop: buys and signal sells, a flatten
# at the close, the kill switch with and without flattening, the legacy day-trade guard,
# partial fills, and orders that stay open for several minutes.
_LOW = StrategyConfig(buy_threshold=0.5)
REPLAYS = {
    "buys and sells": BacktestConfig(
        decision=DecisionConfig(strategy=StrategyConfig(buy_threshold=0.45, sell_threshold=0.4))
    ),
    "flatten at the close": BacktestConfig(
        decision=DecisionConfig(strategy=StrategyConfig(buy_threshold=0.5, flatten_at_close=True))
    ),
    "kill switch flattens": BacktestConfig(
        decision=DecisionConfig(
            strategy=_LOW,
            risk=RiskConfig(daily_loss_limit_fraction=Decimal("0.0005")),
            flatten_on_kill_switch=True,
        )
    ),
    "kill switch": BacktestConfig(
        decision=DecisionConfig(
            strategy=_LOW, risk=RiskConfig(daily_loss_limit_fraction=Decimal("0.0005"))
        )
    ),
    "day-trade guard": BacktestConfig(
        starting_cash=Decimal("20000"),
        decision=DecisionConfig(
            strategy=StrategyConfig(buy_threshold=0.5, sell_threshold=0.3),
            risk=RiskConfig(legacy_day_trade_guard=True),
        ),
    ),
    "partial fills": BacktestConfig(
        decision=DecisionConfig(strategy=_LOW),
        fill_model=FillModelConfig(kind=FillModelKind.PAPER, partial_fill_probability=0.4, seed=3),
    ),
    "participation cap": BacktestConfig(
        decision=DecisionConfig(strategy=_LOW),
        fill_model=FillModelConfig(max_participation=Decimal("0.002")),
    ),
}


@pytest.mark.parametrize(
    ("name", "sparse"),
    [("buys and sells", False), *((name, True) for name in REPLAYS)],
    ids=["buys and sells, whole", *(f"{name}, sparse" for name in REPLAYS)],
)
def test_replay_equals_a_full_replay_of_every_minute(setup, name, sparse) -> None:
    """The replay's shortcuts (rows that can only HOLD counted, not decided; bars built only
    for working orders; minutes without work skipped) change no order, fill, equity or count."""
    bars, _, model = setup
    if sparse:  # a quarter of the bars missing, in unsorted input
        keep = np.random.default_rng(3).random(len(bars)) > 0.25
        bars = bars[keep].sample(frac=1.0, random_state=1)
    features = pd.concat(
        compute_features(day) for _, day in bars.groupby(bars["timestamp"].dt.date)
    )
    config = REPLAYS[name]
    fast = run_backtest(bars, features, model, 1, config)
    full = reference_replay(bars, features, model, 1, config)
    assert fast.metrics["orders"] > 0, "the configuration trades"
    pd.testing.assert_frame_equal(fast.orders, full.orders, check_exact=True)
    pd.testing.assert_frame_equal(fast.fills, full.fills, check_exact=True)
    pd.testing.assert_frame_equal(fast.equity_curve, full.equity_curve, check_exact=True)
    assert fast.decision_counts == full.decision_counts
    assert fast.metrics == pytest.approx(full.metrics, rel=0, abs=0, nan_ok=True)
    assert (fast.cash, fast.positions) == (full.cash, full.positions)
