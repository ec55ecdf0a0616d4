"""The one simulated venue: account, orders, matching, fill models and costs.

Pure (no aiohttp, no asyncio, no clock): the emulator's HTTP/websocket shell
(:mod:`trading_runtime.sim`) and the in-process backtester (:mod:`trading_runtime.backtest`)
both drive a :class:`Venue`, so a sim session and a backtest of the same day trade alike.

Map:
    venue.py     Venue: submit / replace / cancel / close_position / on_minute / end_session
    account.py   cash, positions, marks, buying-power reservation
    orders.py    OrderRequest, ReplaceRequest, VenueOrder, TradeUpdateEvent, ids (UUID v4)
    fills.py     fill models (participation, paper) and costs (slippage, half-spread, fees)
    rules.py     submission checks (sub-penny, wash trade, buying power, available qty)
    errors.py    OrderRefusedError with Alpaca's status and {"code", "message"}
"""

from trading_runtime.venue.account import VenuePosition
from trading_runtime.venue.errors import OrderRefusedError, plain_decimal
from trading_runtime.venue.fills import (
    Execution,
    FillModelConfig,
    FillModelKind,
    MatchResult,
    match_order,
)
from trading_runtime.venue.orders import (
    IdSource,
    OrderRequest,
    ReplaceRequest,
    TradeUpdateEvent,
    VenueOrder,
    asset_id,
)
from trading_runtime.venue.venue import Venue, minute_of

__all__ = [
    "Execution",
    "FillModelConfig",
    "FillModelKind",
    "IdSource",
    "MatchResult",
    "OrderRefusedError",
    "OrderRequest",
    "ReplaceRequest",
    "TradeUpdateEvent",
    "Venue",
    "VenueOrder",
    "VenuePosition",
    "asset_id",
    "match_order",
    "minute_of",
    "plain_decimal",
]
