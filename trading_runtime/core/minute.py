"""One decision step: a minute's predictions -> strategy proposals -> risk verdicts.

Used verbatim by the live engine and the backtester, so what a backtest measures is what
the engine does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from trading_runtime.domain.decisions import Decision, Prediction
from trading_runtime.domain.enums import Action
from trading_runtime.domain.portfolio import PortfolioState
from trading_runtime.marketdata.calendar import Session
from trading_runtime.risk.checks import RiskConfig, check_orders, kill_switch_triggered
from trading_runtime.strategy.rules import StrategyConfig, flatten_decisions, propose


@dataclass(frozen=True)
class DecisionConfig:
    strategy: StrategyConfig = field(default_factory=StrategyConfig)
    risk: RiskConfig = field(default_factory=RiskConfig)
    flatten_on_kill_switch: bool = False


def build_predictions(
    symbols: Sequence[str],
    timestamps: Sequence[dt.datetime],
    closes: np.ndarray,
    probabilities: np.ndarray,
    model_version_id: int | None,
) -> list[Prediction]:
    return [
        Prediction(
            symbol=symbol,
            timestamp=timestamp,
            p_down=float(row[0]),
            p_flat=float(row[1]),
            p_up=float(row[2]),
            model_version_id=model_version_id,
            price=float(close),
        )
        for symbol, timestamp, close, row in zip(
            symbols, timestamps, closes, probabilities, strict=True
        )
    ]


def decide_minute(
    predictions: Sequence[Prediction],
    state: PortfolioState,
    session: Session,
    timestamp: dt.datetime,
    config: DecisionConfig,
    session_key: str,
) -> list[Decision]:
    """Final decisions for one minute; BUY/SELL decisions carry the approved order."""
    proposals = propose(predictions, state, session, config.strategy, session_key)
    killed = kill_switch_triggered(state, config.risk)
    flatten_strategy = config.strategy
    if killed and config.flatten_on_kill_switch:
        flatten_strategy = replace(
            config.strategy, flatten_at_close=True, flatten_minutes_before_close=session.minutes
        )
    flattening = flatten_decisions(state, session, timestamp, session_key, flatten_strategy)
    if flattening:
        closing = {d.symbol for d in flattening}
        proposals = [
            replace(d, action=Action.HOLD, reason="position is being flattened", intent=None)
            if d.symbol in closing
            else d
            for d in proposals
        ]
        proposals.extend(flattening)

    intents = [d.intent for d in proposals if d.intent is not None]
    verdicts = iter(check_orders(intents, state, config.risk, session.date))
    decisions: list[Decision] = []
    for decision in proposals:
        if decision.intent is None:
            decisions.append(decision)
            continue
        verdict = next(verdicts)
        if verdict.approved is None:
            decisions.append(
                replace(decision, action=Action.HOLD, reason=f"risk: {verdict.reason}", intent=None)
            )
        elif verdict.reason:
            decisions.append(
                replace(
                    decision, reason=f"{decision.reason}; {verdict.reason}", intent=verdict.approved
                )
            )
        else:
            decisions.append(decision)
    return decisions
