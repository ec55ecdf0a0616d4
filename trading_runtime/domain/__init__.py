"""Immutable domain types: bars, predictions, decisions, orders, fills, positions."""

from trading_runtime.domain.bars import Bar, InvalidBarError
from trading_runtime.domain.decisions import Decision, Prediction
from trading_runtime.domain.enums import (
    Action,
    Direction,
    ModelStatus,
    OrderSide,
    OrderStatus,
    OrderType,
    SessionStatus,
    TimeInForce,
    TradeEventType,
    TradingMode,
)
from trading_runtime.domain.orders import (
    Fill,
    OrderIntent,
    OrderRejected,
    OrderSnapshot,
    OrderUpdated,
    make_client_order_id,
)
from trading_runtime.domain.portfolio import AccountSnapshot, PortfolioState, Position

__all__ = [
    "AccountSnapshot",
    "Action",
    "Bar",
    "Decision",
    "Direction",
    "Fill",
    "InvalidBarError",
    "ModelStatus",
    "OrderIntent",
    "OrderRejected",
    "OrderSide",
    "OrderSnapshot",
    "OrderStatus",
    "OrderType",
    "OrderUpdated",
    "PortfolioState",
    "Position",
    "Prediction",
    "SessionStatus",
    "TimeInForce",
    "TradeEventType",
    "TradingMode",
    "make_client_order_id",
]
