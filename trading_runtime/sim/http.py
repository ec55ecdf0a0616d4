"""HTTP plumbing of the emulator's REST API: JSON responses, Alpaca-style errors, and the
middlewares, outermost first:

    auth         every ``/v2`` request carries ``APCA-API-KEY-ID`` / ``APCA-API-SECRET-KEY``
                 (401 ``{"code": 40110000, "message": "request is not authorized"}`` otherwise)
    rate limit   Alpaca's per-key limit with its headers on every response (when configured)
    errors       ``OrderRefusedError`` and HTTP errors -> ``{"code", "message"}`` bodies
    faults       injected HTTP errors, lost order responses and slow responses

Websocket paths skip all of them; ``/v2/sim`` control requests skip rate limit and faults.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from trading_runtime.sim.market import InvalidBarsRequestError
from trading_runtime.sim.state import state
from trading_runtime.venue import OrderRefusedError
from trading_runtime.venue.errors import (
    CODE_BAD_REQUEST,
    CODE_INTERNAL,
    CODE_NOT_FOUND,
    CODE_RATE_LIMITED,
    CODE_UNAUTHORIZED,
)

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
WEBSOCKET_PATHS = frozenset({"/stream", "/v2/iex", "/v2/sip"})
CONTROL_PREFIX = "/v2/sim/"
DATA_PREFIX = "/v2/stocks"
RATE_LIMITED_MESSAGE = "rate limit exceeded"


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=json.dumps)


def error_response(status: int, code: int, message: str) -> web.Response:
    return json_response({"code": code, "message": message}, status=status)


def bad_request(message: str) -> OrderRefusedError:
    return OrderRefusedError(400, CODE_BAD_REQUEST, message)


def query_time(
    text: str | None, *, name: str = "time", day_zone: dt.tzinfo = dt.UTC
) -> dt.datetime | None:
    """An ISO 8601 query parameter (a ``+`` decoded as a space is put back); a date alone is
    midnight in ``day_zone``, a time without an offset is UTC; None when absent; 400 when
    unreadable (``invalid {name}: ...``)."""
    if not text:
        return None
    try:
        if len(text) == 10:
            stamp = dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), day_zone)
        else:
            stamp = dt.datetime.fromisoformat(text.replace(" ", "+"))
    except ValueError:
        raise bad_request(f"invalid {name}: {text!r}") from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


async def read_json(request: web.Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise bad_request("request body must be JSON") from None


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path in WEBSOCKET_PATHS:
        return await handler(request)
    config = state(request).config
    key = request.headers.get("APCA-API-KEY-ID")
    secret = request.headers.get("APCA-API-SECRET-KEY")
    if key != config.api_key or secret != config.secret_key:
        return error_response(401, CODE_UNAUTHORIZED, "request is not authorized")
    return await handler(request)


@web.middleware
async def rate_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    limiter = state(request).rate_limiter
    if (
        limiter is None
        or request.path in WEBSOCKET_PATHS
        or request.path.startswith(CONTROL_PREFIX)
    ):
        return await handler(request)
    api = "data" if request.path.startswith(DATA_PREFIX) else "trading"
    decision = limiter.take(f"{request.headers.get('APCA-API-KEY-ID')}/{api}")
    if not decision.allowed:
        response: web.StreamResponse = error_response(429, CODE_RATE_LIMITED, RATE_LIMITED_MESSAGE)
    else:
        response = await handler(request)
    response.headers.update(decision.headers())
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except OrderRefusedError as refusal:
        return json_response(refusal.body(), status=refusal.status)
    except InvalidBarsRequestError as error:
        return error_response(400, CODE_BAD_REQUEST, str(error))
    except web.HTTPException as error:
        if error.status >= 400:
            code = CODE_NOT_FOUND if error.status == 404 else error.status * 100_000 + 10_000
            return error_response(error.status, code, error.reason)
        raise
    except Exception:
        log.exception("unexpected error serving %s %s", request.method, request.path)
        return error_response(500, CODE_INTERNAL, "internal server error")


@web.middleware
async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path in WEBSOCKET_PATHS or request.path.startswith(CONTROL_PREFIX):
        return await handler(request)
    faults = state(request).faults
    status = faults.take_http_error()
    if status == 429:
        return error_response(429, CODE_RATE_LIMITED, RATE_LIMITED_MESSAGE)
    if status is not None:
        return error_response(status, status * 100_000 + 10_000, "internal server error (injected)")
    response = await handler(request)
    delay_s = faults.take_slow_response()
    if delay_s:
        await asyncio.sleep(delay_s)
    return response


MIDDLEWARES = [auth_middleware, rate_limit_middleware, error_middleware, fault_middleware]
