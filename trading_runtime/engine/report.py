"""What a live session is told (EngineConfig) and what it reports (EngineStats,
EngineReport), and the errors that end it before or during the minute loop."""

from __future__ import annotations

import datetime as dt
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from trading_runtime.core.minute import DecisionConfig
from trading_runtime.domain.enums import SessionStatus
from trading_runtime.engine.health import HealthLimits
from trading_runtime.engine.orders import OrderDeskConfig


class EngineStartError(RuntimeError):
    """The session cannot start (no champion model, broker unreachable, ...)."""


class MarketDataStalledError(RuntimeError):
    """Bars stopped arriving before the session's last minute (``idle_timeout_s``)."""


class SessionKilledError(RuntimeError):
    """The kill switch tripped (``engine.health``): the session fails with the reason."""


@dataclass(frozen=True)
class EngineConfig:
    trading_day: dt.date
    symbols: tuple[str, ...]
    reference_symbol: str
    session_key: str
    decision: DecisionConfig = field(default_factory=DecisionConfig)
    model_poll_interval_s: float = 30.0
    minute_grace_s: float = 2.0  # wall clock: a minute closes this long after its end
    idle_timeout_s: float | None = None
    reconcile_every_minutes: int = 30
    cancel_open_orders_on_stop: bool = True
    final_updates_timeout_s: float = 5.0
    order_settle_timeout_s: float = 1.0
    stream_stop_timeout_s: float = 10.0
    broker_threads: int = 8
    in_flight_check_s: float = 5.0  # how often working and pending orders are checked
    orders: OrderDeskConfig = field(default_factory=OrderDeskConfig)
    health: HealthLimits = field(default_factory=HealthLimits)

    @property
    def subscribed(self) -> tuple[str, ...]:
        return (self.reference_symbol, *[s for s in self.symbols if s != self.reference_symbol])


@dataclass
class EngineStats:
    bars_received: int = 0
    bars_rejected: int = 0
    bars_late: int = 0
    bars_updated: int = 0
    minutes_processed: int = 0
    quiet_minutes: int = 0
    decisions: int = 0
    buys: int = 0
    sells: int = 0
    intents_held: int = 0  # intents not sent: their symbol had an order unresolved
    fills: int = 0
    duplicate_updates: int = 0
    model_reloads: int = 0
    reconciliation_mismatches: int = 0
    stream_reconnects: int = 0
    bars_backfilled: int = 0  # bars missed while the data stream was down, from REST
    warm_up_minutes: int = 0  # minutes closed from history before the first live one
    fills_recovered: int = 0
    fills_caught_up: int = 0  # executions found at a reconciliation, missed by the stream  # executions a restart found at the broker, not in the ledger
    minute_latency_ms: deque[float] = field(default_factory=lambda: deque(maxlen=2048))

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "minute_latency_ms"}
        if self.minute_latency_ms:
            latencies = np.asarray(self.minute_latency_ms)
            data["minute_latency_p50_ms"] = float(np.percentile(latencies, 50))
            data["minute_latency_p99_ms"] = float(np.percentile(latencies, 99))
        return data


@dataclass(frozen=True)
class EngineReport:
    status: SessionStatus
    reason: str
    stats: dict[str, Any]
    model_version_id: int | None
    starting_equity: Decimal
    ending_equity: Decimal
    positions: dict[str, Decimal]
    last_bar: dt.datetime | None
