"""Composition root of a live session: settings in, a finished (or interrupted) session out.

``run_session(settings, request)`` is synchronous and owns its event loop (the Dagster op
calls it; an ``async def`` op could not clean up on termination). It

1. resolves Postgres (embedded or configured);
2. in ``sim`` mode starts the Alpaca emulator replaying the requested session (bars from the
   lake when stored, else the synthetic market) and points every alpaca-py client at it; in
   ``paper``/``live`` mode uses Alpaca's URLs and the keys from the environment; takes the
   lease of the session's identity (the broker's account id, the day, the mode: a second
   engine is refused), opens the session in the ledger under it, keeps the lease alive,
   and starts the spooling ledger writer;
3. runs :class:`~trading_runtime.engine.live.LiveEngine`; SIGINT/SIGTERM request a graceful
   stop (orders cancelled per config, ledger flushed, sockets closed), after which
   :class:`SessionInterrupted` is raised so the caller can report the interruption;
4. closes the session in the ledger with its status and summary, also when the engine
   failed (then :class:`SessionFailed` is raised, from the engine's error).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from trading_runtime.config import ConfigurationError, Settings
from trading_runtime.domain.enums import TradingMode
from trading_runtime.engine.broker_connection import EmulatorPacer, broker_connection
from trading_runtime.engine.live import EngineConfig, EngineReport, LiveEngine
from trading_runtime.engine.observer import (
    LoggedStatus,
    SessionObserver,
    notify,
    report_status,
    take_snapshot,
)
from trading_runtime.engine.ports import Pacer
from trading_runtime.engine.session_support import (
    health_counts,
    keep_lease,
    recovery_source,
    rest_history,
    session_config,
    session_summary,
    stop_on_signals,
)
from trading_runtime.marketdata import calendar
from trading_runtime.modeling.artifact import TradingModel

logger = logging.getLogger(__name__)


class SessionInterrupted(Exception):
    """The session was stopped by a signal; it shut down cleanly and its report is attached."""

    def __init__(self, outcome: SessionOutcome) -> None:
        super().__init__(f"live session {outcome.session_id} interrupted: {outcome.report.reason}")
        self.outcome = outcome


class SessionFailed(Exception):
    """The session stopped on an error; it was shut down and closed as ``failed``."""

    def __init__(self, outcome: SessionOutcome) -> None:
        super().__init__(f"live session {outcome.session_id} failed: {outcome.report.reason}")
        self.outcome = outcome


@dataclass(frozen=True)
class SessionRequest:
    """What to run. ``trading_day`` is the replayed session in sim mode (default: the last
    completed one) and today in paper/live mode."""

    mode: TradingMode
    trading_day: dt.date | None = None
    dagster_run_id: str | None = None
    minute_grace_s: float = 2.0
    idle_timeout_s: float | None = None
    ack_timeout_s: float = 30.0
    lease_ttl_s: float = 30.0
    status_every_minutes: int = 15  # a status snapshot every N session minutes


@dataclass(frozen=True)
class SessionOutcome:
    session_id: int
    session_key: str
    mode: TradingMode
    trading_day: dt.date
    report: EngineReport
    unwritten_operations: int
    summary: dict[str, Any] = field(default_factory=dict)
    health: dict[str, int] = field(default_factory=dict)
    """What went wrong and was caught: handler errors, dead-lettered ledger writes,
    position mismatches, orders left unresolved, fills recovered after a restart, the
    writer's largest backlog (see ``engine.health``)."""


class RegistryModelSource:
    """The engine's model port over the registry (light id polls, verified artifact loads)."""

    def __init__(self, registry: Any) -> None:
        self._registry = registry

    def champion_id(self) -> int | None:
        return self._registry.champion_id()

    def load(self, model_version_id: int) -> TradingModel:
        return TradingModel.from_bytes(self._registry.load_artifact(model_version_id))


def resolve_trading_day(mode: TradingMode, requested: dt.date | None, now: dt.datetime) -> dt.date:
    if mode is TradingMode.SIM:
        day = requested or calendar.last_completed_session(now)
    else:
        today = now.astimezone(ZoneInfo(calendar.NEW_YORK)).date()
        if requested is not None and requested != today:
            raise ConfigurationError(
                f"{mode} trading runs today's session ({today}), not {requested}"
            )
        day = today
    if not calendar.is_session(day):
        raise ConfigurationError(f"{day} is not an NYSE trading day")
    if mode is not TradingMode.SIM and calendar.session(day).close <= now:
        raise ConfigurationError(f"today's session ({day}) has already closed")
    return day


def session_key_for(
    mode: TradingMode, day: dt.date, account_id: str, dagster_run_id: str | None
) -> str:
    """Paper/live keys are stable per account and day, so a restart reuses client order ids
    (the broker refuses duplicates) and re-opens the same session; each sim replay is its
    own session."""
    if mode is TradingMode.SIM:
        suffix = (dagster_run_id or uuid.uuid4().hex)[:12]
        return f"sim-{day.isoformat()}-{suffix}"
    return f"{mode.value}-{account_id}-{day.isoformat()}"


def run_session(
    settings: Settings, request: SessionRequest, observer: SessionObserver | None = None
) -> SessionOutcome:
    """Run one session to its end; raises :class:`SessionInterrupted` after a signal,
    :class:`SessionFailed` after an error, and
    :class:`~trading_runtime.store.sessions.SessionLeaseHeldError` when another engine runs
    the session of this account, day and mode. ``observer`` receives a status snapshot every
    ``request.status_every_minutes`` session minutes and at the end (default: a log line)."""
    return asyncio.run(_run(settings, request, observer or LoggedStatus()))


async def _run(
    settings: Settings, request: SessionRequest, observer: SessionObserver
) -> SessionOutcome:
    from trading_runtime.adapters.alpaca.trading import AlpacaBroker
    from trading_runtime.store.db import create_engine_for, prepare_database
    from trading_runtime.store.operations import EndSession
    from trading_runtime.store.reads import LedgerReader
    from trading_runtime.store.registry import ModelRegistry
    from trading_runtime.store.session_ledger import SessionLedger
    from trading_runtime.store.sessions import SessionIdentity, SessionLeases
    from trading_runtime.store.writer import LedgerWriter
    from trading_runtime.store.writes import LedgerRepository

    mode = request.mode
    now = dt.datetime.now(dt.UTC)
    day = resolve_trading_day(mode, request.trading_day, now)
    urls = await asyncio.to_thread(prepare_database, settings)
    database = create_engine_for(urls.trading)
    registry = ModelRegistry(database)
    leases = SessionLeases(database, ttl_s=request.lease_ttl_s)
    writer = LedgerWriter.from_settings(settings, LedgerRepository(database))
    interrupted = False
    try:
        with broker_connection(settings, mode, day, request.ack_timeout_s) as (
            endpoints,
            make_pacer,
        ):
            broker = AlpacaBroker(endpoints, timeout_s=settings.rest_timeout_s)
            account = await asyncio.to_thread(broker.get_account)
            if not account.account_id:
                raise ConfigurationError("the broker reported no account id for these keys")
            identity = SessionIdentity(account.account_id, day, mode)
            lease = await asyncio.to_thread(leases.acquire, identity, _lease_owner(request))
            for recovered in lease.recovered:
                logger.warning(
                    "session %s (%s) was left running: %s",
                    recovered.session_id,
                    recovered.session_key,
                    recovered.reason,
                )
            try:
                key = session_key_for(mode, day, identity.account_id, request.dagster_run_id)
                config = _engine_config(settings, request, day, key)
                session_id = await asyncio.to_thread(
                    leases.start_session,
                    lease,
                    session_key=key,
                    started_at=now,
                    symbols=list(config.subscribed),
                    config=session_config(settings, config),
                    dagster_run_id=request.dagster_run_id,
                    starting_equity=account.equity,
                )
                await writer.start()
                ledger = SessionLedger(writer, session_id)
                pacer = make_pacer()
                recovery = recovery_source(settings, database, lease, day, now)
                engine = _build_engine(config, broker, endpoints, registry, ledger, pacer, recovery)
                keeper = asyncio.create_task(
                    keep_lease(leases, lease, engine), name="session-lease"
                )
                status = asyncio.create_task(
                    report_status(engine, session_id, observer, request.status_every_minutes),
                    name="session-status",
                )
                failure: Exception | None = None
                with stop_on_signals(engine) as signalled:
                    try:
                        await engine.run()
                    except Exception as error:
                        failure = error  # the session is still closed in the ledger, below
                    finally:
                        keeper.cancel()
                        status.cancel()
                        [kept, watched] = await asyncio.gather(
                            keeper, status, return_exceptions=True
                        )
                        if isinstance(kept, Exception):
                            logger.error("the session lease keeper failed", exc_info=kept)
                        if isinstance(watched, Exception):
                            logger.error("the session status task failed", exc_info=watched)
                        notify(
                            observer,
                            take_snapshot(engine, session_id, dt.datetime.now(dt.UTC), final=True),
                        )
                        interrupted = signalled.is_set()
                        if isinstance(pacer, EmulatorPacer):
                            await pacer.close()
                report = engine.last_report
                if report is None:  # the engine never got to run its shutdown
                    raise failure or RuntimeError("the engine produced no report")
                ledger.submit(
                    EndSession(
                        session_id,
                        report.status,
                        dt.datetime.now(dt.UTC),
                        ending_equity=report.ending_equity,
                        summary={**report.stats, "model_version_id": report.model_version_id},
                        reason=report.reason,
                    )
                )
                unwritten = await writer.stop(timeout_s=30.0)
                health = health_counts(report.stats, writer.stats.failed)
                summary = await asyncio.to_thread(
                    session_summary, LedgerReader(database), session_id
                )
            finally:
                await asyncio.to_thread(leases.release, lease)
    finally:
        if writer.running:
            await writer.stop(timeout_s=10.0)
        database.dispose()
    outcome = SessionOutcome(session_id, key, mode, day, report, unwritten, summary, health)
    if failure is not None:
        raise SessionFailed(outcome) from failure
    if interrupted:
        raise SessionInterrupted(outcome)
    return outcome


def _engine_config(
    settings: Settings, request: SessionRequest, day: dt.date, session_key: str
) -> EngineConfig:
    return EngineConfig(
        trading_day=day,
        symbols=tuple(settings.traded_symbols),
        reference_symbol=settings.reference_symbol,
        session_key=session_key,
        decision=settings.decision_config(),
        model_poll_interval_s=settings.model_poll_interval_s,
        minute_grace_s=request.minute_grace_s,
        # A stream silent this long fails the session (SPY alone trades every minute).
        idle_timeout_s=request.idle_timeout_s
        if request.idle_timeout_s is not None
        else (60.0 if request.mode is TradingMode.SIM else 180.0),
        cancel_open_orders_on_stop=settings.cancel_open_orders_on_stop,
    )


def _lease_owner(request: SessionRequest) -> str:
    """Who holds a session's lease, for the operator reading a refusal."""
    run = f", dagster run {request.dagster_run_id}" if request.dagster_run_id else ""
    return f"{socket.gethostname()} pid {os.getpid()}{run}"


def _build_engine(
    config: EngineConfig,
    broker: Any,
    endpoints: Any,
    registry: Any,
    ledger: Any,
    pacer: Pacer,
    recovery: Any = None,
) -> LiveEngine:
    from trading_runtime.adapters.alpaca.data_stream import BarStream
    from trading_runtime.adapters.alpaca.trade_updates import TradeUpdateStream

    symbols = list(config.subscribed)
    return LiveEngine(
        config,
        broker=broker,
        market_data=lambda on_bar, on_rejected: BarStream(endpoints, symbols, on_bar, on_rejected),
        trade_updates=lambda on_update: TradeUpdateStream(endpoints, on_update),
        models=RegistryModelSource(registry),
        ledger=ledger,
        pacer=pacer,
        recovery=recovery,
        history=rest_history(endpoints),
    )
