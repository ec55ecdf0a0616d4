"""Builders of ledger inputs (orders, trade updates, fills, decisions) for the store tests."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select

from trading_runtime.domain import (
    AccountSnapshot,
    Action,
    Decision,
    Fill,
    OrderIntent,
    OrderRejected,
    OrderSide,
    OrderSnapshot,
    OrderStatus,
    OrderType,
    OrderUpdated,
    Position,
    Prediction,
    TimeInForce,
    TradeEventType,
    TradingMode,
)
from trading_runtime.store.operations import LedgerOperation
from trading_runtime.store.reads import LedgerReader
from trading_runtime.store.registry import ModelRegistry
from trading_runtime.store.sessions import SessionIdentity, SessionLeases
from trading_runtime.store.writes import LedgerRepository

DAY = dt.date(2026, 11, 25)
OPEN = dt.datetime(2026, 11, 25, 14, 30, tzinfo=dt.UTC)


def at(minutes: int, seconds: float = 0) -> dt.datetime:
    return OPEN + dt.timedelta(minutes=minutes, seconds=seconds)


def intent(
    client_order_id: str = "tp-b-0001",
    symbol: str = "AAPL",
    side: OrderSide = OrderSide.BUY,
    qty: str = "10",
    limit_price: str | None = "100.10",
    minute: int = 0,
) -> OrderIntent:
    return OrderIntent(
        client_order_id=client_order_id,
        symbol=symbol,
        side=side,
        qty=Decimal(qty),
        order_type=OrderType.LIMIT if limit_price else OrderType.MARKET,
        time_in_force=TimeInForce.IOC if limit_price else TimeInForce.DAY,
        limit_price=Decimal(limit_price) if limit_price else None,
        created_at=at(minute, 1),
        reason="p_up 0.81 >= 0.75",
    )


def snapshot(
    order: OrderIntent,
    status: OrderStatus = OrderStatus.NEW,
    filled_qty: str = "0",
    filled_avg_price: str | None = None,
    updated_at: dt.datetime | None = None,
    broker_order_id: str | None = None,
) -> OrderSnapshot:
    return OrderSnapshot(
        broker_order_id=broker_order_id or f"broker-{order.client_order_id}",
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        order_type=order.order_type,
        time_in_force=order.time_in_force,
        qty=order.qty,
        limit_price=order.limit_price,
        status=status,
        filled_qty=Decimal(filled_qty),
        filled_avg_price=Decimal(filled_avg_price) if filled_avg_price else None,
        submitted_at=order.created_at,
        updated_at=updated_at or order.created_at,
    )


def fill_update(
    order: OrderIntent,
    execution_id: str,
    qty: str,
    price: str,
    cumulative_qty: str,
    average_price: str,
    timestamp: dt.datetime,
    fee: str = "0",
) -> OrderUpdated:
    """A partial_fill or fill trade update (fill when the cumulative qty is the order qty)."""
    done = Decimal(cumulative_qty) == order.qty
    state = snapshot(
        order,
        OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED,
        cumulative_qty,
        average_price,
        updated_at=timestamp,
    )
    return OrderUpdated(
        event=TradeEventType.FILL if done else TradeEventType.PARTIAL_FILL,
        order=state,
        timestamp=timestamp,
        fill=Fill(
            execution_id=execution_id,
            broker_order_id=state.broker_order_id,
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            qty=Decimal(qty),
            price=Decimal(price),
            timestamp=timestamp,
            fee=Decimal(fee),
        ),
        position_qty=None,
    )


def status_update(
    order: OrderIntent, event: TradeEventType, status: OrderStatus, timestamp: dt.datetime
) -> OrderUpdated:
    return OrderUpdated(
        event=event, order=snapshot(order, status, updated_at=timestamp), timestamp=timestamp
    )


def rejection(
    order: OrderIntent, code: int = 40310000, message: str = "insufficient buying power"
) -> OrderRejected:
    return OrderRejected(intent=order, code=code, message=message, timestamp=order.created_at)


def decision(
    symbol: str = "AAPL",
    minute: int = 0,
    action: Action = Action.BUY,
    p_up: float = 0.81,
    price: float = 100.0,
    model_version_id: int | None = None,
    order: OrderIntent | None = None,
) -> Decision:
    timestamp = at(minute)
    return Decision(
        symbol=symbol,
        timestamp=timestamp,
        action=action,
        reason=f"p_up {p_up}",
        prediction=Prediction(
            symbol=symbol,
            timestamp=timestamp,
            p_down=0.04,
            p_flat=round(0.96 - p_up, 10),
            p_up=p_up,
            model_version_id=model_version_id,
            price=price,
        ),
        intent=order,
    )


def account(minute: int = 0, equity: str = "100000.00") -> AccountSnapshot:
    return AccountSnapshot(
        cash=Decimal("99000.01"),
        buying_power=Decimal("198000.02"),
        equity=Decimal(equity),
        timestamp=at(minute),
    )


def positions() -> dict[str, Position]:
    return {
        "AAPL": Position("AAPL", Decimal("10"), Decimal("100.0523")),
        "MSFT": Position("MSFT", Decimal("0.5"), Decimal("410.10")),
    }


def session_key() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def identity(
    account_id: str | None = None, day: dt.date = DAY, mode: TradingMode = TradingMode.SIM
) -> SessionIdentity:
    """A session identity; a fresh account each call unless ``account_id`` is given."""
    return SessionIdentity(account_id or f"acct-{uuid.uuid4().hex[:8]}", day, mode)


def start_session_kwargs(**overrides: object) -> dict[str, Any]:
    values: dict[str, Any] = {
        "session_key": session_key(),
        "started_at": OPEN,
        "symbols": ["AAPL", "MSFT"],
        "config": {"buy_probability_threshold": 0.75},
        "starting_equity": Decimal("100000.00"),
    }
    values.update(overrides)
    return values


def open_session(
    engine: Engine, who: SessionIdentity | None = None, owner: str = "test", **overrides: object
) -> int:
    """Acquire a lease on ``who`` (default: a fresh account on ``DAY``, sim), open a session
    under it and return the session id. The lease is left held."""
    leases = SessionLeases(engine)
    lease = leases.acquire(who or identity(), owner)
    return leases.start_session(lease, **start_session_kwargs(**overrides))


class Ledger:
    """The write path and the reads over one database, as the tests use them."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.repository = LedgerRepository(engine)
        self.reads = LedgerReader(engine)

    def apply(self, *operations: LedgerOperation) -> None:
        for operation in operations:
            self.repository.apply(operation)


def count_rows(engine: Engine, table: type, **where: object) -> int:
    query = select(func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(getattr(table, column) == value)
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def register_model(engine: Engine) -> int:
    return ModelRegistry(engine).register_candidate(
        name="xgb",
        artifact=b"model-bytes",
        artifact_format="xgboost-json",
        feature_spec_hash="spec",
        feature_names=["ret_1"],
        params={},
        metrics={},
        lineage={"train_start": DAY, "train_end": DAY},
    )
