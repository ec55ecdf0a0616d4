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
scored in one batched call before the session is replayed. The minute loop works on arrays
(the rows of each minute are slices found once per session); Python objects are built only
for the rows that can act (buy candidates and held symbols, see ``strategy.rules.may_act``),
for the bars of symbols that are held or have working orders, and for orders. The benchmark
buys the reference symbol (SPY) at the first open with all the cash and holds. No server code
is imported here.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd

from trading_runtime.backtest.driver import VenueDriver
from trading_runtime.backtest.results import BacktestResult, Recorder, benchmark, metrics
from trading_runtime.core.book import Book
from trading_runtime.core.minute import DecisionConfig, build_predictions, decide_minute
from trading_runtime.domain.bars import Bar
from trading_runtime.domain.enums import Action
from trading_runtime.features.spec import FEATURE_SPEC, FeatureSpec
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.universe import REFERENCE_SYMBOL
from trading_runtime.modeling.artifact import TradingModel
from trading_runtime.strategy.rules import may_act
from trading_runtime.venue import FillModelConfig, IdSource, Venue

ONE_MINUTE = dt.timedelta(minutes=1)

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
    complete = features[features["complete"].to_numpy(dtype=bool)]
    feature_order = np.argsort(_nanoseconds(complete["timestamp"]), kind="stable")
    complete = complete.iloc[feature_order]
    feature_ns = _nanoseconds(complete["timestamp"])
    feature_values = complete[list(spec.names)].to_numpy(dtype=np.float32)
    prediction_codes, prediction_names = pd.factorize(complete["symbol"])
    prediction_symbols = np.asarray(prediction_names, dtype=object)[prediction_codes]
    code_of = {str(name): code for code, name in enumerate(prediction_names)}
    held_by_code = np.zeros(len(prediction_names), dtype=bool)
    prediction_closes = complete["close"].to_numpy(dtype=float)
    bars = bars.sort_values(["timestamp", "symbol"], kind="stable").reset_index(drop=True)
    bar_ns = _nanoseconds(bars["timestamp"])
    local_days = pd.DatetimeIndex(bars["timestamp"]).tz_convert(calendar.NEW_YORK).normalize()
    days = sorted(local_days.unique().date)

    closes_column = bars["close"].to_numpy(dtype=float)
    price_columns = {
        c: bars[c].to_numpy(dtype=float) for c in ("open", "high", "low", "close", "volume")
    }
    codes, symbol_names = pd.factorize(bars["symbol"])
    rows_by_symbol = {
        str(name): np.flatnonzero(codes == code) for code, name in enumerate(symbol_names)
    }
    bar_code = {str(name): code for code, name in enumerate(symbol_names)}
    processed = 0  # bars before this row have been seen (quotes look no further)

    def quote(symbol: str) -> Decimal | None:
        """The symbol's latest close so far (market-buy reservations)."""
        rows = rows_by_symbol.get(symbol)
        if rows is None:
            return None
        at = int(np.searchsorted(rows, processed)) - 1
        return None if at < 0 else Decimal(str(closes_column[rows[at]]))

    venue = Venue(
        starting_cash=config.starting_cash,
        symbols=set(rows_by_symbol),
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
    strategy = config.decision.strategy

    for day in days:
        session = calendar.session(day)
        driver.day = day
        if day != days[0]:
            book.new_day()
        timestamps = session.bar_timestamps()
        minute_ns = timestamps.as_unit("ns").asi8
        bar_low = np.searchsorted(bar_ns, minute_ns, "left")
        bar_high = np.searchsorted(bar_ns, minute_ns, "right")
        feature_low = np.searchsorted(feature_ns, minute_ns, "left")
        feature_high = np.searchsorted(feature_ns, minute_ns, "right")
        # The session's predictions, in one call.
        first, last = int(feature_low[0]), int(feature_high[-1])
        with scoring_threads(model, config.scoring_threads):
            probabilities = model.predict_proba(feature_values[first:last])
        p_up = probabilities[:, 2]
        # The session's bars as a (minute, symbol) -> row table (-1: no bar), in one scatter.
        row_at = _row_table(bar_low[0], bar_high[-1], bar_ns, codes, minute_ns, len(symbol_names))
        moments = timestamps.to_pydatetime()
        replayed: list[int] = []
        for k in range(len(timestamps)):
            low, high = int(bar_low[k]), int(bar_high[k])
            if low == high:
                continue
            replayed.append(k)
            moment = moments[k]
            minute_rows = row_at[k]
            # Only held symbols (marks) and symbols with working orders (fills) need bars.
            needed = set(book.positions) | venue.open_order_symbols()
            minute_bars = {}
            for symbol in needed:
                i = int(minute_rows[bar_code[symbol]]) if symbol in bar_code else -1
                if i >= 0:
                    minute_bars[symbol] = Bar(
                        symbol,
                        moment,
                        price_columns["open"][i],
                        price_columns["high"][i],
                        price_columns["low"][i],
                        price_columns["close"][i],
                        price_columns["volume"][i],
                    )
            driver.minute(moment, minute_bars)
            processed = high
            for symbol in book.positions:
                i = int(minute_rows[bar_code[symbol]]) if symbol in bar_code else -1
                if i >= 0:
                    book.mark(symbol, Decimal(str(closes_column[i])))
            start, stop = int(feature_low[k]), int(feature_high[k])
            if start < stop:
                rows = np.arange(start, stop)
                # The strategy's own pre-filter: rows that can only HOLD are counted, not built.
                held_by_code[:] = False
                for symbol in book.positions:
                    if symbol in code_of:
                        held_by_code[code_of[symbol]] = True
                held = held_by_code[prediction_codes[start:stop]]
                acting = may_act(p_up[start - first : stop - first], held, strategy)
                counts[Action.HOLD.value] += int((~acting).sum())
                rows = rows[acting]
                if len(rows) or book.positions:
                    predictions = build_predictions(
                        prediction_symbols[rows],
                        [moment] * len(rows),
                        prediction_closes[rows],
                        probabilities[rows - first],
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
            curve.append((float(book.equity), float(book.cash), float(book.market_value)))
        curve_times.append(timestamps[replayed])
        driver.end_session(session.close)
    for order in venue.open_orders():
        recorder.final(order)

    equity_curve = pd.DataFrame(curve, columns=["equity", "cash", "market_value"])
    stamps = curve_times[0].append(curve_times[1:]) if curve_times else pd.DatetimeIndex([])
    equity_curve.insert(0, "timestamp", pd.Series(stamps, dtype=stamps.dtype))
    equity_curve["benchmark_equity"] = benchmark(
        bars, equity_curve["timestamp"], config.starting_cash, config.reference_symbol
    )
    orders_frame = pd.DataFrame(recorder.orders)
    fills_frame = pd.DataFrame(recorder.fills)
    result_metrics = metrics(
        equity_curve,
        orders_frame,
        fills_frame,
        config.starting_cash,
        fees=book.fees_paid,
        costs=recorder.costs,
        realized_pnl=book.realized_pnl,
    )
    return BacktestResult(
        equity_curve,
        orders_frame,
        fills_frame,
        counts,
        result_metrics,
        cash=book.cash,
        positions={symbol: position.qty for symbol, position in book.positions.items()},
    )


@contextmanager
def scoring_threads(model: TradingModel, threads: int) -> Iterator[None]:
    """Predict with ``threads`` XGBoost threads inside the block, then restore the booster's
    own thread setting (predictions do not depend on it, only their speed)."""
    booster = model.booster
    config = json.loads(booster.save_config())
    previous = int(config["learner"]["generic_param"]["nthread"])
    booster.set_param({"nthread": threads})
    try:
        yield
    finally:
        booster.set_param({"nthread": previous})


def _row_table(
    low: int, high: int, bar_ns: np.ndarray, codes: np.ndarray, minute_ns: np.ndarray, symbols: int
) -> np.ndarray:
    """``table[k, code]``: the row of symbol ``code``'s bar in minute ``k`` (of ``minute_ns``)
    among bar rows ``low .. high - 1``, or -1."""
    table = np.full((len(minute_ns), symbols), -1, dtype=np.int64)
    rows = np.arange(low, high)
    minute = np.searchsorted(minute_ns, bar_ns[low:high])
    on_grid = minute < len(minute_ns)
    on_grid[on_grid] = minute_ns[minute[on_grid]] == bar_ns[low:high][on_grid]
    # reversed, so that of a symbol's bars repeated within a minute the first one stands
    table[minute[on_grid][::-1], codes[low:high][on_grid][::-1]] = rows[on_grid][::-1]
    return table


def _nanoseconds(timestamps: pd.Series) -> np.ndarray:
    """UTC nanoseconds since the epoch of a tz-aware timestamp column."""
    return pd.DatetimeIndex(timestamps).tz_convert("UTC").as_unit("ns").asi8
