"""The live engine through the emulator: minute latency at 100 and 500 symbols, and the
process's memory over consecutive sessions.

Each run is the production path without Postgres: an in-process emulator replays a synthetic
session in lockstep, the engine trades it through alpaca-py's clients, a ledger that only
counts writes stands in for the database, and the model is loaded from its artifact's bytes
as the runner loads the registry's champion (a single-threaded booster: with XGBoost's
thread pool a 100-row prediction waits, on a loaded machine, for its second thread to be
scheduled, 30-70 ms at p99). Latency is the engine's own measure of a
minute (features, model, strategy, risk, order submission), its p50 and p99; memory is the
resident set size after each session, once garbage is collected.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import string
import time
from collections.abc import Sequence
from typing import Any

import pandas as pd
import psutil

from benchmarks.fixtures import DECISION, SEED, SESSION, SYMBOLS, model
from trading_runtime.adapters.alpaca.config import AlpacaEndpoints
from trading_runtime.adapters.alpaca.data_stream import BarStream
from trading_runtime.adapters.alpaca.trade_updates import TradeUpdateStream
from trading_runtime.adapters.alpaca.trading import AlpacaBroker
from trading_runtime.engine.broker_connection import EmulatorPacer
from trading_runtime.engine.live import EngineConfig, LiveEngine
from trading_runtime.marketdata.synthetic import SyntheticMarket
from trading_runtime.modeling.artifact import TradingModel
from trading_runtime.sim import EmulatorConfig, EmulatorServer, Pacing
from trading_runtime.sim.control import EmulatorControl

KEY, SECRET = "bench-key", "bench-secret"
LATENCY_SYMBOLS = (100, 500)
LATENCY_MINUTES = 120  # the first two hours of the session (warm-up included)
SESSIONS = 5
SESSION_SYMBOLS = 100


class _Models:
    """The registry's part: the champion's artifact, loaded as the runner loads it (from its
    bytes, so with the booster settings a served model has)."""

    def __init__(self, trained: TradingModel) -> None:
        self.artifact = trained.to_bytes()

    def champion_id(self) -> int:
        return 1

    def load(self, model_version_id: int) -> TradingModel:
        return TradingModel.from_bytes(self.artifact)


class _NullLedger:
    """Counts what the engine would write; the benchmark measures the loop, not Postgres."""

    session_id = 1

    def __init__(self) -> None:
        self.writes = 0

    def submit(self, operation: Any) -> None:
        self.writes += 1


async def engine_session(
    frame: pd.DataFrame, symbols: Sequence[str], trained: Any
) -> tuple[float, dict[str, Any]]:
    """Trade ``frame`` (bars of ``symbols`` and SPY) through the emulator; (seconds, stats)."""
    everything: Sequence[str] = ("SPY", *symbols)

    def source(day: dt.date, wanted: list[str]) -> pd.DataFrame:
        return frame[frame["symbol"].isin(set(wanted))]

    config = EmulatorConfig(
        session_date=SESSION,
        symbols=tuple(everything),
        api_key=KEY,
        secret_key=SECRET,
        pacing=Pacing.LOCKSTEP,
        bar_source=source,
    )
    with EmulatorServer(config) as server:
        endpoints = AlpacaEndpoints.for_emulator(server.base_url, KEY, SECRET)
        pacer = EmulatorPacer(EmulatorControl(server.base_url, KEY, SECRET))
        engine = LiveEngine(
            EngineConfig(
                trading_day=SESSION,
                symbols=tuple(symbols),
                reference_symbol="SPY",
                session_key="bench",
                decision=DECISION,
                idle_timeout_s=10.0,
            ),
            broker=AlpacaBroker(endpoints),
            market_data=lambda on_bar, on_rejected: BarStream(
                endpoints, list(everything), on_bar, on_rejected
            ),
            trade_updates=lambda on_update: TradeUpdateStream(endpoints, on_update),
            models=_Models(trained),
            ledger=_NullLedger(),
            pacer=pacer,
        )
        started = time.perf_counter()
        report = await engine.run()
        elapsed = time.perf_counter() - started
        await pacer.close()
    return elapsed, report.stats


def universe(count: int) -> tuple[str, ...]:
    """``count`` symbols: the benchmark's Nasdaq-100 first, then synthetic tickers."""
    letters = string.ascii_uppercase
    extra = tuple(
        f"ZZ{letters[i // 26]}{letters[i % 26]}" for i in range(max(0, count - len(SYMBOLS)))
    )
    return (*SYMBOLS, *extra)[:count]


def _first_minutes(symbols: Sequence[str], minutes: int) -> pd.DataFrame:
    frame = SyntheticMarket(SEED).day_bars(SESSION, list(symbols))
    first = frame["timestamp"].min()
    return frame[frame["timestamp"] < first + pd.Timedelta(minutes=minutes)].reset_index(drop=True)


def _rss_mib() -> float:
    gc.collect()
    return psutil.Process().memory_info().rss / 2**20


def run() -> dict[str, Any]:
    trained = model()
    latency: dict[int, dict[str, float]] = {}
    for count in LATENCY_SYMBOLS:
        symbols = universe(count)
        frame = _first_minutes(symbols, LATENCY_MINUTES)
        seconds, stats = asyncio.run(engine_session(frame, symbols, trained))
        latency[count] = {
            "p50_ms": stats["minute_latency_p50_ms"],
            "p99_ms": stats["minute_latency_p99_ms"],
            "bars_per_s": stats["bars_received"] / seconds,
        }
        del frame
    symbols = universe(SESSION_SYMBOLS)
    frame = _first_minutes(symbols, LATENCY_MINUTES)
    rss: list[float] = [_rss_mib()]
    for _ in range(SESSIONS):
        asyncio.run(engine_session(frame, symbols, trained))
        rss.append(_rss_mib())
    growth = rss[SESSIONS] - rss[1]
    report = [
        f"engine minute latency at {count} symbols (first {LATENCY_MINUTES} minutes, lockstep "
        f"emulator): p50 {figures['p50_ms']:,.2f} ms, p99 {figures['p99_ms']:,.2f} ms "
        f"({figures['bars_per_s']:,.0f} bars/s)"
        for count, figures in latency.items()
    ]
    report.append(
        f"RSS over {SESSIONS} in-process sessions of {SESSION_SYMBOLS} symbols: "
        f"{rss[1]:,.1f} MiB after 1, {rss[SESSIONS]:,.1f} MiB after {SESSIONS} "
        f"(ratio {rss[SESSIONS] / rss[1]:.3f}, {growth / (SESSIONS - 1):+,.2f} MiB per session)"
    )
    return {
        "latency": {str(k): v for k, v in latency.items()},
        "rss_mib_after_sessions": rss,
        "rss_ratio_5_to_1": rss[SESSIONS] / rss[1],
        "report": report,
    }
