"""The emulator's trading websocket (``/stream``, JSON).

``authenticate`` -> ``authorization``, ``listen`` -> ``listening``, then ``trade_updates``
messages, written in order by one writer task per connection. Every message is JSON in a
*binary* websocket frame, as Alpaca's paper endpoint sends them.

Every execution published here is also recorded in the :class:`~.journal.FillJournal`
(``GET /v2/account/activities``, :mod:`.activities`), so a client that was not listening can find it later.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterable
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from trading_runtime.sim.journal import FillJournal
from trading_runtime.sim.wire import trade_update_json
from trading_runtime.venue import TradeUpdateEvent

log = logging.getLogger(__name__)


class TradeConnection:
    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.authorized = False
        self.streams: set[str] = set()
        self.outbox: asyncio.Queue[bytes] = asyncio.Queue()

    def put(self, message: dict[str, Any]) -> None:
        self.outbox.put_nowait(json.dumps(message).encode())

    async def write_forever(self) -> None:
        while True:
            frame = await self.outbox.get()
            try:
                await self.ws.send_bytes(frame)
            finally:
                self.outbox.task_done()


class TradeUpdateHub:
    """Accepts trading-stream connections and fans trade updates out to listeners."""

    def __init__(self, *, api_key: str, secret_key: str, journal: FillJournal) -> None:
        self._api_key = api_key
        self._secret_key = secret_key
        self.journal = journal
        self._connections: set[TradeConnection] = set()

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        connection = TradeConnection(ws)
        writer = asyncio.create_task(connection.write_forever(), name="sim-trade-stream-writer")
        self._connections.add(connection)
        try:
            async for message in ws:
                if message.type not in (WSMsgType.BINARY, WSMsgType.TEXT):
                    continue
                try:
                    payload = json.loads(message.data)
                except ValueError:
                    connection.put({"stream": "error", "data": {"error_message": "invalid syntax"}})
                    continue
                if not self._on_message(connection, payload):
                    await self._flush(connection)
                    break
        except ConnectionResetError:
            log.info("trading-stream connection reset by the client")
        finally:
            self._connections.discard(connection)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionResetError):
                await writer
            if not ws.closed:
                await ws.close()
        return ws

    @staticmethod
    async def _flush(connection: TradeConnection) -> None:
        # Let the writer send what is queued (an "unauthorized" reply) before closing.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(connection.outbox.join(), timeout=1.0)

    def _on_message(self, connection: TradeConnection, payload: Any) -> bool:
        if not isinstance(payload, dict):
            connection.put({"stream": "error", "data": {"error_message": "invalid syntax"}})
            return True
        action = payload.get("action")
        raw_data = payload.get("data")
        data: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
        if action in ("authenticate", "auth"):
            key = data.get("key_id", payload.get("key"))
            secret = data.get("secret_key", payload.get("secret"))
            connection.authorized = key == self._api_key and secret == self._secret_key
            status = "authorized" if connection.authorized else "unauthorized"
            connection.put(
                {"stream": "authorization", "data": {"status": status, "action": "authenticate"}}
            )
            return connection.authorized
        if action == "listen":
            if not connection.authorized:
                connection.put(
                    {
                        "stream": "authorization",
                        "data": {"status": "unauthorized", "action": "listen"},
                    }
                )
                return True
            streams = data.get("streams") or []
            connection.streams = {s for s in streams if s == "trade_updates"}
            connection.put({"stream": "listening", "data": {"streams": sorted(connection.streams)}})
            return True
        connection.put({"stream": "error", "data": {"error_message": f"unknown action {action!r}"}})
        return True

    def publish(self, events: Iterable[TradeUpdateEvent]) -> None:
        events = list(events)
        self.journal.record(events)
        messages = [trade_update_json(event) for event in events]
        if not messages:
            return
        for connection in list(self._connections):
            if "trade_updates" in connection.streams:
                for message in messages:
                    connection.put(message)

    @property
    def listeners(self) -> int:
        return sum(1 for c in self._connections if "trade_updates" in c.streams)

    async def close_all(self, reason: bytes = b"emulator shutting down") -> None:
        for connection in list(self._connections):
            with contextlib.suppress(ConnectionResetError):
                await connection.ws.close(code=WSCloseCode.GOING_AWAY, message=reason)
