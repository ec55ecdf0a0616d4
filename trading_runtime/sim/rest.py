"""REST routes of the emulator: Alpaca's trading API, the bars endpoint of the data API, and
the emulator's own control endpoints under ``/v2/sim``.

Every ``/v2`` request must carry ``APCA-API-KEY-ID`` / ``APCA-API-SECRET-KEY`` (401 with
``{"code": 40110000, "message": "request is not authorized"}`` otherwise). Errors are
``{"code", "message"}`` bodies with Alpaca's HTTP status. Injected HTTP faults apply to every
REST request outside ``/v2/sim``.

Map:
    middlewares          errors -> JSON, injected faults, authentication
    trading API          account, orders, positions, clock, calendar, assets
    data API             GET /v2/stocks/bars
    control              POST /v2/sim/ack, POST /v2/sim/advance, GET /v2/sim/status
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import exchange_calendars as xcals
from aiohttp import web

from trading_runtime.marketdata import calendar
from trading_runtime.sim.broker import (
    CODE_BAD_REQUEST,
    CODE_INTERNAL,
    CODE_NOT_FOUND,
    CODE_RATE_LIMITED,
    CODE_UNAUTHORIZED,
    CODE_UNPROCESSABLE,
    OrderRefusedError,
    OrderRequest,
    SimOrder,
    asset_id,
)
from trading_runtime.sim.config import Pacing
from trading_runtime.sim.market import BarsQuery, InvalidBarsRequestError
from trading_runtime.sim.wire import (
    NEW_YORK,
    account_json,
    asset_json,
    error_body,
    iso_new_york,
    order_json,
    position_json,
)

if TYPE_CHECKING:
    from trading_runtime.sim.server import Emulator

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
WEBSOCKET_PATHS = frozenset({"/stream", "/v2/iex", "/v2/sip"})
CONTROL_PREFIX = "/v2/sim/"
DEFAULT_ORDERS_LIMIT = 50
MAX_ORDERS_LIMIT = 500


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=json.dumps)


def _error(status: int, code: int, message: str) -> web.Response:
    return _json(error_body(code, message), status=status)


def _bad_request(message: str) -> OrderRefusedError:
    return OrderRefusedError(400, CODE_BAD_REQUEST, message)


EMULATOR_KEY: web.AppKey[Emulator] = web.AppKey("emulator")


def _emulator(request: web.Request) -> Emulator:
    return request.app[EMULATOR_KEY]


# --- middlewares ----------------------------------------------------------------------------
@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except OrderRefusedError as refusal:
        return _json(refusal.body(), status=refusal.status)
    except InvalidBarsRequestError as error:
        return _error(400, CODE_BAD_REQUEST, str(error))
    except web.HTTPException as error:
        if error.status >= 400:
            code = CODE_NOT_FOUND if error.status == 404 else error.status * 100_000 + 10_000
            return _error(error.status, code, error.reason)
        raise
    except Exception:
        log.exception("unexpected error serving %s %s", request.method, request.path)
        return _error(500, CODE_INTERNAL, "internal server error")


@web.middleware
async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path in WEBSOCKET_PATHS or request.path.startswith(CONTROL_PREFIX):
        return await handler(request)
    faults = _emulator(request).faults
    status = faults.take_http_error()
    if status == 429:
        return _error(429, CODE_RATE_LIMITED, "too many requests")
    if status is not None:
        return _error(status, status * 100_000 + 10_000, "internal server error (injected)")
    response = await handler(request)
    delay_s = faults.take_slow_response()
    if delay_s:
        await asyncio.sleep(delay_s)
    return response


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path in WEBSOCKET_PATHS:
        return await handler(request)
    config = _emulator(request).config
    key = request.headers.get("APCA-API-KEY-ID")
    secret = request.headers.get("APCA-API-SECRET-KEY")
    if key != config.api_key or secret != config.secret_key:
        return _error(401, CODE_UNAUTHORIZED, "request is not authorized")
    return await handler(request)


# --- trading API ------------------------------------------------------------------------------
async def get_account(request: web.Request) -> web.Response:
    emulator = _emulator(request)
    return _json(
        account_json(
            emulator.broker, account_id=emulator.account_id, created_at=emulator.created_at
        )
    )


async def post_order(request: web.Request) -> web.Response:
    emulator = _emulator(request)
    try:
        body = await request.json()
    except ValueError:
        raise _bad_request("request body must be JSON") from None
    order_request = OrderRequest.from_json(body)
    order, events = emulator.broker.submit(
        order_request, now=emulator.replay.now, expires_at=emulator.session.close
    )
    emulator.trade_hub.publish(events)
    if emulator.faults.take_lost_order_response():
        return _error(
            500, CODE_INTERNAL, "internal server error (injected, after the order was accepted)"
        )
    return _json(order_json(order))


def _parse_query_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        stamp = dt.datetime.fromisoformat(text.replace(" ", "+"))
    except ValueError:
        raise _bad_request(f"invalid time: {text!r}") from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


async def list_orders(request: web.Request) -> web.Response:
    emulator = _emulator(request)
    query = request.query
    status = query.get("status", "open")
    if status not in ("open", "closed", "all"):
        raise _bad_request(f"invalid status {status!r}")
    try:
        limit = int(query.get("limit", DEFAULT_ORDERS_LIMIT))
    except ValueError:
        raise _bad_request("invalid limit") from None
    limit = max(1, min(limit, MAX_ORDERS_LIMIT))
    symbols = {s.strip().upper() for s in query.get("symbols", "").split(",") if s.strip()}
    side = query.get("side")
    after = _parse_query_time(query.get("after"))
    until = _parse_query_time(query.get("until"))

    def keep(order: SimOrder) -> bool:
        if status == "open" and not order.is_open:
            return False
        if status == "closed" and order.is_open:
            return False
        if symbols and order.symbol not in symbols:
            return False
        if side and order.side.value != side:
            return False
        if after and order.created_at <= after:
            return False
        return not (until and order.created_at > until)

    orders = [o for o in emulator.broker.orders() if keep(o)]
    orders.sort(key=lambda o: o.created_at, reverse=query.get("direction", "desc") != "asc")
    return _json([order_json(o) for o in orders[:limit]])


async def cancel_all_orders(request: web.Request) -> web.Response:
    emulator = _emulator(request)
    canceled, events = emulator.broker.cancel_all(now=emulator.replay.now)
    emulator.trade_hub.publish(events)
    return _json([{"id": o.id, "status": 200, "body": order_json(o)} for o in canceled], status=207)


def _order_or_404(emulator: Emulator, order_id: str) -> SimOrder:
    order = emulator.broker.get_order(order_id)
    if order is None:
        raise OrderRefusedError(404, CODE_NOT_FOUND, "order not found")
    return order


async def get_order(request: web.Request) -> web.Response:
    return _json(order_json(_order_or_404(_emulator(request), request.match_info["order_id"])))


async def get_order_by_client_id(request: web.Request) -> web.Response:
    client_order_id = request.query.get("client_order_id")
    if not client_order_id:
        raise _bad_request("client_order_id is required")
    order = _emulator(request).broker.get_order_by_client_id(client_order_id)
    if order is None:
        raise OrderRefusedError(404, CODE_NOT_FOUND, "order not found")
    return _json(order_json(order))


async def cancel_order(request: web.Request) -> web.Response:
    emulator = _emulator(request)
    events = emulator.broker.cancel(request.match_info["order_id"], now=emulator.replay.now)
    emulator.trade_hub.publish(events)
    return web.Response(status=204)


def _symbol_for(emulator: Emulator, symbol_or_asset_id: str) -> str:
    wanted = symbol_or_asset_id.upper()
    for symbol in emulator.broker.symbols:
        if symbol == wanted or asset_id(symbol) == symbol_or_asset_id:
            return symbol
    return wanted


def _position_body(emulator: Emulator, symbol: str) -> dict[str, Any]:
    position = emulator.broker.position(symbol)
    assert position is not None
    return position_json(
        position, emulator.broker.mark_price(symbol), emulator.tape.opening_prices.get(symbol)
    )


async def list_positions(request: web.Request) -> web.Response:
    emulator = _emulator(request)
    return _json([_position_body(emulator, p.symbol) for p in emulator.broker.positions()])


async def get_position(request: web.Request) -> web.Response:
    emulator = _emulator(request)
    symbol = _symbol_for(emulator, request.match_info["symbol"])
    if emulator.broker.position(symbol) is None:
        raise OrderRefusedError(404, CODE_NOT_FOUND, "position does not exist")
    return _json(_position_body(emulator, symbol))


async def close_all_positions(request: web.Request) -> web.Response:
    emulator = _emulator(request)
    broker = emulator.broker
    now = emulator.replay.now
    if request.query.get("cancel_orders", "").lower() == "true":
        _, events = broker.cancel_all(now=now)
        emulator.trade_hub.publish(events)
    results = []
    for position in broker.positions():
        try:
            order, events = broker.close_position(
                position.symbol, now=now, expires_at=emulator.session.close
            )
        except OrderRefusedError as refusal:
            results.append(
                {"symbol": position.symbol, "status": refusal.status, "body": refusal.body()}
            )
            continue
        emulator.trade_hub.publish(events)
        results.append(
            {
                "symbol": position.symbol,
                "status": 200,
                "order_id": order.id,
                "body": order_json(order),
            }
        )
    return _json(results, status=207)


async def close_position(request: web.Request) -> web.Response:
    emulator = _emulator(request)
    symbol = _symbol_for(emulator, request.match_info["symbol"])
    qty: Decimal | None = None
    if "qty" in request.query:
        try:
            qty = Decimal(request.query["qty"])
        except InvalidOperation:
            raise _bad_request("invalid qty") from None
    order, events = emulator.broker.close_position(
        symbol, now=emulator.replay.now, expires_at=emulator.session.close, qty=qty
    )
    emulator.trade_hub.publish(events)
    return _json(order_json(order))


async def get_clock(request: web.Request) -> web.Response:
    emulator = _emulator(request)
    now = emulator.replay.now
    session = emulator.session
    if now < session.open:
        next_open, next_close = session.open, session.close
    else:
        following = calendar.session(calendar.next_session(session.date))
        next_open = following.open
        next_close = session.close if now < session.close else following.close
    return _json(
        {
            "timestamp": iso_new_york(now),
            "is_open": emulator.replay.is_market_open,
            "next_open": iso_new_york(next_open),
            "next_close": iso_new_york(next_close),
        }
    )


def _parse_day(text: str | None, default: dt.date) -> dt.date:
    if not text:
        return default
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise _bad_request(f"invalid date: {text!r}") from None


async def get_calendar(request: web.Request) -> web.Response:
    emulator = _emulator(request)
    session_date = emulator.session.date
    start = _parse_day(request.query.get("start"), session_date - dt.timedelta(days=365))
    end = _parse_day(request.query.get("end"), session_date + dt.timedelta(days=365))
    nyse = xcals.get_calendar("XNYS")
    start = max(start, nyse.first_session.date())
    end = min(end, nyse.last_session.date())
    days = []
    for day in calendar.sessions_between(start, end):
        session = calendar.session(day)
        days.append(
            {
                "date": day.isoformat(),
                "open": session.open.astimezone(NEW_YORK).strftime("%H:%M"),
                "close": session.close.astimezone(NEW_YORK).strftime("%H:%M"),
                "session_open": "0400",
                "session_close": "2000",
            }
        )
    return _json(days)


async def list_assets(request: web.Request) -> web.Response:
    return _json([asset_json(symbol) for symbol in sorted(_emulator(request).broker.symbols)])


async def get_asset(request: web.Request) -> web.Response:
    emulator = _emulator(request)
    symbol = _symbol_for(emulator, request.match_info["symbol"])
    if symbol not in emulator.broker.symbols:
        raise OrderRefusedError(404, CODE_NOT_FOUND, "asset not found")
    return _json(asset_json(symbol))


# --- data API ------------------------------------------------------------------------------------
async def get_bars(request: web.Request) -> web.Response:
    emulator = _emulator(request)
    query = BarsQuery.from_params(
        request.query, now=emulator.replay.now, max_page_size=emulator.config.max_bars_page_size
    )
    bars, token = await emulator.history.page(query, cutoff=emulator.replay.history_cutoff)
    return _json({"bars": bars, "next_page_token": token, "currency": "USD"})


# --- control ---------------------------------------------------------------------------------
async def post_ack(request: web.Request) -> web.Response:
    emulator = _emulator(request)
    try:
        body = await request.json()
        through = dt.datetime.fromisoformat(str(body["through"]))
    except (ValueError, KeyError, TypeError):
        raise _bad_request('expected {"through": "<bar timestamp, ISO 8601>"}') from None
    if through.tzinfo is None:
        raise _bad_request("through must carry a time zone")
    emulator.replay.ack(through)
    return _json(emulator.replay.status().as_json())


async def post_advance(request: web.Request) -> web.Response:
    emulator = _emulator(request)
    try:
        body = await request.json() if request.can_read_body else {}
        bars = int(body.get("bars", 1))
    except (ValueError, TypeError, AttributeError):
        raise _bad_request('expected {"bars": <number of minutes>}') from None
    if emulator.config.pacing is not Pacing.MANUAL:
        raise OrderRefusedError(
            422, CODE_UNPROCESSABLE, "advance is only available with manual pacing"
        )
    if bars < 1:
        raise _bad_request("bars must be >= 1")
    await emulator.replay.advance(bars)
    return _json(emulator.replay.status().as_json())


async def get_status(request: web.Request) -> web.Response:
    return _json(_emulator(request).replay.status().as_json())


def add_routes(app: web.Application, emulator: Emulator) -> None:
    app.add_routes(
        [
            web.get("/v2/account", get_account),
            web.get("/v2/orders", list_orders),
            web.post("/v2/orders", post_order),
            web.delete("/v2/orders", cancel_all_orders),
            web.get("/v2/orders:by_client_order_id", get_order_by_client_id),
            web.get("/v2/orders/{order_id}", get_order),
            web.delete("/v2/orders/{order_id}", cancel_order),
            web.get("/v2/positions", list_positions),
            web.delete("/v2/positions", close_all_positions),
            web.get("/v2/positions/{symbol}", get_position),
            web.delete("/v2/positions/{symbol}", close_position),
            web.get("/v2/clock", get_clock),
            web.get("/v2/calendar", get_calendar),
            web.get("/v2/assets", list_assets),
            web.get("/v2/assets/{symbol}", get_asset),
            web.get("/v2/stocks/bars", get_bars),
            web.post("/v2/sim/ack", post_ack),
            web.post("/v2/sim/advance", post_advance),
            web.get("/v2/sim/status", get_status),
            web.get("/v2/iex", emulator.data_hub.handle),
            web.get("/v2/sip", emulator.data_hub.handle),
            web.get("/stream", emulator.trade_hub.handle),
        ]
    )
