"""Historical one-minute bars through alpaca-py's ``StockHistoricalDataClient``.

Pages are fetched one request at a time (``limit=10000``, following ``next_page_token``)
rather than by alpaca-py's own loop, so that each request is

* **paced**: at most ``requests_per_minute`` requests in any rolling minute
  (:class:`RequestPacer`; Alpaca allows 200 on the free plan);
* **retried** with exponential backoff and jitter (stamina) on what is transient: HTTP 429
  and 5xx, timeouts and connection errors, a truncated or malformed body. alpaca-py's own
  429 loop (fixed 3 s waits) is switched off so there is one retry policy;
* **bounded** by ``timeout_s`` (alpaca-py sets none).

Requests state ``feed`` and ``adjustment=raw`` explicitly. A malformed body that is still
malformed after the retries raises :class:`~.parsing.MalformedBarsResponseError` naming the
day, symbol and field; other failures raise the domain's broker errors.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd
import requests
import stamina
from alpaca.common.exceptions import APIError
from alpaca.data.enums import Adjustment, DataFeed
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame

from trading_runtime.adapters.alpaca import parsing
from trading_runtime.adapters.alpaca.config import AlpacaEndpoints
from trading_runtime.adapters.alpaca.errors import TransientBrokerError, translate_error
from trading_runtime.adapters.alpaca.trading import install_timeout
from trading_runtime.marketdata.calendar import NEW_YORK

PAGE_LIMIT = 10_000


@dataclass(frozen=True)
class HistoryPolicy:
    """Pacing and retries of history requests (waits in seconds)."""

    requests_per_minute: float = 200.0
    max_attempts: int = 8
    wait_initial_s: float = 0.5
    wait_max_s: float = 30.0
    wait_jitter_s: float = 1.0

    def __post_init__(self) -> None:
        if self.requests_per_minute <= 0 or self.max_attempts < 1:
            raise ValueError("requests_per_minute must be positive and max_attempts >= 1")


class RequestPacer:
    """At most ``limit`` requests per rolling ``window_s``, counted from each request's
    completion (later than the server saw it arrive, so the server's window never holds
    more). ``clock`` and ``sleep`` are injectable for tests."""

    def __init__(
        self,
        limit: int,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("a pacer needs limit >= 1 and a positive window")
        self._limit = limit
        self._window = window_s
        self._clock = clock
        self._sleep = sleep
        self._done: deque[float] = deque()
        self._lock = threading.Lock()
        self.waited_s = 0.0

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Wait until a request may start; the request runs inside the block."""
        with self._lock:
            while True:
                now = self._clock()
                while self._done and now - self._done[0] >= self._window:
                    self._done.popleft()
                if len(self._done) < self._limit:
                    break
                pause = self._window - (now - self._done[0])
                self.waited_s += pause
                self._sleep(pause)
        try:
            yield
        finally:
            with self._lock:
                self._done.append(self._clock())


def _retryable(error: Exception) -> bool:
    return isinstance(error, (TransientBrokerError, parsing.MalformedBarsResponseError))


class AlpacaHistory:
    """Bars from Alpaca's data API (or an Alpaca-compatible server).

    Raises BrokerError subclasses, or MalformedBarsResponseError once retries are spent.
    ``requests_made`` counts HTTP requests sent (retries included).
    """

    def __init__(
        self,
        endpoints: AlpacaEndpoints,
        timeout_s: float = 10.0,
        policy: HistoryPolicy | None = None,
        pacer: RequestPacer | None = None,
    ) -> None:
        self.endpoints = endpoints
        self.feed = endpoints.feed
        self.policy = policy or HistoryPolicy()
        self._pacer = pacer or RequestPacer(max(int(self.policy.requests_per_minute), 1))
        self._client = StockHistoricalDataClient(
            api_key=endpoints.api_key,
            secret_key=endpoints.secret_key,
            raw_data=True,
            url_override=endpoints.data_url,
        )
        install_timeout(self._client, timeout_s)
        # One retry policy (ours, with backoff and jitter): no fixed-wait 429 loop inside.
        self._client._retry = 0
        self.requests_made = 0

    def __repr__(self) -> str:
        return f"AlpacaHistory({self.endpoints.data_url!r}, feed={self.endpoints.feed!r})"

    def bars(self, symbols: Sequence[str], start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
        """One-minute bars of ``symbols`` with ``start <= timestamp <= end`` (tz-aware bounds),
        every page of them: BAR_SCHEMA's columns sorted by (timestamp, symbol), extended hours
        included. A symbol the server does not know is simply absent."""
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("start and end must be timezone-aware")
        if not symbols:
            raise ValueError("name at least one symbol")
        params = StockBarsRequest(
            symbol_or_symbols=list(symbols),
            timeframe=TimeFrame.Minute,
            start=start,
            end=end,
            limit=PAGE_LIMIT,
            feed=DataFeed(self.endpoints.feed),
            adjustment=Adjustment.RAW,
        ).to_request_fields()
        days = _day_range(start, end)
        pages = []
        token: str | None = None
        while True:
            frame, token = self._page({**params, "page_token": token}, days)
            pages.append(frame)
            if token is None:
                break
        bars = pd.concat(pages, ignore_index=True)
        return bars.sort_values(["timestamp", "symbol"], kind="stable").reset_index(drop=True)

    def _page(self, params: dict[str, Any], days: str) -> tuple[pd.DataFrame, str | None]:
        policy = self.policy
        for attempt in stamina.retry_context(
            on=_retryable,
            attempts=policy.max_attempts,
            timeout=None,
            wait_initial=policy.wait_initial_s,
            wait_max=policy.wait_max_s,
            wait_jitter=policy.wait_jitter_s,
        ):
            with attempt, self._pacer.slot():
                self.requests_made += 1
                try:
                    body = self._client.get("/stocks/bars", params)
                except (APIError, requests.RequestException) as error:
                    raise translate_error(error) from error
                return parsing.bars_page(body, days)
        raise AssertionError("unreachable: stamina re-raises the last error")


def _day_range(start: dt.datetime, end: dt.datetime) -> str:
    first = pd.Timestamp(start).tz_convert(NEW_YORK).date()
    last = pd.Timestamp(end).tz_convert(NEW_YORK).date()
    return first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"
