"""Positions and account state as the decision core sees them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from trading_runtime.domain.enums import OrderSide


@dataclass(frozen=True, slots=True)
class Position:
    symbol: str
    qty: Decimal
    avg_entry_price: Decimal

    @property
    def cost_basis(self) -> Decimal:
        return self.qty * self.avg_entry_price


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """Cash, buying power and equity (= portfolio value) at ``timestamp``.

    ``account_id`` is the broker's id of the account, when the snapshot came from the broker
    (it identifies a trading session together with the day and the mode).
    """

    cash: Decimal
    buying_power: Decimal
    equity: Decimal
    timestamp: dt.datetime
    account_id: str | None = None


@dataclass(frozen=True, slots=True)
class PortfolioState:
    """Everything strategy and risk need to know about the book, as of one minute.

    ``open_order_sides`` lists, per symbol, the sides of orders still working at the broker
    (wash-trade prevention); ``buys_today`` counts buy orders submitted this session;
    ``reserved_buying_power`` is what working buy orders may still consume;
    ``day_trades`` has one date per day trade on the days before this one and today;
    ``fills_today`` lists each symbol's executions of the day as (side, qty) in time order,
    and ``overnight_qty`` the quantity held at the start of the day (both for counting the
    day trade a new order would make, see :func:`trading_runtime.risk.count_day_trades`).
    """

    account: AccountSnapshot
    positions: dict[str, Position] = field(default_factory=dict)
    open_order_sides: dict[str, frozenset[OrderSide]] = field(default_factory=dict)
    buys_today: dict[str, int] = field(default_factory=dict)
    reserved_buying_power: Decimal = Decimal(0)
    day_start_equity: Decimal | None = None
    day_trades: tuple[dt.date, ...] = ()
    fills_today: dict[str, tuple[tuple[OrderSide, Decimal], ...]] = field(default_factory=dict)
    overnight_qty: dict[str, Decimal] = field(default_factory=dict)

    def position_qty(self, symbol: str) -> Decimal:
        position = self.positions.get(symbol)
        return position.qty if position else Decimal(0)
