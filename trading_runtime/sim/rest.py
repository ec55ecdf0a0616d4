"""Alpaca's trading API on the emulator: account, orders (submit, replace, cancel, list) and
positions. Handlers translate HTTP to calls of the venue's public methods and publish the
trade updates those calls return on the trading stream.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from trading_runtime.sim.http import (
    bad_request,
    error_response,
    json_response,
    query_time,
    read_json,
)
from trading_runtime.sim.state import EmulatorState, state
from trading_runtime.sim.wire import account_json, order_json, position_json
from trading_runtime.venue import (
    OrderRefusedError,
    OrderRequest,
    ReplaceRequest,
    VenueOrder,
    asset_id,
)
from trading_runtime.venue.errors import CODE_INTERNAL, not_found

DEFAULT_ORDERS_LIMIT = 50
MAX_ORDERS_LIMIT = 500


async def get_account(request: web.Request) -> web.Response:
    emulator = state(request)
    return json_response(
        account_json(emulator.venue, account_id=emulator.account_id, created_at=emulator.created_at)
    )


async def post_order(request: web.Request) -> web.Response:
    emulator = state(request)
    order_request = OrderRequest.from_json(await read_json(request))
    order, events = emulator.venue.submit(
        order_request, now=emulator.replay.now, expires_at=emulator.session.close
    )
    emulator.trade_hub.publish(events)
    if emulator.faults.take_lost_order_response():
        return error_response(
            500, CODE_INTERNAL, "internal server error (injected, after the order was accepted)"
        )
    return json_response(order_json(order))


async def replace_order(request: web.Request) -> web.Response:
    emulator = state(request)
    replace = ReplaceRequest.from_json(await read_json(request))
    order, events = emulator.venue.replace(
        request.match_info["order_id"], replace, now=emulator.replay.now
    )
    emulator.trade_hub.publish(events)
    return json_response(order_json(order))


async def list_orders(request: web.Request) -> web.Response:
    """``after`` and ``until`` are both exclusive, as at Alpaca."""
    emulator = state(request)
    query = request.query
    status = query.get("status", "open")
    if status not in ("open", "closed", "all"):
        raise bad_request(f"invalid status {status!r}")
    try:
        limit = int(query.get("limit", DEFAULT_ORDERS_LIMIT))
    except ValueError:
        raise bad_request("invalid limit") from None
    limit = max(1, min(limit, MAX_ORDERS_LIMIT))
    symbols = {s.strip().upper() for s in query.get("symbols", "").split(",") if s.strip()}
    side = query.get("side")
    after = query_time(query.get("after"))
    until = query_time(query.get("until"))

    def keep(order: VenueOrder) -> bool:
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
        return not (until and order.created_at >= until)

    orders = [o for o in emulator.venue.orders() if keep(o)]
    orders.sort(key=lambda o: o.created_at, reverse=query.get("direction", "desc") != "asc")
    return json_response([order_json(o) for o in orders[:limit]])


async def cancel_all_orders(request: web.Request) -> web.Response:
    emulator = state(request)
    canceled, events = emulator.venue.cancel_all(now=emulator.replay.now)
    emulator.trade_hub.publish(events)
    return json_response(
        [{"id": o.id, "status": 200, "body": order_json(o)} for o in canceled], status=207
    )


async def get_order(request: web.Request) -> web.Response:
    order = state(request).venue.get_order(request.match_info["order_id"])
    if order is None:
        raise not_found("order not found")
    return json_response(order_json(order))


async def get_order_by_client_id(request: web.Request) -> web.Response:
    client_order_id = request.query.get("client_order_id")
    if not client_order_id:
        raise bad_request("client_order_id is required")
    order = state(request).venue.get_order_by_client_id(client_order_id)
    if order is None:
        raise not_found("order not found")
    return json_response(order_json(order))


async def cancel_order(request: web.Request) -> web.Response:
    emulator = state(request)
    events = emulator.venue.cancel(request.match_info["order_id"], now=emulator.replay.now)
    emulator.trade_hub.publish(events)
    return web.Response(status=204)


def symbol_for(emulator: EmulatorState, symbol_or_asset_id: str) -> str:
    wanted = symbol_or_asset_id.upper()
    for symbol in emulator.venue.symbols:
        if symbol == wanted or asset_id(symbol) == symbol_or_asset_id:
            return symbol
    return wanted


def _position_body(emulator: EmulatorState, symbol: str) -> dict[str, Any]:
    account = emulator.venue.account
    position = account.positions[symbol]
    return position_json(
        position, account.marks.get(symbol), emulator.tape.opening_prices.get(symbol)
    )


async def list_positions(request: web.Request) -> web.Response:
    emulator = state(request)
    positions = emulator.venue.account.sorted_positions()
    return json_response([_position_body(emulator, p.symbol) for p in positions])


async def get_position(request: web.Request) -> web.Response:
    emulator = state(request)
    symbol = symbol_for(emulator, request.match_info["symbol"])
    if symbol not in emulator.venue.account.positions:
        raise not_found("position does not exist")
    return json_response(_position_body(emulator, symbol))


async def close_all_positions(request: web.Request) -> web.Response:
    emulator = state(request)
    venue = emulator.venue
    now = emulator.replay.now
    if request.query.get("cancel_orders", "").lower() == "true":
        _, events = venue.cancel_all(now=now)
        emulator.trade_hub.publish(events)
    results = []
    for position in venue.account.sorted_positions():
        try:
            order, events = venue.close_position(
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
    return json_response(results, status=207)


async def close_position(request: web.Request) -> web.Response:
    emulator = state(request)
    symbol = symbol_for(emulator, request.match_info["symbol"])
    qty: Decimal | None = None
    if "qty" in request.query:
        try:
            qty = Decimal(request.query["qty"])
        except InvalidOperation:
            raise bad_request("invalid qty") from None
    order, events = emulator.venue.close_position(
        symbol, now=emulator.replay.now, expires_at=emulator.session.close, qty=qty
    )
    emulator.trade_hub.publish(events)
    return json_response(order_json(order))


ROUTES = [
    web.get("/v2/account", get_account),
    web.get("/v2/orders", list_orders),
    web.post("/v2/orders", post_order),
    web.delete("/v2/orders", cancel_all_orders),
    web.get("/v2/orders:by_client_order_id", get_order_by_client_id),
    web.get("/v2/orders/{order_id}", get_order),
    web.patch("/v2/orders/{order_id}", replace_order),
    web.delete("/v2/orders/{order_id}", cancel_order),
    web.get("/v2/positions", list_positions),
    web.delete("/v2/positions", close_all_positions),
    web.get("/v2/positions/{symbol}", get_position),
    web.delete("/v2/positions/{symbol}", close_position),
]
