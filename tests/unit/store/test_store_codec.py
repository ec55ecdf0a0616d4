"""JSON conversions: to_jsonable for JSON columns, exact round-trips of ledger operations."""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from decimal import Decimal

import numpy as np
import pytest
from pydantic import SecretStr

from tests.support import store_builders as b
from trading_runtime.domain import OrderStatus, TradeEventType
from trading_runtime.store.codec import CodecError, decode, encode, to_jsonable
from trading_runtime.store.operations import (
    OPERATION_TYPES,
    EndSession,
    LedgerWrite,
    RecordAccount,
    RecordDecisions,
    RecordEngineEvent,
    RecordOrderRejected,
    RecordOrderSubmitted,
    RecordOrderUpdate,
    RecordPositions,
    operation_from_json,
    operation_to_json,
)


def test_to_jsonable_converts_metrics_of_every_common_type() -> None:
    value = {
        "accuracy": np.float32(0.5),
        "n": np.int64(3),
        "matrix": np.array([[1, 2], [3, 4]]),
        "pnl": Decimal("12.340"),
        "day": dt.date(2026, 1, 2),
        "at": dt.datetime(2026, 1, 2, 15, 0, tzinfo=dt.UTC),
        "status": OrderStatus.FILLED,
        "undefined": float("nan"),
        "key": SecretStr("hunter2"),
        7: (1, 2),
    }
    result = to_jsonable(value)
    assert result == {
        "accuracy": 0.5,
        "n": 3,
        "matrix": [[1, 2], [3, 4]],
        "pnl": "12.340",
        "day": "2026-01-02",
        "at": "2026-01-02T15:00:00+00:00",
        "status": "filled",
        "undefined": None,
        "key": "***",
        "7": [1, 2],
    }
    assert type(result["accuracy"]) is float and type(result["n"]) is int
    json.dumps(result, allow_nan=False)  # strict JSON, storable in jsonb


def test_to_jsonable_refuses_objects_without_a_json_form() -> None:
    with pytest.raises(CodecError):
        to_jsonable({"model": object()})


def _every_operation() -> list[LedgerWrite]:
    order = b.intent(qty="0.123456789", limit_price="187.0012")
    partial = b.fill_update(order, "exec-1", "0.1", "187.0001", "0.1", "187.0001", b.at(0, 2))
    return [
        RecordDecisions(1, (b.decision(order=order, p_up=0.1 + 0.2), b.decision("MSFT", 1))),
        RecordOrderSubmitted(1, order, b.snapshot(order), 7, b.at(0)),
        RecordOrderSubmitted(1, order, None, None, None),
        RecordOrderRejected(1, b.rejection(order), None),
        RecordOrderUpdate(1, partial, 7),
        RecordOrderUpdate(
            1, b.status_update(order, TradeEventType.CANCELED, OrderStatus.CANCELED, b.at(1)), None
        ),
        RecordPositions(1, b.positions(), "broker", b.at(2), {"AAPL": Decimal("101.5")}),
        RecordAccount(1, b.account()),
        RecordEngineEvent(None, "kill_switch", {"loss": Decimal("-3000.5")}, b.at(3)),
        EndSession(1, "completed", b.at(390), Decimal("100123.45"), {"fills": 3}),
    ]


@pytest.mark.parametrize("operation", _every_operation(), ids=lambda op: type(op).__name__)
def test_operations_round_trip_through_json_text_exactly(operation: LedgerWrite) -> None:
    text = json.dumps(operation_to_json(operation), allow_nan=False)
    restored = operation_from_json(json.loads(text))
    assert restored == operation
    assert type(restored) is type(operation)


def test_round_trip_keeps_decimal_digits_and_timezones() -> None:
    order = b.intent(qty="1.000", limit_price="0.0001")
    operation = RecordOrderSubmitted(
        1,
        order,
        None,
        None,
        dt.datetime(2026, 3, 9, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=-4))),
    )
    restored = operation_from_json(json.loads(json.dumps(operation_to_json(operation))))
    assert isinstance(restored, RecordOrderSubmitted)
    assert restored.decision_bar_timestamp is not None
    assert str(restored.intent.qty) == "1.000"
    assert str(restored.intent.limit_price) == "0.0001"
    assert restored.decision_bar_timestamp.utcoffset() == dt.timedelta(hours=-4)


def test_every_operation_kind_is_covered_by_the_round_trip_test() -> None:
    assert {type(op).kind for op in _every_operation()} == set(OPERATION_TYPES)


def test_engine_event_detail_is_normalised_at_creation_so_equality_survives_spooling() -> None:
    event = RecordEngineEvent(3, "model_reloaded", {"version": np.int64(4)}, b.at(0))
    assert event.detail == {"version": 4}
    assert isinstance(event.event_id, uuid.UUID)


def test_non_finite_probabilities_survive_encoding() -> None:
    encoded = json.dumps(encode(float("nan")), allow_nan=False)
    assert math.isnan(decode(float, json.loads(encoded)))


@pytest.mark.parametrize(
    "payload",
    [
        {"v": 99, "kind": "record_account", "data": {}},
        {"v": 1, "kind": "drop_tables", "data": {}},
        {"v": 1, "kind": "record_account", "data": {"session_id": "one", "account": {}}},
        {"v": 1, "kind": "record_account", "data": {"session_id": 1, "unknown": 2}},
    ],
)
def test_malformed_spool_records_are_refused(payload: dict[str, object]) -> None:
    with pytest.raises(CodecError):
        operation_from_json(payload)
