"""In-process replay of whole sessions through the live decision core and the shared venue.

Per minute ``m`` the replay does what the emulator and the engine do together:

1. the venue matches working orders against bar ``m``
   (:meth:`~trading_runtime.venue.Venue.on_minute`); its trade updates, as the domain's
   ``OrderUpdated``, go to ``Book.on_update`` exactly as the engine applies trade updates;
2. the book is marked to bar ``m``'s closes;
3. the model's probabilities for bar ``m`` go through ``core.minute.decide_minute`` (strategy
   and risk); approved orders are submitted to the venue at the end of minute ``m`` (so they
   arrive in minute ``m + 1``); a refusal releases the book as the engine's does.

After each session the venue cancels IOC orders and expires DAY orders; positions are carried
overnight. Predictions do not depend on the book: each session's complete feature rows are
scored in one batched call before the session is replayed.

Only what can change anything is built. The minute loop works on columns (the rows of each
minute are slices found once per session). Of the predictions, only the rows that can act
are decided (``strategy.rules.signals``: a buy signal, or a sell signal for a held symbol);
every other row is a HOLD whatever the book says, and is counted. A minute without such rows
is decided only when it can flatten positions (``core.minute.decides_without_predictions``).
Bars are built only for symbols with working orders (the venue matches nothing else), closes
are marked only for held symbols (nothing else is valued). ``tests/support/reference_replay``
replays every minute in full, for the tests to compare. The benchmark buys the reference
symbol (SPY) at the first open with all the cash and holds. No server code is imported here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd

from trading_runtime.backtest.driver import VenueDriver
from trading_runtime.backtest.results import BacktestResult, Recorder, benchmark
from trading_runtime.core.book import Book
from trading_runtime.core.minute import (
    DecisionConfig,
    build_predictions,
    decide_minute,
    decides_without_predictions,
)
from trading_runtime.domain.bars import Bar
from trading_runtime.domain.enums import Action
from trading_runtime.features.spec import FEATURE_SPEC, FeatureSpec
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.universe import REFERENCE_SYMBOL
from trading_runtime.modeling.artifact import TradingModel
from trading_runtime.strategy.rules import signals
from trading_runtime.venue import FillModelConfig, IdSource, Venue

ONE_MINUTE = dt.timedelta(minutes=1)
_PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
_HOLD = Action.HOLD.value

__all__ = ["BacktestConfig", "BacktestResult", "run_backtest"]


@dataclass(frozen=True)
class BacktestConfig:
    """``id_seed`` seeds the venue's order and execution ids (as ``EmulatorConfig.id_seed``);
    ``scoring_threads``: XGBoost threads for the one batched prediction per session (the
    model's own setting, single-threaded for serving, is restored afterwards)."""

    starting_cash: Decimal = Decimal("100000")
    decision: DecisionConfig = field(default_factory=DecisionConfig)
    fill_model: FillModelConfig = field(default_factory=FillModelConfig)
    reference_symbol: str = REFERENCE_SYMBOL
    session_key: str = "backtest"
    id_seed: int = 0
    scoring_threads: int = 2


def run_backtest(
    bars: pd.DataFrame,
    features: pd.DataFrame,
    model: TradingModel,
    model_version_id: int | None = None,
    config: BacktestConfig = BacktestConfig(),
    spec: FeatureSpec = FEATURE_SPEC,
) -> BacktestResult:
    """Replay ``bars`` (every symbol incl. the reference) with ``features`` of the same days."""
    model.check_compatible(spec)
    rows = _FeatureRows.of(features, spec)
    tape = _BarTape.of(bars)
    processed = 0  # bars before this row have been seen (quotes look no further)

    def quote(symbol: str) -> Decimal | None:
        """The symbol's latest close so far (market-buy reservations)."""
        return tape.last_close(symbol, processed)

    venue = Venue(
        starting_cash=config.starting_cash,
        symbols=set(tape.code_of),
        fill_model=config.fill_model,
        ids=IdSource(config.id_seed),
        quote=quote,
    )
    book = Book(cash=config.starting_cash)
    recorder = Recorder()
    driver = VenueDriver(venue, book, recorder)
    curve: list[tuple[float, float, float]] = []
    curve_times: list[pd.DatetimeIndex] = []
    counts = {action.value: 0 for action in Action}
    flattens = decides_without_predictions(config.decision)
    opens, highs, lows, closes, volumes = tape.open, tape.high, tape.low, tape.close, tape.volume
    symbol_of = rows.symbols

    for day in tape.days:
        session = calendar.session(day)
        driver.day = day
        if day != tape.days[0]:
            book.new_day()
        timestamps = session.bar_timestamps()
        minute_ns = timestamps.as_unit("ns").asi8
        bar_low = np.searchsorted(tape.ns, minute_ns, "left")
        bar_high = np.searchsorted(tape.ns, minute_ns, "right")
        feature_low = np.searchsorted(rows.ns, minute_ns, "left")
        feature_high = np.searchsorted(rows.ns, minute_ns, "right")
        # The session's predictions, in one call, and the rows that can act (the strategy's
        # entry and exit tests): a row without a buy signal acts only for a held symbol
        # with a sell signal; every other row is a HOLD, counted, not built.
        first, last = int(feature_low[0]), int(feature_high[-1])
        with model.threads(config.scoring_threads):
            probabilities = model.predict_proba(rows.values[first:last])
        buy, sell = signals(probabilities, config.decision.strategy)
        buy_at = np.flatnonzero(buy) + first
        sell_at = np.flatnonzero(sell & ~buy) + first
        buy_from, buy_to = _bounds(buy_at, feature_low, feature_high)
        sell_from, sell_to = _bounds(sell_at, feature_low, feature_high)
        buy_rows, sell_rows = buy_at.tolist(), sell_at.tolist()
        row_counts = (feature_high - feature_low).tolist()
        # The session's bars as a (minute, symbol) -> row table (-1: no bar), in one scatter.
        row_at = tape.row_table(int(bar_low[0]), int(bar_high[-1]), minute_ns)
        moments = timestamps.to_pydatetime()
        has_bars = (bar_high > bar_low).tolist()
        highs_of_minute = bar_high.tolist()
        replayed: list[int] = []
        for k, moment in enumerate(moments):
            if not has_bars[k]:
                continue
            replayed.append(k)
            minute_rows = row_at[k]
            # Only symbols with working orders (fills) need bars; held ones need closes.
            working = venue.open_order_symbols()
            if working:
                minute_bars = {}
                for symbol in working:
                    i = int(minute_rows[tape.code_of[symbol]]) if symbol in tape.code_of else -1
                    if i >= 0:
                        minute_bars[symbol] = Bar(
                            symbol, moment, opens[i], highs[i], lows[i], closes[i], volumes[i]
                        )
                driver.minute(moment, minute_bars)
            processed = highs_of_minute[k]
            positions = book.positions
            for symbol in positions:
                i = int(minute_rows[tape.code_of[symbol]]) if symbol in tape.code_of else -1
                if i >= 0:
                    book.mark(symbol, Decimal(str(closes[i])))
            acting = buy_rows[buy_from[k] : buy_to[k]]
            if positions:
                held_sells = [
                    r for r in sell_rows[sell_from[k] : sell_to[k]] if symbol_of[r] in positions
                ]
                if held_sells:
                    acting = sorted(acting + held_sells)
            counts[_HOLD] += row_counts[k] - len(acting)
            if acting or (positions and flattens):
                predictions = build_predictions(
                    [symbol_of[r] for r in acting],
                    [moment] * len(acting),
                    [rows.closes[r] for r in acting],
                    [probabilities[r - first].tolist() for r in acting],
                    model_version_id,
                )
                decisions = decide_minute(
                    predictions,
                    book.state(moment),
                    session,
                    moment,
                    config.decision,
                    config.session_key,
                )
                for decision in decisions:
                    counts[decision.action.value] += 1
                    if decision.intent is None:
                        continue
                    price = (
                        decision.prediction.price
                        if decision.prediction
                        else float(book.last_prices[decision.symbol])
                    )
                    driver.submit(
                        decision.intent,
                        now=moment + ONE_MINUTE,
                        expires_at=session.close,
                        model_version_id=model_version_id,
                        decision_price=price,
                    )
            cash, market_value = book.cash, book.market_value
            curve.append((float(cash + market_value), float(cash), float(market_value)))
        curve_times.append(timestamps[replayed])
        driver.end_session(session.close)
    for order in venue.open_orders():
        recorder.final(order)

    stamps = curve_times[0].append(curve_times[1:]) if curve_times else pd.DatetimeIndex([])
    values = np.array(curve, dtype=float).reshape(len(curve), 3)
    reference = tape.rows_of(config.reference_symbol)
    equity_curve = pd.DataFrame(
        {
            "timestamp": pd.Series(stamps, dtype=stamps.dtype),
            "equity": values[:, 0],
            "cash": values[:, 1],
            "market_value": values[:, 2],
            "benchmark_equity": benchmark(
                tape.ns[reference],
                tape.open[reference],
                tape.close[reference],
                stamps.as_unit("ns").asi8,
                config.starting_cash,
            ),
        }
    )
    return recorder.result(equity_curve, counts, book, config.starting_cash)


@dataclass(frozen=True)
class _FeatureRows:
    """The complete feature rows in time order (stable): their UTC nanoseconds, model inputs,
    symbols (one ``str`` each) and closes."""

    ns: np.ndarray
    values: np.ndarray
    symbols: list[str]
    closes: np.ndarray

    @classmethod
    def of(cls, features: pd.DataFrame, spec: FeatureSpec) -> _FeatureRows:
        # Columns are taken before rows are selected, so the frame is never copied whole.
        selected = np.flatnonzero(features["complete"].to_numpy(dtype=bool))
        ns = _nanoseconds(features["timestamp"])[selected]
        if len(ns) and (np.diff(ns) < 0).any():
            order = np.argsort(ns, kind="stable")
            selected, ns = selected[order], ns[order]
        values = np.take(features[list(spec.names)].to_numpy(dtype=np.float32), selected, axis=0)
        codes, names = pd.factorize(features["symbol"])
        symbols = np.asarray(names, dtype=object)[codes[selected]].tolist()
        closes = features["close"].to_numpy(dtype=float)[selected]
        return cls(ns, values, symbols, closes)


@dataclass(frozen=True)
class _BarTape:
    """The bars in time order, then symbol order (stable), as columns: UTC nanoseconds,
    prices and volume, each row's symbol code (``code_of``), and the trading days they cover.
    A symbol's rows are found when first asked for (quotes, the benchmark)."""

    ns: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    codes: np.ndarray
    code_of: dict[str, int]
    days: list[dt.date]
    _rows_of: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def of(cls, bars: pd.DataFrame) -> _BarTape:
        ns = _nanoseconds(bars["timestamp"])
        codes, names = pd.factorize(bars["symbol"], sort=True)
        columns = [bars[c].to_numpy(dtype=float) for c in _PRICE_COLUMNS]
        step = np.diff(ns)
        if (step < 0).any() or ((step == 0) & (np.diff(codes) < 0)).any():
            order = np.lexsort((codes, ns))
            ns, codes = ns[order], codes[order]
            columns = [column[order] for column in columns]
        minutes = ns[np.r_[True, ns[1:] != ns[:-1]]] if len(ns) else ns
        local = pd.DatetimeIndex(minutes, tz="UTC").tz_convert(calendar.NEW_YORK).normalize()
        opens, highs, lows, closes, volumes = columns
        return cls(
            ns,
            opens,
            highs,
            lows,
            closes,
            volumes,
            codes=codes,
            code_of={str(name): code for code, name in enumerate(names)},
            days=sorted(local.unique().date),
        )

    def rows_of(self, symbol: str) -> np.ndarray:
        """The rows of ``symbol``'s bars, in time order (none for an unknown symbol)."""
        rows = self._rows_of.get(symbol)
        if rows is None:
            code = self.code_of.get(symbol, -1)
            rows = self._rows_of[symbol] = (
                np.flatnonzero(self.codes == code) if code >= 0 else self.codes[:0]
            )
        return rows

    def last_close(self, symbol: str, before: int) -> Decimal | None:
        """The close of ``symbol``'s last bar among rows ``0 .. before - 1``, if any."""
        rows = self.rows_of(symbol)
        at = int(np.searchsorted(rows, before)) - 1
        return None if at < 0 else Decimal(str(self.close[rows[at]]))

    def row_table(self, low: int, high: int, minute_ns: np.ndarray) -> np.ndarray:
        """``table[k, code]``: the row of symbol ``code``'s bar in minute ``k`` (of
        ``minute_ns``) among rows ``low .. high - 1``, or -1."""
        table = np.full((len(minute_ns), len(self.code_of)), -1, dtype=np.int64)
        rows = np.arange(low, high)
        ns = self.ns[low:high]
        minute = np.searchsorted(minute_ns, ns)
        on_grid = minute < len(minute_ns)
        on_grid[on_grid] = minute_ns[minute[on_grid]] == ns[on_grid]
        # reversed, so that of a symbol's bars repeated within a minute the first one stands
        table[minute[on_grid][::-1], self.codes[low:high][on_grid][::-1]] = rows[on_grid][::-1]
        return table


def _bounds(rows: np.ndarray, low: np.ndarray, high: np.ndarray) -> tuple[list[int], list[int]]:
    """Where each minute's rows ``low[k] .. high[k] - 1`` start and end in sorted ``rows``."""
    return np.searchsorted(rows, low).tolist(), np.searchsorted(rows, high).tolist()


def _nanoseconds(timestamps: pd.Series) -> np.ndarray:
    """UTC nanoseconds since the epoch of a tz-aware timestamp column."""
    return pd.DatetimeIndex(timestamps).tz_convert("UTC").as_unit("ns").asi8
