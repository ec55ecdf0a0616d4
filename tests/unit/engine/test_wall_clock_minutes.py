"""The engine on a sparse live feed (wall clock): minutes close at their end plus the grace,
whichever symbols reported; bars out of order within the grace are reordered; a late bar and
an updated bar change the features' state but no decision is made twice. Session time runs
120 times faster than real time; broker, model and ledger are small fakes."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from tests.support.builders import FULL_DAY, day_bars
from tests.support.ledgers import RecordingLedger
from trading_runtime.domain.bars import Bar
from trading_runtime.domain.portfolio import AccountSnapshot
from trading_runtime.engine.live import EngineConfig, LiveEngine
from trading_runtime.engine.minutes import ONE_MINUTE
from trading_runtime.features.batch import compute_features
from trading_runtime.marketdata import calendar
from trading_runtime.store.operations import RecordDecisions, RecordHolds

SESSION = calendar.session(FULL_DAY)
SYMBOLS = ("SPY", "AAPL", "MSFT")
SPEED = 120.0
GRACE_S = 2.0
LIVE_MINUTES = 5  # the last minutes of the session, fed live


class ScaledClock:
    """Session time from ``start``, running ``SPEED`` times faster than real time."""

    def __init__(self, start: dt.datetime) -> None:
        self.start = start
        self.origin = time.monotonic()

    def now(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=(time.monotonic() - self.origin) * SPEED)

    def seconds_until(self, moment: dt.datetime) -> float:
        return (moment - self.now()).total_seconds() / SPEED

    async def sleep_until(self, moment: dt.datetime) -> None:
        await asyncio.sleep(max(self.seconds_until(moment), 0.0))


@dataclasses.dataclass
class Clock:
    timestamp: dt.datetime


class Broker:
    def __init__(self, clock: ScaledClock) -> None:
        self.clock = clock

    def get_clock(self) -> Clock:
        return Clock(self.clock.now())

    def get_account(self, as_of: dt.datetime | None = None) -> AccountSnapshot:
        cash = Decimal(100_000)
        return AccountSnapshot(cash, cash, cash, as_of or self.clock.now())

    def get_positions(self) -> dict[str, Any]:
        return {}

    def list_open_orders(self) -> list[Any]:
        return []

    def cancel_all_orders(self) -> None:
        return None


class FlatModel:
    """Never confident: the engine decides (HOLD) without trading."""

    def check_compatible(self, spec: Any) -> None:
        return None

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        return np.tile([0.2, 0.6, 0.2], (len(features), 1))


class Models:
    def champion_id(self) -> int:
        return 1

    def load(self, model_version_id: int) -> FlatModel:
        return FlatModel()


class Silent:
    async def start(self) -> None:
        return None

    async def stop(self, timeout_s: float) -> None:
        return None


class Feed:
    """Delivers the scripted ``(session time, bar)`` arrivals on the scaled clock."""

    def __init__(self, clock: ScaledClock, script: list[tuple[dt.datetime, Bar]], on_bar: Any):
        self.clock, self.script, self.on_bar = clock, script, on_bar
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="scripted-feed")

    async def _run(self) -> None:
        for moment, bar in self.script:
            await self.clock.sleep_until(moment)
            await self.on_bar(bar)

    async def stop(self, timeout_s: float) -> None:
        if self.task is not None:
            self.task.cancel()


def _bars(frame: pd.DataFrame) -> list[Bar]:
    return [
        Bar(r.symbol, r.timestamp.to_pydatetime(), r.open, r.high, r.low, r.close, r.volume)
        for r in frame.itertuples(index=False)
    ]


def _engine(
    session_key: str, clock: ScaledClock, market_data: Any, ledger: Any, history: Any = None
) -> LiveEngine:
    """The engine these tests drive: the full day's symbols on the scaled clock, a silent
    trade stream, no mid-session reconciliation."""
    return LiveEngine(
        EngineConfig(
            trading_day=FULL_DAY,
            symbols=SYMBOLS[1:],
            reference_symbol="SPY",
            session_key=session_key,
            minute_grace_s=GRACE_S,
            idle_timeout_s=30.0,
            reconcile_every_minutes=10_000,
        ),
        broker=Broker(clock),  # type: ignore[arg-type]
        market_data=market_data,
        trade_updates=lambda on_update: Silent(),
        models=Models(),  # type: ignore[arg-type]
        ledger=ledger,
        clock=clock,
        history=history,
    )


def test_minutes_close_on_the_clock_and_late_or_updated_bars_only_amend_the_state() -> None:
    frame = day_bars(FULL_DAY, SYMBOLS[1:])
    first_live = SESSION.close - LIVE_MINUTES * ONE_MINUTE
    live = frame[frame["timestamp"] >= first_live]
    by_minute = {t: _bars(g) for t, g in live.groupby("timestamp")}
    late_bar = by_minute[first_live][0]
    updated = dataclasses.replace(by_minute[first_live + ONE_MINUTE][-1])
    updated = dataclasses.replace(updated, close=updated.low, open=updated.low)
    script: list[tuple[dt.datetime, Bar]] = []
    for minute, bars in by_minute.items():
        arrive = minute.to_pydatetime() + ONE_MINUTE + dt.timedelta(seconds=0.5)
        for bar in reversed(bars):  # out of order within the minute
            if bar is late_bar:
                continue
            script.append((arrive, bar))
        if minute == first_live + ONE_MINUTE:
            script.append((arrive + dt.timedelta(seconds=0.5), updated))
    script.append((first_live + ONE_MINUTE + dt.timedelta(seconds=GRACE_S + 20), late_bar))
    script.sort(key=lambda item: item[0])

    clock = ScaledClock(first_live - dt.timedelta(seconds=5))
    ledger = RecordingLedger()
    closed_at: dict[dt.datetime, dt.datetime] = {}
    engine = _engine(
        "wall-clock", clock, lambda on_bar, on_rejected: Feed(clock, script, on_bar), ledger
    )
    close_minute = engine.features.close_minute

    def recording_close(minute: dt.datetime, bars: Any) -> Any:
        closed_at[minute] = clock.now()
        return close_minute(minute, bars)

    engine.features.close_minute = recording_close  # type: ignore[method-assign]
    report = asyncio.run(engine.run())

    assert report.status == "completed", report.reason
    assert report.stats["minutes_processed"] == SESSION.minutes
    assert report.stats["bars_late"] == 1 and report.stats["bars_updated"] == 1
    for minute in by_minute:
        moment = minute.to_pydatetime()
        deadline = moment + ONE_MINUTE + dt.timedelta(seconds=GRACE_S)
        assert deadline <= closed_at[moment] < deadline + ONE_MINUTE
    decided = {
        d.timestamp
        for op in ledger.operations
        if isinstance(op, RecordDecisions)
        for d in op.decisions
    } | {op.bar_timestamp for op in ledger.operations if isinstance(op, RecordHolds)}
    assert sorted(decided) == [
        m.to_pydatetime() for m in by_minute
    ]  # one decision round per minute with bars, none again for the late bar
    final = live.copy()
    changed = (final["symbol"] == updated.symbol) & (final["timestamp"] == updated.timestamp)
    final.loc[changed, ["open", "close"]] = updated.low
    expected = compute_features(final).set_index(["timestamp", "symbol"])
    state = engine.features._state
    k = SESSION.minutes - 1
    assert state is not None and state.closed_through == k
    last = pd.Timestamp(SESSION.close - ONE_MINUTE)
    for symbol in SYMBOLS[1:]:
        row = engine.features.symbols.index(symbol)
        assert state.close[k, row] == expected.loc[(last, symbol), "close"]
        np.testing.assert_allclose(
            state.returns[k - 29 : k + 1, row].sum(),
            expected.loc[(last, symbol), "ret_30"],
            rtol=1e-9,
        )


def test_a_session_started_after_the_open_warms_up_from_history_and_decides_at_once() -> None:
    frame = day_bars(FULL_DAY, SYMBOLS[1:])
    first_live = SESSION.close - LIVE_MINUTES * ONE_MINUTE
    earlier = _bars(frame[frame["timestamp"] < first_live])
    live = frame[frame["timestamp"] >= first_live]
    script = sorted(
        ((bar.timestamp + ONE_MINUTE + dt.timedelta(seconds=0.5), bar) for bar in _bars(live)),
        key=lambda item: item[0],
    )
    requested: list[tuple[dt.datetime, dt.datetime]] = []

    def history(symbols: Any, first: dt.datetime, last: dt.datetime) -> list[Bar]:
        requested.append((first, last))
        return [b for b in earlier if first <= b.timestamp <= last]

    clock = ScaledClock(first_live + dt.timedelta(seconds=1))  # restarted mid-session
    ledger = RecordingLedger()
    engine = _engine(
        "warm",
        clock,
        lambda on_bar, on_rejected: Feed(clock, script, on_bar),
        ledger,
        history=history,
    )
    report = asyncio.run(engine.run())

    assert report.status == "completed", report.reason
    assert requested == [(SESSION.open, first_live - ONE_MINUTE)]
    assert report.stats["warm_up_minutes"] == SESSION.minutes - LIVE_MINUTES
    decided = [
        d for op in ledger.operations if isinstance(op, RecordDecisions) for d in op.decisions
    ]
    held = {op.bar_timestamp for op in ledger.operations if isinstance(op, RecordHolds)}
    assert {d.timestamp for d in decided} | held == {m.to_pydatetime() for m in live["timestamp"]}
    assert all(d.reason != "features warming up" for d in decided)  # decided from the first
    expected = compute_features(frame).set_index(["timestamp", "symbol"])
    state = engine.features._state
    k = SESSION.minutes - 1
    last = pd.Timestamp(SESSION.close - ONE_MINUTE)
    assert state is not None
    for symbol in SYMBOLS[1:]:
        row = engine.features.symbols.index(symbol)
        np.testing.assert_allclose(
            state.returns[k - 29 : k + 1, row].sum(),
            expected.loc[(last, symbol), "ret_30"],
            rtol=1e-9,
        )


class DroppingFeed(Feed):
    """The scripted feed, with the connection lost for one minute: that minute's bars never
    come; the stream reconnects (``on_reconnect``) with the next minute's bars."""

    def __init__(self, clock: ScaledClock, script: Any, on_bar: Any, lost: dt.datetime):
        super().__init__(clock, [(t, b) for t, b in script if b.timestamp != lost], on_bar)
        self.lost = lost
        self.on_reconnect: Any = None

    async def _run(self) -> None:
        reconnected = False
        for moment, bar in self.script:
            await self.clock.sleep_until(moment)
            if bar.timestamp > self.lost and not reconnected:
                reconnected = True
                await self.on_reconnect()
            await self.on_bar(bar)


def test_bars_missed_while_the_stream_was_down_are_backfilled_from_history() -> None:
    frame = day_bars(FULL_DAY, SYMBOLS[1:])
    first_live = SESSION.close - LIVE_MINUTES * ONE_MINUTE
    lost = first_live + ONE_MINUTE
    live = frame[frame["timestamp"] >= first_live]
    everything = _bars(frame)
    script = sorted(
        ((b.timestamp + ONE_MINUTE + dt.timedelta(seconds=0.5), b) for b in _bars(live)),
        key=lambda item: item[0],
    )
    feeds: list[DroppingFeed] = []

    def history(symbols: Any, first: dt.datetime, last: dt.datetime) -> list[Bar]:
        return [b for b in everything if first <= b.timestamp <= last]

    def feed(on_bar: Any, on_rejected: Any) -> DroppingFeed:
        feeds.append(DroppingFeed(clock, script, on_bar, lost))
        return feeds[-1]

    clock = ScaledClock(first_live - dt.timedelta(seconds=5))
    engine = _engine("backfill", clock, feed, RecordingLedger(), history=history)
    report = asyncio.run(engine.run())

    assert report.status == "completed", report.reason
    lost_bars = int((live["timestamp"] == lost).sum())
    assert lost_bars > 0
    assert report.stats["stream_reconnects"] == 1
    assert report.stats["bars_backfilled"] == lost_bars
    assert report.stats["bars_late"] == lost_bars  # its minute had closed: amended
    # The features end as if no bar had been lost (warmed from the same history).
    expected = compute_features(frame).set_index(["timestamp", "symbol"])
    state = engine.features._state
    k = SESSION.minutes - 1
    last = pd.Timestamp(SESSION.close - ONE_MINUTE)
    assert state is not None
    for symbol in SYMBOLS[1:]:
        row = engine.features.symbols.index(symbol)
        np.testing.assert_allclose(
            state.returns[k - 29 : k + 1, row].sum(),
            expected.loc[(last, symbol), "ret_30"],
            rtol=1e-9,
        )


@dataclasses.dataclass
class WriterStats:
    failed: int = 0
    pending: int = 0
    spool_backlog: int = 0


class FailingLedger(RecordingLedger):
    """A ledger whose writer dead-letters a write once the session is under way."""

    def __init__(self) -> None:
        super().__init__()
        self.stats = WriterStats()

    def submit(self, operation: Any) -> None:
        super().submit(operation)
        if isinstance(operation, RecordDecisions | RecordHolds):
            self.stats.failed = 1  # the database refused a write for good


def test_a_dead_lettered_ledger_write_fails_the_session_with_the_count() -> None:
    frame = day_bars(FULL_DAY, SYMBOLS[1:])
    first_live = SESSION.close - LIVE_MINUTES * ONE_MINUTE
    live = frame[frame["timestamp"] >= first_live]
    script = sorted(
        ((b.timestamp + ONE_MINUTE + dt.timedelta(seconds=0.5), b) for b in _bars(live)),
        key=lambda item: item[0],
    )
    clock = ScaledClock(first_live - dt.timedelta(seconds=5))
    ledger = FailingLedger()
    engine = _engine(
        "dead-letter", clock, lambda on_bar, on_rejected: Feed(clock, script, on_bar), ledger
    )
    try:
        asyncio.run(engine.run())
    except Exception as error:
        assert type(error).__name__ == "SessionKilledError"
    else:
        raise AssertionError("the session should have failed")
    report = engine.last_report
    assert report is not None and report.status == "failed"
    assert report.reason == "SessionKilledError: 1 ledger writes dead-lettered"
    assert report.stats["dead_lettered_writes"] == 1
    # Stopped right after the first minute with bars (the earlier, quiet ones close at once).
    assert report.stats["minutes_processed"] == SESSION.minutes - LIVE_MINUTES + 1
