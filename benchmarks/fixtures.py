"""Shared inputs: a synthetic session of 100 symbols and a model trained on earlier days."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import pandas as pd

from trading_runtime.core.minute import DecisionConfig
from trading_runtime.domain.bars import Bar
from trading_runtime.features.batch import compute_features
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.synthetic import SyntheticMarket
from trading_runtime.marketdata.universe import NASDAQ_100
from trading_runtime.modeling.artifact import TradingModel
from trading_runtime.modeling.dataset import build_dataset
from trading_runtime.modeling.labels import label_bars
from trading_runtime.modeling.training import TrainingConfig, split_days, train_model
from trading_runtime.strategy.rules import StrategyConfig

SESSION = dt.date(2026, 11, 25)
SYMBOLS = tuple(NASDAQ_100)
SEED = 7
# Lower than the production default so the benchmark session places orders.
DECISION = DecisionConfig(strategy=StrategyConfig(buy_threshold=0.6))


@lru_cache(maxsize=1)
def session_bars() -> pd.DataFrame:
    return SyntheticMarket(SEED).day_bars(SESSION, list(SYMBOLS))


@lru_cache(maxsize=1)
def model() -> TradingModel:
    market = SyntheticMarket(SEED)
    days = calendar.previous_sessions(SESSION, 25)
    frames = [market.day_bars(day, list(SYMBOLS[:30])) for day in days]
    dataset = build_dataset(
        pd.concat(compute_features(f) for f in frames), pd.concat(label_bars(f) for f in frames)
    )
    split = split_days(dataset.days, validation_days=4, test_days=1)
    return train_model(dataset, split, TrainingConfig(n_estimators=150)).model


def bars_by_minute(frame: pd.DataFrame) -> list[list[Bar]]:
    minutes = []
    for _, group in frame.groupby("timestamp", sort=True):
        minutes.append(
            [
                Bar(
                    r.symbol,
                    r.timestamp.to_pydatetime(),
                    r.open,
                    r.high,
                    r.low,
                    r.close,
                    r.volume,
                    r.trade_count,
                    r.vwap,
                )
                for r in group.itertuples(index=False)
            ]
        )
    return minutes
