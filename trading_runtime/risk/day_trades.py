"""Day trades counted as FINRA counts them, and the five-trading-day window of the legacy guard.

The rule (FINRA Rule 4210(f)(8)(B)(i)): *day trading* is "the purchasing and selling or the
selling and purchasing of the same security on the same day in a margin account", except

  (a) a long position held overnight and sold the next day prior to any new purchase of the
      same security, and
  (b) a short position held overnight and purchased the next day prior to any new sale of
      the same security.

How to count several purchases and sales of one security in one day: Interpretation /02
of Rule 4210(f)(8)(B)(ii) (Regulatory Notice 21-13, March 2021) lets a firm count the
number of times the customer *changes trading direction*: any number of purchases in a row
count as one transaction, and the sales that follow them, however many, are one day trade.
That is the method here, because it works on executions alone (partial fills of one order
are consecutive executions on one side, so they never count twice) and it is the one the
notice illustrates (and Alpaca quotes):

    A  buy 250, buy 250, sell 500                               -> 1
    B  buy 100, sell 100, buy 100, sell 100                     -> 2
    C  buy 500, sell 100, sell 100, sell 300                    -> 1
    D  buy 250, buy 300, buy 100, sell 150, sell 175            -> 1
    E  buy 199, buy 142, sell 1, buy 45, sell 100, sell 200     -> 2

Overnight shares: a sale is matched against the same day's purchases first (never FIFO
against the overnight position), so with 50 held overnight "buy 25, sell 25" is a day
trade, while "sell 50, buy 50" is not (the sale liquidates the overnight position, the
purchase opens a new one).

A pattern day trader executes four or more day trades within five business days (Rule
4210(f)(8)(B)(ii)); business days are the days the market is open, so the window counts
exchange trading days (holidays excluded) through :mod:`trading_runtime.marketdata.calendar`.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from decimal import Decimal

from trading_runtime.domain.enums import OrderSide
from trading_runtime.marketdata import calendar

DAY_TRADE_WINDOW_DAYS = 5
"""Trading days in the pattern-day-trader window, the current one included."""

_ZERO = Decimal(0)


def count_day_trades(
    fills: Iterable[tuple[OrderSide | str, Decimal]], prior_position: Decimal = _ZERO
) -> int:
    """Day trades in one symbol's executions of one trading day (FINRA, see the module doc).

    ``fills`` are ``(side, qty)`` in execution order: ``side`` an :class:`OrderSide` or
    ``"buy"``/``"sell"``, ``qty`` a positive ``Decimal`` (shares). ``prior_position`` is the
    quantity held overnight (negative for a short). A run of executions on one side counts
    as one day trade when it closes, in part or in full, a position opened the same day.

    Raises ``ValueError`` for an unknown side or a quantity that is not a positive Decimal.
    """
    overnight = prior_position  # what is left of the overnight position (never grows)
    today = _ZERO  # the signed position opened today and still held
    count = 0
    previous_side: OrderSide | None = None
    counted_this_run = False
    for side_value, qty in fills:
        side = _side(side_value)
        remaining = _quantity(qty)
        if side is not previous_side:
            previous_side, counted_this_run = side, False
        direction = 1 if side is OrderSide.BUY else -1
        if today * direction < 0:  # closes (part of) what was opened today
            closed = min(remaining, abs(today))
            today += direction * closed
            remaining -= closed
            if not counted_this_run:
                count += 1
                counted_this_run = True
        if remaining and overnight * direction < 0:  # liquidates the overnight position
            liquidated = min(remaining, abs(overnight))
            overnight += direction * liquidated
            remaining -= liquidated
        today += direction * remaining  # opens (or adds to) a position of the day
    return count


@functools.lru_cache(maxsize=64)
def day_trade_window(today: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day of the five trading days ending with ``today`` (a trading day)."""
    earlier = calendar.previous_sessions(today, DAY_TRADE_WINDOW_DAYS - 1)
    return earlier[0], today


def day_trades_in_window(day_trades: Sequence[dt.date], today: dt.date) -> int:
    """Day trades (one date each) in the five trading days ending ``today``."""
    start, end = day_trade_window(today)
    return sum(1 for day in day_trades if start <= day <= end)


def _side(value: OrderSide | str) -> OrderSide:
    try:
        return OrderSide(value)
    except ValueError:
        raise ValueError(f"a fill's side must be 'buy' or 'sell', got {value!r}") from None


def _quantity(value: Decimal) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise ValueError(f"a fill's quantity must be a positive Decimal, got {value!r}")
    return value
