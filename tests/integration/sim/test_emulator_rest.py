"""The emulator's REST API, checked by alpaca-py's own clients and models."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pandas as pd
import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, OrderStatus, QueryOrderStatus, TimeInForce
from alpaca.trading.requests import (
    GetCalendarRequest,
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
)

from tests.support.emulator import (
    API_KEY,
    SECRET_KEY,
    SESSION_DATE,
    data_client,
    dense_market,
    running_emulator,
    trading_client,
)
from trading_runtime.marketdata import calendar
from trading_runtime.sim import EmulatorServer, FillModelConfig

HEADERS = {"APCA-API-KEY-ID": API_KEY, "APCA-API-SECRET-KEY": SECRET_KEY}


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with running_emulator() as running:
        yield running


@pytest.fixture
def client(server: EmulatorServer) -> TradingClient:
    return trading_client(server)


def market(symbol: str, qty: float, side: OrderSide = OrderSide.BUY, **extra) -> MarketOrderRequest:
    return MarketOrderRequest(
        symbol=symbol, qty=qty, side=side, time_in_force=TimeInForce.DAY, **extra
    )


def test_account_is_a_cash_account_without_pattern_day_trader_fields(
    server: EmulatorServer, client: TradingClient
) -> None:
    account = client.get_account()
    assert account.status == "ACTIVE"
    assert account.currency == "USD" and account.multiplier == "1"
    assert Decimal(account.cash) == Decimal(account.buying_power) == Decimal("100000")
    assert (
        Decimal(account.equity) == Decimal(account.portfolio_value) == Decimal(account.last_equity)
    )
    raw = requests.get(f"{server.base_url}/v2/account", headers=HEADERS, timeout=5).json()
    assert not {"pattern_day_trader", "daytrade_count", "daytrading_buying_power"} & set(raw)


def test_wrong_keys_are_refused_with_alpacas_error_body(server: EmulatorServer) -> None:
    with pytest.raises(APIError) as refused:
        trading_client(server, secret_key="wrong").get_account()
    assert refused.value.status_code == 401
    assert (refused.value.code, refused.value.message) == (40110000, "request is not authorized")


def test_market_order_fills_in_the_next_bar_and_positions_add_up(
    server: EmulatorServer, client: TradingClient
) -> None:
    submitted = client.submit_order(market("AAPL", 10, client_order_id="buy-1"))
    assert submitted.status == OrderStatus.NEW
    assert submitted.client_order_id == "buy-1"
    status = server.advance(1)
    filled = client.get_order_by_client_id("buy-1")
    assert filled.status == OrderStatus.FILLED
    # The order arrived in the bar after its submission and filled one latency later.
    assert filled.filled_at == filled.submitted_at + FillModelConfig().latency
    assert status.last_bar <= filled.filled_at < status.last_bar + dt.timedelta(minutes=1)
    assert filled.id == client.get_order_by_id(submitted.id).id
    position = client.get_open_position("AAPL")
    assert Decimal(position.qty) == Decimal(10)
    assert Decimal(position.avg_entry_price) == Decimal(filled.filled_avg_price)
    cost = Decimal(filled.filled_qty) * Decimal(filled.filled_avg_price)
    account = client.get_account()
    assert Decimal(account.cash) == Decimal(100000) - cost
    assert Decimal(account.equity) == Decimal(account.cash) + Decimal(position.market_value)


def test_limit_ioc_that_is_not_marketable_is_canceled(
    server: EmulatorServer, client: TradingClient
) -> None:
    order = client.submit_order(
        LimitOrderRequest(
            symbol="MSFT",
            qty=5,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.IOC,
            limit_price=1.00,
        )
    )
    server.advance(1)
    assert client.get_order_by_id(order.id).status == OrderStatus.CANCELED
    assert client.get_all_positions() == []


def test_marketable_limit_ioc_fills_no_worse_than_its_limit(
    server: EmulatorServer, client: TradingClient
) -> None:
    order = client.submit_order(
        LimitOrderRequest(
            symbol="MSFT",
            qty=5,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.IOC,
            limit_price=5000,
        )
    )
    server.advance(1)
    done = client.get_order_by_id(order.id)
    assert done.status == OrderStatus.FILLED
    assert Decimal(done.filled_avg_price) <= Decimal(5000)


def test_day_order_rests_then_expires_at_the_end_of_the_session(
    server: EmulatorServer, client: TradingClient
) -> None:
    order = client.submit_order(
        LimitOrderRequest(
            symbol="AAPL",
            qty=1,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.DAY,
            limit_price=1.00,
        )
    )
    server.advance(3)
    open_orders = client.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN))
    assert [o.id for o in open_orders] == [order.id]
    server.advance(10)
    assert server.status().phase == "finished"
    assert client.get_order_by_id(order.id).status == OrderStatus.EXPIRED
    assert client.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN)) == []


def test_duplicate_client_order_id_is_rejected(client: TradingClient) -> None:
    client.submit_order(market("AAPL", 1, client_order_id="dup"))
    with pytest.raises(APIError) as refused:
        client.submit_order(market("MSFT", 1, client_order_id="dup"))
    assert refused.value.status_code == 422
    assert refused.value.message == "client_order_id must be unique"


def test_insufficient_buying_power_is_refused_with_403(client: TradingClient) -> None:
    with pytest.raises(APIError) as refused:
        client.submit_order(market("AAPL", 1_000_000))
    assert (refused.value.status_code, refused.value.code) == (403, 40310000)


def test_selling_more_than_held_is_refused(client: TradingClient) -> None:
    with pytest.raises(APIError) as refused:
        client.submit_order(market("AAPL", 1, side=OrderSide.SELL))
    assert refused.value.status_code == 403
    assert "insufficient qty" in refused.value.message


def test_unknown_symbol_is_refused_with_422(client: TradingClient) -> None:
    with pytest.raises(APIError) as refused:
        client.submit_order(market("NOPE", 1))
    assert refused.value.status_code == 422


def test_cancel_then_cancel_all_and_close_all(
    server: EmulatorServer, client: TradingClient
) -> None:
    resting = client.submit_order(
        LimitOrderRequest(
            symbol="AAPL",
            qty=1,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.GTC,
            limit_price=1.00,
        )
    )
    client.cancel_order_by_id(resting.id)
    assert client.get_order_by_id(resting.id).status == OrderStatus.CANCELED
    with pytest.raises(APIError) as refused:
        client.cancel_order_by_id(resting.id)
    assert refused.value.status_code == 422
    client.submit_order(market("MSFT", 3))
    server.advance(1)
    other = client.submit_order(
        LimitOrderRequest(
            symbol="AAPL",
            qty=1,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.DAY,
            limit_price=1.00,
        )
    )
    assert [r.id for r in client.cancel_orders()] == [other.id]
    closing = client.close_all_positions()
    assert [c.symbol for c in closing] == ["MSFT"]
    server.advance(1)
    assert client.get_all_positions() == []
    with pytest.raises(APIError) as flat:
        client.get_open_position("MSFT")
    assert flat.value.status_code == 404


def test_clock_runs_on_event_time(server: EmulatorServer, client: TradingClient) -> None:
    session = calendar.session(SESSION_DATE)
    start = session.open + dt.timedelta(minutes=30)
    clock = client.get_clock()
    assert clock.timestamp == start and clock.is_open
    assert clock.next_close == session.close
    server.advance(2)
    assert client.get_clock().timestamp == start + dt.timedelta(minutes=2)
    server.advance(20)
    finished = client.get_clock()
    assert not finished.is_open
    assert finished.next_open == calendar.session(calendar.next_session(SESSION_DATE)).open


def test_calendar_comes_from_the_nyse_calendar(client: TradingClient) -> None:
    days = client.get_calendar(
        GetCalendarRequest(start=dt.date(2025, 11, 26), end=dt.date(2025, 12, 1))
    )
    assert [d.date for d in days] == [
        dt.date(2025, 11, 26),
        dt.date(2025, 11, 28),
        dt.date(2025, 12, 1),
    ]
    assert days[1].close.strftime("%H:%M") == "13:00"  # the day after Thanksgiving closes early
    assert days[0].open.strftime("%H:%M") == "09:30" and days[0].close.strftime("%H:%M") == "16:00"


def test_assets_are_the_symbols_with_bars(client: TradingClient) -> None:
    assert client.get_asset("AAPL").symbol == "AAPL"
    with pytest.raises(APIError) as missing:
        client.get_asset("NOPE")
    assert missing.value.status_code == 404


def test_bars_across_several_pages_equal_the_bar_source() -> None:
    with running_emulator(max_bars_page_size=300) as server:
        start = dt.datetime(2026, 2, 26, tzinfo=dt.UTC)
        end = dt.datetime(2026, 2, 28, tzinfo=dt.UTC)
        barset = data_client(server).get_stock_bars(
            StockBarsRequest(
                symbol_or_symbols=["AAPL", "SPY"], timeframe=TimeFrame.Minute, start=start, end=end
            )
        )
    served = barset.df.reset_index()
    market = dense_market()
    expected = pd.concat(
        [market.day_bars(day, ["AAPL"]) for day in (dt.date(2026, 2, 26), dt.date(2026, 2, 27))]
    )
    expected = expected.sort_values(["symbol", "timestamp"]).reset_index(drop=True)
    assert len(served) == len(expected) == 2 * 2 * 390
    for column in ("open", "high", "low", "close", "volume", "trade_count", "vwap"):
        assert served[column].tolist() == pytest.approx(expected[column].tolist())
    assert (served["timestamp"] == expected["timestamp"]).all()


def test_bars_are_paginated_with_next_page_token(server: EmulatorServer) -> None:
    params = {
        "symbols": "AAPL,MSFT",
        "timeframe": "1Min",
        "start": "2026-02-27T14:30:00Z",
        "limit": "500",
    }
    first = requests.get(
        f"{server.base_url}/v2/stocks/bars", params=params, headers=HEADERS, timeout=5
    ).json()
    assert first["next_page_token"]
    assert sum(len(v) for v in first["bars"].values()) == 500
    second = requests.get(
        f"{server.base_url}/v2/stocks/bars",
        params={**params, "page_token": first["next_page_token"]},
        headers=HEADERS,
        timeout=5,
    ).json()
    # Sorted by symbol then time: AAPL's 420 bars (a session and 30 minutes), then MSFT's.
    assert len(first["bars"]["AAPL"]) == 420 and len(first["bars"]["MSFT"]) == 80
    assert list(second["bars"]) == ["MSFT"]
    assert first["bars"]["MSFT"][-1]["t"] < second["bars"]["MSFT"][0]["t"]
    assert second["next_page_token"] is None and len(second["bars"]["MSFT"]) == 340


def test_bars_of_the_session_appear_only_once_published(server: EmulatorServer) -> None:
    client = data_client(server)
    request = StockBarsRequest(
        symbol_or_symbols="AAPL",
        timeframe=TimeFrame.Minute,
        start=calendar.session(SESSION_DATE).open,
    )
    assert len(client.get_stock_bars(request)["AAPL"]) == 30
    server.advance(2)
    assert len(client.get_stock_bars(request)["AAPL"]) == 32


@pytest.mark.parametrize("timeframe", ["2Day", "60Min", "24Hour", "5Month", "2Week"])
def test_undocumented_timeframes_are_refused_with_400(
    server: EmulatorServer, timeframe: str
) -> None:
    # alpaca-py refuses these itself, so the request goes out raw.
    answer = requests.get(
        f"{server.base_url}/v2/stocks/bars",
        params={"symbols": "AAPL", "timeframe": timeframe},
        headers=HEADERS,
        timeout=5,
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == 40010001


def test_injected_429_and_500_answer_with_alpacas_error_bodies(server: EmulatorServer) -> None:
    server.inject_http_errors(429, 1)
    server.inject_http_errors(500, 1)
    url = f"{server.base_url}/v2/clock"
    limited = requests.get(url, headers=HEADERS, timeout=5)
    failed = requests.get(url, headers=HEADERS, timeout=5)
    assert (limited.status_code, limited.json()["code"]) == (429, 42910000)
    assert failed.status_code == 500 and "message" in failed.json()
    assert requests.get(url, headers=HEADERS, timeout=5).status_code == 200
    assert server.status().faults == {"http_429": 1, "http_500": 1}


def test_control_endpoints_report_status(server: EmulatorServer) -> None:
    status = requests.get(f"{server.base_url}/v2/sim/status", headers=HEADERS, timeout=5).json()
    assert status["session_date"] == SESSION_DATE.isoformat()
    assert (
        status["phase"] == "running" and status["bars_published"] == 0 and status["minutes"] == 10
    )
    advanced = requests.post(
        f"{server.base_url}/v2/sim/advance", json={"bars": 2}, headers=HEADERS, timeout=5
    )
    assert advanced.json()["bars_published"] == 2
    assert advanced.json()["last_bar"] == "2026-03-02T15:01:00Z"
