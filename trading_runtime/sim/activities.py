"""``GET /v2/account/activities``: the account's fills, as Alpaca's trading API lists them.

Every execution the emulator publishes on its trading stream is recorded in a
:class:`~.journal.FillJournal`, whether or not a client was listening, so an engine
restarted after a crash finds the fills it missed (ids carry the real execution ids).

Query parameters, as Alpaca documents them: ``activity_types`` (comma-separated; only
``FILL`` exists here, other valid types list nothing) or ``category`` (``trade_activity`` /
``non_trade_activity``; not both), ``date`` (a New York date), ``after`` and ``until``
(exclusive bounds on ``transaction_time``), ``direction`` (``desc`` by default),
``page_size`` (1 to 100, default 100; every match when ``date`` is given without it) and
``page_token`` (the id of the last activity of the previous page). Also served as
``GET /v2/account/activities/{activity_type}``.
"""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from alpaca.trading.enums import ActivityType

from trading_runtime.sim.http import bad_request, json_response, query_time
from trading_runtime.sim.journal import FILL, MAX_PAGE_SIZE
from trading_runtime.sim.state import state
from trading_runtime.sim.wire import NEW_YORK
from trading_runtime.venue.errors import unprocessable

# Only fills happen here; other valid types list nothing.
KNOWN_TYPES = frozenset(activity_type.value for activity_type in ActivityType)


def _wanted_types(request: web.Request) -> set[str]:
    query = request.query
    path_type = request.match_info.get("activity_type")
    listed = query.get("activity_types")
    category = query.get("category")
    if category and (listed or path_type):
        raise unprocessable("category cannot be used with activity_types")
    if path_type:
        types = {path_type.upper()}
    elif listed:
        types = {t.strip().upper() for t in listed.split(",") if t.strip()}
    elif category == "non_trade_activity":
        types = set(KNOWN_TYPES - {FILL})
    elif category in (None, "", "trade_activity"):
        types = {FILL}
    else:
        raise unprocessable(f"invalid category: {category}")
    unknown = sorted(types - KNOWN_TYPES)
    if unknown:
        raise unprocessable(f"invalid activity type: {unknown[0]}")
    return types


async def list_activities(request: web.Request) -> web.Response:
    query = request.query
    if FILL not in _wanted_types(request):
        return json_response([])
    direction = query.get("direction", "desc")
    if direction not in ("asc", "desc"):
        raise bad_request(f"invalid direction: {direction!r}")
    day_text = query.get("date")
    try:
        day = dt.date.fromisoformat(day_text[:10]) if day_text else None
        page_size = int(query["page_size"]) if "page_size" in query else None
    except ValueError:
        raise bad_request("invalid date or page_size") from None
    if page_size is not None and not 1 <= page_size <= MAX_PAGE_SIZE:
        raise unprocessable(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    if page_size is None and day is None:
        page_size = MAX_PAGE_SIZE
    fills = state(request).journal.query(
        after=query_time(query.get("after"), name="after", day_zone=NEW_YORK),
        until=query_time(query.get("until"), name="until", day_zone=NEW_YORK),
        day=day,
        descending=direction == "desc",
        page_size=page_size,
        page_token=query.get("page_token"),
    )
    return json_response(fills)


ROUTES = [
    web.get("/v2/account/activities", list_activities),
    web.get("/v2/account/activities/{activity_type}", list_activities),
]
