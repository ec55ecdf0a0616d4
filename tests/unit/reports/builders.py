"""Builders of report inputs: fills, decision prices, account snapshots and whole session
ledgers, at minutes of one session (2026-11-25, opening 14:30 UTC)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from decimal import Decimal
from itertools import count
from typing import Any

from trading_runtime.domain import (
    AccountSnapshot,
    Action,
    Fill,
    OrderSide,
    OrderStatus,
    Position,
    SessionStatus,
    TradingMode,
)
from trading_runtime.reports.session import SessionLedger
from trading_runtime.store.read_models import (
    PriceMark,
    RecordedFill,
    RecordedOrder,
    SessionInfo,
    SlippageInput,
)

DAY = dt.date(2026, 11, 25)
OPEN = dt.datetime(2026, 11, 25, 14, 30, tzinfo=dt.UTC)
_ids = count(1)


def at(minute: float) -> dt.datetime:
    return OPEN + dt.timedelta(minutes=minute)


def fill(
    side: str, qty: str, price: str, minute: float, symbol: str = "AAPL", fee: str = "0"
) -> Fill:
    n = next(_ids)
    return Fill(
        execution_id=f"x-{n}",
        broker_order_id=f"b-{n}",
        client_order_id=f"c-{n}",
        symbol=symbol,
        side=OrderSide(side),
        qty=Decimal(qty),
        price=Decimal(price),
        timestamp=at(minute),
        fee=Decimal(fee),
    )


def mark(minute: int, price: str, symbol: str = "AAPL") -> PriceMark:
    """The close of ``symbol``'s bar labelled ``minute`` (known one minute later)."""
    return PriceMark(at(minute), symbol, Decimal(price))


def account(minute: float, equity: str, cash: str | None = None) -> AccountSnapshot:
    return AccountSnapshot(
        cash=Decimal(cash or equity),
        buying_power=Decimal(cash or equity),
        equity=Decimal(equity),
        timestamp=at(minute),
    )


def recorded(f: Fill, session_id: int = 1, model: int | None = 7) -> RecordedFill:
    return RecordedFill(
        session_id=session_id,
        execution_id=f.execution_id,
        client_order_id=f.client_order_id,
        broker_order_id=f.broker_order_id,
        symbol=f.symbol,
        side=f.side,
        qty=f.qty,
        price=f.price,
        fee=f.fee,
        filled_at=f.timestamp,
        model_version_id=model,
    )


def order_for(
    f: Fill, status: OrderStatus = OrderStatus.FILLED, session_id: int = 1, model: int | None = 7
) -> RecordedOrder:
    return RecordedOrder(
        session_id=session_id,
        client_order_id=f.client_order_id,
        broker_order_id=f.broker_order_id,
        symbol=f.symbol,
        side=f.side,
        order_type="limit",
        time_in_force="ioc",
        qty=f.qty,
        limit_price=f.price,
        status=status,
        filled_qty=f.qty if status is OrderStatus.FILLED else Decimal(0),
        filled_avg_price=f.price if status is OrderStatus.FILLED else None,
        model_version_id=model,
        decision_bar_timestamp=f.timestamp,
        reason="test",
        reject_code=40310000 if status is OrderStatus.REJECTED else None,
        reject_message="insufficient buying power" if status is OrderStatus.REJECTED else None,
        submitted_at=f.timestamp,
        updated_at=f.timestamp,
    )


def slippage_of(f: Fill, decision_price: str | None) -> SlippageInput:
    return SlippageInput(
        execution_id=f.execution_id,
        client_order_id=f.client_order_id,
        symbol=f.symbol,
        side=f.side,
        qty=f.qty,
        fill_price=f.price,
        decision_price=Decimal(decision_price) if decision_price else None,
        limit_price=None,
        filled_at=f.timestamp,
    )


def info(
    session_id: int = 1,
    mode: TradingMode = TradingMode.SIM,
    started_minute: float = 0,
    starting_equity: str | None = "100000",
    ending_equity: str | None = None,
    status: SessionStatus = SessionStatus.COMPLETED,
    account_id: str = "acct-1",
    day: dt.date = DAY,
) -> SessionInfo:
    return SessionInfo(
        id=session_id,
        session_key=f"key-{session_id}",
        account_id=account_id,
        mode=mode,
        trading_day=day,
        started_at=at(started_minute),
        ended_at=at(390) if status is not SessionStatus.RUNNING else None,
        status=status,
        end_reason="session closed" if status is SessionStatus.COMPLETED else None,
        symbols=("AAPL", "MSFT"),
        dagster_run_id=f"run-{session_id}",
        starting_equity=Decimal(starting_equity) if starting_equity else None,
        ending_equity=Decimal(ending_equity) if ending_equity else None,
        summary=None,
    )


def ledger(
    session: SessionInfo,
    fills: Sequence[Fill] = (),
    marks: Sequence[PriceMark] = (),
    accounts: Sequence[AccountSnapshot] = (),
    opening: dict[str, Position] | None = None,
    rejected: int = 0,
    decision_prices: dict[str, str] | None = None,
    decisions: dict[tuple[int | None, Action], int] | None = None,
) -> SessionLedger:
    """A session's ledger; ``decision_prices`` maps execution ids to the decision price of
    their order (every fill compared at its own price when not given)."""
    prices = decision_prices or {}
    orders = [order_for(f, session_id=session.id) for f in fills]
    for i in range(rejected):
        orders.append(order_for(fill("buy", "1", "100", 10 + i), OrderStatus.REJECTED, session.id))
    return SessionLedger(
        info=session,
        orders=tuple(orders),
        fills=tuple(recorded(f, session.id) for f in fills),
        account=tuple(accounts),
        opening_positions=opening or {},
        marks=tuple(marks),
        decisions=decisions or {(7, Action.HOLD): len(marks)},
        slippage=tuple(slippage_of(f, prices.get(f.execution_id, str(f.price))) for f in fills),
    )


_FIGURE = re.compile(
    r'<script type="application/json" class="plotly-figure" data-target="chart-([^"]+)">'
    r"(.*?)</script>",
    re.DOTALL,
)


def page_figures(page: str) -> dict[str, dict[str, Any]]:
    """The plotly figures embedded in a report page, by chart key."""
    return {key: json.loads(body) for key, body in _FIGURE.findall(page)}


def traces(figure: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {trace["name"]: trace for trace in figure["data"]}
