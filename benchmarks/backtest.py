"""Backtest throughput against the live engine replaying the same session through the emulator."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Sequence
from typing import Any

import pandas as pd

from benchmarks.fixtures import DECISION, SESSION, SYMBOLS, model, session_bars
from trading_runtime.adapters.alpaca.config import AlpacaEndpoints
from trading_runtime.adapters.alpaca.data_stream import BarStream
from trading_runtime.adapters.alpaca.trade_updates import TradeUpdateStream
from trading_runtime.adapters.alpaca.trading import AlpacaBroker
from trading_runtime.backtest.replay import BacktestConfig, run_backtest
from trading_runtime.engine.broker_connection import EmulatorPacer
from trading_runtime.engine.live import EngineConfig, LiveEngine
from trading_runtime.features.batch import compute_features
from trading_runtime.sim import EmulatorConfig, EmulatorServer, Pacing
from trading_runtime.sim.control import EmulatorControl

KEY, SECRET = "bench-key", "bench-secret"


class _Models:
    def __init__(self, trained: Any) -> None:
        self.trained = trained

    def champion_id(self) -> int:
        return 1

    def load(self, model_version_id: int) -> Any:
        return self.trained


class _NullLedger:
    """Counts what the engine would write; the benchmark measures the loop, not Postgres."""

    session_id = 1

    def __init__(self) -> None:
        self.writes = 0

    def submit(self, operation: Any) -> None:
        self.writes += 1


async def _engine_session(frame: pd.DataFrame, trained: Any) -> tuple[float, dict[str, Any]]:
    symbols: Sequence[str] = ("SPY", *SYMBOLS)

    def source(day: dt.date, wanted: list[str]) -> pd.DataFrame:
        return frame[frame["symbol"].isin(set(wanted))]

    config = EmulatorConfig(
        session_date=SESSION,
        symbols=tuple(symbols),
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
                symbols=tuple(SYMBOLS),
                reference_symbol="SPY",
                session_key="bench",
                decision=DECISION,
                idle_timeout_s=10.0,
            ),
            broker=AlpacaBroker(endpoints),
            market_data=lambda on_bar, on_rejected: BarStream(
                endpoints, list(symbols), on_bar, on_rejected
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


def run() -> dict[str, Any]:
    frame = session_bars()
    trained = model()
    features = compute_features(frame)
    started = time.perf_counter()
    result = run_backtest(frame, features, trained, 1, BacktestConfig(decision=DECISION))
    backtest_seconds = time.perf_counter() - started
    engine_seconds, stats = asyncio.run(_engine_session(frame, trained))
    bars = len(frame)
    backtest_rate = bars / backtest_seconds
    engine_rate = stats["bars_received"] / engine_seconds
    end_to_end = bars / (backtest_seconds + _feature_seconds(frame))
    return {
        "bars": bars,
        "backtest_bars_per_s": backtest_rate,
        "backtest_with_features_bars_per_s": end_to_end,
        "engine_bars_per_s": engine_rate,
        "ratio": backtest_rate / engine_rate,
        "backtest_orders": result.metrics["orders"],
        "backtest_gross_return": result.metrics["gross_return"],
        "backtest_net_return": result.metrics["net_return"],
        "engine_orders": stats["orders_submitted"] + stats["orders_rejected"],
        "report": [
            f"backtest replay: {backtest_rate:,.0f} bars/s ({bars:,} bars of one session, {len(SYMBOLS)} symbols + SPY); "
            f"{end_to_end:,.0f} bars/s including batch features; return "
            f"{result.metrics['gross_return']:+.4%} gross, {result.metrics['net_return']:+.4%} "
            f"net of costs",
            f"live engine through the emulator (lockstep): {engine_rate:,.0f} bars/s",
            f"ratio: the backtest replays {backtest_rate / engine_rate:,.1f}x faster than the sim session"
            f" ({int(result.metrics['orders'])} vs {stats['orders_submitted'] + stats['orders_rejected']} orders)",
        ],
    }


def _feature_seconds(frame: pd.DataFrame) -> float:
    started = time.perf_counter()
    compute_features(frame)
    return time.perf_counter() - started
