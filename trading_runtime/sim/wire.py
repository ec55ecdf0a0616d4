"""Alpaca's wire formats: JSON bodies of the trading API, bar objects of the data API, and
market-data stream messages (msgpack, ``t`` as a msgpack Timestamp).

Numbers that are money or quantities travel as strings without exponent (as Alpaca sends
them); bar prices travel as JSON/msgpack floats (as Alpaca sends them).
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import msgpack

from trading_runtime.domain.bars import Bar
from trading_runtime.domain.enums import OrderSide
from trading_runtime.marketdata import calendar
from trading_runtime.venue import (
    TradeUpdateEvent,
    Venue,
    VenueOrder,
    VenuePosition,
    asset_id,
    plain_decimal,
)
from trading_runtime.venue.orders import stable_uuid4

NEW_YORK = ZoneInfo(calendar.NEW_YORK)


def iso_utc(timestamp: dt.datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` suffix."""
    utc = timestamp.astimezone(dt.UTC)
    text = utc.isoformat(timespec="microseconds" if utc.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def iso_new_york(timestamp: dt.datetime) -> str:
    return timestamp.astimezone(NEW_YORK).isoformat()


def _optional_time(timestamp: dt.datetime | None) -> str | None:
    return iso_utc(timestamp) if timestamp is not None else None


def _optional_decimal(value: Decimal | None) -> str | None:
    return plain_decimal(value) if value is not None else None


def error_body(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message}


# --- trading API ------------------------------------------------------------------------------
def order_json(order: VenueOrder) -> dict[str, Any]:
    """An order as ``GET /v2/orders/{id}`` returns it (parses as ``alpaca...models.Order``)."""
    return {
        "id": order.id,
        "client_order_id": order.client_order_id,
        "created_at": iso_utc(order.created_at),
        "updated_at": iso_utc(order.updated_at),
        "submitted_at": iso_utc(order.created_at),
        "filled_at": _optional_time(order.filled_at),
        "expired_at": _optional_time(order.expired_at),
        "expires_at": _optional_time(order.expires_at),
        "canceled_at": _optional_time(order.canceled_at),
        "failed_at": _optional_time(order.failed_at),
        "replaced_at": _optional_time(order.replaced_at),
        "replaced_by": order.replaced_by,
        "replaces": order.replaces,
        "asset_id": asset_id(order.symbol),
        "symbol": order.symbol,
        "asset_class": "us_equity",
        "notional": _optional_decimal(order.notional),
        "qty": None if order.notional is not None else _optional_decimal(order.qty),
        "filled_qty": plain_decimal(order.filled_qty),
        "filled_avg_price": _optional_decimal(order.filled_avg_price),
        "order_class": "simple",
        "order_type": order.order_type.value,
        "type": order.order_type.value,
        "side": order.side.value,
        "position_intent": "buy_to_open" if order.side is OrderSide.BUY else "sell_to_close",
        "time_in_force": order.time_in_force.value,
        "limit_price": _optional_decimal(order.limit_price),
        "stop_price": None,
        "status": order.status.value,
        "extended_hours": False,
        "legs": None,
        "trail_percent": None,
        "trail_price": None,
        "hwm": None,
    }


def trade_update_json(event: TradeUpdateEvent) -> dict[str, Any]:
    """A ``trade_updates`` stream message (parses as ``alpaca...models.TradeUpdate``)."""
    data: dict[str, Any] = {
        "event": event.event.value,
        "timestamp": iso_utc(event.timestamp),
        "order": order_json(event.order),
    }
    if event.execution_id is not None:
        data["execution_id"] = event.execution_id
    if event.price is not None:
        data["price"] = plain_decimal(event.price)
    if event.qty is not None:
        data["qty"] = plain_decimal(event.qty)
    if event.position_qty is not None:
        data["position_qty"] = plain_decimal(event.position_qty)
    return {"stream": "trade_updates", "data": data}


def _percent(numerator: Decimal, denominator: Decimal) -> str:
    if denominator == 0:
        return "0"
    return plain_decimal((numerator / denominator).quantize(Decimal("0.0000000001")))


def position_json(
    position: VenuePosition, mark: Decimal | None, lastday_price: Decimal | None
) -> dict[str, Any]:
    """A position as ``GET /v2/positions`` returns it (parses as ``...models.Position``)."""
    current = mark if mark is not None else position.avg_entry_price
    previous = lastday_price if lastday_price is not None else current
    market_value = position.qty * current
    cost_basis = position.cost_basis
    unrealized = market_value - cost_basis
    intraday = position.qty * (current - previous)
    return {
        "asset_id": asset_id(position.symbol),
        "symbol": position.symbol,
        "exchange": "NASDAQ",
        "asset_class": "us_equity",
        "asset_marginable": False,
        "avg_entry_price": plain_decimal(position.avg_entry_price),
        "qty": plain_decimal(position.qty),
        "qty_available": plain_decimal(position.qty),
        "side": "long",
        "market_value": plain_decimal(market_value),
        "cost_basis": plain_decimal(cost_basis),
        "unrealized_pl": plain_decimal(unrealized),
        "unrealized_plpc": _percent(unrealized, cost_basis),
        "unrealized_intraday_pl": plain_decimal(intraday),
        "unrealized_intraday_plpc": _percent(intraday, position.qty * previous),
        "current_price": plain_decimal(current),
        "lastday_price": plain_decimal(previous),
        "change_today": _percent(current - previous, previous),
    }


def account_json(venue: Venue, *, account_id: str, created_at: dt.datetime) -> dict[str, Any]:
    """``GET /v2/account`` of a cash account (no pattern-day-trader fields: Alpaca removed them)."""
    account = venue.account
    cash = plain_decimal(account.cash)
    buying_power = plain_decimal(venue.buying_power())
    equity = plain_decimal(account.equity())
    return {
        "id": account_id,
        "account_number": "PA" + account_id.replace("-", "")[:10].upper(),
        "status": "ACTIVE",
        "crypto_status": "INACTIVE",
        "currency": "USD",
        "buying_power": buying_power,
        "regt_buying_power": buying_power,
        "non_marginable_buying_power": buying_power,
        "options_buying_power": buying_power,
        "cash": cash,
        "accrued_fees": "0",
        "pending_transfer_in": "0",
        "pending_transfer_out": "0",
        "portfolio_value": equity,
        "equity": equity,
        "last_equity": plain_decimal(account.starting_cash),
        "long_market_value": plain_decimal(account.long_market_value()),
        "short_market_value": "0",
        "initial_margin": "0",
        "maintenance_margin": "0",
        "last_maintenance_margin": "0",
        "sma": "0",
        "multiplier": "1",
        "shorting_enabled": False,
        "trading_blocked": False,
        "transfers_blocked": False,
        "account_blocked": False,
        "trade_suspended_by_user": False,
        "created_at": iso_utc(created_at),
        "options_approved_level": 0,
        "options_trading_level": 0,
    }


def account_id_for(api_key: str) -> str:
    """A stable account id (UUID v4) per API key."""
    return stable_uuid4("account", api_key)


def asset_json(symbol: str) -> dict[str, Any]:
    """``GET /v2/assets/{symbol}`` (parses as ``...models.Asset``)."""
    return {
        "id": asset_id(symbol),
        "class": "us_equity",
        "exchange": "NASDAQ",
        "symbol": symbol,
        "name": f"{symbol} (emulated)",
        "status": "active",
        "tradable": True,
        "marginable": False,
        "shortable": False,
        "easy_to_borrow": False,
        "fractionable": True,
        "attributes": [],
    }


# --- market data ------------------------------------------------------------------------------
def _finite_or_none(value: float | None) -> float | None:
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    return float(value)


def _count(value: float | None) -> int | float | None:
    number = _finite_or_none(value)
    if number is None:
        return None
    return int(number) if number.is_integer() else number


def stream_timestamp(timestamp: dt.datetime) -> msgpack.Timestamp:
    utc = timestamp.astimezone(dt.UTC)
    whole = int(utc.replace(microsecond=0).timestamp())
    return msgpack.Timestamp(seconds=whole, nanoseconds=utc.microsecond * 1000)


def stream_bar(bar: Bar) -> dict[str, Any]:
    """A ``bars`` message of the market-data stream."""
    return {
        "T": "b",
        "S": bar.symbol,
        "o": bar.open,
        "h": bar.high,
        "l": bar.low,
        "c": bar.close,
        "v": _count(bar.volume),
        "t": stream_timestamp(bar.timestamp),
        "n": _count(bar.trade_count),
        "vw": _finite_or_none(bar.vwap),
    }
