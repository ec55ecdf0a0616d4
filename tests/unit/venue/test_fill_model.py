"""The shared fill model: how one order meets one bar."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from trading_runtime.domain.bars import Bar
from trading_runtime.domain.enums import OrderSide, OrderType, TimeInForce
from trading_runtime.venue import FillModelConfig, match_order

NO_SLIPPAGE = FillModelConfig(
    half_spread_bps=Decimal(0), slippage_bps=Decimal(0), max_participation=Decimal(1)
)


def bar(
    open_: float = 100.0,
    high: float = 101.0,
    low: float = 99.0,
    close: float = 100.5,
    volume: float = 10_000,
) -> Bar:
    return Bar(
        "AAPL", dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC), open_, high, low, close, volume
    )


def match(
    side: OrderSide,
    order_type: OrderType,
    tif: TimeInForce,
    qty: str,
    limit: str | None,
    the_bar: Bar,
    *,
    first_bar: bool = True,
    config: FillModelConfig = NO_SLIPPAGE,
):
    return match_order(
        side=side,
        order_type=order_type,
        time_in_force=tif,
        remaining_qty=Decimal(qty),
        limit_price=Decimal(limit) if limit is not None else None,
        bar=the_bar,
        first_bar=first_bar,
        config=config,
    )


def test_market_buy_executes_at_the_open_moved_against_the_buyer() -> None:
    config = FillModelConfig(
        half_spread_bps=Decimal(0), slippage_bps=Decimal(2), max_participation=Decimal(1)
    )
    result = match(
        OrderSide.BUY, OrderType.MARKET, TimeInForce.DAY, "10", None, bar(), config=config
    )
    assert result.execution is not None
    assert result.execution.qty == Decimal(10)
    assert result.execution.price == Decimal("100.02")  # 100 * 1.0002
    assert result.finished


def test_market_sell_executes_at_the_open_moved_against_the_seller() -> None:
    config = FillModelConfig(
        half_spread_bps=Decimal(0), slippage_bps=Decimal(2), max_participation=Decimal(1)
    )
    result = match(
        OrderSide.SELL, OrderType.MARKET, TimeInForce.DAY, "10", None, bar(), config=config
    )
    assert result.execution is not None
    assert result.execution.price == Decimal("99.98")


def test_marketable_limit_ioc_buy_fills_at_the_open_not_at_the_limit() -> None:
    result = match(OrderSide.BUY, OrderType.LIMIT, TimeInForce.IOC, "5", "100.50", bar(open_=100.0))
    assert result.execution is not None
    assert result.execution.price == Decimal("100.00")
    assert result.execution.qty == Decimal(5)
    assert result.finished


def test_non_marketable_ioc_is_canceled_even_if_the_bar_trades_through_later() -> None:
    # The limit is below the open but above the low: a resting order would fill, an IOC not.
    result = match(
        OrderSide.BUY, OrderType.LIMIT, TimeInForce.IOC, "5", "99.50", bar(open_=100.0, low=99.0)
    )
    assert result.execution is None
    assert result.finished


def test_ioc_gets_nothing_after_its_arrival_bar() -> None:
    result = match(
        OrderSide.BUY, OrderType.LIMIT, TimeInForce.IOC, "5", "200", bar(), first_bar=False
    )
    assert result.execution is None
    assert result.finished


def test_resting_day_buy_fills_at_its_limit_when_the_bar_trades_through() -> None:
    result = match(
        OrderSide.BUY,
        OrderType.LIMIT,
        TimeInForce.DAY,
        "5",
        "99.50",
        bar(open_=100.0, low=99.0),
        first_bar=False,
    )
    assert result.execution is not None
    assert result.execution.price == Decimal("99.50")
    assert result.finished


def test_resting_day_sell_fills_at_its_limit_when_the_bar_trades_through() -> None:
    result = match(
        OrderSide.SELL,
        OrderType.LIMIT,
        TimeInForce.DAY,
        "5",
        "100.80",
        bar(high=101.0),
        first_bar=False,
    )
    assert result.execution is not None
    assert result.execution.price == Decimal("100.80")


def test_resting_day_order_waits_when_the_bar_only_touches_the_limit() -> None:
    result = match(
        OrderSide.BUY,
        OrderType.LIMIT,
        TimeInForce.DAY,
        "5",
        "99.00",
        bar(low=99.0),
        first_bar=False,
    )
    assert result.execution is None
    assert not result.finished


def test_participation_cap_leaves_the_rest_of_a_day_order_working() -> None:
    config = FillModelConfig(
        half_spread_bps=Decimal(0), slippage_bps=Decimal(0), max_participation=Decimal("0.10")
    )
    result = match(
        OrderSide.BUY, OrderType.MARKET, TimeInForce.DAY, "50", None, bar(volume=200), config=config
    )
    assert result.execution is not None
    assert result.execution.qty == Decimal(20)
    assert not result.finished


def test_participation_cap_cancels_the_rest_of_an_ioc_order() -> None:
    config = FillModelConfig(
        half_spread_bps=Decimal(0), slippage_bps=Decimal(0), max_participation=Decimal("0.10")
    )
    result = match(
        OrderSide.BUY, OrderType.LIMIT, TimeInForce.IOC, "50", "101", bar(volume=200), config=config
    )
    assert result.execution is not None
    assert result.execution.qty == Decimal(20)
    assert result.finished


def test_a_bar_with_volume_offers_at_least_one_share() -> None:
    config = FillModelConfig(
        half_spread_bps=Decimal(0), slippage_bps=Decimal(0), max_participation=Decimal("0.01")
    )
    result = match(
        OrderSide.BUY, OrderType.MARKET, TimeInForce.DAY, "5", None, bar(volume=3), config=config
    )
    assert result.execution is not None
    assert result.execution.qty == Decimal(1)


@pytest.mark.parametrize("open_", [100.013, 100.017, 37.331, 412.999])
def test_rounding_to_the_cent_is_never_in_the_traders_favour(open_: float) -> None:
    config = FillModelConfig(
        half_spread_bps=Decimal(0), slippage_bps=Decimal("1.7"), max_participation=Decimal(1)
    )
    the_bar = bar(open_=open_, high=open_ + 1, low=open_ - 1)
    buy = match(OrderSide.BUY, OrderType.MARKET, TimeInForce.DAY, "1", None, the_bar, config=config)
    sell = match(
        OrderSide.SELL, OrderType.MARKET, TimeInForce.DAY, "1", None, the_bar, config=config
    )
    assert buy.execution is not None and sell.execution is not None
    exact_buy = Decimal(str(open_)) * (1 + Decimal("0.00017"))
    exact_sell = Decimal(str(open_)) * (1 - Decimal("0.00017"))
    assert buy.execution.price >= exact_buy
    assert buy.execution.price - exact_buy < Decimal("0.01")
    assert sell.execution.price <= exact_sell
    assert exact_sell - sell.execution.price < Decimal("0.01")
    assert buy.execution.price == buy.execution.price.quantize(Decimal("0.01"))


def test_slippage_never_pushes_a_limit_buy_beyond_its_limit() -> None:
    config = FillModelConfig(
        half_spread_bps=Decimal(0), slippage_bps=Decimal(50), max_participation=Decimal(1)
    )
    result = match(
        OrderSide.BUY,
        OrderType.LIMIT,
        TimeInForce.IOC,
        "1",
        "100.10",
        bar(open_=100.0),
        config=config,
    )
    assert result.execution is not None
    assert result.execution.price == Decimal("100.10")  # 100.50 slipped, capped at the limit


def test_slippage_never_pushes_a_limit_sell_below_its_limit() -> None:
    config = FillModelConfig(
        half_spread_bps=Decimal(0), slippage_bps=Decimal(50), max_participation=Decimal(1)
    )
    result = match(
        OrderSide.SELL,
        OrderType.LIMIT,
        TimeInForce.IOC,
        "1",
        "99.90",
        bar(open_=100.0),
        config=config,
    )
    assert result.execution is not None
    assert result.execution.price == Decimal("99.90")


def test_fees_are_charged_per_share_and_rounded_up() -> None:
    config = FillModelConfig(
        half_spread_bps=Decimal(0),
        slippage_bps=Decimal(0),
        max_participation=Decimal(1),
        commission_per_share=Decimal("0.0033"),
    )
    result = match(
        OrderSide.BUY, OrderType.MARKET, TimeInForce.DAY, "10", None, bar(), config=config
    )
    assert result.execution is not None
    assert result.execution.fee == Decimal("0.04")
