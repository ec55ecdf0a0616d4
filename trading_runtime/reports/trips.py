"""Round trips: a symbol's position from flat back to flat, built from fills. Pure.

A round trip opens with the fill that takes a symbol's position away from zero and closes
with the fill that brings it back to zero. Between the two:

* partial fills of one order are separate fills of the same trip;
* scaling in (more fills on the entry side) adds to the entry: ``entry_qty`` is everything
  bought (long) or sold short, ``entry_price`` its quantity-weighted average;
* partial exits add to the exit: ``exit_qty`` and ``exit_price`` likewise;
* a fill that crosses zero closes the trip with the part that flattens it and opens a trip
  on the other side with the rest (its whole fee stays with the trip it closes, so fees add
  up exactly);
* a position still held at the end is an **open** trip: no exit time, its remaining
  quantity marked at the last known price;
* a position held when the session started is a **carried-in** trip entered at the
  opening snapshot's average entry price and the session's start time.

PnL of a trip is exact cash accounting, independent of any lot method::

    pnl = side * (exit_notional + open_qty * mark - entry_notional) - fees

For a closed trip this is the cash it returned (sells - buys - fees).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from trading_runtime.domain import Fill, OrderSide, Position

_ZERO = Decimal(0)


class TripSide(StrEnum):
    LONG = "long"
    SHORT = "short"

    @property
    def sign(self) -> int:
        return 1 if self is TripSide.LONG else -1


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """One position from flat to flat (or to the end, when ``exit_time`` is None).

    Quantities are positive share counts; notionals are quantity x price sums in dollars.
    ``mark_price`` values the open remainder (None for a closed trip) as of ``marked_at``.
    """

    symbol: str
    side: TripSide
    entry_time: dt.datetime
    exit_time: dt.datetime | None
    entry_qty: Decimal
    entry_notional: Decimal
    exit_qty: Decimal
    exit_notional: Decimal
    fees: Decimal
    fills: int
    carried_in: bool = False
    mark_price: Decimal | None = None
    marked_at: dt.datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.exit_time is None

    @property
    def open_qty(self) -> Decimal:
        return self.entry_qty - self.exit_qty

    @property
    def entry_price(self) -> Decimal:
        return self.entry_notional / self.entry_qty

    @property
    def exit_price(self) -> Decimal | None:
        return self.exit_notional / self.exit_qty if self.exit_qty else None

    @property
    def pnl(self) -> Decimal | None:
        """Dollars after fees; None for an open trip without a mark."""
        open_value = _ZERO
        if self.open_qty:
            if self.mark_price is None:
                return None
            open_value = self.open_qty * self.mark_price
        gross = self.exit_notional + open_value - self.entry_notional
        return self.side.sign * gross - self.fees

    @property
    def return_fraction(self) -> float | None:
        """PnL over the entry notional (0.01 = 1 %)."""
        pnl = self.pnl
        return None if pnl is None else float(pnl / self.entry_notional)

    @property
    def holding_time(self) -> dt.timedelta | None:
        """Entry to exit; for an open trip, entry to ``marked_at`` (None without one)."""
        end = self.exit_time or self.marked_at
        return None if end is None else end - self.entry_time


@dataclass
class _Building:
    symbol: str
    side: TripSide
    entry_time: dt.datetime
    carried_in: bool = False
    entry_qty: Decimal = _ZERO
    entry_notional: Decimal = _ZERO
    exit_qty: Decimal = _ZERO
    exit_notional: Decimal = _ZERO
    fees: Decimal = _ZERO
    fills: int = 0

    @property
    def open_qty(self) -> Decimal:
        return self.entry_qty - self.exit_qty

    def enter(self, qty: Decimal, price: Decimal, fee: Decimal) -> None:
        self.entry_qty += qty
        self.entry_notional += qty * price
        self.fees += fee
        self.fills += 1

    def leave(self, qty: Decimal, price: Decimal, fee: Decimal) -> None:
        self.exit_qty += qty
        self.exit_notional += qty * price
        self.fees += fee
        self.fills += 1

    def freeze(
        self,
        exit_time: dt.datetime | None,
        mark_price: Decimal | None = None,
        marked_at: dt.datetime | None = None,
    ) -> RoundTrip:
        return RoundTrip(
            symbol=self.symbol,
            side=self.side,
            entry_time=self.entry_time,
            exit_time=exit_time,
            entry_qty=self.entry_qty,
            entry_notional=self.entry_notional,
            exit_qty=self.exit_qty,
            exit_notional=self.exit_notional,
            fees=self.fees,
            fills=self.fills,
            carried_in=self.carried_in,
            mark_price=mark_price,
            marked_at=marked_at,
        )


def round_trips(
    fills: Iterable[Fill],
    *,
    opening: Mapping[str, Position] | None = None,
    opened_at: dt.datetime | None = None,
    marks: Mapping[str, Decimal] | None = None,
    marked_at: dt.datetime | None = None,
) -> list[RoundTrip]:
    """Round trips of ``fills`` (any order; sorted by time here), ordered by entry time.

    ``opening`` are positions held at ``opened_at`` (required with them); ``marks`` value
    what is still open at ``marked_at`` (a symbol without a mark is valued at its last fill
    price, a carried-in one without fills at its entry price).

    Raises ``ValueError`` for a fill with a non-positive quantity or price, or opening
    positions without ``opened_at``.
    """
    opening = opening or {}
    marks = marks or {}
    if opening and opened_at is None:
        raise ValueError("opening positions need the time they were held at (opened_at)")
    building = {
        symbol: _Building(
            symbol,
            TripSide.LONG if position.qty > 0 else TripSide.SHORT,
            opened_at,
            carried_in=True,
            entry_qty=abs(position.qty),
            entry_notional=abs(position.qty) * position.avg_entry_price,
        )
        for symbol, position in opening.items()
        if position.qty != 0 and opened_at is not None
    }
    done: list[RoundTrip] = []
    last_price: dict[str, Decimal] = {s: p.avg_entry_price for s, p in opening.items()}
    for fill in sorted(fills, key=lambda f: f.timestamp):
        if fill.qty <= 0 or fill.price <= 0:
            raise ValueError(f"fill {fill.execution_id} has qty {fill.qty} and price {fill.price}")
        last_price[fill.symbol] = fill.price
        side = TripSide.LONG if fill.side is OrderSide.BUY else TripSide.SHORT
        trip = building.get(fill.symbol)
        if trip is None:
            trip = building[fill.symbol] = _Building(fill.symbol, side, fill.timestamp)
        if trip.side is side:
            trip.enter(fill.qty, fill.price, fill.fee)
            continue
        closing = min(fill.qty, trip.open_qty)
        trip.leave(closing, fill.price, fill.fee)
        if trip.open_qty:
            continue
        done.append(trip.freeze(fill.timestamp))
        del building[fill.symbol]
        rest = fill.qty - closing
        if rest:
            flipped = building[fill.symbol] = _Building(fill.symbol, side, fill.timestamp)
            flipped.enter(rest, fill.price, _ZERO)
    for symbol, trip in building.items():
        mark = marks.get(symbol, last_price[symbol])
        done.append(trip.freeze(None, mark, marked_at))
    return sorted(done, key=lambda t: (t.entry_time, t.symbol))
