"""A restarted engine reconciles from the broker: fills that never reached the ledger are
recorded with their real execution ids, and the day's risk state is rebuilt, never reset."""

from __future__ import annotations

import asyncio
import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from tests.integration.engine.test_live_engine import (
    EARLY_CLOSE,
    LiveEngine,
    emulator,
    run_engine,
)
from tests.integration.engine.test_live_engine import (
    database as database,
)
from tests.support.emulator import API_KEY, SECRET_KEY, trading_client
from trading_runtime.adapters.alpaca.config import AlpacaEndpoints
from trading_runtime.adapters.alpaca.trading import AlpacaBroker
from trading_runtime.core.book import Book
from trading_runtime.domain import TradingMode
from trading_runtime.engine.recovery import LedgerRecoverySource, recover
from trading_runtime.marketdata import calendar
from trading_runtime.store.operations import (
    LedgerOperation,
    RecordOrderSubmitted,
    RecordOrderUpdate,
)
from trading_runtime.store.recovery import RecoveryReader
from trading_runtime.store.session_ledger import SessionLedger
from trading_runtime.store.sessions import SessionIdentity
from trading_runtime.store.writer import LedgerWriter
from trading_runtime.store.writes import LedgerRepository


def test_a_restart_records_the_fills_the_ledger_missed_and_keeps_the_buy_counts(
    database: Engine,
    tmp_path: Path,
) -> None:
    dropped: list[str] = []
    kept: list[str] = []
    hidden: list[str] = []  # the first order: the ledger never hears of it

    def lose_every_other_fill(operation: LedgerOperation) -> bool:
        """The crash: the first order and every other fill never reach the ledger."""
        if isinstance(operation, RecordOrderSubmitted):
            hidden[:] = hidden or [operation.intent.client_order_id]
            return operation.intent.client_order_id not in hidden
        if isinstance(operation, RecordOrderUpdate):
            fill = operation.update.fill
            if operation.update.order.client_order_id in hidden:
                dropped.extend([fill.execution_id] if fill else [])
                return False
            if fill is not None:
                lost = len(dropped) <= len(kept)
                (dropped if lost else kept).append(fill.execution_id)
                return not lost
        return True

    async def stop_at_minute_120(engine: LiveEngine, minute: dt.datetime) -> None:
        if engine.stats.minutes_processed == 120:
            engine.request_stop("killed")

    with emulator() as server:
        endpoints = AlpacaEndpoints.for_emulator(server.base_url, API_KEY, SECRET_KEY)
        broker = AlpacaBroker(endpoints)
        who = SessionIdentity(broker.get_account().account_id, EARLY_CLOSE, TradingMode.SIM)
        first = asyncio.run(
            run_engine(
                server,
                database,
                tmp_path / "first",
                hook=stop_at_minute_120,
                who=who,
                ledger_filter=lose_every_other_fill,
            )
        )
        assert dropped, "the threshold was chosen so the model trades"
        buys_before = {s: n for s, n in first.engine.book.buys_today.items() if n}  # type: ignore[union-attr]
        recorded = {f.execution_id for f in first.ledger.fills_for_session(first.session_id)}
        assert not recorded & set(dropped)
        orders = {o.client_order_id for o in first.ledger.orders_for_session(first.session_id)}
        assert hidden and not orders & set(hidden)
        broker_positions = {
            p.symbol: Decimal(p.qty) for p in trading_client(server).get_all_positions()
        }

        source = LedgerRecoverySource(
            RecoveryReader(database),
            who,
            since=calendar.session(EARLY_CLOSE).open - dt.timedelta(hours=1),
            recovered_sessions=(first.session_id,),
        )
        restarted, second_pass = asyncio.run(
            _recover_twice(source, broker, database, tmp_path / "second", first.session_id)
        )

    result, book = restarted
    assert sorted(result.fills_recorded) == sorted(dropped)
    assert result.orders_recorded == hidden
    orders = {o.client_order_id for o in first.ledger.orders_for_session(first.session_id)}
    assert set(hidden) <= orders
    assert result.mismatches == {}
    assert (
        second_pass.fills_recorded == [] and second_pass.orders_recorded == []
    )  # idempotent: nothing missing any more
    fills = {f.execution_id for f in first.ledger.fills_for_session(first.session_id)}
    assert set(dropped) <= fills
    assert first.ledger.net_positions_from_fills(first.session_id) == broker_positions
    assert result.buys_per_symbol == buys_before  # the buy cap counts on, not from zero
    assert book.buys_today == buys_before
    assert book.day_start_equity == Decimal(100000)


async def _recover_twice(
    source: LedgerRecoverySource,
    broker: AlpacaBroker,
    engine: Engine,
    spool: Path,
    session_id: int,
) -> tuple[tuple[Any, Book], Any]:
    writer = LedgerWriter(LedgerRepository(engine), spool)
    await writer.start()
    ledger = SessionLedger(writer, session_id)
    executor = ThreadPoolExecutor(2)

    async def in_thread(function: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(executor, function, *args)

    results = []
    try:
        for _ in range(2):
            account = broker.get_account()
            positions = broker.get_positions()
            book = Book(account.cash, positions, account.buying_power)
            result = await recover(
                source,
                broker,
                book,
                positions,
                ledger,
                in_thread,
                trading_day=EARLY_CLOSE,
                now=dt.datetime.now(dt.UTC),
            )
            await writer.flush(timeout_s=10.0)
            results.append((result, book))
    finally:
        await writer.stop(timeout_s=10.0)
        executor.shutdown()
    return results[0], results[1][0]
