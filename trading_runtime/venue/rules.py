"""Submission checks of the venue, each raising ``OrderRefusedError`` with Alpaca's answer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from trading_runtime.domain.enums import OrderSide, OrderType
from trading_runtime.venue.account import Account
from trading_runtime.venue.errors import (
    CODE_BAD_REQUEST,
    CODE_FORBIDDEN,
    OrderRefusedError,
    plain_decimal,
    unprocessable,
)
from trading_runtime.venue.orders import VenueOrder

_PENNY = Decimal("0.01")
_SUB_DOLLAR_TICK = Decimal("0.0001")


def check_unique(client_order_id: str, known: Mapping[str, VenueOrder]) -> None:
    if client_order_id in known:
        raise unprocessable("client_order_id must be unique", CODE_BAD_REQUEST)


def check_price_increment(price: Decimal) -> None:
    """Whole cents from $1 up, 1/100 of a cent below (no sub-penny limits)."""
    quantum = _PENNY if price >= 1 else _SUB_DOLLAR_TICK
    if price != price.quantize(quantum):
        raise unprocessable(
            f"invalid limit_price {plain_decimal(price)}. sub-penny increment does not fulfill "
            "minimum pricing criteria"
        )


def check_wash_trade(
    symbol: str,
    side: OrderSide,
    order_type: OrderType,
    limit_price: Decimal | None,
    open_orders: Iterable[VenueOrder],
) -> None:
    """No order that could execute against an open opposite-side order in the same symbol."""
    for other in open_orders:
        if other.symbol != symbol or other.side is side:
            continue
        if order_type is OrderType.MARKET or other.order_type is OrderType.MARKET:
            crosses = True
        else:
            assert limit_price is not None and other.limit_price is not None
            crosses = (
                limit_price >= other.limit_price
                if side is OrderSide.BUY
                else limit_price <= other.limit_price
            )
        if crosses:
            raise OrderRefusedError(
                403,
                CODE_FORBIDDEN,
                "potential wash trade detected. use complex orders",
                {"reject_reason": f"opposite side order {other.id} exists"},
            )


def check_buying_power(cost: Decimal, buying_power: Decimal) -> None:
    if cost > buying_power:
        raise OrderRefusedError(
            403,
            CODE_FORBIDDEN,
            "insufficient buying power",
            {"buying_power": plain_decimal(buying_power), "cost_basis": plain_decimal(cost)},
        )


def check_available_qty(symbol: str, wanted: Decimal, existing: Decimal, held: Decimal) -> None:
    available = existing - held
    if wanted > available:
        raise OrderRefusedError(
            403,
            CODE_FORBIDDEN,
            "insufficient qty available for order "
            f"(requested: {plain_decimal(wanted)}, available: {plain_decimal(available)})",
            {
                "symbol": symbol,
                "existing_qty": plain_decimal(existing),
                "held_for_orders": plain_decimal(held),
                "available": plain_decimal(available),
            },
        )


def check_affordable(
    account: Account,
    open_orders: Iterable[VenueOrder],
    side: OrderSide,
    symbol: str,
    amount: Decimal,
    reserve_price: Decimal,
    *,
    notional: bool = False,
) -> None:
    """Buying power for a buy, shares held and not yet promised to sells for a sell.

    ``amount`` is shares, or dollars when ``notional`` (sells convert at the reference price).
    """
    others = list(open_orders)
    if side is OrderSide.BUY:
        cost = amount if notional else amount * reserve_price
        check_buying_power(cost, max(account.cash - account.reserved(others), Decimal(0)))
        return
    held = sum(
        (o.remaining_qty for o in others if o.symbol == symbol and o.side is OrderSide.SELL),
        Decimal(0),
    )
    wanted = amount
    if notional:
        reference = account.reference_price(symbol)
        if reference is None:
            raise unprocessable(f"no market price for {symbol}; cannot accept a notional order")
        wanted = amount / reference
    check_available_qty(symbol, wanted, account.position_qty(symbol), held)
