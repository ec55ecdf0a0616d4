"""Intraday equity and drawdown of a session, from what the ledger holds. Pure.

The ledger has two views of equity:

* **account snapshots**: the broker's own equity, at the start, at each reconciliation
  (every 30 minutes when no order is in flight) and at the end: exact but sparse;
* **fills and decision prices**: every execution, and each symbol's close for every minute
  a decision was taken on.

:func:`marked_equity` combines them into one point per minute: the broker's equity at the
start plus what happened since, valued at the latest known prices::

    equity(t) = E0 + cash flow of fills up to t
                   + sum over symbols of (qty(t) * price(t) - qty(0) * price(0))

where ``price`` is a symbol's latest decision price or fill price (a decision price is the
close of its bar, known at the bar's end) and ``price(0)`` the first one known for a
position held at the start. At the snapshot times it agrees with the broker's equity up to
the broker's own marks (last trade vs bar close). Without any prices (a session that ended
before its first decision) the snapshots are the curve.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import groupby

from trading_runtime.domain import Fill, OrderSide, Position
from trading_runtime.store.read_models import PriceMark

BAR = dt.timedelta(minutes=1)
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class EquityPoint:
    timestamp: dt.datetime
    equity: Decimal


@dataclass(frozen=True, slots=True)
class Drawdown:
    """The deepest fall from a running peak: ``fraction`` <= 0 (-0.0084 = -0.84 %)."""

    fraction: float
    amount: Decimal
    peak_at: dt.datetime | None
    trough_at: dt.datetime | None


def marked_equity(
    starting_equity: Decimal,
    started_at: dt.datetime,
    fills: Iterable[Fill],
    marks: Iterable[PriceMark],
    opening: Mapping[str, Position] | None = None,
) -> list[EquityPoint]:
    """One point at ``started_at``, one at the end of every minute with prices, and one at
    the last fill when fills came after the last decision price.

    ``marks`` must be in bar order; fills may come in any order.
    """
    opening_qty = {s: p.qty for s, p in (opening or {}).items() if p.qty}
    held = dict(opening_qty)
    base: dict[str, Decimal] = {}  # qty(0) * price(0) of a held-at-start symbol, once priced
    price: dict[str, Decimal] = {}

    def priced(symbol: str, value: Decimal) -> None:
        price[symbol] = value
        if symbol in opening_qty and symbol not in base:
            base[symbol] = opening_qty[symbol] * value

    pending = sorted(fills, key=lambda f: f.timestamp)
    next_fill = 0
    cash_flow = _ZERO
    points = [EquityPoint(started_at, starting_equity)]

    def fill_until(moment: dt.datetime | None) -> None:
        nonlocal next_fill, cash_flow
        while next_fill < len(pending) and (
            moment is None or pending[next_fill].timestamp <= moment
        ):
            fill = pending[next_fill]
            next_fill += 1
            signed = fill.qty if fill.side is OrderSide.BUY else -fill.qty
            cash_flow -= signed * fill.price + fill.fee
            held[fill.symbol] = held.get(fill.symbol, _ZERO) + signed
            priced(fill.symbol, fill.price)

    def point(moment: dt.datetime) -> EquityPoint:
        value = sum((qty * price[s] for s, qty in held.items() if s in price), _ZERO)
        opening_value = sum(base.values(), _ZERO)
        return EquityPoint(moment, starting_equity + cash_flow + value - opening_value)

    for bar_timestamp, minute in groupby(marks, key=lambda m: m.bar_timestamp):
        known_at = bar_timestamp + BAR
        fill_until(known_at)
        for mark in minute:
            priced(mark.symbol, mark.price)
        points.append(point(known_at))
    if next_fill < len(pending):  # fills after the last decision (a final flatten)
        fill_until(None)
        points.append(point(max(points[-1].timestamp, pending[-1].timestamp)))
    return points


def drawdown_series(curve: Sequence[EquityPoint]) -> list[float]:
    """Fall from the running peak at each point, as a fraction (0 at a new high)."""
    peak: Decimal | None = None
    series = []
    for point in curve:
        peak = point.equity if peak is None else max(peak, point.equity)
        series.append(float(point.equity / peak - 1) if peak > 0 else 0.0)
    return series


def max_drawdown(curve: Sequence[EquityPoint]) -> Drawdown:
    """The deepest drawdown of ``curve`` (zero, without times, for a curve that never fell)."""
    worst = Drawdown(0.0, _ZERO, None, None)
    peak: EquityPoint | None = None
    for point in curve:
        if peak is None or point.equity > peak.equity:
            peak = point
            continue
        if peak.equity <= 0:
            continue
        fraction = float(point.equity / peak.equity - 1)
        if fraction < worst.fraction:
            worst = Drawdown(fraction, point.equity - peak.equity, peak.timestamp, point.timestamp)
    return worst
