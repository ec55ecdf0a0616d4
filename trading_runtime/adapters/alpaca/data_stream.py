"""Live one-minute bars through alpaca-py's ``StockDataStream``.

Messages arrive raw (msgpack dicts, ``raw_data=True``: no per-bar model objects) and are
translated by :func:`parsing.bar_from_stream`. Both ``bars`` and ``updatedBars`` are
subscribed: an updated bar (Alpaca's correction of a minute already sent, after late trades)
reaches ``on_bar`` like any bar; the consumer treats a second, different bar for the same
symbol and minute as the newer version. A malformed bar (missing fields, NaN or
non-positive prices, high below low) goes to ``on_rejected`` and never to ``on_bar``; it
never stops the stream.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from alpaca.data.enums import DataFeed
from alpaca.data.live.stock import StockDataStream

from trading_runtime.adapters.alpaca import parsing
from trading_runtime.adapters.alpaca.config import AlpacaEndpoints
from trading_runtime.adapters.alpaca.streaming import StreamRunner
from trading_runtime.domain.bars import Bar

log = logging.getLogger(__name__)

OnBar = Callable[[Bar], Awaitable[None]]
OnRejected = Callable[[dict[str, Any], str], Awaitable[None]]


class BarStream:
    """Bars of ``symbols`` delivered to ``on_bar``; ``await start()`` / ``await stop()``.

    Errors raised by the callbacks are logged and counted (``handler_errors``); they do not
    end the stream (the engine's handlers trip its kill switch themselves). A dropped
    connection is re-opened by alpaca-py, with backoff; ``connections`` counts the openings
    and ``on_reconnect`` (when set) is awaited after each re-opening, so the consumer can
    fetch the bars it missed from the REST history.
    """

    def __init__(
        self,
        endpoints: AlpacaEndpoints,
        symbols: Sequence[str],
        on_bar: OnBar,
        on_rejected: OnRejected | None = None,
        *,
        name: str = "alpaca-bar-stream",
    ) -> None:
        if not symbols:
            raise ValueError("subscribe to at least one symbol")
        self.symbols = tuple(symbols)
        self._on_bar = on_bar
        self._on_rejected = on_rejected
        self._stream = StockDataStream(
            api_key=endpoints.api_key,
            secret_key=endpoints.secret_key,
            raw_data=True,
            feed=DataFeed(endpoints.feed),
            url_override=endpoints.data_stream_url,
        )
        # Subscribe before the stream's task starts (doing it later from the loop deadlocks).
        self._stream.subscribe_bars(self._handle, *self.symbols)  # type: ignore[arg-type]
        self._stream.subscribe_updated_bars(self._handle, *self.symbols)  # type: ignore[arg-type]
        self._runner = StreamRunner(self._stream, name)
        self.on_reconnect: Callable[[], Awaitable[None]] | None = None
        self.connections = 0
        self._open_socket = self._stream._start_ws
        self._stream._start_ws = self._start_ws  # type: ignore[method-assign]
        self.bars_received = 0
        self.bars_rejected = 0
        self.handler_errors = 0

    @property
    def running(self) -> bool:
        return self._runner.running

    async def start(self) -> None:
        await self._runner.start()

    async def stop(self, timeout_s: float = 5.0) -> None:
        await self._runner.stop(timeout_s)

    async def _start_ws(self) -> None:
        await self._open_socket()
        self.connections += 1
        if self.connections > 1:
            log.warning("%s reconnected (connection %d)", self._runner.name, self.connections)
            if self.on_reconnect is not None:
                await self._call(self.on_reconnect)

    async def _handle(self, raw: dict[str, Any]) -> None:
        try:
            bar = parsing.bar_from_stream(raw)
        except parsing.MalformedBarError as problem:
            self.bars_rejected += 1
            log.warning("rejected bar %s: %s", raw.get("S"), problem.reason)
            if self._on_rejected is not None:
                await self._call(self._on_rejected, raw, problem.reason)
            return
        self.bars_received += 1
        await self._call(self._on_bar, bar)

    async def _call(self, callback: Callable[..., Awaitable[None]], *args: Any) -> None:
        try:
            await callback(*args)
        except Exception:
            self.handler_errors += 1
            log.exception("bar handler failed")
