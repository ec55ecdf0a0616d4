"""State shared by the live engine's parts, and the helpers every part uses.

``LiveEngine`` (``engine.live``) is assembled from this base and one part per concern:
``engine.inbound`` (bars and trade updates in), ``engine.minute_clock`` (closing minutes on
the wall or event clock), ``engine.lifecycle`` (start, restart recovery, reconciliation,
shutdown, report); the minute step itself (features, model, strategy, risk, order desk)
stays in ``engine.live``.
"""

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any, TypeVar

from trading_runtime.core.book import Book
from trading_runtime.domain.bars import Bar
from trading_runtime.domain.orders import OrderUpdated
from trading_runtime.engine.health import KillSwitch
from trading_runtime.engine.minutes import (
    Clock,
    WallClock,
)
from trading_runtime.engine.orders import OrderDesk
from trading_runtime.engine.ports import (
    BarHandler,
    Broker,
    LedgerSink,
    ModelSource,
    NoPacing,
    Pacer,
    RejectedBarHandler,
    Stream,
    UpdateHandler,
)
from trading_runtime.engine.recovery import RecoverySource
from trading_runtime.engine.report import (
    EngineConfig,
    EngineReport,
    EngineStats,
)
from trading_runtime.engine.tasks import TaskSet
from trading_runtime.engine.warmup import History
from trading_runtime.features.spec import FEATURE_SPEC, FeatureSpec
from trading_runtime.features.streaming import StreamingFeatures
from trading_runtime.marketdata import calendar
from trading_runtime.modeling.artifact import TradingModel
from trading_runtime.store.operations import (
    RecordEngineEvent,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")


class _Stop:
    """Queue sentinel that wakes the minute processor."""


_STOP = _Stop()


class EngineBase:
    def __init__(
        self,
        config: EngineConfig,
        broker: Broker,
        market_data: Callable[[BarHandler, RejectedBarHandler], Stream],
        trade_updates: Callable[[UpdateHandler], Stream],
        models: ModelSource,
        ledger: LedgerSink,
        pacer: Pacer | None = None,
        spec: FeatureSpec = FEATURE_SPEC,
        clock: Clock | None = None,
        recovery: RecoverySource | None = None,
        history: History | None = None,
    ) -> None:
        self.config = config
        self.session = calendar.session(config.trading_day)
        self._broker = broker
        self._market_data_factory = market_data
        self._trade_updates_factory = trade_updates
        self._models = models
        self._ledger = ledger
        self._pacer = pacer or NoPacing()
        self._clock = clock or WallClock()
        self._spec = spec
        self.features = StreamingFeatures(config.subscribed, config.reference_symbol, spec)
        self._known_symbols = frozenset(self.features.symbols)  # checked for every inbound bar
        self.stats = EngineStats()
        self.book: Book | None = None
        self.model: TradingModel | None = None
        self.model_version_id: int | None = None
        self.last_report: EngineReport | None = None
        self._recovery = recovery
        self._history = history
        self._first_minute = self.session.open  # later when warmed up from history
        self._latest_bar: dict[str, dt.datetime] = {}  # newest sound bar per symbol
        self._on_wall_clock = False
        self._since_reconnect: set[tuple[str, dt.datetime]] | None = None
        self.kill_switch = KillSwitch(config.health, self._killed)
        self.desk: OrderDesk | None = None
        self._queue: asyncio.Queue[Bar | _Stop] = asyncio.Queue()
        self._stop_reason: str | None = None
        self.model_error: str | None = None  # why the last champion could not be loaded
        self._orders_settled = asyncio.Event()
        # IOC and market orders resolve as soon as they reach the market; until their updates
        # arrive the book is stale, so the next minute waits for them (briefly).
        self._immediate: set[str] = set()
        self._immediate_settled = asyncio.Event()
        self._executor = ThreadPoolExecutor(
            max_workers=config.broker_threads, thread_name_prefix="broker"
        )
        self._tasks = TaskSet(self.request_stop)
        self._market_data: Stream | None = None
        self._trade_updates: Stream | None = None
        self._last_bar: dt.datetime | None = None
        self._started_at: dt.datetime | None = None
        self._starting_equity = Decimal(0)
        self._bar_messages = 0  # every bar message the stream delivered, sound or not

    # --- public ---------------------------------------------------------------------------
    def request_stop(self, reason: str) -> None:
        """Ask the loop to stop after the minute in progress; safe to call repeatedly."""
        if self._stop_reason is None:
            self._stop_reason = reason
            logger.info("stop requested: %s", reason)
        self._queue.put_nowait(_STOP)

    def _killed(self, reason: str) -> None:
        self.request_stop(f"kill switch: {reason}")

    def _now(self) -> dt.datetime:
        """Event time: the end of the last processed bar, else the broker's time at start."""
        if self._last_bar is not None:
            return self._last_bar + dt.timedelta(minutes=1)
        return self._started_at or dt.datetime.now(dt.UTC)

    def _event(self, kind: str, detail: dict[str, Any]) -> None:
        self._ledger.submit(RecordEngineEvent(self._ledger.session_id, kind, detail, self._now()))

    async def _in_thread(self, function: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, function, *args)

    # --- implemented by the parts ------------------------------------------------------------
    async def _process_minute(self, minute: dt.datetime, bars: Sequence[Bar]) -> None:
        raise NotImplementedError

    async def _amend(self, bar: Bar) -> None:
        raise NotImplementedError

    async def _on_rejected_bar(self, raw: Any, reason: str) -> None:
        raise NotImplementedError

    async def _on_bar(self, bar: Bar) -> None:
        raise NotImplementedError

    async def _on_malformed_bar(self, raw: Any, reason: str) -> None:
        raise NotImplementedError

    async def _on_trade_update(self, update: OrderUpdated) -> None:
        raise NotImplementedError

    async def _on_market_data_reconnect(self) -> None:
        raise NotImplementedError

    def _order_done(self, client_order_id: str) -> None:
        raise NotImplementedError

    def _apply_update(self, update: OrderUpdated) -> None:
        raise NotImplementedError

    async def _catch_up_fills(self) -> None:
        raise NotImplementedError

    async def _watch_models(self) -> None:
        raise NotImplementedError

    async def check_for_new_model(self) -> bool:
        raise NotImplementedError

    async def _watch_orders(self) -> None:
        raise NotImplementedError
