"""Deciding a minute over arrays gives the decisions of deciding every row as objects."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.builders import FULL_DAY, minute, portfolio
from trading_runtime.core.minute import (
    DecisionConfig,
    build_predictions,
    decide_arrays,
    decide_minute,
)
from trading_runtime.domain import Action, OrderSide
from trading_runtime.marketdata import calendar
from trading_runtime.risk.checks import RiskConfig
from trading_runtime.strategy.rules import StrategyConfig

SESSION = calendar.session(FULL_DAY)
SYMBOLS = [f"S{i:02d}" for i in range(40)]


def _by_symbol(decisions):
    return {d.symbol: d for d in decisions}


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    held=st.sets(st.sampled_from(SYMBOLS), max_size=6),
    at=st.sampled_from([40, 200, SESSION.minutes - 10, SESSION.minutes - 3]),
    flatten=st.booleans(),
    killed=st.booleans(),
)
def test_array_decisions_equal_deciding_every_row(seed, held, at, flatten, killed) -> None:
    generator = np.random.default_rng(seed)
    raw = generator.dirichlet([1.0, 1.0, 1.0], size=len(SYMBOLS)).astype(np.float32)
    prices = generator.uniform(20, 400, size=len(SYMBOLS))
    held_list = sorted(held)
    state = portfolio(
        cash="50000",
        positions={s: ("10", "100") for s in held_list},
        open_order_sides={held_list[0]: frozenset({OrderSide.SELL})} if held_list else {},
        day_start_equity="60000" if killed else None,
    )
    config = DecisionConfig(
        strategy=StrategyConfig(buy_threshold=0.5, flatten_at_close=flatten),
        risk=RiskConfig(),
        flatten_on_kill_switch=killed,
    )
    timestamp = minute(FULL_DAY, at)
    expected = decide_minute(
        build_predictions(SYMBOLS, [timestamp] * len(SYMBOLS), prices, raw, 4),
        state,
        SESSION,
        timestamp,
        config,
        "key",
    )
    got = decide_arrays(SYMBOLS, timestamp, prices, raw, 4, state, SESSION, config, "key")
    assert _by_symbol(got.all()) == _by_symbol(expected)
    assert len(got.all()) == len(expected)
    # only buy candidates and held symbols became objects
    for decision in got.decisions:
        p_up = raw[SYMBOLS.index(decision.symbol), 2]
        assert decision.symbol in held or p_up >= 0.5
    assert all(raw[i, 2] < 0.5 and SYMBOLS[i] not in held for i in got.held.rows)
    assert len(got.held) + len(got.decisions) >= len(SYMBOLS)


def test_a_minute_where_nothing_can_act_builds_no_objects() -> None:
    probabilities = np.tile(np.array([[0.3, 0.6, 0.1]], dtype=np.float32), (len(SYMBOLS), 1))
    timestamp = minute(FULL_DAY, 100)
    got = decide_arrays(
        SYMBOLS,
        timestamp,
        np.full(len(SYMBOLS), 50.0),
        probabilities,
        1,
        portfolio(),
        SESSION,
        DecisionConfig(),
        "key",
    )
    assert got.decisions == []
    assert list(got.held.rows) == list(range(len(SYMBOLS)))
    holds = got.held.decisions()
    assert {d.action for d in holds} == {Action.HOLD}
    assert holds[0].reason == "p_up 0.100 below 0.75"
    assert holds[0].prediction is not None and holds[0].prediction.price == 50.0
