"""Enumerations shared by every layer. Values are Alpaca's wire values where one exists."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class TradingMode(StrEnum):
    SIM = "sim"
    PAPER = "paper"
    LIVE = "live"


class SessionStatus(StrEnum):
    """Lifecycle of a trading session in the ledger.

    ``running`` while an engine holds the session's lease; ``completed`` when it traded to
    the close (or its end of data); ``interrupted`` when it was stopped early (a signal, an
    operator, or a lease that expired with the session still running); ``failed`` when an
    error stopped it.
    """

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> OrderSide:
        return OrderSide.SELL if self is OrderSide.BUY else OrderSide.BUY


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class TimeInForce(StrEnum):
    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"


class OrderStatus(StrEnum):
    """Broker order states (a subset of Alpaca's, the ones the platform acts on)."""

    PENDING_NEW = "pending_new"
    ACCEPTED = "accepted"
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"
    PENDING_CANCEL = "pending_cancel"
    REPLACED = "replaced"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL_STATUSES


_TERMINAL_STATUSES = frozenset(
    {
        OrderStatus.FILLED,
        OrderStatus.CANCELED,
        OrderStatus.EXPIRED,
        OrderStatus.REJECTED,
        OrderStatus.REPLACED,
    }
)


class TradeEventType(StrEnum):
    """``event`` of an Alpaca ``trade_updates`` message."""

    NEW = "new"
    PARTIAL_FILL = "partial_fill"
    FILL = "fill"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"
    DONE_FOR_DAY = "done_for_day"
    REPLACED = "replaced"
    PENDING_NEW = "pending_new"

    @property
    def is_fill(self) -> bool:
        return self in (TradeEventType.FILL, TradeEventType.PARTIAL_FILL)


class Direction(IntEnum):
    """Model classes; the integer is the column of ``predict_proba``."""

    DOWN = 0
    FLAT = 1
    UP = 2


class Action(StrEnum):
    """What the strategy did with a prediction."""

    BUY = "buy"
    SELL = "sell"
    HOLD = "hold"
    SKIP = "skip"  # no prediction could be made (warm-up, bad data, no model)


class ModelStatus(StrEnum):
    CANDIDATE = "candidate"
    CHAMPION = "champion"
    RETIRED = "retired"
    REJECTED = "rejected"
