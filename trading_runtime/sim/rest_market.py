"""The emulator's other REST endpoints: clock, calendar and assets of the trading API, the
bars endpoint of the data API (``GET /v2/stocks/bars``), and the emulator's own control
endpoints (``POST /v2/sim/ack``, ``POST /v2/sim/advance``, ``GET /v2/sim/status``).
"""

from __future__ import annotations

import datetime as dt

import exchange_calendars as xcals
from aiohttp import web

from trading_runtime.marketdata import calendar
from trading_runtime.sim.config import Pacing
from trading_runtime.sim.http import bad_request, json_response
from trading_runtime.sim.market import BarsQuery
from trading_runtime.sim.rest import symbol_for
from trading_runtime.sim.state import state
from trading_runtime.sim.wire import NEW_YORK, asset_json, iso_new_york
from trading_runtime.venue import OrderRefusedError
from trading_runtime.venue.errors import CODE_UNPROCESSABLE, not_found


async def get_clock(request: web.Request) -> web.Response:
    emulator = state(request)
    now = emulator.replay.now
    session = emulator.session
    if now < session.open:
        next_open, next_close = session.open, session.close
    else:
        following = calendar.session(calendar.next_session(session.date))
        next_open = following.open
        next_close = session.close if now < session.close else following.close
    return json_response(
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
        raise bad_request(f"invalid date: {text!r}") from None


async def get_calendar(request: web.Request) -> web.Response:
    session_date = state(request).session.date
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
    return json_response(days)


async def list_assets(request: web.Request) -> web.Response:
    return json_response([asset_json(s) for s in sorted(state(request).venue.symbols)])


async def get_asset(request: web.Request) -> web.Response:
    emulator = state(request)
    symbol = symbol_for(emulator, request.match_info["symbol"])
    if symbol not in emulator.venue.symbols:
        raise not_found("asset not found")
    return json_response(asset_json(symbol))


async def get_bars(request: web.Request) -> web.Response:
    emulator = state(request)
    query = BarsQuery.from_params(
        request.query, now=emulator.replay.now, max_page_size=emulator.config.max_bars_page_size
    )
    bars, token = await emulator.history.page(query, cutoff=emulator.replay.history_cutoff)
    return json_response({"bars": bars, "next_page_token": token, "currency": "USD"})


async def post_ack(request: web.Request) -> web.Response:
    emulator = state(request)
    try:
        body = await request.json()
        through = dt.datetime.fromisoformat(str(body["through"]))
    except (ValueError, KeyError, TypeError):
        raise bad_request('expected {"through": "<bar timestamp, ISO 8601>"}') from None
    if through.tzinfo is None:
        raise bad_request("through must carry a time zone")
    client = body.get("client")
    emulator.replay.identify(str(client) if client is not None else None)
    emulator.replay.ack(through)
    if body.get("wait_for_next"):
        await emulator.replay.wait_published_after(through)
    return json_response(emulator.replay.status().as_json())


async def post_advance(request: web.Request) -> web.Response:
    emulator = state(request)
    try:
        body = await request.json() if request.can_read_body else {}
        bars = int(body.get("bars", 1))
    except (ValueError, TypeError, AttributeError):
        raise bad_request('expected {"bars": <number of minutes>}') from None
    if emulator.config.pacing is not Pacing.MANUAL:
        raise OrderRefusedError(
            422, CODE_UNPROCESSABLE, "advance is only available with manual pacing"
        )
    if bars < 1:
        raise bad_request("bars must be >= 1")
    await emulator.replay.advance(bars)
    return json_response(emulator.replay.status().as_json())


async def get_status(request: web.Request) -> web.Response:
    return json_response(state(request).replay.status().as_json())


ROUTES = [
    web.get("/v2/clock", get_clock),
    web.get("/v2/calendar", get_calendar),
    web.get("/v2/assets", list_assets),
    web.get("/v2/assets/{symbol}", get_asset),
    web.get("/v2/stocks/bars", get_bars),
    web.post("/v2/sim/ack", post_ack),
    web.post("/v2/sim/advance", post_advance),
    web.get("/v2/sim/status", get_status),
]
