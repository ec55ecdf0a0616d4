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
overnight. Predictions for all bars are computed in one batched call up front: they do not
depend on the book. The benchmark buys the reference symbol (SPY) at the first open with all
the cash and holds. No server code is imported here.
"""

from __future__ import annotations

import datetime as dt
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
    """``id_seed`` seeds the venue's order and execution ids (as ``EmulatorConfig.id_seed``)."""

    starting_cash: Decimal = Decimal("100000")
    decision: DecisionConfig = field(default_factory=DecisionConfig)
    fill_model: FillModelConfig = field(default_factory=FillModelConfig)
    reference_symbol: str = REFERENCE_SYMBOL
    session_key: str = "backtest"
    id_seed: int = 0


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
    complete = features[features["complete"]].reset_index(drop=True)
    probabilities = model.predict_proba(complete[list(spec.names)].to_numpy(dtype=np.float32))
    prediction_groups = _group_rows(pd.DatetimeIndex(complete["timestamp"]))
    bars = bars.sort_values(["timestamp", "symbol"], kind="stable").reset_index(drop=True)
    bar_groups = _group_rows(pd.DatetimeIndex(bars["timestamp"]))
    days = sorted(set(pd.DatetimeIndex(bars["timestamp"]).tz_convert(calendar.NEW_YORK).date))

    symbols_column = bars["symbol"].to_numpy()
    closes_column = bars["close"].to_numpy(dtype=float)
    last_row: dict[str, int] = {}  # each symbol's latest bar so far (market-buy reservations)

    def quote(symbol: str) -> Decimal | None:
        row = last_row.get(symbol)
        return None if row is None else Decimal(str(closes_column[row]))

    venue = Venue(
        starting_cash=config.starting_cash,
        symbols=set(bars["symbol"].unique()),
        fill_model=config.fill_model,
        ids=IdSource(config.id_seed),
        quote=quote,
    )
    book = Book(cash=config.starting_cash)
    recorder = Recorder()
    driver = VenueDriver(venue, book, recorder)
    curve: list[tuple[pd.Timestamp, float, float, float]] = []
    counts = {action.value: 0 for action in Action}
    prediction_symbols = complete["symbol"].to_numpy()
    prediction_closes = complete["close"].to_numpy()
    prediction_p_up = probabilities[:, 2]
    strategy = config.decision.strategy
    price_columns = {
        c: bars[c].to_numpy(dtype=float) for c in ("open", "high", "low", "close", "volume")
    }

    for day in days:
        session = calendar.session(day)
        driver.day = day
        if day != days[0]:
            book.new_day()
        for timestamp in session.bar_timestamps():
            rows = bar_groups.get(timestamp)
            if rows is None:
                continue
            moment = timestamp.to_pydatetime()
            # Only held symbols (marks) and symbols with working orders (fills) need bars.
            row_of = dict(zip(symbols_column[rows], rows, strict=True))
            needed = set(book.positions) | venue.open_order_symbols()
            minute_bars = {
                symbol: Bar(
                    symbol,
                    moment,
                    price_columns["open"][i],
                    price_columns["high"][i],
                    price_columns["low"][i],
                    price_columns["close"][i],
                    price_columns["volume"][i],
                )
                for symbol in needed
                if (i := row_of.get(symbol)) is not None
            }
            driver.minute(moment, minute_bars)
            last_row.update(row_of)
            for symbol in book.positions:
                if symbol in row_of:
                    book.mark(symbol, Decimal(str(closes_column[row_of[symbol]])))
            prediction_rows = prediction_groups.get(timestamp)
            if prediction_rows is not None:
                # The strategy's own pre-filter: rows that can only HOLD are counted, not built.
                held = np.isin(prediction_symbols[prediction_rows], list(book.positions))
                acting = may_act(prediction_p_up[prediction_rows], held, strategy)
                counts[Action.HOLD.value] += int((~acting).sum())
                prediction_rows = prediction_rows[acting]
            if prediction_rows is not None and (len(prediction_rows) or book.positions):
                predictions = build_predictions(
                    prediction_symbols[prediction_rows],
                    [moment] * len(prediction_rows),
                    prediction_closes[prediction_rows],
                    probabilities[prediction_rows],
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
                    intent = decision.intent
                    price = (
                        decision.prediction.price
                        if decision.prediction
                        else float(book.last_prices[decision.symbol])
                    )
                    driver.submit(
                        intent,
                        now=moment + ONE_MINUTE,
                        expires_at=session.close,
                        model_version_id=model_version_id,
                        decision_price=price,
                    )
            curve.append(
                (timestamp, float(book.equity), float(book.cash), float(book.market_value))
            )
        driver.end_session(session.close)
    for order in venue.open_orders():
        recorder.final(order)

    equity_curve = pd.DataFrame(curve, columns=["timestamp", "equity", "cash", "market_value"])
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


def _group_rows(timestamps: pd.DatetimeIndex) -> dict[pd.Timestamp, np.ndarray]:
    codes, uniques = pd.factorize(timestamps, sort=True)
    order = np.argsort(codes, kind="stable")
    boundaries = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    return {uniques[k]: order[boundaries[k] : boundaries[k + 1]] for k in range(len(uniques))}
