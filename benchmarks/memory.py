"""Live-loop state over a whole session: bounded by symbols x window, flat over time; and the
emulator's session tape (a whole session of 500 symbols) against the bars it came from."""

from __future__ import annotations

import gc
import time
import tracemalloc
from decimal import Decimal
from typing import Any

import pandas as pd
import psutil

from benchmarks.fixtures import SEED, SESSION, SYMBOLS, bars_by_minute, session_bars
from trading_runtime.core.book import Book
from trading_runtime.features.streaming import StreamingFeatures
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.synthetic import SyntheticMarket
from trading_runtime.sim.market import SessionTape

CHECKPOINTS = (60, 120, 240, 390)
TAPE_SYMBOLS = 500


def _rss() -> int:
    gc.collect()
    return int(psutil.Process().memory_info().rss)


def tape_memory() -> dict[str, Any]:
    """Memory the emulator's tape of one whole session keeps (RSS growth and traced bytes
    of ``SessionTape.build``), against the session's bars as a DataFrame."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    symbols = [f"ZZ{letters[i // 26]}{letters[i % 26]}" for i in range(TAPE_SYMBOLS)]
    frame = SyntheticMarket(SEED).day_bars(SESSION, symbols)
    frame_bytes = int(frame.memory_usage(deep=True).sum())
    session = calendar.session(SESSION)
    before = _rss()
    tracemalloc.start()
    started = tracemalloc.get_traced_memory()[0]
    tape = SessionTape.build(session, frame, first_minute=0, minute_count=None)
    gc.collect()
    traced = tracemalloc.get_traced_memory()[0] - started
    tracemalloc.stop()
    grown = _rss() - before
    minute_started = time.perf_counter()
    for index in range(len(tape.minutes)):
        tape.bars_by_minute[index]
    per_minute_ms = (time.perf_counter() - minute_started) * 1e3 / len(tape.minutes)
    del tape
    return {
        "tape_rss_mib": grown / 2**20,
        "tape_traced_mib": traced / 2**20,
        "bars_dataframe_mib": frame_bytes / 2**20,
        "bars": len(frame),
        "minute_read_ms": per_minute_ms,
    }


def run() -> dict[str, Any]:
    frame = session_bars()
    minutes = bars_by_minute(frame)
    gc.collect()
    tracemalloc.start()
    baseline_bytes, _ = tracemalloc.get_traced_memory()
    features = StreamingFeatures(SYMBOLS)
    book = Book(cash=Decimal("100000"))
    sizes: dict[int, int] = {}
    for index, minute_bars in enumerate(minutes, start=1):
        rows = features.close_minute(minute_bars[0].timestamp, minute_bars)
        for symbol, close in zip(rows.symbols, rows.closes, strict=True):
            book.mark(symbol, Decimal(str(close)))
        del rows
        if index in CHECKPOINTS:
            gc.collect()
            sizes[index] = tracemalloc.get_traced_memory()[0] - baseline_bytes
    tracemalloc.stop()
    history = pd.DataFrame(frame)  # what a loop that keeps the session's bars would hold
    history_bytes = int(history.memory_usage(deep=True).sum())
    symbols = frame["symbol"].nunique()
    tape = tape_memory()
    growth = sizes[CHECKPOINTS[-1]] / sizes[CHECKPOINTS[0]]
    return {
        "state_bytes": sizes,
        "growth_first_hour_to_close": growth,
        "bytes_per_symbol": sizes[CHECKPOINTS[-1]] / symbols,
        "session_dataframe_bytes": history_bytes,
        "ratio_to_dataframe": sizes[CHECKPOINTS[-1]] / history_bytes,
        "tape": tape,
        "report": [
            "live state (streaming features + book) after minutes "
            + ", ".join(f"{m}: {b / 1024:,.0f} KiB" for m, b in sizes.items()),
            f"growth from the first hour to the close: x{growth:.2f} ({sizes[CHECKPOINTS[-1]] / symbols / 1024:,.1f} KiB per symbol)",
            f"ratio to keeping the session's bars in a DataFrame ({history_bytes / 1024:,.0f} KiB): "
            f"{sizes[CHECKPOINTS[-1]] / history_bytes:.2f}",
            f"emulator tape of a whole session of {TAPE_SYMBOLS} symbols ({tape['bars']:,} bars, "
            f"{tape['bars_dataframe_mib']:,.1f} MiB as a DataFrame): RSS +{tape['tape_rss_mib']:,.1f} "
            f"MiB, traced {tape['tape_traced_mib']:,.1f} MiB "
            f"(x{tape['tape_traced_mib'] / tape['bars_dataframe_mib']:.2f} the DataFrame); "
            f"a minute's bars read in {tape['minute_read_ms']:.3f} ms",
        ],
    }
