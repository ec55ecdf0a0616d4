"""Pieces of a session's run that are not its composition: the lease keeper, restart
recovery's source, the warm-up history, the health counts of the outcome, signals turned into
a stop, and what is stored with a session (its rules, its summary)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import signal
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from trading_runtime.config import Settings
from trading_runtime.domain.enums import TradingMode
from trading_runtime.engine.live import LiveEngine
from trading_runtime.engine.report import EngineConfig
from trading_runtime.marketdata import calendar

logger = logging.getLogger(__name__)


async def keep_lease(leases: Any, lease: Any, engine: LiveEngine) -> None:
    """Renew the session's lease every third of its ttl while the engine runs.

    A lost lease (another engine took the session over) stops the engine; a database that
    cannot be reached is retried at the next beat (the lease lasts until it expires).
    """
    from sqlalchemy.exc import SQLAlchemyError

    from trading_runtime.store.db_errors import describe_error
    from trading_runtime.store.sessions import SessionLeaseLostError

    interval_s = lease.ttl_s / 3
    while True:
        await asyncio.sleep(interval_s)
        try:
            lease = await asyncio.to_thread(leases.heartbeat, lease)
        except SessionLeaseLostError as error:
            logger.error("%s; stopping the session", error)
            engine.request_stop(f"session lease lost: {error}")
            return
        except SQLAlchemyError as error:
            logger.warning("session lease heartbeat failed: %s", describe_error(error))


def recovery_source(
    settings: Settings, database: Any, lease: Any, day: dt.date, now: dt.datetime
) -> Any:
    """The ledger's day for a restart: when the lease recovered sessions left running on a
    broker that outlived them (paper, live, or an external emulator; an emulator started
    here is new, with nothing to reconcile). None otherwise."""
    from trading_runtime.engine.recovery import LedgerRecoverySource
    from trading_runtime.store.recovery import RecoveryReader

    external = lease.identity.mode is not TradingMode.SIM or settings.sim_broker_url
    if not lease.recovered or not external:
        return None
    start_of_day = dt.datetime.combine(day, dt.time(), ZoneInfo(calendar.NEW_YORK))
    return LedgerRecoverySource(
        RecoveryReader(database),
        lease.identity,
        since=start_of_day.astimezone(dt.UTC),
        recovered_sessions=tuple(r.session_id for r in lease.recovered),
    )


def health_counts(stats: dict[str, Any], dead_lettered_at_stop: int) -> dict[str, int]:
    names = (
        "handler_errors",
        "dead_lettered_writes",
        "position_mismatches",
        "orders_unresolved",
        "orders_pending_confirmation",
        "fills_recovered",
        "writer_backlog_max",
    )
    health = {name: int(stats.get(name, 0)) for name in names}
    health["dead_lettered_writes"] = max(health["dead_lettered_writes"], dead_lettered_at_stop)
    return health


@contextlib.contextmanager
def stop_on_signals(engine: LiveEngine) -> Iterator[threading.Event]:
    """SIGINT/SIGTERM become a graceful stop; the previous handlers are restored after."""
    signalled = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield signalled
        return
    loop = asyncio.get_running_loop()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def stop(sig: signal.Signals) -> None:
        signalled.set()
        engine.request_stop(f"terminated by {sig.name}")

    for sig in previous:
        loop.add_signal_handler(sig, stop, sig)
    try:
        yield signalled
    finally:
        for sig, handler in previous.items():
            loop.remove_signal_handler(sig)
            signal.signal(sig, handler)


def rest_history(endpoints: Any) -> Any:
    """The engine's warm-up history (``engine.warmup.History``): the data API's bars (the
    emulator's, replaying the lake or the synthetic market, in sim mode)."""
    from trading_runtime.adapters.alpaca.history import AlpacaHistory
    from trading_runtime.features.build import _frame_to_bars

    client = AlpacaHistory(endpoints)

    def bars(symbols: Any, first: dt.datetime, last: dt.datetime) -> Any:
        return _frame_to_bars(client.bars(list(symbols), first, last))

    return bars


def session_config(settings: Settings, config: EngineConfig) -> dict[str, Any]:
    """The rules the session trades by, as stored with it (never secrets)."""
    from trading_runtime.store.jsonable import to_jsonable

    return {
        "decision": to_jsonable(config.decision),
        "cancel_open_orders_on_stop": config.cancel_open_orders_on_stop,
        "market_data_source": settings.market_data_source,
    }


def session_summary(repository: Any, session_id: int) -> dict[str, Any]:
    summary = repository.session_summary(session_id)
    return {
        "orders": summary.order_count,
        "orders_by_status": dict(summary.orders_by_status),
        "fills": summary.fill_count,
        "decisions": summary.decision_count,
        "net_positions_from_fills": {s: str(q) for s, q in summary.net_positions.items()},
        "net_cash_flow": str(sum((a.net_cash_flow for a in summary.activity.values()), Decimal(0))),
    }
