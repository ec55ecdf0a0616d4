"""Start (symbols checked, book from the broker, restart recovery), reconciliation with the
broker, the orderly shutdown and the session's report."""

import asyncio
import contextlib
import datetime as dt
import logging
from dataclasses import replace
from decimal import Decimal
from typing import Any

from trading_runtime.core.book import Book
from trading_runtime.domain.enums import SessionStatus
from trading_runtime.domain.errors import TransientBrokerError
from trading_runtime.domain.portfolio import AccountSnapshot, Position
from trading_runtime.engine.base import EngineBase
from trading_runtime.engine.minutes import ONE_MINUTE
from trading_runtime.engine.orders import OrderDesk
from trading_runtime.engine.ports import (
    Stream,
)
from trading_runtime.engine.recovery import fill_update, recover
from trading_runtime.engine.report import (
    EngineReport,
    EngineStartError,
    SessionKilledError,
)
from trading_runtime.engine.symbols import InvalidSymbolsError, check_against_assets, check_format
from trading_runtime.engine.warmup import first_live_minute, warm_up
from trading_runtime.store.operations import (
    RecordAccount,
    RecordPositions,
)

logger = logging.getLogger(__name__)


class LifecyclePart(EngineBase):
    # --- start ----------------------------------------------------------------------------
    async def _start(self) -> None:
        try:
            check_format(self.config.subscribed)
        except InvalidSymbolsError as error:
            raise EngineStartError(str(error)) from None
        if not await self.check_for_new_model():
            raise EngineStartError(
                self.model_error or "no champion model in the registry: promote a model first"
            )
        try:
            clock = await self._in_thread(self._broker.get_clock)
            self._started_at = clock.timestamp
            account = await self._in_thread(self._broker.get_account, self._started_at)
            positions = await self._in_thread(self._broker.get_positions)
            open_orders = await self._in_thread(self._broker.list_open_orders)
        except Exception as error:
            raise EngineStartError(f"broker unavailable at start: {error}") from error
        await self._check_assets()
        self.book = Book(cash=account.cash, positions=positions, buying_power=account.buying_power)
        self.book.day_start_equity = account.equity
        self._starting_equity = account.equity
        for order in open_orders:
            self.book.adopt_open_order(order)
        self.desk = OrderDesk(
            self._broker,
            self._ledger,
            self.book,
            self._in_thread,
            self._now,
            self.config.orders,
            on_released=self._order_done,
            on_failure=self.kill_switch.trip,
        )
        self._record_snapshot(account, positions, self._started_at)
        if self._recovery is not None:
            await self._recover(positions)
        await self._warm_up()
        # Trade updates first, so no fill of an order we submit can be missed.
        self._trade_updates = self._trade_updates_factory(self._on_trade_update)
        await self._trade_updates.start()
        self._market_data = self._market_data_factory(self._on_bar, self._on_malformed_bar)
        if hasattr(self._market_data, "on_reconnect"):
            self._market_data.on_reconnect = self._on_market_data_reconnect
        await self._market_data.start()
        self._tasks.spawn(self._watch_models(), "model-watcher")
        self._tasks.spawn(self._watch_orders(), "in-flight-check")
        self._event(
            "session_started", {"symbols": list(self.config.symbols), "equity": str(account.equity)}
        )

    async def _check_assets(self) -> None:
        """Every symbol active and tradable at the broker (when it lists assets). A listing
        that fails (a transient error: it is large at Alpaca) is logged, not fatal."""
        assets = getattr(self._broker, "assets", None)
        if assets is None:
            return
        try:
            listed = await self._in_thread(assets)
        except TransientBrokerError as error:
            logger.warning("asset list unavailable; symbols checked by format only: %s", error)
            self._event("assets_unavailable", {"error": str(error)})
            return
        try:
            check_against_assets(self.config.subscribed, listed)
        except InvalidSymbolsError as error:
            raise EngineStartError(str(error)) from None

    async def _warm_up(self) -> None:
        """After the open, the day's bars so far warm the features (``engine.warmup``); a
        history that cannot be read leaves them cold (logged), it does not stop the session."""
        assert self._started_at is not None
        first = first_live_minute(self.session, self._started_at)
        if self._history is None or first <= self.session.open:
            return
        try:
            bars = await self._in_thread(
                self._history, self.config.subscribed, self.session.open, first - ONE_MINUTE
            )
        except Exception as error:
            logger.warning("no history to warm the features up: %s", error)
            self._event("warm_up_failed", {"error": str(error)})
            return
        minutes, used = warm_up(self.features, self.session, bars, first)
        self._first_minute = first
        self.stats.warm_up_minutes = minutes
        self._event("features_warmed_up", {"minutes": minutes, "bars": used, "until": first})

    async def _recover(self, positions: dict[str, Position]) -> None:
        """A restart: the broker's day into the ledger, the risk state rebuilt (see
        ``engine.recovery``); positions that disagree beyond the tolerance fail the session."""
        assert self.book is not None and self._recovery is not None
        try:
            result = await recover(
                self._recovery,
                self._broker,  # type: ignore[arg-type]
                self.book,
                positions,
                self._ledger,
                self._in_thread,
                trading_day=self.config.trading_day,
                now=self._now(),
                tolerance=self.config.health.position_tolerance,
            )
        except Exception as error:
            raise EngineStartError(f"could not reconcile the recovered session: {error}") from error
        self.stats.fills_recovered += len(result.fills_recorded)
        self.kill_switch.check_positions(result.mismatches)
        if self.kill_switch.reason is not None:
            raise SessionKilledError(self.kill_switch.reason)

    async def _reconcile(self, *, final: bool = False) -> None:
        """Adopt and record the broker's positions and cash.

        Mid-session only when no order is in flight (until its fill arrives the book and the
        broker legitimately differ); at the end always, after the working orders settled.
        """
        assert self.book is not None
        if self.book.working and not final:
            return
        when = self._now()
        try:
            await self._catch_up_fills()
            account = await self._in_thread(self._broker.get_account, when)
            positions = await self._in_thread(self._broker.get_positions)
        except Exception as error:
            if not final:
                logger.warning("reconciliation skipped: %s", error)
                return
            logger.error("final reconciliation failed: %s", error)
            self._event("final_reconciliation_failed", {"error": str(error)})
            self._ledger.submit(
                RecordPositions(
                    self._ledger.session_id, self._with_flat(self.book.positions), "ledger", when
                )
            )
            return
        if self.book.working and not final:
            return  # an order started while we were asking
        if not self.book.working:
            differences = self.book.sync_positions(positions)
            if differences:
                self.stats.reconciliation_mismatches += len(differences)
                detail = {
                    s: {"book": str(mine), "broker": str(theirs)}
                    for s, (mine, theirs) in differences.items()
                }
                logger.warning("positions differed from the broker: %s", detail)
                self._event("position_mismatch", detail)
                tolerance = self.config.health.position_tolerance
                self.kill_switch.check_positions(
                    {s: d for s, d in differences.items() if abs(d[0] - d[1]) > tolerance}
                )
        self.book.sync_account(account)
        self._record_snapshot(account, positions, when)

    async def _catch_up_fills(self) -> None:
        """Executions the broker lists that no trade update brought (a dropped trade stream):
        applied to the book and recorded in the ledger with their execution ids, before the
        positions are compared. A broker that lists no executions is left to the comparison."""
        assert self.book is not None and self._started_at is not None
        orders_since = getattr(self._broker, "orders_since", None)
        fills_since = getattr(self._broker, "fills_since", None)
        if orders_since is None or fills_since is None:
            return
        since = self._recovery.since if self._recovery is not None else self._started_at
        orders = await self._in_thread(orders_since, since)
        by_broker_id = {o.broker_order_id: o for o in orders}
        client_ids = {o.broker_order_id: o.client_order_id for o in orders}
        fills = await self._in_thread(fills_since, since, client_ids)
        missed = [
            f
            for f in fills or []
            if not self.book.has_execution(f.execution_id) and f.broker_order_id in by_broker_id
        ]
        for fill in missed:
            self._apply_update(fill_update(by_broker_id[fill.broker_order_id], fill))
        if missed:
            self.stats.fills_caught_up += len(missed)
            ids = [f.execution_id for f in missed]
            logger.warning("%d executions reached us only through the broker: %s", len(ids), ids)
            self._event("fills_caught_up", {"execution_ids": ids})

    def _record_snapshot(
        self, account: AccountSnapshot, positions: dict[str, Position], when: dt.datetime
    ) -> None:
        session_id = self._ledger.session_id
        self._ledger.submit(RecordAccount(session_id, replace(account, timestamp=when)))
        self._ledger.submit(RecordPositions(session_id, self._with_flat(positions), "broker", when))

    def _with_flat(self, positions: dict[str, Position]) -> dict[str, Position]:
        """Every traded symbol, flat ones at zero, so a snapshot also says what is not held."""
        flat = {s: Position(s, Decimal(0), Decimal(0)) for s in self.config.symbols}
        return {**flat, **positions}

    # --- shutdown -------------------------------------------------------------------------
    async def _shutdown(self, status: SessionStatus, reason: str) -> None:
        await self._tasks.cancel()
        if self.desk is not None:
            await self.desk.drain(self.config.final_updates_timeout_s)
            await self.desk.close()
        if self._market_data is not None:
            await self._stop_stream(self._market_data, "market data")
        if self.book is not None:
            if self.config.cancel_open_orders_on_stop and self.book.working:
                try:
                    await self._in_thread(self._broker.cancel_all_orders)
                except Exception as error:
                    logger.error("could not cancel working orders at shutdown: %s", error)
                    self._event("cancel_on_stop_failed", {"error": str(error)})
            await self._wait_for_working_orders(self.config.final_updates_timeout_s)
            await self._reconcile(final=True)
        if self._trade_updates is not None:
            await self._stop_stream(self._trade_updates, "trade updates")
        self._event("session_stopped", {"status": status, "reason": reason, **self.stats.as_dict()})

    async def _wait_for_working_orders(self, timeout_s: float) -> None:
        assert self.book is not None
        if self.book.working:
            self._orders_settled.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._orders_settled.wait(), timeout_s)
        if self.book.working:
            self._event("orders_still_working", {"client_order_ids": sorted(self.book.working)})

    async def _stop_stream(self, stream: Stream, name: str) -> None:
        try:
            await stream.stop(self.config.stream_stop_timeout_s)
        except Exception as error:
            logger.warning("%s stream did not stop cleanly: %s", name, error)

    # --- helpers --------------------------------------------------------------------------
    def counters(self) -> dict[str, Any]:
        """Every counter of the session: the engine's, the order desk's and the kill
        switch's (the report's stats, and what status snapshots read)."""
        stats = self.stats.as_dict()
        if self.desk is not None:
            stats.update(self.desk.counts.__dict__)
            stats["orders_unresolved"] = len(self.desk.pending)
        stats.update(self.kill_switch.counts.__dict__)
        return stats

    def _report(self, status: SessionStatus, reason: str) -> EngineReport:
        book = self.book
        stats = self.counters()
        return EngineReport(
            status=status,
            reason=reason,
            stats=stats,
            model_version_id=self.model_version_id,
            starting_equity=self._starting_equity,
            ending_equity=book.equity if book else self._starting_equity,
            positions={s: p.qty for s, p in book.positions.items()} if book else {},
            last_bar=self._last_bar,
        )
