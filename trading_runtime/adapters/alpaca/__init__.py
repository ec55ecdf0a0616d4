"""alpaca-py wrappers: the only code of the platform that imports alpaca-py.

Files: ``config`` (endpoints and keys), ``errors`` (our error policy), ``parsing`` (pure
translation to domain types), ``trading`` (broker REST), ``history`` (historical bars),
``data_stream`` (live bars), ``trade_updates`` (order events), ``streaming`` (websocket
task lifecycle).
"""

from trading_runtime.adapters.alpaca.config import AlpacaEndpoints
from trading_runtime.adapters.alpaca.data_stream import BarStream
from trading_runtime.adapters.alpaca.errors import (
    BrokerAuthError,
    BrokerError,
    OrderNotFoundError,
    OrderRejectedError,
    TransientBrokerError,
)
from trading_runtime.adapters.alpaca.history import AlpacaHistory
from trading_runtime.adapters.alpaca.parsing import MarketClock
from trading_runtime.adapters.alpaca.trade_updates import TradeUpdateStream
from trading_runtime.adapters.alpaca.trading import AlpacaBroker

__all__ = [
    "AlpacaBroker",
    "AlpacaEndpoints",
    "AlpacaHistory",
    "BarStream",
    "BrokerAuthError",
    "BrokerError",
    "MarketClock",
    "OrderNotFoundError",
    "OrderRejectedError",
    "TradeUpdateStream",
    "TransientBrokerError",
]
