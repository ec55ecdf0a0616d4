"""The trading rules (defaults are the seed bot's), as a pure function of one minute.

* **Entry.** Buy when ``P(up) >= buy_threshold`` and the symbol has had fewer than
  ``max_buys_per_symbol_per_day`` buy orders this session; a limit IOC at the last close
  plus ``limit_offset_bps``; sized so the position reaches at most ``max_position_fraction``
  of equity (risk then caps it by buying power).
* **Exit.** Sell the whole position on a down signal: ``DOWN`` is the most likely class and
  ``P(down) >= sell_threshold``; a market order, so an exit is not left unfilled.
* **Session window.** Regular hours only (the data only has regular-hours bars); no new
  entries in the last ``no_entry_minutes_before_close`` minutes; with ``flatten_at_close``,
  every position is sold ``flatten_minutes_before_close`` minutes before the close.

No I/O, no clock: time is the prediction's timestamp.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import numpy as np

from trading_runtime.domain.decisions import Decision, Prediction
from trading_runtime.domain.enums import Action, Direction, OrderSide, OrderType, TimeInForce
from trading_runtime.domain.orders import OrderIntent, make_client_order_id
from trading_runtime.domain.portfolio import PortfolioState
from trading_runtime.marketdata.calendar import Session

_CENT = Decimal("0.01")
_BASIS_POINT = Decimal("0.0001")


@dataclass(frozen=True)
class StrategyConfig:
    buy_threshold: float = 0.75
    sell_threshold: float = 0.0
    max_buys_per_symbol_per_day: int = 3
    max_position_fraction: Decimal = Decimal("0.20")
    limit_offset_bps: Decimal = Decimal("10")
    no_entry_minutes_before_close: int = 15
    flatten_at_close: bool = False
    flatten_minutes_before_close: int = 5

    def __post_init__(self) -> None:
        if not 0 < self.max_position_fraction <= 1:
            raise ValueError("max_position_fraction must be in (0, 1]")
        if not 0 <= self.buy_threshold <= 1 or not 0 <= self.sell_threshold <= 1:
            raise ValueError("thresholds are probabilities in [0, 1]")


def _limit_price(close: float, offset_bps: Decimal) -> Decimal:
    return (Decimal(str(close)) * (1 + _BASIS_POINT * offset_bps)).quantize(
        _CENT, rounding=ROUND_HALF_UP
    )


def propose(
    predictions: Sequence[Prediction],
    state: PortfolioState,
    session: Session,
    config: StrategyConfig,
    session_key: str,
) -> list[Decision]:
    """One decision per prediction (BUY/SELL with an intent, or HOLD with the reason)."""
    decisions: list[Decision] = []
    for prediction in predictions:
        decisions.append(_decide_one(prediction, state, session, config, session_key))
    return decisions


def may_act(p_up: np.ndarray, held: np.ndarray, config: StrategyConfig) -> np.ndarray:
    """Which predictions :func:`propose` could turn into something other than HOLD.

    A prediction for a symbol that is not held can only be a buy, and only with
    ``P(up) >= buy_threshold``; the rest are HOLDs whatever the book says. A vectorised
    pre-filter for callers that decide many symbols per minute (the backtest): the decisions
    of the rows it keeps are the same as deciding every row.
    """
    return np.asarray(held, dtype=bool) | (np.asarray(p_up) >= config.buy_threshold)


def signals(probabilities: np.ndarray, config: StrategyConfig) -> tuple[np.ndarray, np.ndarray]:
    """The entry and exit tests of :func:`propose`, per row of ``probabilities`` (down, flat,
    up): ``buy`` where ``P(up) >= buy_threshold``, ``sell`` where DOWN is the most likely
    class (the first of equal maxima, as ``Prediction.direction``) and
    ``P(down) >= sell_threshold``.

    A row with neither signal is a HOLD whether its symbol is held or not; a row with only a
    sell signal acts only for a held symbol. A vectorised pre-filter tighter than
    :func:`may_act`, for callers that count the HOLDs rather than keep them (the backtest):
    a held symbol's HOLD it drops may carry a reason of its own in :func:`decide_minute`
    (flattening), never another action.
    """
    values = np.asarray(probabilities, dtype=np.float64)
    p_down, p_flat, p_up = values[:, 0], values[:, 1], values[:, 2]
    buy = p_up >= config.buy_threshold
    down = ~((p_flat > p_down) | (p_up > p_down))
    return buy, down & (p_down >= config.sell_threshold)


def hold_reason(p_up: float, buy_threshold: float) -> str:
    """Why a symbol that is not held is not bought: its ``P(up)`` is below the threshold."""
    return f"p_up {p_up:.3f} below {buy_threshold}"


def flatten_decisions(
    state: PortfolioState,
    session: Session,
    timestamp: dt.datetime,
    session_key: str,
    config: StrategyConfig,
) -> list[Decision]:
    """Market sells for every open position once the flatten window has started."""
    if not config.flatten_at_close:
        return []
    if session.minute_index(timestamp) < session.minutes - config.flatten_minutes_before_close - 1:
        return []
    decisions = []
    for symbol, position in sorted(state.positions.items()):
        if position.qty <= 0 or OrderSide.SELL in state.open_order_sides.get(symbol, frozenset()):
            continue
        intent = _market_sell(symbol, position.qty, timestamp, session_key, "flatten before close")
        decisions.append(Decision(symbol, timestamp, Action.SELL, intent.reason, None, intent))
    return decisions


def _market_sell(
    symbol: str, qty: Decimal, timestamp: dt.datetime, session_key: str, reason: str
) -> OrderIntent:
    """Exits are market orders (DAY), so an exit is not left unfilled."""
    return OrderIntent(
        client_order_id=make_client_order_id(session_key, symbol, timestamp, OrderSide.SELL),
        symbol=symbol,
        side=OrderSide.SELL,
        qty=qty,
        order_type=OrderType.MARKET,
        time_in_force=TimeInForce.DAY,
        limit_price=None,
        created_at=timestamp,
        reason=reason,
    )


def _decide_one(
    prediction: Prediction,
    state: PortfolioState,
    session: Session,
    config: StrategyConfig,
    session_key: str,
) -> Decision:
    symbol, timestamp = prediction.symbol, prediction.timestamp
    held = state.position_qty(symbol)

    def hold(reason: str) -> Decision:
        return Decision(symbol, timestamp, Action.HOLD, reason, prediction)

    if (
        held > 0
        and prediction.direction is Direction.DOWN
        and prediction.p_down >= config.sell_threshold
    ):
        reason = f"down signal p_down={prediction.p_down:.3f}"
        intent = _market_sell(symbol, held, timestamp, session_key, reason)
        return Decision(symbol, timestamp, Action.SELL, intent.reason, prediction, intent)

    if prediction.p_up < config.buy_threshold:
        return hold(hold_reason(prediction.p_up, config.buy_threshold))
    minutes_left = session.minutes - session.minute_index(timestamp) - 1
    if minutes_left < config.no_entry_minutes_before_close:
        return hold("no new entries this close to the close")
    if state.buys_today.get(symbol, 0) >= config.max_buys_per_symbol_per_day:
        return hold(f"{config.max_buys_per_symbol_per_day} buys already today")
    limit = _limit_price(prediction.price, config.limit_offset_bps)
    target_value = state.account.equity * config.max_position_fraction
    room = target_value - held * limit
    qty = (room / limit).to_integral_value(rounding=ROUND_DOWN) if room > 0 else Decimal(0)
    if qty <= 0:
        return hold("position already at its cap")
    intent = OrderIntent(
        client_order_id=make_client_order_id(session_key, symbol, timestamp, OrderSide.BUY),
        symbol=symbol,
        side=OrderSide.BUY,
        qty=qty,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.IOC,
        limit_price=limit,
        created_at=timestamp,
        reason=f"up signal p_up={prediction.p_up:.3f}",
    )
    return Decision(symbol, timestamp, Action.BUY, intent.reason, prediction, intent)
