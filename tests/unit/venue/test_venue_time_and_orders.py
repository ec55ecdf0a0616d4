"""The venue's time rules (arrival, missing bars, sub-minute event times), replace, notional
orders, the paper fill model and costs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import sys
from decimal import Decimal

import pytest

from trading_runtime.domain.bars import Bar
from trading_runtime.domain.enums import (
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    TradeEventType,
)
from trading_runtime.venue import (
    FillModelConfig,
    FillModelKind,
    IdSource,
    OrderRefusedError,
    OrderRequest,
    ReplaceRequest,
    Venue,
    match_order,
)

T0 = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
CLOSE = dt.datetime(2026, 3, 2, 21, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
PLAIN = FillModelConfig(
    slippage_bps=Decimal(0), half_spread_bps=Decimal(0), max_participation=Decimal(1)
)


def venue(fill_model: FillModelConfig = PLAIN, cash: str = "100000") -> Venue:
    built = Venue(
        starting_cash=Decimal(cash),
        symbols={"AAPL", "MSFT"},
        fill_model=fill_model,
        ids=IdSource(3),
    )
    built.set_reference_prices({"AAPL": Decimal("100"), "MSFT": Decimal("50")})
    return built


def bar(at: dt.datetime, symbol: str = "AAPL", open_: float = 100.0, volume: float = 10_000) -> Bar:
    return Bar(symbol, at, open_, open_ + 1, open_ - 1, open_ + 0.5, volume)


def buy(qty: str = "10", tif: str = "ioc", limit: str | None = "101", **extra) -> OrderRequest:
    return OrderRequest(
        symbol=extra.pop("symbol", "AAPL"),
        side=OrderSide.BUY,
        order_type=OrderType.LIMIT if limit else OrderType.MARKET,
        time_in_force=TimeInForce(tif),
        qty=Decimal(qty) if qty else None,
        limit_price=Decimal(limit) if limit else None,
        client_order_id=extra.pop("client_order_id", None),
        **extra,
    )


def test_an_ioc_whose_symbol_has_no_bar_in_its_arrival_minute_is_canceled() -> None:
    market = venue()
    order, _ = market.submit(buy(), now=T0, expires_at=CLOSE)
    events = market.on_minute(T0, {"MSFT": bar(T0, "MSFT", 50.0)})
    assert [e.event for e in events] == [TradeEventType.CANCELED]
    assert order.status is OrderStatus.CANCELED and order.filled_qty == 0
    assert market.on_minute(T0 + MINUTE, {"AAPL": bar(T0 + MINUTE)}) == []


def test_an_ioc_whose_arrival_minute_had_no_bars_at_all_is_canceled_at_the_next_minute() -> None:
    market = venue()
    market.submit(buy(), now=T0, expires_at=CLOSE)
    # Minute T0 is skipped entirely (no symbol traded); the next minute has AAPL.
    events = market.on_minute(T0 + MINUTE, {"AAPL": bar(T0 + MINUTE)})
    assert [e.event for e in events] == [TradeEventType.CANCELED]
    assert events[0].timestamp < T0 + MINUTE, "canceled in its arrival minute"


def test_a_day_order_waits_for_the_symbols_next_bar_and_meets_it_as_its_arrival() -> None:
    market = venue()
    market.submit(buy(tif="day", limit=None), now=T0, expires_at=CLOSE)
    assert market.on_minute(T0, {}) == []
    assert market.on_minute(T0 + MINUTE, {"MSFT": bar(T0 + MINUTE, "MSFT")}) == []
    events = market.on_minute(T0 + 2 * MINUTE, {"AAPL": bar(T0 + 2 * MINUTE, open_=103.0)})
    assert [e.event for e in events] == [TradeEventType.FILL]
    assert events[0].price == Decimal("103.00")
    assert events[0].timestamp == T0 + 2 * MINUTE + PLAIN.latency


def test_orders_do_not_meet_bars_of_minutes_before_their_arrival() -> None:
    market = venue()
    market.submit(buy(tif="day", limit=None), now=T0 + MINUTE, expires_at=CLOSE)
    assert market.on_minute(T0, {"AAPL": bar(T0)}) == []


def test_order_times_are_unique_and_increasing_and_fills_come_one_latency_after_arrival() -> None:
    market = venue()
    first, _ = market.submit(buy(), now=T0, expires_at=CLOSE)
    second, _ = market.submit(buy(symbol="MSFT", limit="51"), now=T0, expires_at=CLOSE)
    assert T0 == first.created_at < second.created_at < T0 + MINUTE
    events = market.on_minute(T0, {"AAPL": bar(T0), "MSFT": bar(T0, "MSFT", 50.0)})
    stamps = {e.order.client_order_id: e.timestamp for e in events}
    assert stamps[first.client_order_id] == first.created_at + PLAIN.latency
    assert stamps[second.client_order_id] == second.created_at + PLAIN.latency


def test_ids_follow_the_client_order_id_not_the_submission_order() -> None:
    one, two = venue(), venue()
    a1, _ = one.submit(buy(client_order_id="a"), now=T0, expires_at=CLOSE)
    b1, _ = one.submit(
        buy(client_order_id="b", symbol="MSFT", limit="51"), now=T0, expires_at=CLOSE
    )
    b2, _ = two.submit(
        buy(client_order_id="b", symbol="MSFT", limit="51"), now=T0, expires_at=CLOSE
    )
    a2, _ = two.submit(buy(client_order_id="a"), now=T0, expires_at=CLOSE)
    assert (a1.id, b1.id) == (a2.id, b2.id)


def test_replace_makes_a_new_order_and_releases_the_old_reservation() -> None:
    market = venue(cash="1000")
    old, _ = market.submit(buy(qty="9", tif="day", limit="100"), now=T0, expires_at=CLOSE)
    assert market.buying_power() == Decimal(100)
    # 10 x 99 = 990 fits once the old order's 900 is released.
    new, events = market.replace(
        old.id, ReplaceRequest(qty=Decimal(10), limit_price=Decimal(99)), now=T0
    )
    assert [e.event for e in events] == [TradeEventType.REPLACED, TradeEventType.NEW]
    assert old.status is OrderStatus.REPLACED and old.replaced_by == new.id
    assert new.replaces == old.id and new.time_in_force is TimeInForce.DAY
    assert market.buying_power() == Decimal(10)
    with pytest.raises(OrderRefusedError) as refused:
        market.replace(old.id, ReplaceRequest(qty=Decimal(1)), now=T0)
    assert refused.value.status == 422


def test_replace_beyond_buying_power_is_refused_and_changes_nothing() -> None:
    market = venue(cash="1000")
    old, _ = market.submit(buy(qty="9", tif="day", limit="100"), now=T0, expires_at=CLOSE)
    with pytest.raises(OrderRefusedError) as refused:
        market.replace(old.id, ReplaceRequest(qty=Decimal(11)), now=T0)
    assert refused.value.status == 403
    assert old.status is OrderStatus.NEW and market.buying_power() == Decimal(100)


def test_a_notional_order_buys_its_dollars_worth_in_fractional_shares() -> None:
    market = venue()
    order, _ = market.submit(
        buy(qty="", tif="day", limit=None, notional=Decimal("250")), now=T0, expires_at=CLOSE
    )
    assert order.qty is None and market.buying_power() == Decimal(100000 - 250)
    (fill,) = market.on_minute(T0, {"AAPL": bar(T0, open_=120.0)})
    assert fill.event is TradeEventType.FILL
    assert fill.qty == Decimal("2.083333333") and fill.price == Decimal("120.00")
    assert market.account.cash == Decimal(100000) - fill.qty * fill.price


def test_the_paper_model_fills_regardless_of_volume_with_seeded_partial_fills() -> None:
    def outcomes(seed: int) -> list[Decimal]:
        config = FillModelConfig(
            kind=FillModelKind.PAPER,
            partial_fill_probability=0.5,
            seed=seed,
            half_spread_bps=Decimal(0),
        )
        return [
            match_order(
                side=OrderSide.BUY,
                order_type=OrderType.MARKET,
                time_in_force=TimeInForce.DAY,
                remaining_qty=Decimal(1000),
                limit_price=None,
                bar=bar(T0, volume=1),
                first_bar=True,
                config=config,
                draw_key=("order", k),
            ).execution.qty  # type: ignore[union-attr]
            for k in range(40)
        ]

    first = outcomes(1)
    assert first == outcomes(1), "seeded"
    assert first != outcomes(2)
    full = [q for q in first if q == 1000]
    assert 5 < len(full) < 35, "about half are partial"
    assert all(0 < q < 1000 for q in first if q != 1000)


def test_costs_move_the_price_against_the_order_and_commissions_are_charged() -> None:
    config = FillModelConfig(
        slippage_bps=Decimal(10),
        half_spread_bps=Decimal(5),
        max_participation=Decimal(1),
        commission_per_share=Decimal("0.005"),
        commission_per_order=Decimal("1"),
    )
    results = {
        side: match_order(
            side=side,
            order_type=OrderType.MARKET,
            time_in_force=TimeInForce.DAY,
            remaining_qty=Decimal(100),
            limit_price=None,
            bar=bar(T0),
            first_bar=True,
            config=config,
        ).execution
        for side in OrderSide
    }
    buy_fill, sell_fill = results[OrderSide.BUY], results[OrderSide.SELL]
    assert buy_fill is not None and sell_fill is not None
    assert buy_fill.price == Decimal("100.15") and sell_fill.price == Decimal("99.85")
    assert buy_fill.reference_price == Decimal("100.0")
    assert buy_fill.fee == Decimal("1.50")


def test_the_estimated_half_spread_is_a_share_of_the_bars_range() -> None:
    config = FillModelConfig(slippage_bps=Decimal(0), spread_range_fraction=Decimal("0.25"))
    assert config.half_spread(bar(T0), Decimal(100)) == Decimal("0.5")


def test_a_wrong_signed_slippage_is_refused_at_configuration() -> None:
    with pytest.raises(ValueError, match="slippage_bps"):
        FillModelConfig(slippage_bps=Decimal(-2))


def test_importing_the_backtester_imports_no_server_code() -> None:
    code = (
        "import sys, trading_runtime.backtest.replay, trading_runtime.venue; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('aiohttp', 'websockets', "
        "'alpaca') or m.startswith('trading_runtime.sim')); print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_notional_sell_is_checked_against_the_shares_held_at_the_reference_price() -> None:
    market = venue()
    market.submit(buy(tif="day", limit=None), now=T0, expires_at=CLOSE)
    market.on_minute(T0, {"AAPL": bar(T0)})
    sell = dataclasses.replace(buy(qty="", tif="day", limit=None), side=OrderSide.SELL)
    with pytest.raises(OrderRefusedError) as refused:
        market.submit(
            dataclasses.replace(sell, notional=Decimal(5000)), now=T0 + MINUTE, expires_at=CLOSE
        )
    assert refused.value.status == 403
    order, _ = market.submit(
        dataclasses.replace(sell, notional=Decimal(250)), now=T0 + MINUTE, expires_at=CLOSE
    )
    (fill,) = market.on_minute(T0 + MINUTE, {"AAPL": bar(T0 + MINUTE, open_=125.0)})
    assert fill.qty == Decimal(2) and order.status is OrderStatus.FILLED
