"""The cash account at the venue: cash, positions, marks, and what open orders hold.

Rules, as Alpaca applies them to a cash account (multiplier 1, no shorting):
``buying_power = cash - reserved``, where each open buy reserves its remaining quantity at its
limit price (market buys: at the reference price moved by the configured costs; notional
buys: their dollar amount). Positions are marked to the last published close (before any,
to the average entry).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from trading_runtime.domain.enums import OrderSide
from trading_runtime.venue.errors import unprocessable
from trading_runtime.venue.fills import BASIS_POINT, FillModelConfig
from trading_runtime.venue.orders import VenueOrder

_AVERAGE_QUANTUM = Decimal("0.000001")
_ZERO = Decimal(0)


@dataclass(slots=True)
class VenuePosition:
    symbol: str
    qty: Decimal
    avg_entry_price: Decimal

    @property
    def cost_basis(self) -> Decimal:
        return self.qty * self.avg_entry_price


class Account:
    """Cash and long positions, in exact Decimals."""

    def __init__(
        self, starting_cash: Decimal, quote: Callable[[str], Decimal | None] | None = None
    ) -> None:
        self.starting_cash = starting_cash
        self.quote = quote
        self.cash = starting_cash
        self.fees_paid = _ZERO
        self.positions: dict[str, VenuePosition] = {}
        self.marks: dict[str, Decimal] = {}
        self.reference_prices: dict[str, Decimal] = {}

    def reference_price(self, symbol: str) -> Decimal | None:
        """The last close seen (``quote`` when the driver provides one), else the initial
        reference price."""
        if self.quote is not None:
            quoted = self.quote(symbol)
            if quoted is not None:
                return quoted
        return self.marks.get(symbol, self.reference_prices.get(symbol))

    def reserve_price(
        self, symbol: str, side: OrderSide, limit_price: Decimal | None, costs: FillModelConfig
    ) -> Decimal:
        """Per-share price an order reserves: its limit, else (market buys) the reference price
        moved by the configured slippage and half-spread. Sells reserve no cash. Raises
        ``OrderRefusedError`` for a market buy without a reference price."""
        if limit_price is not None:
            return limit_price
        if side is OrderSide.SELL:
            return _ZERO
        reference = self.reference_price(symbol)
        if reference is None:
            raise unprocessable(f"no market price for {symbol}; cannot accept a market order")
        bps = costs.slippage_bps + (costs.half_spread_bps or 0)
        return reference * (1 + BASIS_POINT * bps)

    def sorted_positions(self) -> list[VenuePosition]:
        return sorted(self.positions.values(), key=lambda position: position.symbol)

    def mark(self, closes: Mapping[str, Decimal]) -> None:
        self.marks.update(closes)

    def position_qty(self, symbol: str) -> Decimal:
        position = self.positions.get(symbol)
        return position.qty if position is not None else _ZERO

    def position_value(self, position: VenuePosition) -> Decimal:
        return position.qty * self.marks.get(position.symbol, position.avg_entry_price)

    def long_market_value(self) -> Decimal:
        return sum((self.position_value(p) for p in self.positions.values()), _ZERO)

    def equity(self) -> Decimal:
        return self.cash + self.long_market_value()

    @staticmethod
    def reserved(open_orders: Iterable[VenueOrder]) -> Decimal:
        return sum((order.reserved for order in open_orders), _ZERO)

    def apply_execution(
        self, symbol: str, side: OrderSide, qty: Decimal, price: Decimal, fee: Decimal
    ) -> Decimal:
        """Move cash and the position; returns the position's quantity afterwards.

        Raises ``AssertionError`` for a sell beyond the position: submission checks prevent it.
        """
        position = self.positions.get(symbol)
        self.fees_paid += fee
        if side is OrderSide.BUY:
            self.cash -= qty * price + fee
            if position is None:
                position = VenuePosition(symbol, qty, price)
                self.positions[symbol] = position
            else:
                total = position.qty + qty
                average = (position.qty * position.avg_entry_price + qty * price) / total
                position.avg_entry_price = average.quantize(_AVERAGE_QUANTUM, ROUND_HALF_EVEN)
                position.qty = total
            return position.qty
        if position is None or position.qty < qty:
            raise AssertionError(f"sell of {qty} {symbol} exceeds the position: checked on submit")
        self.cash += qty * price - fee
        position.qty -= qty
        if position.qty == 0:
            del self.positions[symbol]
            return _ZERO
        return position.qty
