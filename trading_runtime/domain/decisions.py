"""Predictions and the decisions taken on them (one per symbol per minute)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from trading_runtime.domain.enums import Action, Direction
from trading_runtime.domain.orders import OrderIntent


@dataclass(frozen=True, slots=True)
class Prediction:
    """Class probabilities for the next horizon, from one model version."""

    symbol: str
    timestamp: dt.datetime
    p_down: float
    p_flat: float
    p_up: float
    model_version_id: int | None
    price: float

    @property
    def direction(self) -> Direction:
        probabilities = (self.p_down, self.p_flat, self.p_up)
        return Direction(max(range(3), key=probabilities.__getitem__))


@dataclass(frozen=True, slots=True)
class Decision:
    """What was done with one prediction, and why. ``intent`` is set for BUY and SELL."""

    symbol: str
    timestamp: dt.datetime
    action: Action
    reason: str
    prediction: Prediction | None
    intent: OrderIntent | None = None
