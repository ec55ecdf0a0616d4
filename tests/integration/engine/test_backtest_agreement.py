"""A backtest of a day and a sim session of that day (the real ``LiveEngine`` against the
emulator through alpaca-py) agree order by order: ids, statuses, fill quantities and prices,
ending cash and positions, on days with missing minutes, halted symbols, partial fills and
cancels (one decision core, one venue). Both outcomes also pass the independent checks of
``tests.support.venue_checks``, which is what catches a bug in the code the two paths share.

The days are the synthetic market's with bars removed: fixed cases, and generated ones
(hypothesis; a handful here, many more with ``make test-agreement``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.emulator import API_KEY, SECRET_KEY
from tests.support.models import trained_model_bytes
from tests.support.venue_checks import (
    FillRecord,
    OrderRecord,
    Outcome,
    Rules,
    backtest_outcome,
    check_invariants,
)
from trading_runtime.adapters.alpaca.config import AlpacaEndpoints
from trading_runtime.adapters.alpaca.data_stream import BarStream
from trading_runtime.adapters.alpaca.trade_updates import TradeUpdateStream
from trading_runtime.adapters.alpaca.trading import AlpacaBroker
from trading_runtime.backtest.replay import BacktestConfig, run_backtest
from trading_runtime.core.minute import DecisionConfig
from trading_runtime.domain.orders import OrderIntent, OrderUpdated
from trading_runtime.engine.broker_connection import EmulatorPacer
from trading_runtime.engine.live import EngineConfig, LiveEngine
from trading_runtime.features.batch import compute_features
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.synthetic import SyntheticMarket
from trading_runtime.modeling.artifact import TradingModel
from trading_runtime.sim import EmulatorConfig, EmulatorServer, Pacing
from trading_runtime.sim.control import EmulatorControl
from trading_runtime.store.operations import (
    LedgerOperation,
    RecordOrderRejected,
    RecordOrderSubmitted,
    RecordOrderUpdate,
)
from trading_runtime.strategy.rules import StrategyConfig
from trading_runtime.venue import FillModelConfig, FillModelKind

DAY = dt.date(2026, 11, 27)  # an early close: 210 minutes
SYMBOLS = ("SPY", "AAPL", "MSFT", "NVDA")
SESSION_KEY = "agreement"
ID_SEED = 11
DECISION = DecisionConfig(strategy=StrategyConfig(buy_threshold=0.5))
PARTICIPATION = FillModelConfig(max_participation=Decimal("0.002"))
PAPER = FillModelConfig(kind=FillModelKind.PAPER, partial_fill_probability=0.4, seed=3)


@dataclasses.dataclass(frozen=True)
class SparseDay:
    """The synthetic day with ``drop_fraction`` of its bars removed at random (``seed``) and
    each ``(symbol, first minute, minutes)`` halt silencing a symbol for a stretch. The last
    two minutes stay whole, so the session ends the same way on both paths."""

    drop_fraction: float = 0.0
    halts: tuple[tuple[str, int, int], ...] = ()
    seed: int = 0

    def bars(self) -> pd.DataFrame:
        bars = SyntheticMarket(7).day_bars(DAY, list(SYMBOLS))
        session = calendar.session(DAY)
        index = ((bars["timestamp"] - session.open) / pd.Timedelta(minutes=1)).astype(int)
        drop = np.random.default_rng(self.seed).random(len(bars)) < self.drop_fraction
        for symbol, first, length in self.halts:
            drop |= (bars["symbol"] == symbol).to_numpy() & index.between(
                first, first + length - 1
            ).to_numpy()
        drop &= (index < session.minutes - 2).to_numpy()
        return bars[~drop].reset_index(drop=True)


class _Model:
    def __init__(self) -> None:
        self.model = TradingModel.from_bytes(trained_model_bytes())

    def champion_id(self) -> int:
        return 1

    def load(self, model_version_id: int) -> TradingModel:
        return self.model


class _Ledger:
    """The engine's ledger writes, kept in memory: what it sent and what came back."""

    session_id = 1

    def __init__(self) -> None:
        self.intents: dict[str, OrderIntent] = {}
        self.rejections: dict[str, str] = {}
        self.updates: list[OrderUpdated] = []

    def submit(self, operation: LedgerOperation) -> None:
        if isinstance(operation, RecordOrderSubmitted):
            self.intents[operation.intent.client_order_id] = operation.intent
        elif isinstance(operation, RecordOrderRejected):
            rejection = operation.rejection
            self.rejections[rejection.intent.client_order_id] = rejection.message
        elif isinstance(operation, RecordOrderUpdate):
            self.updates.append(operation.update)


async def _run_engine(server: EmulatorServer, ledger: _Ledger) -> None:
    endpoints = AlpacaEndpoints.for_emulator(server.base_url, API_KEY, SECRET_KEY)
    pacer = EmulatorPacer(EmulatorControl(server.base_url, API_KEY, SECRET_KEY))
    engine = LiveEngine(
        EngineConfig(
            trading_day=DAY,
            symbols=SYMBOLS[1:],
            reference_symbol="SPY",
            session_key=SESSION_KEY,
            decision=DECISION,
            # Sparse minutes: a minute's bars come in one frame, so a short grace suffices.
            minute_grace_s=0.05,
            order_settle_timeout_s=0.5,
            idle_timeout_s=10.0,
            cancel_open_orders_on_stop=False,
            final_updates_timeout_s=5.0,
        ),
        broker=AlpacaBroker(endpoints),
        market_data=lambda on_bar, on_rejected: BarStream(
            endpoints, list(SYMBOLS), on_bar, on_rejected
        ),
        trade_updates=lambda on_update: TradeUpdateStream(endpoints, on_update),
        models=_Model(),
        ledger=ledger,
        pacer=pacer,
    )
    try:
        report = await engine.run()
    finally:
        await pacer.close()
    assert report.status == "completed", report.reason


def sim_outcome(bars: pd.DataFrame, fill_model: FillModelConfig) -> Outcome:
    config = EmulatorConfig(
        session_date=DAY,
        symbols=SYMBOLS,
        api_key=API_KEY,
        secret_key=SECRET_KEY,
        pacing=Pacing.LOCKSTEP,
        ack_timeout_s=10.0,
        bar_source=lambda day, symbols: bars[bars["symbol"].isin(symbols)],
        id_seed=ID_SEED,
        fill_model=fill_model,
    )
    ledger = _Ledger()
    with EmulatorServer(config) as server:
        asyncio.run(_run_engine(server, ledger))
        server.wait_finished()
        venue = server.emulator.venue
        outcome = Outcome(
            cash=venue.account.cash,
            positions={p.symbol: p.qty for p in venue.account.sorted_positions()},
            rejections=dict(ledger.rejections),
        )
        for order in venue.orders():
            intent = ledger.intents[order.client_order_id]
            outcome.orders[order.client_order_id] = OrderRecord(
                client_order_id=order.client_order_id,
                order_id=order.id,
                symbol=order.symbol,
                side=order.side.value,
                order_type=order.order_type.value,
                time_in_force=order.time_in_force.value,
                qty=order.qty or Decimal(0),
                limit_price=order.limit_price,
                decided_at=intent.created_at,
                status=order.status.value,
                filled_qty=order.filled_qty,
            )
    for update in ledger.updates:
        if update.fill is not None:
            fill = update.fill
            outcome.fills[fill.execution_id] = FillRecord(
                execution_id=fill.execution_id,
                client_order_id=fill.client_order_id,
                symbol=fill.symbol,
                side=fill.side.value,
                qty=fill.qty,
                price=fill.price,
                timestamp=fill.timestamp,
            )
    return outcome


def backtest(bars: pd.DataFrame, fill_model: FillModelConfig, decision: DecisionConfig = DECISION):
    config = BacktestConfig(
        decision=decision, fill_model=fill_model, session_key=SESSION_KEY, id_seed=ID_SEED
    )
    model = TradingModel.from_bytes(trained_model_bytes())
    return run_backtest(bars, compute_features(bars), model, 1, config)


def rules(fill_model: FillModelConfig, cap: Decimal = Decimal("0.20")) -> Rules:
    return Rules(
        starting_cash=Decimal(100000),
        slippage_bps=Decimal(2),
        spread_range_fraction=Decimal("0.05"),
        max_participation=fill_model.max_participation
        if fill_model.kind is FillModelKind.PARTICIPATION
        else None,
        max_position_fraction=cap,
    )


def assert_agreement(day: SparseDay, fill_model: FillModelConfig) -> tuple[Outcome, Outcome]:
    bars = day.bars()
    replayed = backtest_outcome(backtest(bars, fill_model))
    live = sim_outcome(bars, fill_model)
    assert live.orders, "the threshold was chosen so the model trades"
    assert live.comparable() == replayed.comparable()
    check_invariants(replayed, bars, rules(fill_model))
    check_invariants(live, bars, rules(fill_model))
    return live, replayed


def statuses(outcome: Outcome) -> set[str]:
    return {order.status for order in outcome.orders.values()}


def test_a_whole_day_agrees_order_by_order() -> None:
    live, _ = assert_agreement(SparseDay(), FillModelConfig())
    assert "filled" in statuses(live)


def test_missing_minutes_halts_and_participation_partial_fills_agree() -> None:
    day = SparseDay(drop_fraction=0.15, halts=(("AAPL", 40, 8), ("NVDA", 120, 6)), seed=4)
    live, _ = assert_agreement(day, PARTICIPATION)
    partial = [o for o in live.orders.values() if 0 < o.filled_qty < o.qty]
    assert partial, "the participation cap leaves IOC remainders to cancel"
    assert "canceled" in statuses(live)


def test_paper_model_random_partial_fills_agree_on_a_sparse_day() -> None:
    live, _ = assert_agreement(SparseDay(drop_fraction=0.1, seed=2), PAPER)
    fills_per_order: dict[str, int] = {}
    for fill in live.fills.values():
        fills_per_order[fill.client_order_id] = fills_per_order.get(fill.client_order_id, 0) + 1
    assert any(o.filled_qty < o.qty for o in live.orders.values() if o.filled_qty > 0) or any(
        n > 1 for n in fills_per_order.values()
    ), "the seed was chosen so some order fills partially"


sparse_days = st.builds(
    SparseDay,
    drop_fraction=st.floats(0.0, 0.3),
    halts=st.lists(
        st.tuples(st.sampled_from(SYMBOLS), st.integers(0, 190), st.integers(1, 10)), max_size=2
    ).map(tuple),
    seed=st.integers(0, 10_000),
)
fill_models = st.sampled_from([PARTICIPATION, PAPER, FillModelConfig()])
SETTINGS = {"deadline": None, "derandomize": True, "suppress_health_check": list(HealthCheck)}


@settings(max_examples=3, **SETTINGS)
@given(day=sparse_days, fill_model=fill_models)
def test_generated_sparse_days_agree(day: SparseDay, fill_model: FillModelConfig) -> None:
    assert_agreement(day, fill_model)


@pytest.mark.agreement_long
@settings(max_examples=40, **SETTINGS)
@given(day=sparse_days, fill_model=fill_models)
def test_generated_sparse_days_agree_long(day: SparseDay, fill_model: FillModelConfig) -> None:
    assert_agreement(day, fill_model)


# --- the checks catch bugs that both paths would share -----------------------------------------
def test_a_wrong_signed_slippage_is_caught_although_both_paths_would_agree() -> None:
    wrong = FillModelConfig()
    object.__setattr__(wrong, "slippage_bps", Decimal(-20))  # past the config's own validation
    bars = SparseDay(drop_fraction=0.1, seed=2).bars()
    outcome = backtest_outcome(backtest(bars, wrong))
    assert outcome.fills
    with pytest.raises(AssertionError, match="better than the open"):
        check_invariants(outcome, bars, rules(FillModelConfig()))


def test_a_position_cap_above_the_configured_one_is_caught() -> None:
    loose = DecisionConfig(
        strategy=StrategyConfig(buy_threshold=0.5, max_position_fraction=Decimal("0.6")),
        risk=dataclasses.replace(DECISION.risk, max_position_fraction=Decimal("0.6")),
    )
    bars = SparseDay().bars()
    outcome = backtest_outcome(backtest(bars, FillModelConfig(), decision=loose))
    check_invariants(outcome, bars, rules(FillModelConfig(), cap=Decimal("0.6")))
    with pytest.raises(AssertionError, match=r"above 0\.20 of equity"):
        check_invariants(outcome, bars, rules(FillModelConfig(), cap=Decimal("0.20")))


def test_cash_that_does_not_follow_the_fills_is_caught() -> None:
    bars = SparseDay().bars()
    outcome = backtest_outcome(backtest(bars, FillModelConfig()))
    check_invariants(outcome, bars, rules(FillModelConfig()))
    outcome.cash += Decimal("0.01")
    with pytest.raises(AssertionError, match="cash"):
        check_invariants(outcome, bars, rules(FillModelConfig()))
