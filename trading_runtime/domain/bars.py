"""One-minute bars: the only market data the decision core consumes."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

BAR_COLUMNS = (
    "symbol",
    "timestamp",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "trade_count",
    "vwap",
)


class InvalidBarError(ValueError):
    """A bar that must never reach features or the model (NaN, non-positive, high < low...)."""


@dataclass(frozen=True, slots=True)
class Bar:
    """A one-minute OHLCV bar, labelled by the start of its minute (UTC, tz-aware)."""

    symbol: str
    timestamp: dt.datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    trade_count: float | None = None
    vwap: float | None = None

    def problems(self) -> list[str]:
        """Every reason this bar is unusable; empty when it is sound."""
        reasons: list[str] = []
        if not self.symbol:
            reasons.append("empty symbol")
        if self.timestamp.tzinfo is None:
            reasons.append("naive timestamp")
        prices = (self.open, self.high, self.low, self.close)
        if any(not isinstance(p, (int, float)) or math.isnan(p) or math.isinf(p) for p in prices):
            reasons.append("non-finite price")
            return reasons
        if min(prices) <= 0:
            reasons.append("non-positive price")
        if self.high < self.low:
            reasons.append("high below low")
        elif not (self.low <= self.open <= self.high and self.low <= self.close <= self.high):
            reasons.append("open/close outside high-low range")
        if math.isnan(self.volume) or self.volume < 0:
            reasons.append("negative or missing volume")
        return reasons

    def validated(self) -> Bar:
        """Return self, or raise :class:`InvalidBarError` naming every problem."""
        reasons = self.problems()
        if reasons:
            raise InvalidBarError(f"{self.symbol} {self.timestamp}: {', '.join(reasons)}")
        return self
