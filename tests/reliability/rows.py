"""The rows of the reliability table: each starts a fresh database, the emulator as its own
process and the engine as another, breaks something at a moment seen from outside (the
emulator's REST state, the ledger's tables), lets the session run to its end (restarting
the engine after a kill), then compares the ledger with the broker (:mod:`.checks`).

Short rows run in the normal test run; the whole table with ``make reliability``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import string
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.reliability.checks import Comparison, compare
from tests.reliability.harness import (
    Broker,
    Database,
    EmulatorProcess,
    EngineProcess,
    Ledger,
    wait_until,
)
from tests.support.models import register_champion
from trading_runtime.store.db import create_engine_for
from trading_runtime.store.registry import ModelRegistry

DAY = dt.date(2026, 11, 27)  # an early close: 210 minutes
SESSION_MINUTES = 210  # each row replays its last ``minutes``, to the close
# Lockstep (the replay waits for the engine, and for a restarted one), each minute lasting at
# least this long: the harness (polling every 10 ms) acts within the minute it watches for.
MINUTE_S = 0.125
MAX_BUYS_PER_SYMBOL = 2
REST_TIMEOUT_S = 2.0
LEASE_TTL_S = 6.0
SESSION_TIMEOUT_S = 240.0


@dataclass
class Outcome:
    fault: str
    comparison: Comparison | None
    clear_error: str
    seconds: float
    notes: list[str] = field(default_factory=list)
    missed: str | None = None

    @property
    def passed(self) -> bool:
        c = self.comparison
        clean = c is not None and c.duplicated == 0 and c.lost == 0 and c.mismatched == 0
        return clean and self.missed is None


class Run:
    """One row's processes; the row's ``drive`` function breaks things through it."""

    def __init__(self, workdir: Path, database: Database, symbols: list[str], minutes: int):
        self.workdir = workdir
        self.database = database
        self.symbols = symbols
        self.emulator = EmulatorProcess(
            [
                "--session-date",
                DAY.isoformat(),
                "--symbols",
                ",".join(["SPY", *symbols]),
                "--first-minute",
                str(SESSION_MINUTES - minutes),
                "--min-minute-s",
                str(MINUTE_S),
                "--ack-timeout",
                "10",
                "--rate-limit",
                "0",
                "--log-level",
                "INFO",
            ],
            workdir / "emulator.log",
        )
        self.broker = Broker(self.emulator.url)
        self.ledger = Ledger(database.direct_url)
        self.engines: list[EngineProcess] = []
        self.expected_error: str | None = None
        self.missed: str | None = None  # the moment the fault waits for never came
        self.notes: list[str] = []

    def environment(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.database.proxied_url,
            "SIM_BROKER_URL": self.emulator.url,
            "TRADING_MODE": "sim",
            "RELIABILITY_DAY": DAY.isoformat(),
            "RELIABILITY_LEASE_TTL_S": str(LEASE_TTL_S),
            "SYMBOLS": ",".join(self.symbols),
            "BUY_PROBABILITY_THRESHOLD": "0.5",
            "MAX_BUYS_PER_SYMBOL_PER_DAY": str(MAX_BUYS_PER_SYMBOL),
            "ALPACA_REST_TIMEOUT_S": str(REST_TIMEOUT_S),
            "DATA_ROOT": str(self.workdir / "lake"),
            "SPOOL_DIR": str(self.workdir / "spool"),
            "ENGINE_LOG_LEVEL": "INFO",
        }

    def start_engine(self) -> EngineProcess:
        engine = EngineProcess(
            self.environment(), self.workdir / f"engine-{len(self.engines) + 1}.log"
        )
        self.engines.append(engine)
        return engine

    def restart_engine(self, timeout_s: float = 60.0) -> EngineProcess:
        """Start an engine again; while the killed one's lease lasts it is refused: retry."""
        deadline = time.monotonic() + timeout_s
        while True:
            engine = self.start_engine()
            wait_until(lambda e=engine: not e.running or self.subscribed(), timeout_s=30)
            if engine.running or time.monotonic() > deadline:
                return engine
            if "lease" not in engine.last_error().lower():
                return engine
            self.notes.append("restart refused while the old lease lasted")
            time.sleep(1.0)

    def subscribed(self) -> bool:
        return int(self.emulator.status().get("market_data_clients", 0)) > 0

    def injected(self, kind: str, at_least: int = 1) -> None:
        """Record a miss unless the emulator injected ``kind`` at least ``at_least`` times."""
        count = int(self.emulator.status().get("faults", {}).get(kind, 0))
        if count < at_least:
            self.missed = f"{kind} injected {count} times, not {at_least}"

    def finished(self) -> bool:
        return self.emulator.status().get("phase") == "finished"

    def bars_published(self) -> int:
        return int(self.emulator.status().get("bars_published", 0))

    def wait_orders(self, at_least: int = 1, timeout_s: float = 120.0) -> bool:
        return wait_until(lambda: self.broker.order_count() >= at_least, timeout_s, 0.01)

    def wait_fills(self, at_least: int = 1, timeout_s: float = 120.0) -> bool:
        return wait_until(lambda: self.broker.fill_count() >= at_least, timeout_s, 0.01)

    def finish(self, engine: EngineProcess, timeout_s: float = SESSION_TIMEOUT_S) -> int | None:
        code = engine.wait(timeout_s)
        if code is None:
            self.notes.append(f"engine still running after {timeout_s:.0f} s; killed")
            engine.kill()
        return code

    def close(self) -> None:
        for engine in self.engines:
            engine.close()
        self.emulator.stop()
        self.broker.close()
        self.ledger.close()


# --- the faults --------------------------------------------------------------------------------
def kill_when_order_accepted(run: Run) -> None:
    engine = run.start_engine()
    if not run.wait_orders():
        run.missed = "no order was placed"
    engine.kill()
    run.finish(run.restart_engine())


def kill_after_fill(run: Run) -> None:
    engine = run.start_engine()
    if not run.wait_fills():
        run.missed = "no fill happened"
    engine.kill()
    run.finish(run.restart_engine())


def kill_before_ledger_flush(run: Run) -> None:
    engine = run.start_engine()

    def broker_ahead() -> bool:
        fills = run.broker.fill_count()
        return fills > 0 and fills > run.ledger.fill_count()

    if not wait_until(broker_ahead, timeout_s=120, interval_s=0.005):
        run.missed = "the ledger never lagged the broker"
    engine.kill()
    run.finish(run.restart_engine())


def _first_order(run: Run) -> None:
    if not run.wait_orders():
        run.missed = "no order was placed"


def database_outage_during(run: Run) -> None:
    engine = run.start_engine()
    _first_order(run)
    run.database.proxy.cut()
    time.sleep(10.0)
    run.database.proxy.restore()
    run.finish(engine)


def database_outage_at_end(run: Run) -> None:
    engine = run.start_engine()
    total = int(run.emulator.status()["minutes"])
    wait_until(
        lambda: run.bars_published() >= total - 3, timeout_s=SESSION_TIMEOUT_S, interval_s=0.05
    )
    run.database.proxy.cut()
    code = run.finish(engine, timeout_s=120)
    run.expected_error = engine.last_error() if code else None
    run.database.proxy.restore()
    if code:  # what the engine could not write is recovered by the next start
        run.finish(run.restart_engine())


def market_data_stall(run: Run) -> None:
    engine = run.start_engine()
    _first_order(run)
    run.emulator.arm(stall_data_s=20.0)
    run.finish(engine)
    run.injected("data_stall")


def stream_disconnects(run: Run) -> None:
    engine = run.start_engine()
    _first_order(run)
    run.emulator.arm(drop_streams=True)
    run.wait_fills(at_least=int(run.broker.fill_count()) + 1, timeout_s=60)
    run.emulator.arm(drop_streams=True)
    run.finish(engine)
    run.injected("stream_drop", 2)


def slow_broker(run: Run) -> None:
    engine = run.start_engine()
    _first_order(run)
    run.emulator.arm(slow_requests={"count": 6, "delay_s": REST_TIMEOUT_S * 2})
    run.finish(engine)
    run.injected("slow_response", 6)


def two_engines(run: Run) -> None:
    first = run.start_engine()
    _first_order(run)
    second = run.start_engine()
    code = run.finish(second, timeout_s=60)
    run.expected_error = second.last_error() if code else "the second engine was not refused"
    if code == 0:
        run.notes.append("the second engine ran a session on the same account")
    run.finish(first)


def no_fault(run: Run) -> None:
    run.finish(run.start_engine())


@dataclass(frozen=True)
class Row:
    fault: str
    drive: Callable[[Run], None]
    short: bool = False
    symbols: int = 6
    minutes: int = 150


def thousand_symbols() -> list[str]:
    names = ("".join(letters) for letters in itertools.product(string.ascii_uppercase, repeat=4))
    return [name for name in itertools.islice(names, 1001) if name != "SPY"][:1000]


ROWS = [
    Row(
        "SIGKILL the moment an order is accepted", kill_when_order_accepted, short=True, minutes=60
    ),
    Row("SIGKILL right after a fill", kill_after_fill, short=True, minutes=60),
    Row("SIGKILL before the ledger flush", kill_before_ledger_flush),
    Row("database outage during the session", database_outage_during),
    Row("database outage at the end of the session", database_outage_at_end),
    Row("market-data stall (20 s)", market_data_stall),
    Row("streams disconnect and reconnect", stream_disconnects),
    Row("broker answers past the client timeout", slow_broker),
    Row("two engines on one account", two_engines, short=True, minutes=60),
    Row("1,000 symbols", no_fault, symbols=1000, minutes=60),
]


def symbols_for(row: Row) -> list[str]:
    if row.symbols == 1000:
        return thousand_symbols()
    return ["AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META"][: row.symbols]


@contextlib.contextmanager
def _workdir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="reliability-") as directory:
        yield Path(directory)


def run_row(row: Row, server_url: str, logs: Path | None = None) -> Outcome:
    started = time.monotonic()
    slug = "".join(c if c.isalnum() else "-" for c in row.fault.lower())[:40]
    with _workdir(logs / slug if logs else None) as workdir, Database.fresh(server_url) as db:
        registry_engine = create_engine_for(db.direct_url)
        try:
            register_champion(ModelRegistry(registry_engine))
        finally:
            registry_engine.dispose()
        run = Run(workdir, db, symbols_for(row), row.minutes)
        try:
            row.drive(run)
            comparison = compare(run.broker, run.ledger, max_buys_per_symbol=MAX_BUYS_PER_SYMBOL)
            clear = _clear_error(run)
        finally:
            run.close()
    return Outcome(row.fault, comparison, clear, time.monotonic() - started, run.notes, run.missed)


def _clear_error(run: Run) -> str:
    """What the operator was told: the expected refusal/failure, else how the last run ended."""
    if run.expected_error is not None:
        message = run.expected_error
        clear = message.startswith("error:") and "Traceback" not in message
        return f"{'yes' if clear else 'NO'}: {message.removeprefix('error: ')}"
    last = run.engines[-1]
    code = last.process.returncode
    if code == 0:
        return "none needed (completed)"
    return f"exit {code}: {last.last_error().removeprefix('error: ')}"
