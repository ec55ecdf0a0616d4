"""Pure ledger rules: which order state wins, what a stored config may contain."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pydantic import SecretStr

from trading_runtime.domain import OrderStatus
from trading_runtime.store.jsonable import redact_config
from trading_runtime.store.order_writes import newer_order_state
from trading_runtime.store.read_models import activity_from_fills

T0 = dt.datetime(2026, 11, 25, 15, 0, tzinfo=dt.UTC)
LATER = T0 + dt.timedelta(seconds=1)


@pytest.mark.parametrize(
    ("current", "incoming", "wins"),
    [
        ((OrderStatus.NEW, "0", T0), (OrderStatus.PARTIALLY_FILLED, "3", LATER), True),
        ((OrderStatus.PARTIALLY_FILLED, "3", T0), (OrderStatus.FILLED, "10", LATER), True),
        # A replayed or late 'new' never rolls back a fill, whatever its timestamp.
        ((OrderStatus.FILLED, "10", T0), (OrderStatus.NEW, "0", LATER), False),
        (
            (OrderStatus.PARTIALLY_FILLED, "3", LATER),
            (OrderStatus.PARTIALLY_FILLED, "2", T0),
            False,
        ),
        # A cancel after a partial fill keeps the filled quantity and ends the order.
        ((OrderStatus.PARTIALLY_FILLED, "3", T0), (OrderStatus.CANCELED, "3", LATER), True),
        ((OrderStatus.CANCELED, "3", LATER), (OrderStatus.PARTIALLY_FILLED, "3", T0), False),
        ((OrderStatus.PENDING_NEW, "0", T0), (OrderStatus.REJECTED, "0", T0), True),
        # Same stage, same quantity: the broker's later timestamp wins.
        ((OrderStatus.NEW, "0", T0), (OrderStatus.ACCEPTED, "0", LATER), True),
        ((OrderStatus.NEW, "0", LATER), (OrderStatus.ACCEPTED, "0", T0), False),
    ],
)
def test_newer_order_state_follows_progress_not_arrival(
    current: tuple[OrderStatus, str, dt.datetime],
    incoming: tuple[OrderStatus, str, dt.datetime],
    wins: bool,
) -> None:
    def state(
        value: tuple[OrderStatus, str, dt.datetime],
    ) -> tuple[OrderStatus, Decimal, dt.datetime]:
        return value[0], Decimal(value[1]), value[2]

    assert newer_order_state(state(current), state(incoming)) is wins


def test_stored_config_has_secret_looking_values_redacted() -> None:
    config = {
        "ALPACA_API_KEY": "AK123",
        "alpaca": {"secret_key": "sk", "paper": True, "token": None},
        "db_password": SecretStr("pw"),
        "max_position_fraction": Decimal("0.20"),
        "symbols": ["AAPL"],
    }
    assert redact_config(config) == {
        "ALPACA_API_KEY": "***",
        "alpaca": {"secret_key": "***", "paper": True, "token": None},
        "db_password": "***",
        "max_position_fraction": "0.20",
        "symbols": ["AAPL"],
    }


def test_activity_from_no_fills_is_empty() -> None:
    assert activity_from_fills([]) == {}
