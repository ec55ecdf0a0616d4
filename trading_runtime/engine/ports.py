"""What the engine needs from the outside world, as protocols.

Adapters implement them for Alpaca (``adapters.alpaca``), the store for the ledger (whose
operation records the engine builds and submits) and the registry, and tests implement them
with small fakes. Broker and model-source methods are
synchronous (alpaca-py and SQLAlchemy are): the engine calls them in worker threads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from trading_runtime.domain.bars import Bar
from trading_runtime.domain.orders import OrderIntent, OrderSnapshot, OrderUpdated
from trading_runtime.domain.portfolio import AccountSnapshot, Position
from trading_runtime.engine.minutes import MarketProgress
from trading_runtime.modeling.artifact import TradingModel
from trading_runtime.store.operations import LedgerOperation

BarHandler = Callable[[Bar], Awaitable[None]]
RejectedBarHandler = Callable[[Any, str], Awaitable[None]]
UpdateHandler = Callable[[OrderUpdated], Awaitable[None]]


class MarketClock(Protocol):
    @property
    def timestamp(self) -> dt.datetime: ...


class Broker(Protocol):
    def submit_order(self, intent: OrderIntent) -> OrderSnapshot: ...
    def cancel_order(self, broker_order_id: str) -> Any: ...
    def cancel_all_orders(self) -> Any: ...
    def list_open_orders(self) -> list[OrderSnapshot]: ...
    def get_order_by_client_id(self, client_order_id: str) -> OrderSnapshot | None:
        """The order with our id, None when the broker has none (raises on failure)."""
        ...

    def get_positions(self) -> dict[str, Position]: ...
    def get_account(self, as_of: dt.datetime | None = None) -> AccountSnapshot: ...
    def get_clock(self) -> MarketClock:
        """The broker's time: wall-clock at Alpaca, event time at the emulator."""
        ...


class Stream(Protocol):
    async def start(self) -> None: ...
    async def stop(self, timeout_s: float) -> None: ...


class ModelSource(Protocol):
    def champion_id(self) -> int | None: ...
    def load(self, model_version_id: int) -> TradingModel: ...


class Pacer(Protocol):
    """Tells a replaying market (the emulator) that every minute through ``through`` has been
    handled, and reports how far it has got since (its event clock), or None for a market
    that does not replay (the engine then closes minutes on the wall clock)."""

    async def minute_done(self, through: dt.datetime) -> MarketProgress | None: ...


class NoPacing:
    async def minute_done(self, through: dt.datetime) -> MarketProgress | None:
        return None


class LedgerSink(Protocol):
    """Where the engine's ledger writes go (the store's ``SessionLedger``): operations of the
    session ``session_id``, queued, retried and spooled by the store's writer; never blocks."""

    @property
    def session_id(self) -> int: ...
    def submit(self, operation: LedgerOperation) -> None: ...
