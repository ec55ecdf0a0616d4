"""The venue's cash account: submission checks, executions, positions and cash."""

from __future__ import annotations

import datetime as dt
import uuid
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
    IdSource,
    OrderRefusedError,
    OrderRequest,
    TradeUpdateEvent,
    Venue,
)

T0 = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
CLOSE = dt.datetime(2026, 3, 2, 21, 0, tzinfo=dt.UTC)
NO_SLIPPAGE = FillModelConfig(
    half_spread_bps=Decimal(0), slippage_bps=Decimal(0), max_participation=Decimal(1)
)


def make_venue(cash: str = "10000", fill_model: FillModelConfig = NO_SLIPPAGE, **kwargs) -> Venue:
    venue = Venue(
        starting_cash=Decimal(cash),
        symbols={"AAPL", "MSFT"},
        fill_model=fill_model,
        ids=IdSource(1),
        **kwargs,
    )
    venue.set_reference_prices({"AAPL": Decimal("100"), "MSFT": Decimal("50")})
    return venue


def request(
    side: str = "buy",
    qty: str = "10",
    order_type: str = "market",
    tif: str = "day",
    limit: str | None = None,
    symbol: str = "AAPL",
    client_order_id: str | None = None,
) -> OrderRequest:
    return OrderRequest(
        symbol=symbol,
        side=OrderSide(side),
        order_type=OrderType(order_type),
        time_in_force=TimeInForce(tif),
        qty=Decimal(qty),
        limit_price=Decimal(limit) if limit else None,
        client_order_id=client_order_id,
    )


def match(venue: Venue, bars: dict[str, Bar]) -> list[TradeUpdateEvent]:
    """The venue's matching for the minute of ``bars``."""
    stamp = next(iter(bars.values())).timestamp
    return venue.on_minute(stamp, bars)


def minute(
    index: int,
    symbol: str = "AAPL",
    open_: float = 100.0,
    high: float = 101.0,
    low: float = 99.0,
    close: float = 100.5,
    volume: float = 1_000,
) -> dict[str, Bar]:
    stamp = T0 + dt.timedelta(minutes=index)
    return {symbol: Bar(symbol, stamp, open_, high, low, close, volume)}


def test_accepted_order_is_new_and_reported_at_once() -> None:
    venue = make_venue()
    order, events = venue.submit(request(client_order_id="c-1"), now=T0, expires_at=CLOSE)
    assert order.status is OrderStatus.NEW
    assert [e.event for e in events] == [TradeEventType.NEW]
    assert venue.get_order_by_client_id("c-1") is order
    assert order.expires_at == CLOSE


def test_duplicate_client_order_id_is_refused_with_422() -> None:
    venue = make_venue()
    venue.submit(request(client_order_id="same"), now=T0, expires_at=CLOSE)
    with pytest.raises(OrderRefusedError) as refused:
        venue.submit(request(client_order_id="same"), now=T0, expires_at=CLOSE)
    assert refused.value.status == 422
    assert refused.value.message == "client_order_id must be unique"


def test_unknown_symbol_is_refused_with_422() -> None:
    with pytest.raises(OrderRefusedError) as refused:
        make_venue().submit(request(symbol="ZZZZ"), now=T0, expires_at=CLOSE)
    assert refused.value.status == 422


def test_buy_beyond_buying_power_is_refused_with_403() -> None:
    with pytest.raises(OrderRefusedError) as refused:
        make_venue(cash="999").submit(
            request(qty="10", order_type="limit", limit="100"), now=T0, expires_at=CLOSE
        )
    assert (refused.value.status, refused.value.code) == (403, 40310000)
    assert refused.value.message == "insufficient buying power"


def test_open_buys_reserve_buying_power() -> None:
    venue = make_venue(cash="10000")
    venue.submit(request(qty="60", order_type="limit", limit="100"), now=T0, expires_at=CLOSE)
    assert venue.buying_power() == Decimal("4000")
    with pytest.raises(OrderRefusedError):
        venue.submit(
            request(qty="41", order_type="limit", limit="100", symbol="AAPL"),
            now=T0,
            expires_at=CLOSE,
        )


def test_sell_without_a_position_is_refused_no_shorting() -> None:
    with pytest.raises(OrderRefusedError) as refused:
        make_venue().submit(request(side="sell"), now=T0, expires_at=CLOSE)
    assert refused.value.status == 403
    assert "insufficient qty" in refused.value.message


def test_wash_trade_against_an_open_opposite_order_is_refused() -> None:
    venue = make_venue()
    venue.submit(request(qty="10"), now=T0, expires_at=CLOSE)
    match(venue, minute(0))
    venue.submit(
        request(side="buy", qty="1", order_type="limit", limit="90"), now=T0, expires_at=CLOSE
    )
    with pytest.raises(OrderRefusedError) as refused:
        venue.submit(
            request(side="sell", qty="5", order_type="limit", limit="89.5"),
            now=T0,
            expires_at=CLOSE,
        )
    assert "wash trade" in refused.value.message
    # A sell limit above the open buy limit cannot trade against it: accepted.
    order, _ = venue.submit(
        request(side="sell", qty="5", order_type="limit", limit="95"), now=T0, expires_at=CLOSE
    )
    assert order.status is OrderStatus.NEW


def test_sub_penny_limit_prices_are_refused() -> None:
    with pytest.raises(OrderRefusedError) as refused:
        make_venue().submit(request(order_type="limit", limit="100.005"), now=T0, expires_at=CLOSE)
    assert "sub-penny" in refused.value.message


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"side": "buy", "type": "market", "time_in_force": "day", "qty": 1}, "symbol"),
        (
            {"symbol": "AAPL", "side": "hold", "type": "market", "time_in_force": "day", "qty": 1},
            "side",
        ),
        (
            {"symbol": "AAPL", "side": "buy", "type": "stop", "time_in_force": "day", "qty": 1},
            "type",
        ),
        (
            {"symbol": "AAPL", "side": "buy", "type": "market", "time_in_force": "fok", "qty": 1},
            "time_in_force",
        ),
        (
            {"symbol": "AAPL", "side": "buy", "type": "market", "time_in_force": "day", "qty": 0},
            "qty",
        ),
        (
            {"symbol": "AAPL", "side": "buy", "type": "limit", "time_in_force": "day", "qty": 1},
            "limit_price",
        ),
        (
            {"symbol": "AAPL", "side": "buy", "type": "market", "time_in_force": "ioc", "qty": 1.5},
            "fractional",
        ),
    ],
)
def test_malformed_submissions_are_refused_with_422(body: dict, fragment: str) -> None:
    with pytest.raises(OrderRefusedError) as refused:
        OrderRequest.from_json(body)
    assert refused.value.status == 422
    assert fragment in refused.value.message


def test_submission_json_accepts_numbers_and_strings_exactly() -> None:
    parsed = OrderRequest.from_json(
        {
            "symbol": "aapl",
            "side": "buy",
            "type": "limit",
            "time_in_force": "ioc",
            "qty": 3.0,
            "limit_price": "101.37",
            "client_order_id": "x",
        }
    )
    assert parsed.symbol == "AAPL"
    assert parsed.qty == Decimal(3)
    assert parsed.limit_price == Decimal("101.37")


def test_positions_and_cash_add_up_to_the_fills() -> None:
    venue = make_venue(
        cash="10000",
        fill_model=FillModelConfig(
            half_spread_bps=Decimal(0), slippage_bps=Decimal(0), max_participation=Decimal("0.01")
        ),
    )
    order, _ = venue.submit(request(qty="25"), now=T0, expires_at=CLOSE)
    fills = []
    for index, open_ in enumerate((100.0, 100.2, 100.4)):
        events = match(venue, minute(index, open_=open_, high=open_ + 1, low=open_ - 1))
        fills.extend(e for e in events if e.event.is_fill)
    assert [e.event for e in fills] == [
        TradeEventType.PARTIAL_FILL,
        TradeEventType.PARTIAL_FILL,
        TradeEventType.FILL,
    ]
    assert sum(e.qty for e in fills) == Decimal(25)
    cost = sum(e.qty * e.price for e in fills)
    position = venue.account.positions.get("AAPL")
    assert position is not None and position.qty == Decimal(25)
    assert venue.account.cash == Decimal(10000) - cost
    assert order.filled_qty == Decimal(25) and order.status is OrderStatus.FILLED
    assert fills[-1].position_qty == Decimal(25)
    assert len({e.execution_id for e in fills}) == 3


def test_selling_the_whole_position_closes_it_and_books_the_proceeds() -> None:
    venue = make_venue(cash="10000")
    venue.submit(request(qty="10"), now=T0, expires_at=CLOSE)
    match(venue, minute(0, open_=100.0))
    venue.submit(request(side="sell", qty="10"), now=T0, expires_at=CLOSE)
    events = match(venue, minute(1, open_=102.0, high=103.0, low=101.0, close=102.5))
    assert [e.event for e in events] == [TradeEventType.FILL]
    assert venue.account.positions.get("AAPL") is None
    assert venue.account.cash == Decimal("10020")


def test_equity_marks_positions_to_the_last_published_close() -> None:
    venue = make_venue(cash="10000")
    venue.submit(request(qty="10"), now=T0, expires_at=CLOSE)
    match(venue, minute(0, open_=100.0))
    venue.mark({"AAPL": Decimal("105.25")})
    assert venue.account.long_market_value() == Decimal("1052.50")
    assert venue.account.equity() == Decimal("9000") + Decimal("1052.50")


def test_ioc_remainder_is_canceled_after_a_partial_fill() -> None:
    venue = make_venue(
        fill_model=FillModelConfig(
            half_spread_bps=Decimal(0), slippage_bps=Decimal(0), max_participation=Decimal("0.01")
        )
    )
    venue.submit(
        request(qty="25", order_type="limit", tif="ioc", limit="101"), now=T0, expires_at=CLOSE
    )
    events = match(venue, minute(0))
    assert [e.event for e in events] == [TradeEventType.PARTIAL_FILL, TradeEventType.CANCELED]
    assert events[-1].order.status is OrderStatus.CANCELED
    assert events[-1].order.filled_qty == Decimal(10)


def test_day_orders_expire_after_the_session_and_gtc_orders_do_not() -> None:
    venue = make_venue()
    day, _ = venue.submit(
        request(qty="1", order_type="limit", limit="50"), now=T0, expires_at=CLOSE
    )
    gtc, _ = venue.submit(
        request(qty="1", order_type="limit", tif="gtc", limit="50"), now=T0, expires_at=CLOSE
    )
    match(venue, minute(0))
    events = venue.end_session(close=CLOSE)
    assert [(e.event, e.order.id) for e in events] == [(TradeEventType.EXPIRED, day.id)]
    assert gtc.is_open


def test_cancel_of_a_final_order_is_refused_with_422() -> None:
    venue = make_venue()
    order, _ = venue.submit(request(qty="1"), now=T0, expires_at=CLOSE)
    match(venue, minute(0))
    with pytest.raises(OrderRefusedError) as refused:
        venue.cancel(order.id, now=T0)
    assert refused.value.status == 422
    with pytest.raises(OrderRefusedError) as missing:
        venue.cancel("no-such-order", now=T0)
    assert missing.value.status == 404


def test_orders_for_a_rejected_symbol_are_rejected_when_they_reach_the_market() -> None:
    venue = make_venue(reject_after_accept_symbols=frozenset({"AAPL"}))
    order, _ = venue.submit(request(qty="1"), now=T0, expires_at=CLOSE)
    events = match(venue, minute(0))
    assert [e.event for e in events] == [TradeEventType.REJECTED]
    assert order.status is OrderStatus.REJECTED
    assert venue.account.cash == Decimal(10000)


def test_ids_are_uuid4_and_repeat_for_the_same_seed_and_client_order_id() -> None:
    assert IdSource(5).order_id("c-1") == IdSource(5).order_id("c-1")
    assert IdSource(5).order_id("c-1") != IdSource(6).order_id("c-1")
    assert IdSource(5).order_id("c-1") != IdSource(5).order_id("c-2")
    assert uuid.UUID(IdSource(5).order_id("c-1")).version == 4
    assert uuid.UUID(IdSource(5).execution_id("o", 1)).version == 4
    assert uuid.UUID(IdSource(5).client_order_id()).version == 4
