"""Corporate actions that move raw prices: stock splits.

Bars are stored unadjusted (``adjustment=raw``), so on a split's effective date a symbol's
raw prices jump by the split ratio overnight. Intraday features and labels never see it
(windows and labels stay inside a session); whatever holds positions across sessions (a
venue, a backtest) applies :class:`SplitEvent` to them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SplitEvent:
    """``ratio`` new shares per old share from ``effective_date`` (the first session traded
    at the new price): quantities multiply by ``ratio``, raw prices divide by it."""

    symbol: str
    effective_date: dt.date
    ratio: float

    def as_json(self) -> dict[str, object]:
        return {
            "symbol": self.symbol,
            "effective_date": self.effective_date.isoformat(),
            "ratio": self.ratio,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> SplitEvent:
        return cls(
            symbol=str(data["symbol"]),
            effective_date=dt.date.fromisoformat(str(data["effective_date"])),
            ratio=float(data["ratio"]),  # type: ignore[arg-type]
        )


def dump_splits(splits: Iterable[SplitEvent]) -> str:
    return json.dumps([s.as_json() for s in splits])


def load_splits(text: str) -> list[SplitEvent]:
    return [SplitEvent.from_json(item) for item in json.loads(text)]
