"""One decision step: a minute's predictions -> strategy proposals -> risk verdicts.

Used verbatim by the live engine and the backtester, so what a backtest measures is what
the engine does. :func:`decide_arrays` is the form the engine calls once a minute: it takes
the minute's probabilities as one array, keeps as objects only the rows that can act (buy
candidates and held symbols, see ``strategy.rules.may_act``) and returns the others as one
:class:`HeldRows` (their HOLD decisions in bulk); :func:`decide_minute` decides a list of
predictions.
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
from trading_runtime.strategy.rules import (
    StrategyConfig,
    flatten_decisions,
    hold_reason,
    may_act,
    propose,
)


@dataclass(frozen=True)
class DecisionConfig:
    strategy: StrategyConfig = field(default_factory=StrategyConfig)
    risk: RiskConfig = field(default_factory=RiskConfig)
    flatten_on_kill_switch: bool = False


def build_predictions(
    symbols: Sequence[str],
    timestamps: Sequence[dt.datetime],
    closes: np.ndarray | Sequence[float],
    probabilities: np.ndarray | Sequence[Sequence[float]],
    model_version_id: int | None,
) -> list[Prediction]:
    """One ``Prediction`` per row: ``probabilities`` are (down, flat, up) per row."""
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


@dataclass(frozen=True, slots=True)
class HeldRows:
    """The HOLD decisions of one minute for the rows that could not act, in bulk.

    Row ``i`` of ``rows`` is ``symbols[rows[i]]`` with probabilities
    ``probabilities[rows[i]]`` (down, flat, up) and price ``prices[rows[i]]``; its decision
    is a HOLD because ``P(up)`` is below ``buy_threshold`` and the symbol is not held
    (:func:`~trading_runtime.strategy.rules.hold_reason` gives the reason).
    """

    timestamp: dt.datetime
    symbols: Sequence[str]
    rows: np.ndarray
    probabilities: np.ndarray
    prices: np.ndarray
    model_version_id: int | None
    buy_threshold: float

    def __len__(self) -> int:
        return len(self.rows)

    def decisions(self) -> list[Decision]:
        """The same HOLDs as ``Decision`` objects (what :func:`decide_minute` returns)."""
        rows = self.rows
        predictions = build_predictions(
            [self.symbols[i] for i in rows.tolist()],
            [self.timestamp] * len(rows),
            self.prices[rows],
            self.probabilities[rows],
            self.model_version_id,
        )
        return [
            Decision(p.symbol, p.timestamp, Action.HOLD, hold_reason(p.p_up, self.buy_threshold), p)
            for p in predictions
        ]


@dataclass(frozen=True, slots=True)
class MinuteDecisions:
    """``decisions``: the rows that could act (BUY/SELL with the approved order, or a HOLD the
    strategy or risk chose), flattening sells; ``held``: every other row, in bulk."""

    decisions: list[Decision]
    held: HeldRows

    def all(self) -> list[Decision]:
        """Every decision as an object (the held rows expanded)."""
        return self.decisions + self.held.decisions()


def decide_arrays(
    symbols: Sequence[str],
    timestamp: dt.datetime,
    prices: np.ndarray,
    probabilities: np.ndarray,
    model_version_id: int | None,
    state: PortfolioState,
    session: Session,
    config: DecisionConfig,
    session_key: str,
) -> MinuteDecisions:
    """Decide one minute from ``probabilities`` ``(n, 3)`` for ``symbols`` at ``prices``.

    Same decisions as :func:`decide_minute` over every row; only the rows that can act
    become ``Prediction`` and ``Decision`` objects.
    """
    held_symbols = {symbol for symbol, position in state.positions.items() if position.qty > 0}
    p_up = probabilities[:, 2]
    if held_symbols:
        held = np.fromiter((s in held_symbols for s in symbols), dtype=bool, count=len(p_up))
    else:
        held = np.zeros(len(p_up), dtype=bool)
    acting = may_act(p_up, held, config.strategy)
    rows = np.flatnonzero(acting)
    predictions = build_predictions(
        [symbols[i] for i in rows.tolist()],
        [timestamp] * len(rows),
        prices[rows],
        probabilities[rows],
        model_version_id,
    )
    decisions = decide_minute(predictions, state, session, timestamp, config, session_key)
    held_rows = HeldRows(
        timestamp,
        symbols,
        np.flatnonzero(~acting),
        probabilities,
        prices,
        model_version_id,
        config.strategy.buy_threshold,
    )
    return MinuteDecisions(decisions, held_rows)


def decides_without_predictions(config: DecisionConfig) -> bool:
    """Whether :func:`decide_minute` can return a decision for a minute without predictions:
    only a flattening sell (at the close, or on the kill switch), and only with positions."""
    return config.strategy.flatten_at_close or config.flatten_on_kill_switch


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
