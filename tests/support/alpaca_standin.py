"""A local stand-in for Alpaca's ``GET /v2/stocks/bars``, with faults and a rate limit.

It answers the way Alpaca does: bars of every requested symbol among ``symbols`` (any other
is simply absent from the answer), extended hours included, sorted by symbol then time, ``limit`` bars per
page (capped by ``max_page_size``) with a ``next_page_token``; errors as
``{"code", "message"}``. On top of that:

* ``faults``: ``{request number: kind}`` (counted from 1 over all bar requests) answered
  once each with ``"500"``, ``"502"``, ``"timeout"`` (the answer comes after
  ``timeout_delay_s``), ``"truncated"`` (half of the JSON body, with a matching
  Content-Length), ``"cut"`` (the connection closes half-way through the body),
  ``"no_bars"``, ``"missing_close"`` or ``"text_price"`` (malformed bodies);
* ``rate_limit`` requests per rolling ``rate_window_s`` (then HTTP 429), on ``clock``.

    with AlpacaStandIn(source, ["SPY", "AAPL"], faults={3: "500"}) as server:
        history = AlpacaHistory(server.endpoints(), ...)
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd

from trading_runtime.adapters.alpaca.config import AlpacaEndpoints
from trading_runtime.marketdata import calendar

BarFrames = Callable[[dt.date, list[str]], pd.DataFrame]


class AlpacaStandIn:
    def __init__(
        self,
        source: BarFrames,
        symbols: Sequence[str],
        *,
        max_page_size: int = 10_000,
        faults: Mapping[int, str] | None = None,
        timeout_delay_s: float = 1.0,
        rate_limit: int | None = None,
        rate_window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.symbols = sorted(set(symbols))
        self.max_page_size = max_page_size
        self.faults = dict(faults or {})
        self.timeout_delay_s = timeout_delay_s
        self.rate_limit = rate_limit
        self.rate_window_s = rate_window_s
        self.clock = clock
        self.requests = 0
        self.statuses: Counter[int | str] = Counter()
        self.max_in_window = 0
        self._served: deque[float] = deque()
        self._days: dict[dt.date, pd.DataFrame] = {}
        self._queries: dict[tuple[str, str, str], pd.DataFrame] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def endpoints(self, feed: str = "iex") -> AlpacaEndpoints:
        return AlpacaEndpoints.for_emulator(self.base_url, "standin-key", "standin-secret", feed)  # type: ignore[arg-type]

    def __enter__(self) -> AlpacaStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # --- the endpoint ---------------------------------------------------------------------
    def answer(self, query: dict[str, str]) -> tuple[int | str, Any]:
        """(status or fault kind, body) for one request."""
        with self._lock:
            self.requests += 1
            number = self.requests
            fault = self.faults.pop(number, None)
            if self.rate_limit is not None and fault is None:
                now = self.clock()
                while self._served and now - self._served[0] >= self.rate_window_s:
                    self._served.popleft()
                if len(self._served) >= self.rate_limit:
                    return 429, {"code": 42910000, "message": "rate limit exceeded"}
                self._served.append(now)
                self.max_in_window = max(self.max_in_window, len(self._served))
        if fault in ("500", "502"):
            return int(fault), {"code": 50010000, "message": f"injected {fault}"}
        body = self._page(query)
        if fault == "no_bars":
            body = {"next_page_token": body["next_page_token"]}
        elif fault in ("missing_close", "text_price"):
            for bars in body["bars"].values():
                if bars:
                    if fault == "missing_close":
                        del bars[0]["c"]
                    else:
                        bars[0]["o"] = "12.34"
                    break
        return fault or 200, body

    def _page(self, query: dict[str, str]) -> dict[str, Any]:
        limit = min(int(query.get("limit", 1000)), self.max_page_size)
        bars = self._matching(query["symbols"], query["start"], query["end"])
        token = query.get("page_token")
        offset = _decode(token) if token else 0
        page = bars.iloc[offset : offset + limit]
        following = offset + limit
        result: dict[str, list[dict[str, Any]]] = {}
        for row in page.itertuples(index=False):
            result.setdefault(row.symbol, []).append(
                {
                    "t": row.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "o": row.open,
                    "h": row.high,
                    "l": row.low,
                    "c": row.close,
                    "v": int(row.volume),
                    "n": None if pd.isna(row.trade_count) else int(row.trade_count),
                    "vw": None if pd.isna(row.vwap) else row.vwap,
                }
            )
        return {
            "bars": result,
            "next_page_token": _encode(following) if following < len(bars) else None,
        }

    def _matching(self, symbols_text: str, start_text: str, end_text: str) -> pd.DataFrame:
        """Bars of a query, by symbol then time (cached: pages of one query share it)."""
        key = (symbols_text, start_text, end_text)
        with self._lock:
            cached = self._queries.get(key)
        if cached is not None:
            return cached
        symbols = {s for s in symbols_text.split(",") if s}
        start, end = pd.Timestamp(start_text), pd.Timestamp(end_text)
        days = calendar.sessions_between(
            start.tz_convert(calendar.NEW_YORK).date(), end.tz_convert(calendar.NEW_YORK).date()
        )
        frames = [self._day(day) for day in days]
        bars = pd.concat(frames, ignore_index=True) if frames else self._day(days[0]).iloc[:0]
        bars = bars[
            bars["symbol"].isin(symbols) & (bars["timestamp"] >= start) & (bars["timestamp"] <= end)
        ].sort_values(["symbol", "timestamp"], kind="stable")
        with self._lock:
            self._queries[key] = bars
        return bars

    def _day(self, day: dt.date) -> pd.DataFrame:
        with self._lock:
            cached = self._days.get(day)
        if cached is None:
            frame = self.source(day, self.symbols)
            cached = frame[frame["symbol"].isin(self.symbols)].reset_index(drop=True)
            with self._lock:
                self._days[day] = cached
        return cached


def _encode(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode(token: str) -> int:
    return int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])


def _handler(server: AlpacaStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out at once, no 40 ms stalls

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path != "/v2/stocks/bars":
                self._send(404, {"code": 40410000, "message": "not found"})
                return
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            status, body = server.answer(query)
            server.statuses[status] += 1
            if status == "timeout":
                time.sleep(server.timeout_delay_s)
                status = 200
            payload = json.dumps(body).encode()
            if status == "truncated":
                self._send_bytes(200, payload[: len(payload) // 2])
            elif status == "cut":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload[: len(payload) // 2])
                self.wfile.flush()
                self.close_connection = True
            else:
                self._send_bytes(200 if isinstance(status, str) else status, payload)

        def _send(self, status: int, body: Any) -> None:
            self._send_bytes(status, json.dumps(body).encode())

        def _send_bytes(self, status: int, payload: bytes) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (a timeout)

    return Handler
