"""Client of the emulator's control endpoints (``/v2/sim/...``), for the engine and tests.

In lockstep pacing the emulator publishes bar ``m`` and waits until the client acknowledges
it (``ack(through=t_m)``), so a replayed session runs exactly as fast as its consumer. Ack
once the whole minute has been processed and its orders submitted (see
:mod:`trading_runtime.sim.replay` for how to see a minute's bars as one batch).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import aiohttp

from trading_runtime.sim.replay import EmulatorStatus


class EmulatorControlError(RuntimeError):
    """The emulator refused or failed a control request."""


class EmulatorControl:
    """Async client; create and use it inside the event loop that will own its session."""

    def __init__(
        self, base_url: str, api_key: str, secret_key: str, timeout_s: float = 10.0
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._headers = {"APCA-API-KEY-ID": api_key, "APCA-API-SECRET-KEY": secret_key}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self.client_id = uuid.uuid4().hex  # one per client: a restarted engine is a new one

    def __repr__(self) -> str:
        return f"EmulatorControl({self._base_url!r})"

    async def ack(self, through: dt.datetime, *, wait_for_next: bool = False) -> EmulatorStatus:
        """Acknowledge every bar up to and including the bar labelled ``through`` (tz-aware).

        ``wait_for_next``: answer only once the next frame has been sent (or the session is
        over), with ``last_bar`` and ``bars_sent`` describing it: the client's event clock
        (``bars_sent`` counted from this client's first subscription, so a client that
        replaces a crashed one counts only the bars sent to it).
        """
        if through.tzinfo is None:
            raise ValueError("through must be timezone-aware")
        body = {
            "through": through.isoformat(),
            "wait_for_next": wait_for_next,
            "client": self.client_id,
        }
        return await self._request("POST", "/v2/sim/ack", body)

    async def advance(self, bars: int = 1) -> EmulatorStatus:
        """Manual pacing: replay ``bars`` more minutes."""
        return await self._request("POST", "/v2/sim/advance", {"bars": bars})

    async def status(self) -> EmulatorStatus:
        return await self._request("GET", "/v2/sim/status", None)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> EmulatorControl:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _request(self, method: str, path: str, body: dict[str, Any] | None) -> EmulatorStatus:
        if self._session is None:
            self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)
        async with self._session.request(method, self._base_url + path, json=body) as response:
            data = await response.json(content_type=None)
            if response.status != 200:
                raise EmulatorControlError(f"{method} {path}: HTTP {response.status} {data}")
        return EmulatorStatus.from_json(data)
