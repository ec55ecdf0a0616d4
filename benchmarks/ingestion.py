"""Ingestion throughput: a 60-session backfill of 100 symbols and SPY from the local Alpaca
stand-in (``tests/support/alpaca_standin.py``, the synthetic market as Alpaca's REST API
returns it, extended hours included) through the real history client, source and lake.

Reported: bars fetched and stored per second, requests per session day, and how long the
same requests take at Alpaca's 200 requests per minute. ``--requests-per-minute`` paces the
client (default: unpaced, to measure the client and the stand-in; Alpaca's pacing then only
adds waiting, which is reported separately).

    .venv/bin/python -m benchmarks.ingestion [--days 60] [--requests-per-minute 200]
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import tempfile
import time
from typing import Any

from tests.support.alpaca_standin import AlpacaStandIn
from trading_runtime.adapters.alpaca.history import AlpacaHistory, HistoryPolicy
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.coverage import CoverageThresholds
from trading_runtime.marketdata.ingest import ingest_days
from trading_runtime.marketdata.sources import HistoryBarSource
from trading_runtime.marketdata.storage import ParquetLake
from trading_runtime.marketdata.synthetic import SyntheticMarket
from trading_runtime.marketdata.universe import NASDAQ_100

LAST_DAY = dt.date(2026, 11, 25)
ALPACA_REQUESTS_PER_MINUTE = 200


def run(days: int = 60, requests_per_minute: float | None = None) -> dict[str, Any]:
    market = SyntheticMarket(7)
    sessions = calendar.previous_sessions(LAST_DAY + dt.timedelta(days=1), days)
    symbols = ["SPY", *NASDAQ_100]

    def answer(day: dt.date, wanted: list[str]) -> Any:
        return market.day_bars(day, wanted, extended_hours=True)

    with AlpacaStandIn(answer, symbols) as server, tempfile.TemporaryDirectory() as root:
        for day in sessions:  # the stand-in's data is made before the clock starts
            server._day(day)
        policy = HistoryPolicy(requests_per_minute=requests_per_minute or 1e9)
        history = AlpacaHistory(server.endpoints(), timeout_s=30.0, policy=policy)
        source = HistoryBarSource(history, "alpaca(iex)")
        lake = ParquetLake(root)
        started = time.perf_counter()
        results = list(ingest_days(sessions, symbols, source, lake, CoverageThresholds()))
        seconds = time.perf_counter() - started
    stored = sum(r.stored_rows for r in results)
    fetched = stored + sum(r.extended_hours_rows for r in results)
    requests = history.requests_made
    # A rolling window lets the first 200 go at once, then 200 more per minute.
    paced_s = max(math.ceil(requests / ALPACA_REQUESTS_PER_MINUTE) - 1, 0) * 60.0
    return {
        "sessions": len(sessions),
        "symbols": len(symbols),
        "seconds": seconds,
        "requests": requests,
        "requests_per_session": requests / len(sessions),
        "bars_fetched": fetched,
        "bars_stored": stored,
        "fetched_bars_per_s": fetched / seconds,
        "stored_bars_per_s": stored / seconds,
        "seconds_at_200_per_minute": max(paced_s, seconds),
        "report": [
            f"{len(sessions)} sessions x {len(symbols)} symbols: {fetched:,} bars fetched "
            f"({stored:,} regular-hours stored) in {requests} requests "
            f"({requests / len(sessions):.2f} per session day), {seconds:.1f} s",
            f"throughput: {fetched / seconds:,.0f} bars/s fetched, {stored / seconds:,.0f} "
            f"bars/s stored"
            + (f" (paced at {requests_per_minute:g}/min)" if requests_per_minute else " (unpaced)"),
            f"at Alpaca's {ALPACA_REQUESTS_PER_MINUTE} requests per rolling minute the pacing "
            f"alone takes at least {paced_s:.0f} s",
        ],
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ingestion")
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--requests-per-minute", type=float, default=None)
    args = parser.parse_args()
    result = run(args.days, args.requests_per_minute)
    for line in result["report"]:
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
