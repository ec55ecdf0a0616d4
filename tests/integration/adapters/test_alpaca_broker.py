"""AlpacaBroker against the emulator: orders, positions, account, and the error policy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.support.emulator import SECRET_KEY, endpoints, running_emulator
from trading_runtime.adapters.alpaca import (
    AlpacaBroker,
    AlpacaEndpoints,
    BrokerAuthError,
    OrderNotFoundError,
    OrderRejectedError,
    TransientBrokerError,
)
from trading_runtime.domain.enums import OrderSide, OrderStatus, OrderType, TimeInForce
from trading_runtime.domain.orders import OrderIntent
from trading_runtime.sim import EmulatorServer, FaultConfig

CREATED = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)


def intent(
    client_order_id: str,
    symbol: str = "AAPL",
    qty: str = "10",
    side: OrderSide = OrderSide.BUY,
    limit: str | None = None,
    time_in_force: TimeInForce = TimeInForce.DAY,
) -> OrderIntent:
    return OrderIntent(
        client_order_id=client_order_id,
        symbol=symbol,
        side=side,
        qty=Decimal(qty),
        order_type=OrderType.LIMIT if limit else OrderType.MARKET,
        time_in_force=time_in_force,
        limit_price=Decimal(limit) if limit else None,
        created_at=CREATED,
        reason="test",
    )


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with running_emulator(faults=FaultConfig(reject_symbols=frozenset({"SPY"}))) as running:
        yield running


@pytest.fixture
def broker(server: EmulatorServer) -> Iterator[AlpacaBroker]:
    broker = AlpacaBroker(endpoints(server), timeout_s=2.0)
    yield broker
    broker.close()


def test_submitted_order_fills_and_the_book_adds_up(
    server: EmulatorServer, broker: AlpacaBroker
) -> None:
    snapshot = broker.submit_order(intent("buy-1", qty="7"))
    assert snapshot.status is OrderStatus.NEW
    assert (snapshot.client_order_id, snapshot.qty, snapshot.filled_qty) == (
        "buy-1",
        Decimal(7),
        Decimal(0),
    )
    assert [o.client_order_id for o in broker.list_open_orders()] == ["buy-1"]
    server.advance(1)
    filled = broker.get_order_by_client_id("buy-1")
    assert filled is not None and filled.status is OrderStatus.FILLED
    assert filled.filled_avg_price is not None
    positions = broker.get_positions()
    assert positions["AAPL"].qty == Decimal(7)
    assert positions["AAPL"].avg_entry_price == filled.filled_avg_price
    account = broker.get_account(as_of=CREATED)
    assert account.cash == Decimal(100000) - Decimal(7) * filled.filled_avg_price
    assert account.buying_power == account.cash
    assert account.equity > account.cash
    assert account.timestamp == CREATED
    assert broker.list_open_orders() == []


def test_refused_submissions_raise_order_rejected(broker: AlpacaBroker) -> None:
    with pytest.raises(OrderRejectedError) as too_big:
        broker.submit_order(intent("huge", qty="1000000"))
    assert (too_big.value.code, too_big.value.status) == (40310000, 403)
    with pytest.raises(OrderRejectedError) as halted:
        broker.submit_order(intent("halted", symbol="SPY"))
    assert halted.value.status == 422
    assert broker.get_order_by_client_id("huge") is None


def test_resubmitting_a_client_order_id_returns_the_existing_order(broker: AlpacaBroker) -> None:
    first = broker.submit_order(intent("again"))
    second = broker.submit_order(intent("again"))
    assert second.broker_order_id == first.broker_order_id
    assert len(broker.list_open_orders()) == 1


def test_server_error_before_placing_raises_transient(
    server: EmulatorServer, broker: AlpacaBroker
) -> None:
    server.inject_http_errors(500, 1)
    with pytest.raises(TransientBrokerError) as failed:
        broker.submit_order(intent("retry-me"))
    assert failed.value.status == 500
    assert broker.get_order_by_client_id("retry-me") is None
    assert broker.submit_order(intent("retry-me")).status is OrderStatus.NEW


def test_lost_response_is_resolved_by_looking_the_order_up(
    server: EmulatorServer, broker: AlpacaBroker
) -> None:
    server.inject_lost_order_responses(1)
    snapshot = broker.submit_order(intent("lost"))
    assert snapshot.client_order_id == "lost"
    assert [o.client_order_id for o in broker.list_open_orders()] == ["lost"]


def test_timeout_is_resolved_by_lookup_or_raised_as_transient(server: EmulatorServer) -> None:
    impatient = AlpacaBroker(endpoints(server), timeout_s=0.3)
    try:
        server.inject_slow_requests(1, 1.5)
        snapshot = impatient.submit_order(intent("slow"))  # placed, answer late, found by lookup
        assert snapshot.client_order_id == "slow"
        server.inject_slow_requests(1, 1.5)
        with pytest.raises(TransientBrokerError, match="timed out"):
            impatient.get_account()
    finally:
        impatient.close()


def test_rate_limit_is_retried_by_alpaca_py(server: EmulatorServer, broker: AlpacaBroker) -> None:
    server.inject_http_errors(429, 1)
    assert broker.get_account().equity == Decimal(100000)
    assert server.status().faults == {"http_429": 1}


def test_wrong_keys_raise_auth_error(server: EmulatorServer) -> None:
    good = endpoints(server)
    bad = AlpacaEndpoints.for_emulator(server.base_url, good.api_key, SECRET_KEY + "-wrong")
    broker = AlpacaBroker(bad)
    with pytest.raises(BrokerAuthError):
        broker.get_account()
    with pytest.raises(BrokerAuthError):
        broker.submit_order(intent("nope"))
    broker.close()


def test_cancellation(server: EmulatorServer, broker: AlpacaBroker) -> None:
    resting = broker.submit_order(
        intent("resting", qty="1", limit="1.00", time_in_force=TimeInForce.GTC)
    )
    assert broker.cancel_order(resting.broker_order_id) is True
    assert broker.get_order(resting.broker_order_id).status is OrderStatus.CANCELED
    assert broker.cancel_order(resting.broker_order_id) is False
    with pytest.raises(OrderNotFoundError):
        broker.cancel_order("00000000-0000-4000-8000-000000000000")
    broker.submit_order(intent("a", qty="1", limit="1.00"))
    broker.submit_order(intent("b", symbol="MSFT", qty="1", limit="1.00"))
    assert broker.cancel_all_orders() == 2
    assert broker.list_open_orders() == []


def test_clock_is_the_emulators_event_time(server: EmulatorServer, broker: AlpacaBroker) -> None:
    before = broker.get_clock()
    server.advance(3)
    after = broker.get_clock()
    assert before.is_open and after.is_open
    assert after.timestamp - before.timestamp == dt.timedelta(minutes=3)
    assert after.timestamp.tzinfo == dt.UTC


def test_orders_since_and_fills_since_list_what_the_broker_did(
    server: EmulatorServer, broker: AlpacaBroker
) -> None:
    since = CREATED - dt.timedelta(hours=1)
    placed = broker.submit_order(intent("listed-1", limit="5000"))  # marketable: fills
    server.advance(2)
    orders = broker.orders_since(since)
    assert [o.client_order_id for o in orders] == ["listed-1"]
    fills = broker.fills_since(since, {placed.broker_order_id: "listed-1"})
    assert fills and {f.client_order_id for f in fills} == {"listed-1"}
    assert sum(f.qty for f in fills) == orders[0].filled_qty == Decimal(10)
    assert all("::" not in f.execution_id for f in fills)  # the trade update's id


def test_assets_list_each_symbol_as_tradable_and_active(broker: AlpacaBroker) -> None:
    assert broker.assets() == {s: (True, True) for s in ("AAPL", "MSFT", "SPY")}
