"""A small trained model for tests that need a champion in the registry."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

import pandas as pd

from trading_runtime.features.batch import compute_features
from trading_runtime.features.spec import FEATURE_SPEC
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.synthetic import SyntheticMarket
from trading_runtime.modeling.artifact import ARTIFACT_FORMAT
from trading_runtime.modeling.dataset import build_dataset
from trading_runtime.modeling.labels import label_bars
from trading_runtime.modeling.training import TrainingConfig, split_days, train_model
from trading_runtime.store.registry import ModelRegistry

SYMBOLS = ("AAPL", "MSFT", "NVDA", "AMZN")


@lru_cache(maxsize=2)
def trained_model_bytes(seed: int = 7) -> bytes:
    """Trained on 12 synthetic sessions ending 2026-02-27 (before the test replay days)."""
    market = SyntheticMarket(seed)
    days = calendar.previous_sessions(dt.date(2026, 3, 2), 12)
    frames = [market.day_bars(day, list(SYMBOLS)) for day in days]
    dataset = build_dataset(
        pd.concat(compute_features(f) for f in frames), pd.concat(label_bars(f) for f in frames)
    )
    split = split_days(dataset.days, validation_days=2, test_days=2)
    config = TrainingConfig(n_estimators=60, nthread=1, seed=seed)
    return train_model(dataset, split, config).model.to_bytes()


def register_champion(
    registry: ModelRegistry,
    seed: int = 7,
    name: str = "test-model",
    metrics: dict[str, Any] | None = None,
) -> int:
    version = registry.register_candidate(
        name=name,
        artifact=trained_model_bytes(seed),
        artifact_format=ARTIFACT_FORMAT,
        feature_spec_hash=FEATURE_SPEC.hash,
        feature_names=list(FEATURE_SPEC.names),
        params={"seed": seed},
        metrics=metrics or {},
        lineage={"train_start": dt.date(2026, 2, 1), "train_end": dt.date(2026, 2, 27)},
    )
    registry.promote(version, actor="test", reason="test champion")
    return version
