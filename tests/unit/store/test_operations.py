"""JSON conversions: to_jsonable for JSON columns, exact spool round-trips of ledger writes."""

from __future__ import annotations

import datetime as dt
import json
import math
import typing
import uuid
from decimal import Decimal

import numpy as np
import pytest
from pydantic import SecretStr

from tests.support import store_builders as b
from trading_runtime.domain import OrderStatus, SessionStatus, TradeEventType
from trading_runtime.store.jsonable import to_jsonable
from trading_runtime.store.operations import (
    EndSession,
    LedgerOperation,
    RecordAccount,
    RecordDecisions,
    RecordEngineEvent,
    RecordHolds,
    RecordOrderRejected,
    RecordOrderSubmitted,
    RecordOrderUpdate,
    RecordPositions,
    SpoolFormatError,
    dump_operation,
    load_operation,
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
        "at": "2026-01-02T15:00:00Z",
        "status": "filled",
        "undefined": None,
        "key": "**********",
        "7": [1, 2],
    }
    assert type(result["accuracy"]) is float and type(result["n"]) is int
    json.dumps(result, allow_nan=False)  # strict JSON, storable in jsonb


def test_to_jsonable_refuses_objects_without_a_json_form() -> None:
    with pytest.raises((TypeError, ValueError), match="object"):
        to_jsonable({"model": object()})


def _every_operation() -> list[LedgerOperation]:
    order = b.intent(qty="0.123456789", limit_price="187.0012")
    partial = b.fill_update(order, "exec-1", "0.1", "187.0001", "0.1", "187.0001", b.at(0, 2))
    return [
        RecordDecisions(1, (b.decision(order=order, p_up=0.1 + 0.2), b.decision("MSFT", 1))),
        RecordHolds(
            1,
            b.at(1),
            7,
            0.75,
            ("AAPL", "MSFT"),
            (0.1, 0.2),
            (0.6, 0.7),
            (0.3, 0.1),
            (187.25, math.inf),
        ),
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
        EndSession(
            1, SessionStatus.COMPLETED, b.at(390), Decimal("100123.45"), {"fills": 3}, "closed"
        ),
    ]


@pytest.mark.parametrize("operation", _every_operation(), ids=lambda op: type(op).__name__)
def test_operations_round_trip_through_a_spool_line_exactly(operation: LedgerOperation) -> None:
    line = dump_operation(operation)
    assert b"\n" not in line
    json.loads(line)  # strict JSON: no bare NaN or Infinity
    restored = load_operation(line)
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
    restored = load_operation(dump_operation(operation))
    assert isinstance(restored, RecordOrderSubmitted)
    assert restored.decision_bar_timestamp is not None
    assert str(restored.intent.qty) == "1.000"
    assert str(restored.intent.limit_price) == "0.0001"
    assert restored.decision_bar_timestamp.utcoffset() == dt.timedelta(hours=-4)


def test_every_operation_kind_is_covered_by_the_round_trip_test() -> None:
    assert {type(op) for op in _every_operation()} == set(typing.get_args(LedgerOperation))


def test_engine_event_detail_is_normalised_at_creation_so_equality_survives_spooling() -> None:
    event = RecordEngineEvent(3, "model_reloaded", {"version": np.int64(4)}, b.at(0))
    assert event.detail == {"version": 4}
    assert isinstance(event.event_id, uuid.UUID)


def test_non_finite_probabilities_survive_the_spool() -> None:
    decision = b.decision(p_up=float("nan"))
    restored = load_operation(dump_operation(RecordDecisions(1, (decision,))))
    assert isinstance(restored, RecordDecisions)
    prediction = restored.decisions[0].prediction
    assert prediction is not None and math.isnan(prediction.p_up)


@pytest.mark.parametrize(
    "line",
    [
        b'{"v": 1, "kind": "record_account", "data": {}}',  # the previous format
        b'[3, {"kind": "record_engine_event", "session_id": 1}]',
        b'[2, {"kind": "drop_tables"}]',
        b'[2, {"kind": "record_account", "session_id": "one", "account": {}}]',
        b'[2, {"kind": "record_account", "session_id": 1, "unknown": 2}]',
        b"not json",
    ],
)
def test_malformed_spool_lines_are_refused(line: bytes) -> None:
    with pytest.raises(SpoolFormatError):
        load_operation(line)


def test_a_position_snapshot_names_its_source() -> None:
    with pytest.raises(ValueError, match="source"):
        RecordPositions(1, b.positions(), "guess", b.at(1))  # type: ignore[arg-type]


def test_a_spool_line_with_an_unknown_field_is_refused() -> None:
    line = json.loads(dump_operation(RecordAccount(1, b.account())))
    line[1]["account"]["unknown"] = 2
    with pytest.raises(SpoolFormatError, match="unknown"):
        load_operation(json.dumps(line))
