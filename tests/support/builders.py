"""Small builders for domain objects and synthetic data used across the unit tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd

from trading_runtime.domain import AccountSnapshot, Bar, PortfolioState, Position, Prediction
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.synthetic import SyntheticMarket

# A full session and an early close (the day after Thanksgiving 2026).
FULL_DAY = dt.date(2026, 11, 25)
EARLY_CLOSE_DAY = dt.date(2026, 11, 27)


def market(seed: int = 7) -> SyntheticMarket:
    return SyntheticMarket(seed)


def day_bars(
    day: dt.date = FULL_DAY, symbols: tuple[str, ...] = ("AAPL", "MSFT", "NVDA"), seed: int = 7
) -> pd.DataFrame:
    return market(seed).day_bars(day, symbols)


def bars_from_frame(frame: pd.DataFrame) -> list[Bar]:
    return [
        Bar(
            r.symbol,
            r.timestamp.to_pydatetime(),
            r.open,
            r.high,
            r.low,
            r.close,
            r.volume,
            r.trade_count,
            r.vwap,
        )
        for r in frame.itertuples(index=False)
    ]


def minute(day: dt.date = FULL_DAY, index: int = 60) -> dt.datetime:
    return calendar.session(day).open + dt.timedelta(minutes=index)


def prediction(
    symbol: str = "AAPL",
    p_up: float = 0.8,
    p_down: float = 0.1,
    price: float = 100.0,
    at: dt.datetime | None = None,
) -> Prediction:
    return Prediction(
        symbol=symbol,
        timestamp=at or minute(),
        p_down=p_down,
        p_flat=max(0.0, 1.0 - p_up - p_down),
        p_up=p_up,
        model_version_id=1,
        price=price,
    )


def portfolio(
    cash: str = "100000",
    positions: dict[str, tuple[str, str]] | None = None,
    buys_today: dict[str, int] | None = None,
    open_order_sides: dict | None = None,
    equity: str | None = None,
    buying_power: str | None = None,
    day_start_equity: str | None = None,
    reserved: str = "0",
) -> PortfolioState:
    held = {
        symbol: Position(symbol, Decimal(qty), Decimal(price))
        for symbol, (qty, price) in (positions or {}).items()
    }
    market_value = sum((p.qty * p.avg_entry_price for p in held.values()), Decimal(0))
    total = Decimal(equity) if equity is not None else Decimal(cash) + market_value
    return PortfolioState(
        account=AccountSnapshot(
            cash=Decimal(cash),
            buying_power=Decimal(buying_power) if buying_power is not None else Decimal(cash),
            equity=total,
            timestamp=minute(),
        ),
        positions=held,
        open_order_sides=open_order_sides or {},
        buys_today=buys_today or {},
        reserved_buying_power=Decimal(reserved),
        day_start_equity=Decimal(day_start_equity) if day_start_equity is not None else total,
    )
