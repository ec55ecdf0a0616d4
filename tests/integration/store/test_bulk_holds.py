"""A minute of HOLDs written in bulk is stored as the same decision rows, one per symbol."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from sqlalchemy import Engine

from tests.support import store_builders as b
from tests.support.builders import portfolio
from trading_runtime.core.minute import DecisionConfig, build_predictions, decide_arrays
from trading_runtime.domain import Action
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.calendar import Session
from trading_runtime.store.operations import (
    RecordDecisions,
    RecordHolds,
    dump_operation,
    load_operation,
)
from trading_runtime.store.reads import LedgerReader
from trading_runtime.store.writes import LedgerRepository
from trading_runtime.strategy.rules import StrategyConfig

SYMBOLS = ["AAPL", "AMZN", "MSFT", "NVDA", "TSLA"]
COLUMNS = ("symbol", "bar_timestamp", "model_version_id", "p_down", "p_flat", "p_up")


def _minute(at: int = 0) -> tuple[np.ndarray, np.ndarray, dt.datetime, DecisionConfig, Session]:
    probabilities = np.array(
        [
            [0.30, 0.60, 0.10],
            [0.10, 0.12, 0.78],
            [0.50, 0.45, 0.05],
            [0.05, 0.15, 0.80],
            [0.34, 0.33, 0.33],
        ],
        dtype=np.float32,
    )
    prices = np.array([187.25, 150.5, 410.0, 900.125, 250.0])
    timestamp = b.at(at)
    config = DecisionConfig(strategy=StrategyConfig(buy_threshold=0.75))
    session = calendar.session(b.DAY)
    return probabilities, prices, timestamp, config, session


def _rows(reader: LedgerReader, session_id: int) -> list[dict[str, object]]:
    return [
        {k: row[k] for k in (*COLUMNS, "price", "action", "reason", "client_order_id")}
        for row in reader.decisions_for_session(session_id)
    ]


@pytest.fixture
def repository(engine: Engine) -> LedgerRepository:
    return LedgerRepository(engine)


def test_bulk_holds_store_what_per_row_decisions_store(
    engine: Engine, repository: LedgerRepository
) -> None:
    probabilities, prices, timestamp, config, session = _minute()
    state = portfolio()
    bulk_session, rowwise_session = b.open_session(engine), b.open_session(engine)
    decided = decide_arrays(
        SYMBOLS, timestamp, prices, probabilities, None, state, session, config, "key"
    )
    assert len(decided.held) == 3  # AMZN and NVDA are buy candidates
    repository.apply(RecordHolds.of(bulk_session, decided.held))
    holds = [
        d for d in decided.all() if d.action is Action.HOLD and d.symbol in {"AAPL", "MSFT", "TSLA"}
    ]
    repository.apply(RecordDecisions(rowwise_session, tuple(holds)))
    reader = LedgerReader(engine)
    bulk, rowwise = _rows(reader, bulk_session), _rows(reader, rowwise_session)
    assert [r["symbol"] for r in bulk] == ["AAPL", "MSFT", "TSLA"]
    assert bulk == rowwise
    assert bulk[0]["reason"] == "p_up 0.100 below 0.75"
    assert reader.decision_counts(bulk_session) == {(None, Action.HOLD): 3}


def test_bulk_holds_are_idempotent_and_a_later_decision_for_the_bar_wins(
    engine: Engine, repository: LedgerRepository
) -> None:
    session_id = b.open_session(engine)
    holds = RecordHolds(
        session_id,
        b.at(3),
        None,
        0.75,
        ("AAPL", "MSFT"),
        (0.3, 0.5),
        (0.6, 0.45),
        (0.1, 0.05),
        (187.25, float("nan")),
    )
    repository.apply(holds)
    repository.apply(holds)
    reader = LedgerReader(engine)
    rows = _rows(reader, session_id)
    assert len(rows) == 2
    assert rows[1]["price"] is None  # a non-finite price is not a price
    repository.apply(RecordDecisions(session_id, (b.decision("MSFT", 3, Action.BUY, 0.9),)))
    rows = _rows(reader, session_id)
    assert [(r["symbol"], r["action"]) for r in rows] == [("AAPL", "hold"), ("MSFT", "buy")]
    repository.apply(holds)  # as for RecordDecisions, the later write for a bar wins
    assert [r["action"] for r in _rows(reader, session_id)] == ["hold", "hold"]


def test_bulk_holds_survive_the_spool_and_refuse_ragged_columns() -> None:
    holds = RecordHolds(1, b.at(0), 4, 0.75, ("AAPL",), (0.2,), (0.7,), (0.1,), (math.inf,))
    restored = load_operation(dump_operation(holds))
    assert restored == holds
    with pytest.raises(ValueError, match="one value per symbol"):
        RecordHolds(1, b.at(0), 4, 0.75, ("AAPL", "MSFT"), (0.2,), (0.7,), (0.1,), (1.0,))


def test_expanded_holds_match_the_predictions_they_came_from() -> None:
    probabilities, prices, timestamp, config, session = _minute()
    decided = decide_arrays(
        SYMBOLS, timestamp, prices, probabilities, 7, portfolio(), session, config, "key"
    )
    expected = build_predictions(SYMBOLS, [timestamp] * 5, prices, probabilities, 7)
    by_symbol = {p.symbol: p for p in expected}
    for decision in decided.held.decisions():
        assert decision.prediction == by_symbol[decision.symbol]
