"""Running the emulator: :class:`Emulator` on the caller's event loop, :class:`EmulatorServer`
in a background thread with its own loop (for synchronous callers: the Dagster job, tests).

One port serves everything::

    http://HOST:PORT/v2/...        trading REST, GET /v2/stocks/bars, /v2/sim control
    ws://HOST:PORT/v2/iex (/sip)   market-data stream (msgpack)
    ws://HOST:PORT/stream          trading stream (JSON trade_updates in binary frames)

The server is a thin shell: orders, fills and the account live in a
:class:`~trading_runtime.venue.Venue`; REST handlers (:mod:`.rest`, :mod:`.rest_market`) call
its public methods and publish the trade updates it returns.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import logging
import secrets
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from aiohttp import web, web_app

from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.calendar import Session
from trading_runtime.sim import activities, fault_control, persistence, rest, rest_market
from trading_runtime.sim.config import EmulatorConfig
from trading_runtime.sim.faults import FaultInjector
from trading_runtime.sim.http import MIDDLEWARES
from trading_runtime.sim.journal import FillJournal
from trading_runtime.sim.market import BarHistory, SessionTape
from trading_runtime.sim.ratelimit import RateLimiter
from trading_runtime.sim.replay import EmulatorStatus, Replay
from trading_runtime.sim.state import STATE_KEY, EmulatorState
from trading_runtime.sim.streams import MarketDataHub
from trading_runtime.sim.trade_stream import TradeUpdateHub
from trading_runtime.sim.wire import account_id_for
from trading_runtime.venue import IdSource, Venue

log = logging.getLogger(__name__)

T = TypeVar("T")


class EmulatorNotRunningError(RuntimeError):
    """The emulator was used before ``start()`` or after ``stop()``."""


class Emulator:
    """The emulator on the running event loop: ``await start()``, use, ``await stop()``."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self._runner: web.AppRunner | None = None
        self._replay_task: asyncio.Task[None] | None = None
        self._base_url: str | None = None
        self._saver: persistence.Saver | None = None

    # --- lifecycle ------------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Load the session, listen on ``host:port`` (0: a free port); returns the base URL.

        Raises ``ValueError`` when the session date is not a trading day or the bar source has
        no bars for the replay window.
        """
        config = self.config
        session_date = config.session_date or calendar.last_completed_session(
            dt.datetime.now(dt.UTC)
        )
        self.session: Session = calendar.session(session_date)
        source = config.resolved_bar_source()
        frame = await asyncio.to_thread(source, session_date, list(config.symbols))
        self.tape = SessionTape.build(
            self.session, frame, first_minute=config.first_minute, minute_count=config.minute_count
        )
        if not self.tape.minutes:
            raise ValueError(f"the bar source has no bars for the replay window of {session_date}")
        self.faults = FaultInjector(config.faults)
        self.venue = Venue(
            starting_cash=config.starting_cash,
            symbols=self.tape.symbols,
            fill_model=config.effective_fill_model(),
            ids=IdSource(config.id_seed if config.id_seed is not None else secrets.randbits(64)),
            reject_symbols=config.faults.reject_symbols,
            reject_after_accept_symbols=config.faults.reject_after_accept_symbols,
        )
        self.venue.set_reference_prices(self.tape.reference_prices)
        saved = persistence.load(config.state_file, session_date) if config.state_file else None
        if saved is not None:
            self.venue = saved.venue
        self.data_hub = MarketDataHub(
            api_key=config.api_key, secret_key=config.secret_key, faults=self.faults
        )
        self.journal = FillJournal(account_id_for(config.api_key))
        if saved is not None:
            self.journal.restore(saved.fills)
        self.trade_hub = TradeUpdateHub(
            api_key=config.api_key, secret_key=config.secret_key, journal=self.journal
        )
        self.replay = Replay(
            config=config,
            tape=self.tape,
            venue=self.venue,
            data_hub=self.data_hub,
            trade_hub=self.trade_hub,
            faults=self.faults,
        )
        if saved is not None:
            self.replay.resume(saved.bars_published, saved.now)
            log.info("resumed %s after %d minutes", session_date, saved.bars_published)
        if config.state_file is not None:
            self._saver = persistence.Saver(config.state_file, self._snapshot)
            self.replay.on_minute = self._saver
        app = web.Application(middlewares=MIDDLEWARES)
        app[STATE_KEY] = EmulatorState(
            config=config,
            session=self.session,
            tape=self.tape,
            venue=self.venue,
            faults=self.faults,
            history=BarHistory(source, self.tape),
            replay=self.replay,
            data_hub=self.data_hub,
            trade_hub=self.trade_hub,
            journal=self.journal,
            rate_limiter=RateLimiter(config.rate_limit_per_minute)
            if config.rate_limit_per_minute
            else None,
            account_id=account_id_for(config.api_key),
            created_at=self.session.open - dt.timedelta(days=30),
        )
        app.add_routes(
            [
                *rest.ROUTES,
                *rest_market.ROUTES,
                *activities.ROUTES,
                *fault_control.ROUTES,
                web.get("/v2/iex", self.data_hub.handle),
                web.get("/v2/sip", self.data_hub.handle),
                web.get("/stream", self.trade_hub.handle),
            ]
        )
        app.on_shutdown.append(self._close_sockets)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self._base_url = f"http://{bound_host}:{bound_port}"
        self._replay_task = asyncio.create_task(self.replay.run(), name="sim-replay")
        self._replay_task.add_done_callback(_log_replay_failure)
        log.info("emulator for %s listening on %s", session_date, self._base_url)
        return self._base_url

    async def stop(self) -> None:
        if self._replay_task is not None:
            self._replay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._replay_task
            self._replay_task = None
        if self._saver is not None:
            self._saver(now=True)
            self._saver = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            _forget_stopped_apps()

    def _snapshot(self) -> persistence.SavedState:
        return persistence.SavedState(
            session_date=self.session.date,
            venue=self.venue,
            fills=self.journal.bodies(),
            bars_published=self.replay.bars_published,
            now=self.replay.now,
        )

    async def _close_sockets(self, _app: web.Application) -> None:
        await self.data_hub.close_all()
        await self.trade_hub.close_all()

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --- addresses ------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise EmulatorNotRunningError("the emulator has not been started")
        return self._base_url

    @property
    def data_stream_url(self) -> str:
        return self.base_url.replace("http://", "ws://", 1) + "/v2/iex"

    @property
    def trading_stream_url(self) -> str:
        return self.base_url.replace("http://", "ws://", 1) + "/stream"

    # --- control ------------------------------------------------------------------------------
    def status(self) -> EmulatorStatus:
        return self.replay.status()

    async def wait_finished(self) -> EmulatorStatus:
        await self.replay.finished.wait()
        return self.status()

    async def advance(self, bars: int = 1) -> EmulatorStatus:
        """Manual pacing: replay ``bars`` more minutes; returns when they are published."""
        await self.replay.advance(bars)
        return self.status()

    def inject_http_errors(self, status: int, count: int) -> None:
        self.faults.inject_http_errors(status, count)

    def inject_lost_order_responses(self, count: int) -> None:
        self.faults.inject_lost_order_responses(count)

    def inject_slow_requests(self, count: int, delay_s: float) -> None:
        self.faults.inject_slow_requests(count, delay_s)


def _forget_stopped_apps() -> None:
    """aiohttp caches each (handler, application) middleware chain in a process-wide LRU
    cache (``web_app._cached_build_middleware``, up to 1,024 entries), which keeps a stopped
    application, and with it the session's state and tape, alive in a long-lived process.
    The cache only saves rebuilding a chain, so clearing it is safe for running servers."""
    cached = getattr(web_app, "_cached_build_middleware", None)
    if cached is not None and hasattr(cached, "cache_clear"):
        cached.cache_clear()


def _log_replay_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the replay failed", exc_info=task.exception())


class EmulatorServer:
    """The emulator in a daemon thread with its own event loop.

    ``with EmulatorServer(config) as server: ... server.base_url ...``. Methods are safe to
    call from any thread; they run on the emulator's loop.
    """

    def __init__(self, config: EmulatorConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config
        self.emulator = Emulator(config)
        self._host = host
        self._port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._stop_requested: asyncio.Event | None = None

    def start(self, timeout_s: float = 30.0) -> EmulatorServer:
        if self._thread is not None:
            raise RuntimeError("the emulator server is already running")
        self._thread = threading.Thread(target=self._run, name="sim-emulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise TimeoutError(f"the emulator did not start within {timeout_s} s")
        if self._startup_error is not None:
            self._thread.join()
            self._thread = None
            raise self._startup_error
        return self

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_requested = asyncio.Event()
        try:
            await self.emulator.start(self._host, self._port)
        except BaseException as error:  # handed to the starting thread, which re-raises it
            self._startup_error = error
            self._ready.set()
            await self.emulator.stop()
            return
        self._ready.set()
        try:
            await self._stop_requested.wait()
        finally:
            await self.emulator.stop()

    def stop(self, timeout_s: float = 10.0) -> None:
        if self._thread is None:
            return
        loop, stop_requested = self._loop, self._stop_requested
        if loop is not None and stop_requested is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stop_requested.set)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.warning("the emulator thread did not stop within %.1f s", timeout_s)
        self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- calls into the loop ----------------------------------------------------------------------
    def _submit(self, coroutine: Coroutine[Any, Any, T], timeout_s: float | None) -> T:
        if self._loop is None or self._thread is None:
            coroutine.close()
            raise EmulatorNotRunningError("the emulator server is not running")
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(timeout_s)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"the emulator did not answer within {timeout_s} s") from None

    def _call(self, function: Callable[[], T], timeout_s: float = 10.0) -> T:
        async def run() -> T:
            return function()

        return self._submit(run(), timeout_s)

    @property
    def base_url(self) -> str:
        return self.emulator.base_url

    @property
    def data_stream_url(self) -> str:
        return self.emulator.data_stream_url

    @property
    def trading_stream_url(self) -> str:
        return self.emulator.trading_stream_url

    def status(self) -> EmulatorStatus:
        return self._call(self.emulator.status)

    def wait_finished(self, timeout_s: float = 60.0) -> EmulatorStatus:
        return self._submit(self.emulator.wait_finished(), timeout_s)

    def advance(self, bars: int = 1, timeout_s: float = 30.0) -> EmulatorStatus:
        return self._submit(self.emulator.advance(bars), timeout_s)

    def inject_http_errors(self, status: int, count: int) -> None:
        self._call(lambda: self.emulator.inject_http_errors(status, count))

    def inject_lost_order_responses(self, count: int) -> None:
        self._call(lambda: self.emulator.inject_lost_order_responses(count))

    def inject_slow_requests(self, count: int, delay_s: float) -> None:
        self._call(lambda: self.emulator.inject_slow_requests(count, delay_s))
