"""Live-loop state over a whole session: bounded by symbols x window, flat over time."""

from __future__ import annotations

import gc
import tracemalloc
from decimal import Decimal
from typing import Any

import pandas as pd

from benchmarks.fixtures import SYMBOLS, bars_by_minute, session_bars
from trading_runtime.core.book import Book
from trading_runtime.features.streaming import StreamingFeatures

CHECKPOINTS = (60, 120, 240, 390)


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
    growth = sizes[CHECKPOINTS[-1]] / sizes[CHECKPOINTS[0]]
    return {
        "state_bytes": sizes,
        "growth_first_hour_to_close": growth,
        "bytes_per_symbol": sizes[CHECKPOINTS[-1]] / symbols,
        "session_dataframe_bytes": history_bytes,
        "ratio_to_dataframe": sizes[CHECKPOINTS[-1]] / history_bytes,
        "report": [
            "live state (streaming features + book) after minutes "
            + ", ".join(f"{m}: {b / 1024:,.0f} KiB" for m, b in sizes.items()),
            f"growth from the first hour to the close: x{growth:.2f} ({sizes[CHECKPOINTS[-1]] / symbols / 1024:,.1f} KiB per symbol)",
            f"ratio to keeping the session's bars in a DataFrame ({history_bytes / 1024:,.0f} KiB): "
            f"{sizes[CHECKPOINTS[-1]] / history_bytes:.2f}",
        ],
    }
