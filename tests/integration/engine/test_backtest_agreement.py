"""A backtest of a day and a sim session of the same day agree: same orders, same fills,
same ending equity (one decision core, one fill model)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from tests.integration.engine.test_live_engine import EARLY_CLOSE, SYMBOLS, emulator, run_engine
from tests.support.models import register_champion, trained_model_bytes
from trading_runtime.backtest.replay import BacktestConfig, run_backtest
from trading_runtime.core.minute import DecisionConfig
from trading_runtime.features.batch import compute_features
from trading_runtime.marketdata.synthetic import SyntheticMarket
from trading_runtime.modeling.artifact import TradingModel
from trading_runtime.store.registry import ModelRegistry
from trading_runtime.strategy.rules import StrategyConfig


def test_backtest_and_sim_session_of_the_same_day_agree(engine: Engine, tmp_path: Path) -> None:
    register_champion(ModelRegistry(engine))
    with emulator() as server:
        session = asyncio.run(run_engine(server, engine, tmp_path / "spool", buy_threshold=0.5))
    ledger = session.ledger
    live_orders = sorted(
        (o.decision_bar_timestamp, o.symbol, o.side.value, o.qty)
        for o in ledger.orders_for_session(session.session_id)
    )
    live_fills = sorted(
        (f.filled_at, f.symbol, f.side.value, f.qty, f.price)
        for f in ledger.fills_for_session(session.session_id)
    )

    bars = SyntheticMarket(7).day_bars(EARLY_CLOSE, list(SYMBOLS))
    config = BacktestConfig(decision=DecisionConfig(strategy=StrategyConfig(buy_threshold=0.5)))
    result = run_backtest(
        bars, compute_features(bars), TradingModel.from_bytes(trained_model_bytes()), 1, config
    )
    backtest_orders = sorted(
        (pd.Timestamp(o.submitted_at).to_pydatetime(), o.symbol, o.side, Decimal(str(o.qty)))
        for o in result.orders.itertuples()
    )
    backtest_fills = sorted(
        (f.timestamp.to_pydatetime(), f.symbol, f.side, Decimal(str(f.qty)), Decimal(str(f.price)))
        for f in result.fills.itertuples()
    )

    assert live_orders, "the threshold was chosen so the model trades"
    assert live_orders == backtest_orders
    assert live_fills == backtest_fills
    assert session.report.ending_equity == Decimal(str(round(result.metrics["final_equity"], 2)))
