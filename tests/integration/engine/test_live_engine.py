"""The live engine against the Alpaca emulator through the real alpaca-py clients, with the
ledger and the registry in Postgres."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.support import store_builders
from tests.support.emulator import API_KEY, SECRET_KEY, trading_client
from tests.support.models import register_champion
from trading_runtime.adapters.alpaca.config import AlpacaEndpoints
from trading_runtime.adapters.alpaca.data_stream import BarStream
from trading_runtime.adapters.alpaca.trade_updates import TradeUpdateStream
from trading_runtime.adapters.alpaca.trading import AlpacaBroker
from trading_runtime.core.minute import DecisionConfig
from trading_runtime.domain import Action
from trading_runtime.domain.orders import OrderUpdated
from trading_runtime.engine.broker_connection import EmulatorPacer
from trading_runtime.engine.live import (
    EngineConfig,
    EngineReport,
    EngineStartError,
    LiveEngine,
    MarketDataStalledError,
    SessionKilledError,
)
from trading_runtime.engine.minutes import MarketProgress
from trading_runtime.engine.observer import take_snapshot
from trading_runtime.engine.orders import OrderDeskConfig
from trading_runtime.engine.recovery import RecoverySource
from trading_runtime.engine.runner import RegistryModelSource
from trading_runtime.sim import EmulatorConfig, EmulatorServer, Pacing
from trading_runtime.sim.config import FaultConfig
from trading_runtime.sim.control import EmulatorControl
from trading_runtime.store.operations import LedgerOperation
from trading_runtime.store.reads import LedgerReader
from trading_runtime.store.registry import ModelRegistry
from trading_runtime.store.session_ledger import SessionLedger
from trading_runtime.store.sessions import SessionIdentity
from trading_runtime.store.writer import LedgerWriter
from trading_runtime.store.writes import LedgerRepository
from trading_runtime.strategy.rules import StrategyConfig

EARLY_CLOSE = dt.date(2026, 11, 27)  # 210 minutes: a whole session replays in about a second
SYMBOLS = ("SPY", "AAPL", "MSFT", "NVDA")
TRADED = SYMBOLS[1:]

Hook = Callable[[LiveEngine, dt.datetime], Awaitable[None]]


class HookedPacer:
    """Acks each minute to the emulator, after running a test hook (stop, promote...)."""

    def __init__(self, inner: EmulatorPacer, hook: Hook | None) -> None:
        self.inner = inner
        self.hook = hook
        self.engine: LiveEngine | None = None

    async def minute_done(self, bar_timestamp: dt.datetime) -> MarketProgress:
        if self.hook is not None and self.engine is not None:
            await self.hook(self.engine, bar_timestamp)
        return await self.inner.minute_done(bar_timestamp)


class FilteredLedger(SessionLedger):
    def __init__(
        self,
        writer: LedgerWriter,
        session_id: int,
        keep: Callable[[LedgerOperation], bool] | None,
    ) -> None:
        super().__init__(writer, session_id)
        self.keep = keep

    def submit(self, operation: LedgerOperation) -> None:
        if self.keep is None or self.keep(operation):
            super().submit(operation)


def _filtered(
    on_update: Callable[[OrderUpdated], Awaitable[None]],
    keep: Callable[[OrderUpdated], bool] | None,
) -> Callable[[OrderUpdated], Awaitable[None]]:
    """The trade stream as a flaky connection delivers it: updates ``keep`` refuses are lost."""

    async def deliver(update: OrderUpdated) -> None:
        if keep is None or keep(update):
            await on_update(update)

    return deliver


@dataclass
class Session:
    report: EngineReport
    session_id: int
    ledger: LedgerReader
    engine: LiveEngine
    unwritten: int


def emulator(**overrides: Any) -> EmulatorServer:
    config: dict[str, Any] = {
        "session_date": EARLY_CLOSE,
        "symbols": SYMBOLS,
        "api_key": API_KEY,
        "secret_key": SECRET_KEY,
        "pacing": Pacing.LOCKSTEP,
        "ack_timeout_s": 10.0,
    }
    config.update(overrides)
    return EmulatorServer(EmulatorConfig(**config))


async def run_engine(
    server: EmulatorServer,
    database: Engine,
    spool: Path,
    *,
    hook: Hook | None = None,
    buy_threshold: float = 0.5,
    cancel_open_orders_on_stop: bool = True,
    model_poll_interval_s: float = 30.0,
    idle_timeout_s: float = 5.0,
    who: SessionIdentity | None = None,
    ledger_filter: Callable[[LedgerOperation], bool] | None = None,
    recovery: RecoverySource | None = None,
    traded: tuple[str, ...] = TRADED,
    update_filter: Callable[[OrderUpdated], bool] | None = None,
    orders: OrderDeskConfig | None = None,
) -> Session:
    """``ledger_filter`` drops the writes it refuses (a crash before they were flushed)."""
    registry = ModelRegistry(database)
    session_id = store_builders.open_session(
        database,
        who,
        session_key=f"test-{spool.name}",
        started_at=dt.datetime.now(dt.UTC),
        symbols=list(SYMBOLS),
    )
    writer = LedgerWriter(LedgerRepository(database), spool)
    await writer.start()
    endpoints = AlpacaEndpoints.for_emulator(server.base_url, API_KEY, SECRET_KEY)
    pacer = HookedPacer(EmulatorPacer(EmulatorControl(server.base_url, API_KEY, SECRET_KEY)), hook)
    engine = LiveEngine(
        EngineConfig(
            trading_day=EARLY_CLOSE,
            symbols=traded,
            reference_symbol="SPY",
            session_key=f"test-{spool.name}",
            decision=DecisionConfig(strategy=StrategyConfig(buy_threshold=buy_threshold)),
            minute_grace_s=0.5,
            idle_timeout_s=idle_timeout_s,
            model_poll_interval_s=model_poll_interval_s,
            cancel_open_orders_on_stop=cancel_open_orders_on_stop,
            final_updates_timeout_s=5.0,
            **({"orders": orders, "in_flight_check_s": 0.2} if orders else {}),
        ),
        broker=AlpacaBroker(endpoints),
        market_data=lambda on_bar, on_rejected: BarStream(
            endpoints, list(SYMBOLS), on_bar, on_rejected
        ),
        trade_updates=lambda on_update: TradeUpdateStream(
            endpoints, _filtered(on_update, update_filter)
        ),
        models=RegistryModelSource(registry),
        ledger=FilteredLedger(writer, session_id, ledger_filter),
        pacer=pacer,
        recovery=recovery,
    )
    pacer.engine = engine
    try:
        try:
            report = await engine.run()
        except (MarketDataStalledError, SessionKilledError):
            report = engine.last_report
    finally:
        await pacer.inner.close()
        unwritten = await writer.stop(timeout_s=10.0)
    return Session(report, session_id, LedgerReader(database), engine, unwritten)


@pytest.fixture
def database(engine: Engine) -> Engine:
    register_champion(ModelRegistry(engine))
    return engine


def test_a_whole_session_trades_and_the_ledger_adds_up(database: Engine, tmp_path: Path) -> None:
    with emulator() as server:
        session = asyncio.run(run_engine(server, database, tmp_path / "spool"))
        broker_positions = {
            p.symbol: Decimal(p.qty) for p in trading_client(server).get_all_positions()
        }
        account = trading_client(server).get_account()

    report = session.report
    assert report.status == "completed" and report.reason == "session closed"
    assert session.unwritten == 0
    assert report.stats["minutes_processed"] == 210
    assert report.stats["orders_submitted"] > 0, "the threshold was chosen so the model trades"
    final = take_snapshot(session.engine, session.session_id, dt.datetime.now(dt.UTC), final=True)
    assert final is not None and final.orders_submitted == report.stats["orders_submitted"]
    ledger = session.ledger
    assert ledger.net_positions_from_fills(session.session_id) == broker_positions
    summary = ledger.session_summary(session.session_id)
    assert summary.decision_count == 210 * len(TRADED)
    assert summary.fill_count == report.stats["fills"]
    cash_flow = sum((a.net_cash_flow for a in summary.activity.values()), Decimal(0))
    assert Decimal(account.cash) == Decimal("100000") + cash_flow
    assert all(order.model_version_id is not None for order in summary.orders)
    decisions = ledger.decisions_for_session(session.session_id)
    warming = [d for d in decisions if d["action"] == Action.SKIP.value]
    assert len(warming) == 29 * len(TRADED)  # the 30th bar completes every feature


def test_bad_bars_are_rejected_and_the_session_carries_on(database: Engine, tmp_path: Path) -> None:
    faults = FaultConfig(malformed_bar_probability=0.02, duplicate_bar_probability=0.02, seed=3)
    with emulator(faults=faults) as server:
        session = asyncio.run(run_engine(server, database, tmp_path / "spool"))
    report = session.report
    assert report.status == "completed"
    assert report.stats["bars_rejected"] > 0
    events = session.ledger.engine_events(session.session_id)
    assert any(e["kind"] == "bar_rejected" for e in events)


def test_broker_rejections_are_recorded_and_release_the_book(
    database: Engine, tmp_path: Path
) -> None:
    faults = FaultConfig(reject_symbols=frozenset(TRADED))
    with emulator(faults=faults) as server:
        session = asyncio.run(run_engine(server, database, tmp_path / "spool"))
    report = session.report
    assert report.stats["orders_rejected"] > 0 and report.stats["fills"] == 0
    orders = session.ledger.orders_for_session(session.session_id)
    assert orders and all(o.status == "rejected" and o.reject_message for o in orders)
    assert session.engine.book is not None and not session.engine.book.working


def test_a_stop_request_shuts_down_in_order(database: Engine, tmp_path: Path) -> None:
    async def stop_at_minute_60(engine: LiveEngine, minute: dt.datetime) -> None:
        if engine.stats.minutes_processed == 60:
            engine.request_stop("operator stop")

    with emulator() as server:
        client = trading_client(server)
        session = asyncio.run(
            run_engine(server, database, tmp_path / "spool", hook=stop_at_minute_60)
        )
        open_orders = client.get_orders()
    assert session.report.status == "interrupted"
    assert session.report.reason == "operator stop"
    assert session.report.stats["minutes_processed"] == 60
    assert open_orders == []
    with database.connect() as connection:
        kinds = {row[0] for row in connection.execute(text("select kind from engine_events"))}
    assert {"session_started", "session_stopped"} <= kinds


def test_a_newly_promoted_model_is_picked_up_without_a_restart(
    database: Engine, tmp_path: Path
) -> None:
    registry = ModelRegistry(database)
    first = registry.champion_id()
    second = register_champion(registry, seed=11, name="second")

    async def promote_at_minute_100(engine: LiveEngine, minute: dt.datetime) -> None:
        if engine.stats.minutes_processed == 100:
            registry.promote(second, actor="test", reason="hot reload")
            await engine.check_for_new_model()

    registry.rollback(actor="test", reason="start from the first model")
    assert registry.champion_id() == first
    with emulator() as server:
        session = asyncio.run(
            run_engine(server, database, tmp_path / "spool", hook=promote_at_minute_100)
        )
    assert session.report.model_version_id == second
    assert session.report.stats["model_reloads"] == 1
    decisions = session.ledger.decisions_for_session(session.session_id)
    versions_by_minute = {
        d["bar_timestamp"]: d["model_version_id"] for d in decisions if d["model_version_id"]
    }
    ordered = [versions_by_minute[t] for t in sorted(versions_by_minute)]
    switch = ordered.index(second)
    assert set(ordered[:switch]) == {first} and set(ordered[switch:]) == {second}


def test_market_data_that_stops_before_the_close_fails_the_session(
    database: Engine, tmp_path: Path
) -> None:
    with emulator(minute_count=45) as server:
        session = asyncio.run(run_engine(server, database, tmp_path / "spool", idle_timeout_s=1.0))
    assert session.report.status == "failed"
    assert "no market data" in session.report.reason
    assert session.report.stats["minutes_processed"] == 45
    assert session.ledger.engine_events(session.session_id, kind="session_stopped")


def test_a_trade_update_handler_error_fails_the_session_with_the_reason(
    database: Engine, tmp_path: Path
) -> None:
    async def corrupt_the_book_at_minute_40(engine: LiveEngine, minute: dt.datetime) -> None:
        if engine.stats.minutes_processed == 40:

            def broken(update: Any, trading_day: Any = None) -> bool:
                raise RuntimeError("book corrupted")

            engine.book.on_update = broken  # type: ignore[method-assign,union-attr]

    with emulator() as server:
        session = asyncio.run(
            run_engine(server, database, tmp_path / "spool", hook=corrupt_the_book_at_minute_40)
        )
    report = session.report
    assert report.status == "failed"
    assert "trade update handler failed: RuntimeError: book corrupted" in report.reason
    assert report.stats["handler_errors"] >= 1
    assert report.stats["minutes_processed"] < 210
    [stopped] = session.ledger.engine_events(session.session_id, kind="session_stopped")
    assert stopped["detail"]["status"] == "failed"


def test_a_symbol_the_broker_does_not_list_is_refused(database: Engine, tmp_path: Path) -> None:
    with emulator() as server, pytest.raises(EngineStartError) as refused:
        asyncio.run(run_engine(server, database, tmp_path / "spool", traded=("AAPL", "ZZZZ")))
    assert str(refused.value) == "symbols the broker will not trade: ZZZZ (unknown to the broker)"


def test_an_invalid_symbol_is_refused_before_trading(database: Engine, tmp_path: Path) -> None:
    with emulator() as server, pytest.raises(EngineStartError, match="DROP TABLE"):
        asyncio.run(
            run_engine(server, database, tmp_path / "spool", traded=("AAPL", "AAPL;DROP TABLE"))
        )


def test_fills_the_trade_stream_lost_are_caught_up_from_the_broker(
    database: Engine, tmp_path: Path
) -> None:
    fills: list[str] = []
    lost: list[str] = []

    def lose_every_third_fill(update: OrderUpdated) -> bool:
        if update.fill is None:
            return True
        fills.append(update.fill.execution_id)
        if len(fills) % 3 == 1:
            lost.append(update.fill.execution_id)
            return False
        return True

    async def slow_minutes(engine: LiveEngine, minute: dt.datetime) -> None:
        await asyncio.sleep(0.01)  # room for the in-flight check between minutes

    with emulator() as server:
        session = asyncio.run(
            run_engine(
                server,
                database,
                tmp_path / "spool",
                hook=slow_minutes,
                update_filter=lose_every_third_fill,
                orders=OrderDeskConfig(stale_order_s=0.2),
            )
        )
        broker_positions = {
            p.symbol: Decimal(p.qty) for p in trading_client(server).get_all_positions()
        }
    report = session.report
    assert lost, "the threshold was chosen so the model trades"
    assert report.status == "completed", report.reason
    assert len(lost) >= 2 and report.stats["fills_caught_up"] == len(lost)
    # A lost IOC fill leaves the next minute deciding on the book as is: counted, not hidden.
    assert report.stats["unsettled_minutes"] >= 1
    recorded = {f.execution_id for f in session.ledger.fills_for_session(session.session_id)}
    assert set(lost) <= recorded  # with the broker's execution ids
    assert session.ledger.net_positions_from_fills(session.session_id) == broker_positions
