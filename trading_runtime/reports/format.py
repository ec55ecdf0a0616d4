"""Numbers as people read them, and as Dagster charts them: one place for units and rounding.

Text (tables, tearsheets, the command line):

    money(Decimal("-1234.5"))        '-$1,234.50'
    money(12.3, signed=True)         '+$12.30'
    price(Decimal("100.0523"))       '$100.0523'  (cents at least, sub-cent digits kept)
    percent(0.02586)                 '2.59%'      (a fraction in, percent out)
    percent(-0.0084, signed=True)    '-0.84%'
    bps(2.14)                        '2.1 bps'
    duration(dt.timedelta(0, 750))   '12m 30s'
    quantity(Decimal("10.500"))      '10.5'
    local_time(moment)               '2026-11-27 09:30:00'  (New York wall clock)

Numbers (metadata values, charted over materializations): :func:`cents` rounds money to
cents, :func:`percent_points` turns a fraction into percent rounded to 0.01, :func:`rounded`
rounds anything else. ``None`` means "not known" and renders as an en dash.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from trading_runtime.marketdata.calendar import NEW_YORK

Number = Decimal | float | int
MISSING = "–"
_NEW_YORK = ZoneInfo(NEW_YORK)


def _decimal(value: Number) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(repr(float(value)))


def cents(value: Number | None) -> float | None:
    """Money rounded half-up to cents, as a float for metadata."""
    if value is None:
        return None
    return float(_decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def percent_points(fraction: float | None, places: int = 2) -> float | None:
    """A fraction (0.0259) as percent points (2.59), rounded."""
    return None if fraction is None else round(fraction * 100.0, places)


def rounded(value: float | None, places: int = 2) -> float | None:
    return None if value is None else round(value, places)


def money(value: Number | None, *, signed: bool = False) -> str:
    """``$1,234.50``; negative amounts as ``-$1,234.50``; ``signed`` adds ``+`` to gains."""
    amount = cents(value)
    if amount is None:
        return MISSING
    sign = "-" if amount < 0 else ("+" if signed and amount > 0 else "")
    return f"{sign}${abs(amount):,.2f}"


def price(value: Number | None) -> str:
    """A price: two decimals at least, up to four (sub-cent fills are not rounded away)."""
    if value is None:
        return MISSING
    amount = _decimal(value).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    text = f"{abs(amount):,f}".rstrip("0")
    whole, _, decimals = text.partition(".")
    return f"{'-' if amount < 0 else ''}${whole}.{decimals.ljust(2, '0')}"


def percent(fraction: float | None, *, signed: bool = False, places: int = 2) -> str:
    """A fraction as percent: ``0.02586`` -> ``2.59%`` (``+2.59%`` when ``signed``)."""
    if fraction is None:
        return MISSING
    return f"{fraction * 100.0:{'+' if signed else ''}.{places}f}%"


def bps(value: float | None, places: int = 1) -> str:
    """Basis points: ``2.14`` -> ``2.1 bps``."""
    return MISSING if value is None else f"{value:.{places}f} bps"


def duration(value: dt.timedelta | None) -> str:
    """``45s``, ``12m 30s``, ``2h 05m``; days (rare: positions held overnight) as ``1d 03h``."""
    if value is None:
        return MISSING
    seconds = round(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours:02d}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m {seconds:02d}s"
    return f"{sign}{seconds}s"


def quantity(value: Decimal | None) -> str:
    """Shares without trailing zeros: ``10.500`` -> ``10.5``."""
    if value is None:
        return MISSING
    return f"{value.normalize():f}"


def local_time(moment: dt.datetime) -> str:
    """A UTC (or any aware) time as New York wall-clock text, to the second."""
    return moment.astimezone(_NEW_YORK).strftime("%Y-%m-%d %H:%M:%S")
