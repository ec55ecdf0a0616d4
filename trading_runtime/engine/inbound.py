"""Inbound: bars validated and queued, trade updates applied to the book, the desk and the
ledger; a handler that raises trips the kill switch (never swallowed)."""

import datetime as dt
import logging
from typing import Any

from trading_runtime.domain.bars import Bar
from trading_runtime.domain.orders import OrderUpdated
from trading_runtime.engine.base import EngineBase
from trading_runtime.engine.minutes import ONE_MINUTE
from trading_runtime.store.operations import (
    RecordOrderUpdate,
)

logger = logging.getLogger(__name__)


class InboundPart(EngineBase):
    # --- inbound --------------------------------------------------------------------------
    async def _on_bar(self, bar: Bar) -> None:
        try:
            self._bar_messages += 1
            self.stats.bars_received += 1
            problems = bar.problems()
            if not problems and not self.session.contains_bar(bar.timestamp):
                problems = ["outside the regular session"]
            if not problems and bar.symbol not in self._known_symbols:
                problems = ["not subscribed"]
            if problems:
                await self._on_rejected_bar(bar, ", ".join(problems))
                return
            self._latest_bar[bar.symbol] = max(
                bar.timestamp, self._latest_bar.get(bar.symbol, bar.timestamp)
            )
            if self._since_reconnect is not None:
                self._since_reconnect.add((bar.symbol, bar.timestamp))
            self._queue.put_nowait(bar)
        except Exception as error:
            self.kill_switch.handler_failed("bar", error)

    async def _on_market_data_reconnect(self) -> None:
        """The data stream reconnected (alpaca-py retries with backoff): on the wall clock,
        the bars missed while it was down come from the REST history (replays lose none)."""
        self.stats.stream_reconnects += 1
        if self._on_wall_clock and self._history is not None and self._since_reconnect is None:
            self._since_reconnect = set()  # bars the new connection delivers meanwhile
            reconnected_at = self._clock.now()
            seen = dict(self._latest_bar)
            self._tasks.spawn(self._backfill(seen, reconnected_at), "market-data-backfill")

    async def _backfill(self, seen: dict[str, dt.datetime], reconnected_at: dt.datetime) -> None:
        """Queue the history's bars newer than the last one each symbol had before the drop,
        up to the minute before the reconnection, except those the new connection delivered:
        a minute not closed yet gets them before its decision, a closed one is amended
        (``Arrival.LATE``)."""
        assert self._history is not None
        last = reconnected_at.replace(second=0, microsecond=0) - ONE_MINUTE
        first = min((t + ONE_MINUTE for t in seen.values()), default=self.session.open)
        first = max(first, self.session.open)
        added = 0
        try:
            if first <= last:
                bars = await self._in_thread(self._history, self.config.subscribed, first, last)
                delivered = self._since_reconnect or set()
                for bar in bars:
                    known = seen.get(bar.symbol)
                    if (known is not None and bar.timestamp <= known) or (
                        (bar.symbol, bar.timestamp) in delivered
                    ):
                        continue
                    if bar.problems() or not self.session.contains_bar(bar.timestamp):
                        continue
                    self._queue.put_nowait(bar)
                    added += 1
        finally:
            self._since_reconnect = None
        self.stats.bars_backfilled += added
        self._event("market_data_backfilled", {"from": first, "through": last, "bars": added})

    async def _on_malformed_bar(self, raw: Any, reason: str) -> None:
        self._bar_messages += 1
        await self._on_rejected_bar(raw, reason)

    async def _on_rejected_bar(self, raw: Any, reason: str) -> None:
        self.stats.bars_rejected += 1
        description = repr(raw)[:300]
        logger.warning("bar rejected (%s): %s", reason, description)
        self._event("bar_rejected", {"reason": reason, "bar": description})

    async def _on_trade_update(self, update: OrderUpdated) -> None:
        """Book, desk and ledger; any error here means the book may be wrong: the kill
        switch trips (never swallowed)."""
        try:
            self._apply_update(update)
        except Exception as error:
            self.kill_switch.handler_failed("trade update", error)

    def _apply_update(self, update: OrderUpdated) -> None:
        assert self.book is not None and self.desk is not None
        client_order_id = update.order.client_order_id
        self.desk.heard_from(client_order_id)
        model_version_id = self.desk.model_of(client_order_id)
        if not self.book.on_update(update, self.config.trading_day):
            self.stats.duplicate_updates += 1
            return
        if update.fill is not None:
            self.stats.fills += 1
        if client_order_id not in self.book.working:
            self._order_done(client_order_id)
        self._ledger.submit(RecordOrderUpdate(self._ledger.session_id, update, model_version_id))

    def _order_done(self, client_order_id: str) -> None:
        """An order stopped working (final, refused or not placed): stop waiting for it."""
        assert self.book is not None
        self._immediate.discard(client_order_id)
        if not self._immediate:
            self._immediate_settled.set()
        if not self.book.working:
            self._orders_settled.set()
