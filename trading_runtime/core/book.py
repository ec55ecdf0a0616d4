"""The in-memory book: cash, positions, working orders and today's counters, kept from
order events. The engine feeds it broker events; the backtester feeds it simulated ones.

Invariants: a fill (by ``execution_id``) is applied once; cash moves by
``-signed_qty * price - fee``; a position's average entry price changes only on buys;
buying power tracks the last broker figure plus the cash moved since. Day trades are
counted from the day's fills and the overnight positions by
:func:`~trading_runtime.risk.day_trades.count_day_trades`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from trading_runtime.domain.enums import OrderSide
from trading_runtime.domain.orders import Fill, OrderIntent, OrderSnapshot, OrderUpdated
from trading_runtime.domain.portfolio import AccountSnapshot, PortfolioState, Position
from trading_runtime.risk.day_trades import count_day_trades

_ZERO = Decimal(0)
# day trades (one date each) and each symbol's fills of the day, as ``PortfolioState`` has them
_FillsView = tuple[tuple[dt.date, ...], dict[str, tuple[tuple[OrderSide, Decimal], ...]]]


@dataclass(slots=True)
class WorkingOrder:
    client_order_id: str
    symbol: str
    side: OrderSide
    remaining_qty: Decimal
    limit_price: Decimal | None
    model_version_id: int | None


class Book:
    def __init__(
        self,
        cash: Decimal,
        positions: dict[str, Position] | None = None,
        buying_power: Decimal | None = None,
        day_start_equity: Decimal | None = None,
    ) -> None:
        self.cash = cash
        self.positions: dict[str, Position] = dict(positions or {})
        self._synced_cash = cash
        self._synced_buying_power = cash if buying_power is None else buying_power
        self.working: dict[str, WorkingOrder] = {}
        self.buys_today: dict[str, int] = {}
        self.last_prices: dict[str, Decimal] = {}
        # Day trades of earlier days (one date each); today's are counted from its fills.
        self.earlier_day_trades: list[dt.date] = []
        self.fills_today: dict[str, list[tuple[OrderSide, Decimal]]] = {}
        self.overnight_qty = {symbol: p.qty for symbol, p in self.positions.items()}
        # today's day trades per symbol, counted from its fills once per change of them
        self._day_trades_by_symbol: dict[str, int] = {}
        # day trades and fills as ``state`` hands them out, kept until the next fill or day
        self._fills_view: _FillsView | None = None
        self.trading_day: dt.date | None = None
        self.fees_paid = _ZERO
        self.realized_pnl = _ZERO
        self._seen_executions: set[str] = set()
        self.day_start_equity = day_start_equity if day_start_equity is not None else self.equity

    # --- prices and valuation ---------------------------------------------------------------
    def mark(self, symbol: str, price: Decimal) -> None:
        self.last_prices[symbol] = price

    @property
    def market_value(self) -> Decimal:
        total = _ZERO
        for symbol, position in self.positions.items():
            total += position.qty * self.last_prices.get(symbol, position.avg_entry_price)
        return total

    @property
    def equity(self) -> Decimal:
        return self.cash + self.market_value

    @property
    def buying_power(self) -> Decimal:
        return self._synced_buying_power + (self.cash - self._synced_cash)

    @property
    def day_trades(self) -> list[dt.date]:
        """One date per day trade: earlier days', then today's (when the day is known)."""
        today = self.trading_day
        if today is None:
            return list(self.earlier_day_trades)
        counted = self._day_trades_by_symbol
        today_count = 0
        for symbol, fills in self.fills_today.items():
            count = counted.get(symbol)
            if count is None:
                count = count_day_trades(fills, self.overnight_qty.get(symbol, _ZERO))
                counted[symbol] = count
            today_count += count
        return [*self.earlier_day_trades, *[today] * today_count]

    @property
    def reserved_buying_power(self) -> Decimal:
        return sum(
            (
                o.remaining_qty * (o.limit_price or _ZERO)
                for o in self.working.values()
                if o.side is OrderSide.BUY
            ),
            _ZERO,
        )

    def state(self, timestamp: dt.datetime) -> PortfolioState:
        if self._fills_view is None:
            self._fills_view = (
                tuple(self.day_trades),
                {symbol: tuple(fills) for symbol, fills in self.fills_today.items()},
            )
        day_trades, fills_today = self._fills_view
        sides: dict[str, set[OrderSide]] = {}
        for order in self.working.values():
            sides.setdefault(order.symbol, set()).add(order.side)
        return PortfolioState(
            account=AccountSnapshot(
                cash=self.cash,
                buying_power=self.buying_power,
                equity=self.equity,
                timestamp=timestamp,
            ),
            positions=dict(self.positions),
            open_order_sides={symbol: frozenset(s) for symbol, s in sides.items()},
            buys_today=dict(self.buys_today),
            reserved_buying_power=self.reserved_buying_power,
            day_start_equity=self.day_start_equity,
            day_trades=day_trades,
            fills_today=dict(fills_today),
            overnight_qty=dict(self.overnight_qty),
        )

    # --- order lifecycle ------------------------------------------------------------------
    def on_submitted(self, intent: OrderIntent, model_version_id: int | None = None) -> None:
        self.working[intent.client_order_id] = WorkingOrder(
            intent.client_order_id,
            intent.symbol,
            intent.side,
            intent.qty,
            intent.limit_price,
            model_version_id,
        )
        if intent.side is OrderSide.BUY:
            self.buys_today[intent.symbol] = self.buys_today.get(intent.symbol, 0) + 1

    def adopt_open_order(self, order: OrderSnapshot) -> None:
        """Track an order that was already working at the broker (e.g. before a restart)."""
        self.working[order.client_order_id] = WorkingOrder(
            order.client_order_id,
            order.symbol,
            order.side,
            order.remaining_qty,
            order.limit_price,
            None,
        )

    def on_rejected(self, intent: OrderIntent) -> None:
        """A submission the broker refused: nothing is working, it does not count as a buy."""
        if (
            self.working.pop(intent.client_order_id, None) is not None
            and intent.side is OrderSide.BUY
        ):
            self.buys_today[intent.symbol] = max(self.buys_today.get(intent.symbol, 1) - 1, 0)

    def on_update(self, update: OrderUpdated, trading_day: dt.date | None = None) -> bool:
        """Apply a broker event; returns False for a fill already applied."""
        if update.fill is not None and not self.apply_fill(update.fill, trading_day):
            return False
        order = self.working.get(update.order.client_order_id)
        if order is not None:
            order.remaining_qty = update.order.remaining_qty
            if update.order.status.is_terminal or order.remaining_qty <= 0:
                del self.working[update.order.client_order_id]
        return True

    def has_execution(self, execution_id: str) -> bool:
        """True once the fill ``execution_id`` has been applied (or resumed as applied)."""
        return execution_id in self._seen_executions

    def apply_fill(self, fill: Fill, trading_day: dt.date | None = None) -> bool:
        if fill.execution_id in self._seen_executions:
            return False
        self._seen_executions.add(fill.execution_id)
        if trading_day is not None:
            self.trading_day = trading_day
        self.fills_today.setdefault(fill.symbol, []).append((fill.side, fill.qty))
        self._day_trades_by_symbol.pop(fill.symbol, None)
        self._fills_view = None
        self.cash -= fill.signed_qty * fill.price + fill.fee
        self.fees_paid += fill.fee
        self.last_prices.setdefault(fill.symbol, fill.price)
        position = self.positions.get(fill.symbol)
        held = position.qty if position else _ZERO
        if fill.side is OrderSide.BUY:
            new_qty = held + fill.qty
            cost = (position.cost_basis if position else _ZERO) + fill.qty * fill.price
            self.positions[fill.symbol] = Position(fill.symbol, new_qty, cost / new_qty)
        else:
            entry = position.avg_entry_price if position else fill.price
            self.realized_pnl += (fill.price - entry) * fill.qty
            new_qty = held - fill.qty
            if new_qty == 0:
                self.positions.pop(fill.symbol, None)
            else:
                self.positions[fill.symbol] = Position(fill.symbol, new_qty, entry)
        return True

    # --- reconciliation -----------------------------------------------------------------------
    def sync_account(self, account: AccountSnapshot) -> None:
        """Adopt the broker's cash and buying power (the broker is the source of truth)."""
        self.cash = account.cash
        self._synced_cash = account.cash
        self._synced_buying_power = account.buying_power

    def sync_positions(self, positions: dict[str, Position]) -> dict[str, tuple[Decimal, Decimal]]:
        """Adopt the broker's positions; returns {symbol: (book qty, broker qty)} that differed."""
        differences = {}
        for symbol in set(self.positions) | set(positions):
            mine = self.positions[symbol].qty if symbol in self.positions else _ZERO
            theirs = positions[symbol].qty if symbol in positions else _ZERO
            if mine != theirs:
                differences[symbol] = (mine, theirs)
        self.positions = {s: p for s, p in positions.items() if p.qty != 0}
        return differences

    def resume_day(
        self,
        trading_day: dt.date,
        *,
        buys_per_symbol: dict[str, int],
        day_start_equity: Decimal | None,
        fills: list[tuple[str, OrderSide, Decimal]],
        overnight: dict[str, Decimal],
        earlier_day_trades: list[dt.date],
        seen_executions: set[str],
    ) -> None:
        """Resume a day already under way (a restart): its counters come from the ledger and
        the broker, never from zero; positions and cash stay the broker's (already synced).
        ``seen_executions`` are fills the broker's figures include: never applied again."""
        self.trading_day = trading_day
        self.buys_today = dict(buys_per_symbol)
        if day_start_equity is not None:
            self.day_start_equity = day_start_equity
        self.fills_today = {}
        for symbol, side, qty in fills:
            self.fills_today.setdefault(symbol, []).append((side, qty))
        self.overnight_qty = dict(overnight)
        self._day_trades_by_symbol.clear()
        self._fills_view = None
        self.earlier_day_trades = list(earlier_day_trades)
        self._seen_executions |= seen_executions

    def new_day(self, day_start_equity: Decimal | None = None) -> None:
        self.earlier_day_trades = self.day_trades
        self.fills_today.clear()
        self.overnight_qty = {symbol: p.qty for symbol, p in self.positions.items()}
        self._day_trades_by_symbol.clear()
        self._fills_view = None
        self.trading_day = None
        self.buys_today.clear()
        self.day_start_equity = day_start_equity if day_start_equity is not None else self.equity
