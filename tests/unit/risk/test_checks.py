from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

from tests.support.builders import FULL_DAY, minute
from tests.support.builders import portfolio as make_portfolio
from trading_runtime.domain import OrderIntent, OrderSide, OrderType, TimeInForce
from trading_runtime.risk.checks import (
    RiskConfig,
    check_orders,
    kill_switch_triggered,
)


def buy(
    symbol: str = "AAPL", qty: str = "100", price: str = "100", cid: str | None = None
) -> OrderIntent:
    return OrderIntent(
        client_order_id=cid or f"b-{symbol}-{qty}",
        symbol=symbol,
        side=OrderSide.BUY,
        qty=Decimal(qty),
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.IOC,
        limit_price=Decimal(price),
        created_at=minute(),
        reason="test",
    )


def sell(symbol: str = "AAPL", qty: str = "10") -> OrderIntent:
    return OrderIntent(
        client_order_id=f"s-{symbol}",
        symbol=symbol,
        side=OrderSide.SELL,
        qty=Decimal(qty),
        order_type=OrderType.MARKET,
        time_in_force=TimeInForce.DAY,
        limit_price=None,
        created_at=minute(),
        reason="test",
    )


CONFIG = RiskConfig()


def test_an_order_within_limits_is_approved_unchanged() -> None:
    [verdict] = check_orders([buy(qty="100")], make_portfolio(), CONFIG, FULL_DAY)
    assert verdict.approved == verdict.proposed and verdict.reason == ""


def test_buys_are_reduced_to_buying_power_in_order() -> None:
    state = make_portfolio(cash="100000", buying_power="25000")
    first, second = check_orders([buy("AAPL", "150"), buy("MSFT", "150")], state, CONFIG, FULL_DAY)
    assert first.approved is not None and first.approved.qty == Decimal("150")
    assert second.approved is not None and second.approved.qty == Decimal("100")
    assert "buying power" in second.reason


def test_working_buys_reserve_buying_power() -> None:
    state = make_portfolio(buying_power="10000", reserved="10000")
    [verdict] = check_orders([buy(qty="1")], state, CONFIG, FULL_DAY)
    assert verdict.refused and "buying power" in verdict.reason


def test_position_cap_reduces_the_order() -> None:
    state = make_portfolio(cash="90000", positions={"AAPL": ("100", "100")})
    [verdict] = check_orders([buy(qty="500")], state, CONFIG, FULL_DAY)
    assert verdict.approved is not None and verdict.approved.qty == Decimal("100")


def test_wash_trades_are_refused_both_ways() -> None:
    pending_sell = make_portfolio(
        positions={"AAPL": ("10", "100")}, open_order_sides={"AAPL": frozenset({OrderSide.SELL})}
    )
    [verdict] = check_orders([buy()], pending_sell, CONFIG, FULL_DAY)
    assert verdict.refused and "wash trade" in verdict.reason
    pending_buy = make_portfolio(
        positions={"AAPL": ("10", "100")}, open_order_sides={"AAPL": frozenset({OrderSide.BUY})}
    )
    [verdict] = check_orders([sell()], pending_buy, CONFIG, FULL_DAY)
    assert verdict.refused and "wash trade" in verdict.reason


def test_no_shorting() -> None:
    [flat] = check_orders([sell()], make_portfolio(), CONFIG, FULL_DAY)
    assert flat.refused
    [reduced] = check_orders(
        [sell(qty="50")], make_portfolio(positions={"AAPL": ("10", "100")}), CONFIG, FULL_DAY
    )
    assert reduced.approved is not None and reduced.approved.qty == Decimal("10")


def test_kill_switch_blocks_new_entries_but_not_exits() -> None:
    state = make_portfolio(
        cash="50000", positions={"AAPL": ("10", "100")}, equity="96000", day_start_equity="100000"
    )
    assert kill_switch_triggered(state, CONFIG)
    buy_verdict, sell_verdict = check_orders([buy(), sell()], state, CONFIG, FULL_DAY)
    assert buy_verdict.refused and "kill switch" in buy_verdict.reason
    assert sell_verdict.approved is not None


def test_legacy_day_trade_guard_refuses_the_fourth_day_trade_in_five_trading_days() -> None:
    config = RiskConfig(legacy_day_trade_guard=True)
    today = dt.date(2026, 11, 25)
    history = (dt.date(2026, 11, 19), dt.date(2026, 11, 20), dt.date(2026, 11, 24))
    bought_today = replace(
        make_portfolio(cash="10000", positions={"AAPL": ("10", "100")}),
        day_trades=history,
        fills_today={"AAPL": ((OrderSide.BUY, Decimal("10")),)},
    )
    [verdict] = check_orders([sell()], bought_today, config, today)
    assert verdict.refused and "day-trade guard: 3 day trades" in verdict.reason
    [allowed] = check_orders([sell()], bought_today, RiskConfig(), today)
    assert allowed.approved is not None
    # A day trade six trading days back has left the window.
    older = replace(bought_today, day_trades=(dt.date(2026, 11, 17), *history[1:]))
    [allowed] = check_orders([sell()], older, config, today)
    assert allowed.approved is not None


def test_legacy_day_trade_guard_lets_overnight_shares_be_sold() -> None:
    # Held overnight and not bought today: selling is no day trade, whatever the history.
    config = RiskConfig(legacy_day_trade_guard=True)
    today = dt.date(2026, 11, 25)
    held_overnight = replace(
        make_portfolio(cash="10000", positions={"AAPL": ("10", "100")}),
        day_trades=(today, today, today),
        overnight_qty={"AAPL": Decimal("10")},
    )
    [verdict] = check_orders([sell()], held_overnight, config, today)
    assert verdict.approved is not None


def test_one_working_order_per_symbol_and_side() -> None:
    working_sell = make_portfolio(
        positions={"AAPL": ("10", "100")}, open_order_sides={"AAPL": frozenset({OrderSide.SELL})}
    )
    [verdict] = check_orders([sell()], working_sell, CONFIG, FULL_DAY)
    assert verdict.refused and "already working" in verdict.reason
    working_buy = make_portfolio(open_order_sides={"AAPL": frozenset({OrderSide.BUY})})
    [verdict] = check_orders([buy()], working_buy, CONFIG, FULL_DAY)
    assert verdict.refused and "already working" in verdict.reason
