"""Frozen read models of the ledger, and their construction from rows.

SessionInfo         one trading session (identity, status and why, equity, summary)
RecordedOrder       an order's latest known state
RecordedFill        one execution
SymbolActivity      per-symbol sums of fills (PnL inputs); :func:`activity_from_fills`
SlippageInput       a fill next to the decision and limit prices
PriceMark           a symbol's price as a decision saw it (the close of the bar decided on)
SessionSummary      counts, orders, fills and activity of one session
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from trading_runtime.domain import (
    AccountSnapshot,
    Fill,
    OrderSide,
    OrderStatus,
    SessionStatus,
    TradingMode,
)
from trading_runtime.store.models import (
    AccountSnapshotRow,
    FillRow,
    OrderRow,
    TradingSessionRow,
)


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: int
    session_key: str
    account_id: str
    mode: TradingMode
    trading_day: dt.date
    started_at: dt.datetime
    ended_at: dt.datetime | None
    status: SessionStatus
    end_reason: str | None
    symbols: tuple[str, ...]
    dagster_run_id: str | None
    starting_equity: Decimal | None
    ending_equity: Decimal | None
    summary: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class RecordedOrder:
    session_id: int
    client_order_id: str
    broker_order_id: str | None
    symbol: str
    side: OrderSide
    order_type: str
    time_in_force: str
    qty: Decimal
    limit_price: Decimal | None
    status: OrderStatus
    filled_qty: Decimal
    filled_avg_price: Decimal | None
    model_version_id: int | None
    decision_bar_timestamp: dt.datetime | None
    reason: str | None
    reject_code: int | None
    reject_message: str | None
    submitted_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class RecordedFill:
    session_id: int
    execution_id: str
    client_order_id: str
    broker_order_id: str | None
    symbol: str
    side: OrderSide
    qty: Decimal
    price: Decimal
    fee: Decimal
    filled_at: dt.datetime
    model_version_id: int | None

    @property
    def signed_qty(self) -> Decimal:
        return self.qty if self.side is OrderSide.BUY else -self.qty

    def to_domain(self) -> Fill:
        return Fill(
            execution_id=self.execution_id,
            broker_order_id=self.broker_order_id or "",
            client_order_id=self.client_order_id,
            symbol=self.symbol,
            side=self.side,
            qty=self.qty,
            price=self.price,
            timestamp=self.filled_at,
            fee=self.fee,
        )


@dataclass(frozen=True, slots=True)
class SymbolActivity:
    """Per-symbol totals of fills: the inputs of realized and unrealized PnL.

    Realized PnL needs a cost method (FIFO, average); these are the sums every method
    starts from. Unrealized PnL is ``net_qty * mark - open cost``, with a mark price from
    market data.
    """

    symbol: str
    bought_qty: Decimal
    bought_notional: Decimal
    sold_qty: Decimal
    sold_notional: Decimal
    fees: Decimal
    fill_count: int
    last_price: Decimal

    @property
    def net_qty(self) -> Decimal:
        return self.bought_qty - self.sold_qty

    @property
    def net_cash_flow(self) -> Decimal:
        """Cash in minus cash out (sells - buys - fees); PnL when the position is flat."""
        return self.sold_notional - self.bought_notional - self.fees


@dataclass(frozen=True, slots=True)
class SlippageInput:
    """One fill next to the prices it could be compared with."""

    execution_id: str
    client_order_id: str
    symbol: str
    side: OrderSide
    qty: Decimal
    fill_price: Decimal
    decision_price: Decimal | None  # last close the decision was taken on
    limit_price: Decimal | None
    filled_at: dt.datetime

    @property
    def slippage_per_share(self) -> Decimal | None:
        """Adverse price difference vs the decision price (positive = paid more / got less)."""
        if self.decision_price is None:
            return None
        difference = self.fill_price - self.decision_price
        return difference if self.side is OrderSide.BUY else -difference


@dataclass(frozen=True, slots=True)
class PriceMark:
    """The close of ``symbol``'s bar labelled ``bar_timestamp`` (known at the bar's end), as
    recorded with the decision taken on it."""

    bar_timestamp: dt.datetime
    symbol: str
    price: Decimal


@dataclass(frozen=True, slots=True)
class SessionSummary:
    session: SessionInfo
    orders_by_status: dict[str, int]
    order_count: int
    fill_count: int
    decision_count: int
    activity: dict[str, SymbolActivity]
    last_account: AccountSnapshot | None
    orders: tuple[RecordedOrder, ...] = ()
    fills: tuple[RecordedFill, ...] = ()

    @property
    def net_positions(self) -> dict[str, Decimal]:
        return {s: a.net_qty for s, a in self.activity.items() if a.net_qty != 0}


def activity_from_fills(fills: Iterable[RecordedFill]) -> dict[str, SymbolActivity]:
    """Per-symbol sums of fills (see :class:`SymbolActivity`), symbols in sorted order."""
    totals: dict[str, dict[str, Any]] = {}
    for fill in fills:
        entry = totals.setdefault(
            fill.symbol,
            {
                "bought_qty": Decimal(0),
                "bought_notional": Decimal(0),
                "sold_qty": Decimal(0),
                "sold_notional": Decimal(0),
                "fees": Decimal(0),
                "fill_count": 0,
                "last_price": fill.price,
            },
        )
        side = "bought" if fill.side is OrderSide.BUY else "sold"
        entry[f"{side}_qty"] += fill.qty
        entry[f"{side}_notional"] += fill.qty * fill.price
        entry["fees"] += fill.fee
        entry["fill_count"] += 1
        entry["last_price"] = fill.price
    return {symbol: SymbolActivity(symbol=symbol, **totals[symbol]) for symbol in sorted(totals)}


# --- from rows -------------------------------------------------------------------------------


def to_session_info(row: TradingSessionRow) -> SessionInfo:
    return SessionInfo(
        id=row.id,
        session_key=row.session_key,
        account_id=row.account_id,
        mode=TradingMode(row.mode),
        trading_day=row.trading_day,
        started_at=row.started_at,
        ended_at=row.ended_at,
        status=SessionStatus(row.status),
        end_reason=row.end_reason,
        symbols=tuple(row.symbols),
        dagster_run_id=row.dagster_run_id,
        starting_equity=row.starting_equity,
        ending_equity=row.ending_equity,
        summary=row.summary,
    )


def to_recorded_order(row: OrderRow) -> RecordedOrder:
    return RecordedOrder(
        session_id=row.session_id,
        client_order_id=row.client_order_id,
        broker_order_id=row.broker_order_id,
        symbol=row.symbol,
        side=OrderSide(row.side),
        order_type=row.order_type,
        time_in_force=row.time_in_force,
        qty=row.qty,
        limit_price=row.limit_price,
        status=OrderStatus(row.status),
        filled_qty=row.filled_qty,
        filled_avg_price=row.filled_avg_price,
        model_version_id=row.model_version_id,
        decision_bar_timestamp=row.decision_bar_timestamp,
        reason=row.reason,
        reject_code=row.reject_code,
        reject_message=row.reject_message,
        submitted_at=row.submitted_at,
        updated_at=row.updated_at,
    )


def to_recorded_fill(row: FillRow) -> RecordedFill:
    return RecordedFill(
        session_id=row.session_id,
        execution_id=row.execution_id,
        client_order_id=row.client_order_id,
        broker_order_id=row.broker_order_id,
        symbol=row.symbol,
        side=OrderSide(row.side),
        qty=row.qty,
        price=row.price,
        fee=row.fee,
        filled_at=row.filled_at,
        model_version_id=row.model_version_id,
    )


def to_account_snapshot(row: AccountSnapshotRow) -> AccountSnapshot:
    return AccountSnapshot(
        cash=row.cash, buying_power=row.buying_power, equity=row.equity, timestamp=row.taken_at
    )
