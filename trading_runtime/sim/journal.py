"""The account's fills, recorded as they are published: what ``GET /v2/account/activities``
lists (:mod:`.activities`).

Each record parses as alpaca-py's ``alpaca.trading.models.TradeActivity``; its ``id`` is
``{YYYYMMDDHHMMSSmmm}::{execution_id}`` (the execution id of the ``trade_updates`` message,
so a client matches the two).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from trading_runtime.sim.wire import NEW_YORK, iso_utc
from trading_runtime.venue import TradeUpdateEvent, plain_decimal

MAX_PAGE_SIZE = 100
FILL = "FILL"


@dataclass(frozen=True, slots=True)
class FillActivity:
    sequence: int
    transaction_time: dt.datetime
    id: str
    body: dict[str, Any]


def activity_id(timestamp: dt.datetime, execution_id: str) -> str:
    utc = timestamp.astimezone(dt.UTC)
    return f"{utc:%Y%m%d%H%M%S}{utc.microsecond // 1000:03d}::{execution_id}"


class FillJournal:
    """Every fill and partial fill of the account, in ``transaction_time`` order."""

    def __init__(self, account_id: str) -> None:
        self._account_id = account_id
        self._fills: list[FillActivity] = []
        self._ids: set[str] = set()

    def __len__(self) -> int:
        return len(self._fills)

    def record(self, events: list[TradeUpdateEvent]) -> None:
        """Add the fills among ``events`` (every publish calls this, most with none)."""
        count = len(self._fills)
        for event in events:
            if not event.event.is_fill or event.execution_id is None:
                continue
            if event.price is None or event.qty is None:
                continue
            order = event.order
            identifier = activity_id(event.timestamp, event.execution_id)
            if identifier in self._ids:
                continue
            body = {
                "id": identifier,
                "account_id": self._account_id,
                "activity_type": FILL,
                "transaction_time": iso_utc(event.timestamp),
                "type": event.event.value,
                "price": plain_decimal(event.price),
                "qty": plain_decimal(event.qty),
                "side": order.side.value,
                "symbol": order.symbol,
                "leaves_qty": plain_decimal(order.remaining_qty),
                "order_id": order.id,
                "cum_qty": plain_decimal(order.filled_qty),
                "order_status": order.status.value,
            }
            self._append(event.timestamp, body)
        if len(self._fills) != count:
            self._sort()

    def bodies(self) -> list[dict[str, Any]]:
        return [fill.body for fill in self._fills]

    def restore(self, bodies: list[dict[str, Any]]) -> None:
        """Reload records saved by :meth:`bodies` (the emulator's ``--state`` file)."""
        for body in bodies:
            self._append(dt.datetime.fromisoformat(body["transaction_time"]), body)
        self._sort()

    def _append(self, transaction_time: dt.datetime, body: dict[str, Any]) -> None:
        self._ids.add(body["id"])
        self._fills.append(FillActivity(len(self._fills), transaction_time, body["id"], body))

    def _sort(self) -> None:
        self._fills.sort(key=lambda fill: (fill.transaction_time, fill.sequence))

    def query(
        self,
        *,
        after: dt.datetime | None = None,
        until: dt.datetime | None = None,
        day: dt.date | None = None,
        descending: bool = True,
        page_size: int | None = MAX_PAGE_SIZE,
        page_token: str | None = None,
    ) -> list[dict[str, Any]]:
        fills = [
            fill
            for fill in self._fills
            if (after is None or fill.transaction_time > after)
            and (until is None or fill.transaction_time < until)
            and (day is None or fill.transaction_time.astimezone(NEW_YORK).date() == day)
        ]
        if descending:
            fills.reverse()
        if page_token:
            position = next((i for i, f in enumerate(fills) if f.id == page_token), None)
            if position is not None:
                fills = fills[position + 1 :]
            elif descending:
                fills = [f for f in fills if f.id < page_token]
            else:
                fills = [f for f in fills if f.id > page_token]
        if page_size is not None:
            fills = fills[:page_size]
        return [fill.body for fill in fills]
