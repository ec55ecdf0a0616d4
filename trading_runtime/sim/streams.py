"""The emulator's market-data websocket (msgpack); the trading stream is in :mod:`.trade_stream`.

Market data (``/v2/iex``, ``/v2/sip``): ``connected`` on connect, ``auth`` (402 on bad keys,
406 when the key already has an open connection: Alpaca allows one per key), ``subscribe`` /
``unsubscribe`` answered with the full ``subscription`` state, then ``b`` bar messages.
Replies use msgpack when the client says ``Content-Type: application/msgpack`` (alpaca-py
does), JSON otherwise.

Publishing (:meth:`MarketDataHub.publish`) delivers each minute's frame exactly once to the
subscribed connection, waiting for a client when there is none (after an injected drop the
client reconnects and the frame goes out then), and applies the minute's injected faults.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterable
from typing import Any

import msgpack
from aiohttp import WSCloseCode, WSMsgType, web

from trading_runtime.domain.bars import Bar
from trading_runtime.sim.faults import FaultInjector, MinuteFaults
from trading_runtime.sim.wire import iso_utc, stream_bar

log = logging.getLogger(__name__)

_CHANNELS = (
    "trades",
    "quotes",
    "bars",
    "updatedBars",
    "dailyBars",
    "statuses",
    "lulds",
    "corrections",
    "cancelErrors",
)
_WAITING_LOG_INTERVAL_S = 30.0


def _to_json_safe(message: dict[str, Any]) -> dict[str, Any]:
    safe = dict(message)
    stamp = safe.get("t")
    if isinstance(stamp, msgpack.Timestamp):
        safe["t"] = iso_utc(stamp.to_datetime())
    return safe


class DataConnection:
    """One market-data websocket: its encoding, authentication and subscriptions."""

    def __init__(self, ws: web.WebSocketResponse, *, msgpack_encoding: bool) -> None:
        self.ws = ws
        self.msgpack_encoding = msgpack_encoding
        self.api_key: str | None = None
        self.subscriptions: dict[str, set[str]] = {channel: set() for channel in _CHANNELS}
        self.frames_sent = 0
        self.bars_sent_before = 0  # the hub's bars_sent when this connection subscribed
        self._send_lock = asyncio.Lock()

    @property
    def authenticated(self) -> bool:
        return self.api_key is not None

    def wants_bar(self, symbol: str) -> bool:
        bars = self.subscriptions["bars"]
        return symbol in bars or "*" in bars

    async def send(self, messages: list[dict[str, Any]]) -> None:
        async with self._send_lock:
            if self.ws.closed:
                raise ConnectionResetError("the data connection is closed")
            if self.msgpack_encoding:
                await self.ws.send_bytes(msgpack.packb(messages))
            else:
                await self.ws.send_str(json.dumps([_to_json_safe(m) for m in messages]))

    def subscription_message(self) -> dict[str, Any]:
        return {
            "T": "subscription",
            **{channel: sorted(self.subscriptions[channel]) for channel in _CHANNELS},
        }


class MarketDataHub:
    """Accepts market-data connections and delivers the replay's bar frames."""

    def __init__(self, *, api_key: str, secret_key: str, faults: FaultInjector) -> None:
        self._api_key = api_key
        self._secret_key = secret_key
        self._faults = faults
        self._connections: dict[str, DataConnection] = {}
        self._all: set[DataConnection] = set()
        self._subscriber_ready = asyncio.Event()
        self.first_subscription = asyncio.Event()
        self._held: list[list[dict[str, Any]]] = []
        self.bars_sent = 0  # bar messages sent since the start (the lockstep ack reports it)
        self.connections_opened = 0
        self._last_receiver: DataConnection | None = None

    # --- connections --------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        content_type = request.headers.get("Content-Type", "")
        connection = DataConnection(ws, msgpack_encoding="msgpack" in content_type)
        self._all.add(connection)
        try:
            await connection.send([{"T": "success", "msg": "connected"}])
            async for message in ws:
                if message.type not in (WSMsgType.BINARY, WSMsgType.TEXT):
                    continue
                try:
                    payload = (
                        msgpack.unpackb(message.data)
                        if message.type is WSMsgType.BINARY
                        else json.loads(message.data)
                    )
                except ValueError:
                    await connection.send([{"T": "error", "code": 400, "msg": "invalid syntax"}])
                    continue
                if not await self._on_message(connection, payload):
                    break
        except ConnectionResetError:
            log.info("market-data connection reset by the client")
        finally:
            self._all.discard(connection)
            self._forget(connection)
            if not ws.closed:
                await ws.close()
        return ws

    async def _on_message(self, connection: DataConnection, payload: Any) -> bool:
        """Handle one client message; False closes the connection."""
        if not isinstance(payload, dict):
            await connection.send([{"T": "error", "code": 400, "msg": "invalid syntax"}])
            return True
        action = payload.get("action")
        if action == "auth":
            if connection.authenticated:
                await connection.send([{"T": "error", "code": 403, "msg": "already authenticated"}])
                return True
            if payload.get("key") != self._api_key or payload.get("secret") != self._secret_key:
                await connection.send([{"T": "error", "code": 402, "msg": "auth failed"}])
                return False
            if self._api_key in self._connections:
                await connection.send(
                    [{"T": "error", "code": 406, "msg": "connection limit exceeded"}]
                )
                return False
            connection.api_key = self._api_key
            self._connections[self._api_key] = connection
            self.connections_opened += 1
            await connection.send([{"T": "success", "msg": "authenticated"}])
            return True
        if action in ("subscribe", "unsubscribe"):
            if not connection.authenticated:
                await connection.send([{"T": "error", "code": 401, "msg": "not authenticated"}])
                return True
            if action == "subscribe" and not connection.subscriptions["bars"]:
                connection.bars_sent_before = self.bars_sent
            for channel in _CHANNELS:
                symbols = payload.get(channel) or []
                if not isinstance(symbols, list):
                    continue
                names = {str(s).upper() if s != "*" else "*" for s in symbols}
                if action == "subscribe":
                    connection.subscriptions[channel] |= names
                else:
                    connection.subscriptions[channel] -= names
            await connection.send([connection.subscription_message()])
            self._update_readiness()
            return True
        await connection.send([{"T": "error", "code": 400, "msg": "invalid syntax"}])
        return True

    def _forget(self, connection: DataConnection) -> None:
        if (
            connection.api_key is not None
            and self._connections.get(connection.api_key) is connection
        ):
            del self._connections[connection.api_key]
        self._update_readiness()

    def _update_readiness(self) -> None:
        if self._subscriber() is not None:
            self._subscriber_ready.set()
            self.first_subscription.set()
        else:
            self._subscriber_ready.clear()

    def _subscriber(self) -> DataConnection | None:
        for connection in self._connections.values():
            if connection.subscriptions["bars"] and not connection.ws.closed:
                return connection
        return None

    def bars_sent_before_subscriber(self) -> int:
        """``bars_sent`` when the subscribed connection subscribed (now, without one)."""
        connection = self._subscriber()
        return connection.bars_sent_before if connection is not None else self.bars_sent

    @property
    def receiver_connected(self) -> bool:
        """The connection that got the last frame is still the subscribed one."""
        receiver = self._last_receiver
        return receiver is not None and receiver is self._subscriber()

    @property
    def connected(self) -> int:
        return len(self._connections)

    async def close_all(self) -> None:
        for connection in list(self._all):
            with contextlib.suppress(ConnectionResetError):
                await connection.ws.close(
                    code=WSCloseCode.GOING_AWAY, message=b"emulator shutting down"
                )

    # --- publishing ---------------------------------------------------------------------------
    async def publish(
        self, bars: Iterable[Bar], faults: MinuteFaults, *, wait_for_client: bool
    ) -> bool:
        """Deliver one minute's bars; False when the frame is held back (out of order).

        With ``wait_for_client`` the frame waits for a subscribed connection; without, it goes
        to whoever is subscribed now (possibly nobody).
        """
        messages = [stream_bar(bar) for bar in sorted(bars, key=lambda bar: bar.symbol)]
        if faults.out_of_order:
            self._held.append(messages)
            self._faults.counts["out_of_order_frame"] += 1
            return False
        frames = [messages]
        if faults.duplicate:
            frames.append(messages)
            self._faults.counts["duplicate_frame"] += 1
        frames.extend(self._held)
        self._held.clear()
        await self._deliver(frames, malformed=faults.malformed, wait_for_client=wait_for_client)
        return True

    async def _deliver(
        self, frames: list[list[dict[str, Any]]], *, malformed: bool, wait_for_client: bool
    ) -> None:
        pending = list(frames)
        broken: dict[str, Any] | None = None
        while pending:
            connection = self._subscriber()
            if connection is None:
                if not wait_for_client:
                    return
                await self._wait_for_subscriber()
                continue
            selected = [m for m in pending[0] if connection.wants_bar(m["S"])]
            if not selected:
                pending.pop(0)
                continue
            stall_s = self._faults.take_data_stall()
            if stall_s:
                log.info("injected fault: the market data stalls for %.1f s", stall_s)
                await asyncio.sleep(stall_s)
                continue
            if self._faults.take_drop(connection.frames_sent):
                await self._drop(connection)
                continue
            if malformed:
                if broken is None:
                    broken = self._faults.malformed_message(selected)
                selected = [broken, *selected]
            try:
                await connection.send(selected)
            except ConnectionResetError:
                self._forget(connection)
                continue
            connection.frames_sent += 1
            self._last_receiver = connection
            self.bars_sent += len(selected)
            malformed = False
            pending.pop(0)

    async def _wait_for_subscriber(self) -> None:
        while True:
            try:
                await asyncio.wait_for(
                    self._subscriber_ready.wait(), timeout=_WAITING_LOG_INTERVAL_S
                )
                return
            except TimeoutError:
                log.warning("replay paused: no market-data client is subscribed to bars")

    async def drop_subscriber(self) -> None:
        """Close the subscribed connection now (the client reconnects and resubscribes)."""
        connection = self._subscriber()
        if connection is not None:
            await self._drop(connection)

    async def _drop(self, connection: DataConnection) -> None:
        log.info(
            "injected fault: dropping the market-data connection after %d frames",
            connection.frames_sent,
        )
        self._forget(connection)
        connection.subscriptions["bars"].clear()
        with contextlib.suppress(ConnectionResetError):
            await connection.ws.close(code=WSCloseCode.GOING_AWAY, message=b"injected disconnect")
