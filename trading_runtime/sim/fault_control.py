"""``POST /v2/sim/faults``: arm faults on a running emulator from outside its process.

A harness that runs the emulator as its own process breaks things at the moment it chooses
(seen from the emulator's REST state, not from inside the engine). Body, every key optional::

    {"http_errors": {"status": 500, "count": 2},      # the next REST requests fail
     "slow_requests": {"count": 3, "delay_s": 4.0},   # answered late (after acting)
     "lost_order_responses": 1,                       # order accepted, answer lost (500)
     "stall_data_s": 20.0,                            # the next bar frame waits this long
     "drop_streams": true}                            # close both websockets now

Answers with the emulator's status (its ``faults`` counts say what was injected so far).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from trading_runtime.sim.http import bad_request, json_response
from trading_runtime.sim.state import state


async def post_faults(request: web.Request) -> web.Response:
    emulator = state(request)
    try:
        body: dict[str, Any] = await request.json()
        http_errors = body.get("http_errors")
        slow = body.get("slow_requests")
        if http_errors:
            emulator.faults.inject_http_errors(
                int(http_errors["status"]), int(http_errors["count"])
            )
        if slow:
            emulator.faults.inject_slow_requests(int(slow["count"]), float(slow["delay_s"]))
        if body.get("lost_order_responses"):
            emulator.faults.inject_lost_order_responses(int(body["lost_order_responses"]))
        if body.get("stall_data_s"):
            emulator.faults.inject_data_stall(float(body["stall_data_s"]))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise bad_request(f"invalid fault request: {error}") from None
    if body.get("drop_streams"):
        emulator.faults.counts["stream_drop"] += 1
        await emulator.data_hub.drop_subscriber()
        await emulator.trade_hub.close_all(reason=b"injected disconnect")
    return json_response(emulator.replay.status().as_json())


ROUTES = [web.post("/v2/sim/faults", post_faults)]
