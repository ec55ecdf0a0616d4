from __future__ import annotations

from decimal import Decimal

from tests.support.builders import FULL_DAY, minute
from trading_runtime.core.book import Book
from trading_runtime.domain import (
    Fill,
    OrderIntent,
    OrderSide,
    OrderSnapshot,
    OrderStatus,
    OrderType,
    OrderUpdated,
    TimeInForce,
    TradeEventType,
)


def intent(side: OrderSide = OrderSide.BUY, qty: str = "10", cid: str = "o1") -> OrderIntent:
    return OrderIntent(
        client_order_id=cid,
        symbol="AAPL",
        side=side,
        qty=Decimal(qty),
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.IOC,
        limit_price=Decimal("100"),
        created_at=minute(),
        reason="test",
    )


def update(
    order: OrderIntent,
    event: TradeEventType,
    filled: str,
    execution: str | None,
    qty: str,
    price: str,
) -> OrderUpdated:
    status = {
        TradeEventType.FILL: OrderStatus.FILLED,
        TradeEventType.PARTIAL_FILL: OrderStatus.PARTIALLY_FILLED,
        TradeEventType.CANCELED: OrderStatus.CANCELED,
    }[event]
    snapshot = OrderSnapshot(
        broker_order_id="b-" + order.client_order_id,
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        order_type=order.order_type,
        time_in_force=order.time_in_force,
        qty=order.qty,
        limit_price=order.limit_price,
        status=status,
        filled_qty=Decimal(filled),
        filled_avg_price=Decimal(price),
        submitted_at=minute(),
        updated_at=minute(),
    )
    fill = None
    if execution is not None:
        fill = Fill(
            execution,
            snapshot.broker_order_id,
            order.client_order_id,
            order.symbol,
            order.side,
            Decimal(qty),
            Decimal(price),
            minute(),
        )
    return OrderUpdated(event, snapshot, minute(), fill)


def test_fills_move_cash_and_positions_exactly_once() -> None:
    book = Book(cash=Decimal("10000"))
    order = intent()
    book.on_submitted(order)
    assert book.reserved_buying_power == Decimal("1000")
    partial = update(order, TradeEventType.PARTIAL_FILL, "4", "e1", "4", "99.50")
    assert book.on_update(partial, FULL_DAY)
    assert not book.on_update(partial, FULL_DAY)  # replayed update: ignored
    book.on_update(update(order, TradeEventType.FILL, "10", "e2", "6", "99.75"), FULL_DAY)
    assert book.cash == Decimal("10000") - Decimal("4") * Decimal("99.50") - Decimal("6") * Decimal(
        "99.75"
    )
    position = book.positions["AAPL"]
    assert position.qty == Decimal("10")
    assert position.avg_entry_price == (Decimal("398.00") + Decimal("598.50")) / 10
    assert not book.working and book.reserved_buying_power == 0


def test_selling_realizes_pnl_and_counts_a_day_trade_once() -> None:
    book = Book(cash=Decimal("10000"))
    entry = intent()
    book.on_submitted(entry)
    book.on_update(update(entry, TradeEventType.FILL, "10", "e1", "10", "100"), FULL_DAY)
    exit_ = intent(OrderSide.SELL, cid="o2")
    book.on_submitted(exit_)
    book.on_update(update(exit_, TradeEventType.PARTIAL_FILL, "5", "e2", "5", "101"), FULL_DAY)
    book.on_update(update(exit_, TradeEventType.FILL, "10", "e3", "5", "102"), FULL_DAY)
    assert "AAPL" not in book.positions
    assert book.realized_pnl == Decimal("15")
    assert book.cash == Decimal("10015")
    assert book.day_trades == [FULL_DAY]


def test_day_trades_follow_each_new_fill_a_resumed_day_and_the_next_day() -> None:
    book = Book(cash=Decimal("10000"))
    entry = intent()
    book.on_submitted(entry)
    book.on_update(update(entry, TradeEventType.FILL, "10", "e1", "10", "100"), FULL_DAY)
    assert book.day_trades == []  # read (and counted) before the exit
    exit_ = intent(OrderSide.SELL, qty="4", cid="o2")
    book.on_submitted(exit_)
    book.on_update(update(exit_, TradeEventType.FILL, "4", "e2", "4", "101"), FULL_DAY)
    assert book.day_trades == [FULL_DAY]
    again = intent(cid="o3")
    book.on_submitted(again)
    book.on_update(update(again, TradeEventType.FILL, "10", "e3", "10", "100"), FULL_DAY)
    last = intent(OrderSide.SELL, qty="16", cid="o4")
    book.on_submitted(last)
    book.on_update(update(last, TradeEventType.FILL, "16", "e4", "16", "101"), FULL_DAY)
    assert book.day_trades == [FULL_DAY, FULL_DAY]
    # a restart resumes the day from the ledger's fills: counted from those, not remembered
    book.resume_day(
        FULL_DAY,
        buys_per_symbol={"AAPL": 1},
        day_start_equity=None,
        fills=[("AAPL", OrderSide.BUY, Decimal("5"))],
        overnight={},
        earlier_day_trades=[],
        seen_executions=set(),
    )
    assert book.day_trades == []
    book.new_day()
    assert book.earlier_day_trades == [] and book.day_trades == []


def test_state_hands_out_the_day_trades_and_fills_of_the_moment() -> None:
    """What ``state`` reports follows every fill, a resumed day and the next day, however
    often it is asked in between."""
    book = Book(cash=Decimal("10000"))
    entry = intent()
    book.on_submitted(entry)
    book.on_update(update(entry, TradeEventType.FILL, "10", "e1", "10", "100"), FULL_DAY)
    first = book.state(minute())
    assert first.day_trades == () and first.fills_today == {
        "AAPL": ((OrderSide.BUY, Decimal("10")),)
    }
    assert book.state(minute()) == first
    exit_ = intent(OrderSide.SELL, qty="4", cid="o2")
    book.on_submitted(exit_)
    book.on_update(update(exit_, TradeEventType.FILL, "4", "e2", "4", "101"), FULL_DAY)
    after_exit = book.state(minute())
    assert after_exit.day_trades == (FULL_DAY,)
    assert after_exit.fills_today["AAPL"][-1] == (OrderSide.SELL, Decimal("4"))
    assert first.fills_today == {"AAPL": ((OrderSide.BUY, Decimal("10")),)}  # not changed
    book.resume_day(
        FULL_DAY,
        buys_per_symbol={"AAPL": 1},
        day_start_equity=None,
        fills=[("AAPL", OrderSide.BUY, Decimal("5"))],
        overnight={},
        earlier_day_trades=[],
        seen_executions=set(),
    )
    resumed = book.state(minute())
    assert resumed.day_trades == ()
    assert resumed.fills_today == {"AAPL": ((OrderSide.BUY, Decimal("5")),)}
    book.new_day()
    assert book.state(minute()).fills_today == {}


def test_a_rejected_buy_is_released_and_not_counted() -> None:
    book = Book(cash=Decimal("10000"))
    order = intent()
    book.on_submitted(order)
    assert book.buys_today == {"AAPL": 1}
    book.on_rejected(order)
    assert book.buys_today == {"AAPL": 0} and not book.working


def test_equity_marks_positions_to_the_last_price() -> None:
    book = Book(cash=Decimal("10000"))
    order = intent()
    book.on_submitted(order)
    book.on_update(update(order, TradeEventType.FILL, "10", "e1", "10", "100"), FULL_DAY)
    book.mark("AAPL", Decimal("110"))
    assert book.equity == Decimal("9000") + Decimal("1100")


def test_syncing_adopts_the_broker_and_reports_differences() -> None:
    book = Book(cash=Decimal("10000"))
    order = intent()
    book.on_submitted(order)
    book.on_update(update(order, TradeEventType.FILL, "10", "e1", "10", "100"), FULL_DAY)
    from trading_runtime.domain import Position

    differences = book.sync_positions({"AAPL": Position("AAPL", Decimal("12"), Decimal("100"))})
    assert differences == {"AAPL": (Decimal("10"), Decimal("12"))}
    assert book.positions["AAPL"].qty == Decimal("12")
