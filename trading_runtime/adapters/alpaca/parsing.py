"""Pure translation of Alpaca messages into domain types. No I/O.

Money and quantities become ``Decimal`` from Alpaca's strings (never through a float when a
string is available). Timestamps become tz-aware UTC datetimes.

Map:
    bar_from_stream          raw market-data ``b`` message (msgpack dict) -> Bar
    bars_page                one ``/v2/stocks/bars`` body -> (DataFrame in BAR_SCHEMA columns,
                             next_page_token); MalformedBarsResponseError names what is wrong
    order_snapshot           alpaca Order (or its raw dict) -> OrderSnapshot
    order_updated            raw ``trade_updates`` data -> OrderUpdated (+ Fill on executions)
    fill_activity            one ``/v2/account/activities`` FILL entry -> Fill
    position / positions     alpaca Position -> Position
    account_snapshot         alpaca TradeAccount -> AccountSnapshot
    market_clock             alpaca Clock -> MarketClock
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import msgpack
import numpy as np
import pandas as pd
from alpaca.trading.models import Clock, Order, TradeAccount
from alpaca.trading.models import Position as AlpacaPosition
from pydantic import TypeAdapter, ValidationError

from trading_runtime.domain.bars import Bar
from trading_runtime.domain.enums import (
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    TradeEventType,
)
from trading_runtime.domain.orders import Fill, OrderSnapshot, OrderUpdated
from trading_runtime.domain.portfolio import AccountSnapshot, Position
from trading_runtime.marketdata.calendar import NEW_YORK
from trading_runtime.marketdata.storage import BAR_SCHEMA

_DATETIME = TypeAdapter(dt.datetime)
_STREAM_BAR_FIELDS = ("S", "t", "o", "h", "l", "c", "v")


class UnrecognizedMessageError(ValueError):
    """A broker message the platform cannot represent (unknown status, missing field...)."""


class MalformedBarsResponseError(ValueError):
    """A ``/v2/stocks/bars`` body the platform cannot trust (no ``bars``, a bar without a
    field, a non-numeric price). ``day``/``symbol``/``field`` say where, as far as known."""

    def __init__(
        self, problem: str, *, day: str | None, symbol: str | None, field: str | None
    ) -> None:
        where = ", ".join(
            f"{name} {value}"
            for name, value in (("day", day), ("symbol", symbol), ("field", field))
            if value is not None
        )
        super().__init__(f"malformed bars response ({where}): {problem}")
        self.day, self.symbol, self.field = day, symbol, field


class MalformedBarError(ValueError):
    """A market-data bar that must not reach the decision core; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class MarketClock:
    """The broker's market clock (all times tz-aware UTC)."""

    timestamp: dt.datetime
    is_open: bool
    next_open: dt.datetime
    next_close: dt.datetime


# --- primitives ---------------------------------------------------------------------------------
def to_decimal(value: Any, name: str = "value") -> Decimal:
    """Decimal from Alpaca's string (or number); raises UnrecognizedMessageError."""
    if value is None or isinstance(value, bool):
        raise UnrecognizedMessageError(f"{name} is missing")
    try:
        number = Decimal(value) if isinstance(value, (str, int)) else Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        raise UnrecognizedMessageError(f"{name} is not a number: {value!r}") from None
    if not number.is_finite():
        raise UnrecognizedMessageError(f"{name} is not finite: {value!r}")
    return number


def optional_decimal(value: Any, name: str = "value") -> Decimal | None:
    return None if value is None or value == "" else to_decimal(value, name)


def to_utc(value: Any, name: str = "timestamp") -> dt.datetime:
    """A tz-aware UTC datetime from a datetime, an RFC 3339 string or a msgpack Timestamp."""
    if isinstance(value, msgpack.Timestamp):
        return value.to_datetime().astimezone(dt.UTC)
    if isinstance(value, dt.datetime):
        stamp = value
    elif isinstance(value, str):
        try:
            stamp = _DATETIME.validate_python(value)
        except ValidationError:
            raise UnrecognizedMessageError(f"{name} is not a timestamp: {value!r}") from None
    else:
        raise UnrecognizedMessageError(f"{name} is not a timestamp: {value!r}")
    if stamp.tzinfo is None:
        raise UnrecognizedMessageError(f"{name} has no time zone: {value!r}")
    return stamp.astimezone(dt.UTC)


def _enum(kind: Any, value: Any, name: str) -> Any:
    raw = getattr(value, "value", value)
    try:
        return kind(raw)
    except ValueError:
        raise UnrecognizedMessageError(f"unsupported {name}: {raw!r}") from None


# --- market data --------------------------------------------------------------------------------
def _price(raw: Mapping[str, Any], key: str) -> float:
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MalformedBarError(f"field {key!r} is not a number: {value!r}")
    return float(value)


def _optional_number(raw: Mapping[str, Any], key: str) -> float | None:
    value = raw.get(key)
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return None if math.isnan(number) or math.isinf(number) else number


def bar_from_stream(raw: Mapping[str, Any]) -> Bar:
    """A sound Bar from a market-data ``b`` message; raises MalformedBarError otherwise."""
    missing = [key for key in _STREAM_BAR_FIELDS if key not in raw or raw[key] is None]
    if missing:
        raise MalformedBarError(f"missing fields {missing}")
    symbol = raw["S"]
    if not isinstance(symbol, str) or not symbol:
        raise MalformedBarError(f"invalid symbol {symbol!r}")
    try:
        timestamp = to_utc(raw["t"], "t")
    except UnrecognizedMessageError as error:
        raise MalformedBarError(str(error)) from None
    bar = Bar(
        symbol=symbol,
        timestamp=timestamp,
        open=_price(raw, "o"),
        high=_price(raw, "h"),
        low=_price(raw, "l"),
        close=_price(raw, "c"),
        volume=_price(raw, "v"),
        trade_count=_optional_number(raw, "n"),
        vwap=_optional_number(raw, "vw"),
    )
    problems = bar.problems()
    if problems:
        raise MalformedBarError(", ".join(problems))
    return bar


_REST_COLUMNS = (
    ("o", "open", True),
    ("h", "high", True),
    ("l", "low", True),
    ("c", "close", True),
    ("v", "volume", True),
    ("n", "trade_count", False),
    ("vw", "vwap", False),
)
_NUMBER_TYPES = (int, float)


def bars_page(body: Any, days: str) -> tuple[pd.DataFrame, str | None]:
    """One ``/v2/stocks/bars`` response body -> (bars in BAR_SCHEMA's columns sorted by
    (timestamp, symbol), ``next_page_token`` or None).

    ``days`` names the requested range, for errors about the whole body. Raises
    :class:`MalformedBarsResponseError` naming the day, symbol and field at fault: a body
    that is not an object or has no ``bars``, a bar that is not an object or lacks a field,
    a non-numeric or non-finite value, an unreadable timestamp.
    """

    def malformed(
        problem: str, symbol: str | None, field: str | None, day: str = days
    ) -> Exception:
        return MalformedBarsResponseError(problem, day=day, symbol=symbol, field=field)

    if not isinstance(body, Mapping) or "bars" not in body:
        raise malformed("no 'bars' in the body", None, "bars")
    raw = body["bars"] or {}
    token = body.get("next_page_token") or None
    if not isinstance(raw, Mapping):
        raise malformed("'bars' is not an object", None, "bars")
    if token is not None and not isinstance(token, str):
        raise malformed(f"next_page_token is not a string: {token!r}", None, "next_page_token")
    parts = []
    for key, bars in raw.items():
        symbol = str(key)
        if not isinstance(bars, list):
            raise malformed("the symbol's bars are not a list", symbol, None)
        for bar in bars:
            if not isinstance(bar, Mapping):
                raise malformed(f"a bar is not an object: {bar!r}", symbol, None)
        stamps = [bar.get("t") for bar in bars]
        timestamps = pd.to_datetime(
            pd.Series(stamps, dtype=object), utc=True, format="ISO8601", errors="coerce"
        )
        if timestamps.isna().any():
            bad = stamps[int(np.flatnonzero(timestamps.isna().to_numpy())[0])]
            raise malformed(f"'t' is missing or not a timestamp: {bad!r}", symbol, "t")

        def day_of(i: int, stamps: pd.Series = timestamps) -> str:
            return stamps.iloc[i].tz_convert(NEW_YORK).date().isoformat()

        columns: dict[str, Any] = {"symbol": symbol, "timestamp": timestamps}
        for field, column, required in _REST_COLUMNS:
            values = [bar.get(field) for bar in bars]
            if not all(type(v) in _NUMBER_TYPES for v in values):
                for i, value in enumerate(values):
                    if value is None and not required:
                        continue
                    if value is None or isinstance(value, bool) or type(value) not in _NUMBER_TYPES:
                        problem = (
                            f"a bar without {field!r}"
                            if value is None
                            else f"{field!r} is not a number: {value!r}"
                        )
                        raise malformed(problem, symbol, field, day_of(i))
                values = [math.nan if v is None else v for v in values]
            array = np.asarray(values, dtype=float)
            if not np.isfinite(array).all() and required:
                i = int(np.flatnonzero(~np.isfinite(array))[0])
                raise malformed(
                    f"{field!r} is not finite: {values[i]!r}",
                    symbol,
                    field,
                    day_of(i),
                )
            columns[column] = array
        parts.append(pd.DataFrame(columns, columns=list(BAR_SCHEMA.names)))
    if not parts:
        frame = pd.DataFrame({name: pd.Series(dtype=float) for name in BAR_SCHEMA.names})
        frame["symbol"] = frame["symbol"].astype(str)
        frame["timestamp"] = pd.Series(dtype="datetime64[ns, UTC]")
        return frame, token
    frame = pd.concat(parts, ignore_index=True)
    frame["timestamp"] = frame["timestamp"].astype("datetime64[ns, UTC]")
    return frame.sort_values(["timestamp", "symbol"], kind="stable").reset_index(drop=True), token


# --- orders -------------------------------------------------------------------------------------
def order_snapshot(order: Order | Mapping[str, Any]) -> OrderSnapshot:
    """Domain snapshot of an Alpaca order (model or raw JSON dict)."""
    if not isinstance(order, Order):
        try:
            order = Order(**dict(order))
        except ValidationError as error:
            raise UnrecognizedMessageError(f"invalid order: {error}") from None
    if order.qty is None:
        raise UnrecognizedMessageError(
            f"order {order.id} has no qty (notional orders are not supported)"
        )
    order_type = order.type or order.order_type
    filled_qty = optional_decimal(order.filled_qty, "filled_qty") or Decimal(0)
    average = optional_decimal(order.filled_avg_price, "filled_avg_price")
    return OrderSnapshot(
        broker_order_id=str(order.id),
        client_order_id=order.client_order_id,
        symbol=order.symbol or "",
        side=_enum(OrderSide, order.side, "side"),
        order_type=_enum(OrderType, order_type, "order type"),
        time_in_force=_enum(TimeInForce, order.time_in_force, "time in force"),
        qty=to_decimal(order.qty, "qty"),
        limit_price=optional_decimal(order.limit_price, "limit_price"),
        status=_enum(OrderStatus, order.status, "order status"),
        filled_qty=filled_qty,
        filled_avg_price=average if filled_qty > 0 else None,
        submitted_at=to_utc(order.submitted_at, "submitted_at"),
        updated_at=to_utc(order.updated_at, "updated_at"),
    )


def order_updated(data: Mapping[str, Any]) -> OrderUpdated:
    """Domain event for the ``data`` of a raw ``trade_updates`` message.

    Fill events (``fill``, ``partial_fill``) carry a :class:`Fill` with this execution's id,
    quantity and price. Raises UnrecognizedMessageError for events the platform does not
    model or messages missing what they need.
    """
    event = _enum(TradeEventType, data.get("event"), "trade event")
    raw_order = data.get("order")
    if not isinstance(raw_order, Mapping):
        raise UnrecognizedMessageError("trade update without an order")
    snapshot = order_snapshot(raw_order)
    timestamp = to_utc(data.get("timestamp") or raw_order.get("updated_at"), "timestamp")
    fill = None
    if event.is_fill:
        execution_id = data.get("execution_id")
        if not execution_id:
            raise UnrecognizedMessageError(f"{event} update without an execution_id")
        fill = Fill(
            execution_id=str(execution_id),
            broker_order_id=snapshot.broker_order_id,
            client_order_id=snapshot.client_order_id,
            symbol=snapshot.symbol,
            side=snapshot.side,
            qty=to_decimal(data.get("qty"), "qty"),
            price=to_decimal(data.get("price"), "price"),
            timestamp=timestamp,
        )
    return OrderUpdated(
        event=event,
        order=snapshot,
        timestamp=timestamp,
        fill=fill,
        position_qty=optional_decimal(data.get("position_qty"), "position_qty"),
    )


def fill_activity(raw: Mapping[str, Any], client_order_ids: Mapping[str, str]) -> Fill:
    """The execution a ``FILL`` account activity describes, with its real execution id (the
    activity's ``id`` is ``<transaction time>::<execution id>``, the id the trade update
    carried). Activities name the broker's order id only; ``client_order_ids`` maps it to
    ours (an order missing from it keeps an empty client order id)."""
    if raw.get("activity_type") != "FILL":
        raise UnrecognizedMessageError(f"not a fill activity: {raw.get('activity_type')!r}")
    execution_id = raw.get("id")
    order_id = raw.get("order_id")
    if not execution_id or not order_id:
        raise UnrecognizedMessageError("fill activity without an id or an order_id")
    return Fill(
        execution_id=str(execution_id).rpartition("::")[2],
        broker_order_id=str(order_id),
        client_order_id=client_order_ids.get(str(order_id), ""),
        symbol=str(raw.get("symbol") or ""),
        side=_enum(OrderSide, raw.get("side"), "side"),
        qty=to_decimal(raw.get("qty"), "qty"),
        price=to_decimal(raw.get("price"), "price"),
        timestamp=to_utc(raw.get("transaction_time"), "transaction_time"),
    )


# --- account ------------------------------------------------------------------------------------
def position(raw: AlpacaPosition) -> Position:
    qty = to_decimal(raw.qty, "qty")
    side = getattr(raw.side, "value", raw.side)
    if side == "short" and qty > 0:
        qty = -qty
    return Position(
        symbol=raw.symbol,
        qty=qty,
        avg_entry_price=to_decimal(raw.avg_entry_price, "avg_entry_price"),
    )


def positions(raw: Iterable[AlpacaPosition]) -> dict[str, Position]:
    return {p.symbol: p for p in (position(item) for item in raw)}


def account_snapshot(account: TradeAccount, timestamp: dt.datetime) -> AccountSnapshot:
    """Cash, buying power and equity of the account, as of ``timestamp``."""
    return AccountSnapshot(
        cash=to_decimal(account.cash, "cash"),
        buying_power=to_decimal(account.buying_power, "buying_power"),
        equity=to_decimal(account.equity, "equity"),
        timestamp=timestamp,
        account_id=str(account.id),
    )


def market_clock(clock: Clock) -> MarketClock:
    return MarketClock(
        timestamp=to_utc(clock.timestamp),
        is_open=clock.is_open,
        next_open=to_utc(clock.next_open),
        next_close=to_utc(clock.next_close),
    )
