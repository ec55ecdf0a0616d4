from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from tests.support.builders import EARLY_CLOSE_DAY, FULL_DAY, minute, portfolio, prediction
from trading_runtime.domain import Action, OrderSide, OrderType, TimeInForce
from trading_runtime.domain.decisions import Prediction
from trading_runtime.marketdata import calendar
from trading_runtime.strategy.rules import StrategyConfig, flatten_decisions, propose, signals

SESSION = calendar.session(FULL_DAY)
CONFIG = StrategyConfig()


def decide(pred, state=None, config=CONFIG, session=SESSION):
    return propose([pred], state or portfolio(), session, config, "sim-2026-11-25")[0]


def test_buys_a_confident_up_signal_with_an_ioc_limit_sized_to_the_cap() -> None:
    decision = decide(prediction(p_up=0.8, price=100.0))
    assert decision.action is Action.BUY
    intent = decision.intent
    assert intent is not None
    assert intent.order_type is OrderType.LIMIT and intent.time_in_force is TimeInForce.IOC
    assert intent.limit_price == Decimal("100.10")  # last close + 10 bps
    assert intent.qty == Decimal("199")  # 20 % of 100,000 at 100.10
    assert intent.side is OrderSide.BUY


def test_holds_below_the_threshold() -> None:
    decision = decide(prediction(p_up=0.74))
    assert decision.action is Action.HOLD and decision.intent is None
    assert "below" in decision.reason


def test_at_most_three_buys_per_symbol_per_day() -> None:
    decision = decide(prediction(p_up=0.9), portfolio(buys_today={"AAPL": 3}))
    assert decision.action is Action.HOLD and "3 buys" in decision.reason


def test_tops_up_only_to_the_position_cap() -> None:
    state = portfolio(cash="85000", positions={"AAPL": ("150", "100")})
    decision = decide(prediction(p_up=0.9, price=100.0), state)
    assert decision.intent is not None
    assert decision.intent.qty == Decimal("49")  # (20,000 - 150 * 100.10) / 100.10


def test_no_entries_near_the_close_including_early_closes() -> None:
    early = calendar.session(EARLY_CLOSE_DAY)
    late = prediction(p_up=0.9, at=minute(EARLY_CLOSE_DAY, early.minutes - 10))
    assert decide(late, session=early).action is Action.HOLD


def test_sells_the_whole_position_on_a_down_signal() -> None:
    state = portfolio(positions={"AAPL": ("37", "100")})
    decision = decide(prediction(p_up=0.2, p_down=0.5), state)
    assert decision.action is Action.SELL
    assert decision.intent is not None and decision.intent.qty == Decimal("37")
    assert decision.intent.order_type is OrderType.MARKET


def test_a_down_signal_without_a_position_is_a_hold() -> None:
    assert decide(prediction(p_up=0.2, p_down=0.5)).action is Action.HOLD


def test_client_order_ids_are_deterministic_and_distinct() -> None:
    first = decide(prediction(p_up=0.9)).intent
    again = decide(prediction(p_up=0.9)).intent
    other_minute = decide(prediction(p_up=0.9, at=minute(index=61))).intent
    assert first is not None and again is not None and other_minute is not None
    assert first.client_order_id == again.client_order_id != other_minute.client_order_id
    assert len(first.client_order_id) <= 48


def test_flatten_at_close_sells_everything_in_the_window() -> None:
    config = StrategyConfig(flatten_at_close=True, flatten_minutes_before_close=5)
    state = portfolio(positions={"AAPL": ("10", "100"), "MSFT": ("5", "300")})
    assert flatten_decisions(state, SESSION, minute(index=300), "k", config) == []
    decisions = flatten_decisions(state, SESSION, minute(index=385), "k", config)
    assert {d.symbol for d in decisions} == {"AAPL", "MSFT"}
    assert all(d.intent is not None and d.intent.side is OrderSide.SELL for d in decisions)


@pytest.mark.parametrize(
    "config",
    [
        CONFIG,
        StrategyConfig(buy_threshold=0.5, sell_threshold=0.4),
        StrategyConfig(buy_threshold=0.7),
    ],
)
def test_signals_mark_every_row_propose_acts_on(config) -> None:
    """A row without a buy signal is a HOLD when not held, and without either signal a HOLD
    when held; float32 rows, ties between classes and values at the thresholds included."""
    generator = np.random.default_rng(1)
    probabilities = generator.dirichlet([1, 1, 1], size=400).astype(np.float32)
    probabilities[:100] = np.round(probabilities[:100] * 4) / 4  # ties and exact thresholds
    probabilities[100:120] = np.float32(config.buy_threshold)
    probabilities[120:140, 0] = np.float32(config.sell_threshold)
    buy, sell = signals(probabilities, config)
    held = portfolio(positions={"AAPL": ("10", "100")})
    for row, (down, flat, up) in enumerate(probabilities.tolist()):
        pred = Prediction("AAPL", minute(), down, flat, up, 1, 100.0)
        if not buy[row]:
            assert decide(pred, config=config).action is Action.HOLD
        if not (buy[row] or sell[row]):
            assert decide(pred, held, config=config).action is Action.HOLD
        if sell[row]:
            assert decide(pred, held, config=config).action is Action.SELL
        if buy[row]:
            assert decide(pred, config=config).action is Action.BUY
