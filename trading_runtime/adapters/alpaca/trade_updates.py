"""Order updates through alpaca-py's ``TradingStream`` (``trade_updates``).

Messages arrive raw (JSON dicts) so that prices and quantities become exact Decimals from
Alpaca's strings; :func:`parsing.order_updated` makes them ``OrderUpdated`` events, with a
``Fill`` for every execution.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from alpaca.trading.stream import TradingStream

from trading_runtime.adapters.alpaca import parsing
from trading_runtime.adapters.alpaca.config import AlpacaEndpoints
from trading_runtime.adapters.alpaca.streaming import StreamRunner
from trading_runtime.domain.orders import OrderUpdated

log = logging.getLogger(__name__)

OnUpdate = Callable[[OrderUpdated], Awaitable[None]]


class TradeUpdateStream:
    """Trade updates delivered to ``on_update``; ``await start()`` / ``await stop()``.

    Updates the platform does not model (``pending_cancel``, ...) are logged and counted in
    ``updates_skipped``. Errors raised by ``on_update`` are logged and counted in
    ``handler_errors``; they do not end the stream.
    """

    def __init__(
        self, endpoints: AlpacaEndpoints, on_update: OnUpdate, *, name: str = "alpaca-trade-updates"
    ) -> None:
        self._on_update = on_update
        self._stream = TradingStream(
            api_key=endpoints.api_key,
            secret_key=endpoints.secret_key,
            paper=endpoints.paper,
            raw_data=True,
            url_override=endpoints.trading_stream_url,
        )
        self._stream.subscribe_trade_updates(self._handle)
        self._runner = StreamRunner(self._stream, name)
        self.updates_received = 0
        self.updates_skipped = 0
        self.handler_errors = 0

    @property
    def running(self) -> bool:
        return self._runner.running

    async def start(self) -> None:
        await self._runner.start()

    async def stop(self, timeout_s: float = 5.0) -> None:
        await self._runner.stop(timeout_s)

    async def _handle(self, message: dict[str, Any]) -> None:
        data = message.get("data")
        try:
            if not isinstance(data, dict):
                raise parsing.UnrecognizedMessageError("trade update without data")
            update = parsing.order_updated(data)
        except parsing.UnrecognizedMessageError as problem:
            self.updates_skipped += 1
            log.warning("skipping trade update %s: %s", (data or {}).get("event"), problem)
            return
        self.updates_received += 1
        try:
            await self._on_update(update)
        except Exception:
            self.handler_errors += 1
            log.exception("trade update handler failed")
