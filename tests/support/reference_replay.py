"""A straightforward replay to check ``run_backtest`` against: every minute in full.

Per minute with bars: every bar of the minute goes to the venue, every symbol is marked, the
minute's complete feature rows are scored in their own call and every one of them is decided
by ``decide_minute`` (no pre-filter, no skipped minute, no table). The rules of the replay are
the same (``trading_runtime.backtest.replay``'s docstring); only the shortcuts are missing, so
equal results mean the shortcuts change nothing.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

import numpy as np
import pandas as pd

from trading_runtime.backtest.driver import VenueDriver
from trading_runtime.backtest.replay import ONE_MINUTE, BacktestConfig
from trading_runtime.backtest.results import BacktestResult, Recorder
from trading_runtime.core.book import Book
from trading_runtime.core.minute import build_predictions, decide_minute
from trading_runtime.domain.bars import Bar
from trading_runtime.domain.enums import Action
from trading_runtime.features.spec import FEATURE_SPEC
from trading_runtime.marketdata import calendar
from trading_runtime.modeling.artifact import TradingModel
from trading_runtime.venue import IdSource, Venue


def reference_replay(
    bars: pd.DataFrame,
    features: pd.DataFrame,
    model: TradingModel,
    model_version_id: int | None,
    config: BacktestConfig,
) -> BacktestResult:
    bars = bars.sort_values(["timestamp", "symbol"], kind="stable").reset_index(drop=True)
    complete = features[features["complete"].to_numpy(dtype=bool)]
    complete = complete.sort_values("timestamp", kind="stable").reset_index(drop=True)
    last_close: dict[str, Decimal] = {}
    venue = Venue(
        starting_cash=config.starting_cash,
        symbols=set(bars["symbol"]),
        fill_model=config.fill_model,
        ids=IdSource(config.id_seed),
        quote=last_close.get,
    )
    book = Book(cash=config.starting_cash)
    recorder = Recorder()
    driver = VenueDriver(venue, book, recorder)
    counts = {action.value: 0 for action in Action}
    curve = []
    bars_by_minute = dict(iter(bars.groupby("timestamp", sort=True)))
    rows_by_minute = dict(iter(complete.groupby("timestamp", sort=True)))
    local = pd.DatetimeIndex(bars["timestamp"]).tz_convert(calendar.NEW_YORK)
    days = sorted(set(local.date))
    for day in days:
        session = calendar.session(day)
        driver.day = day
        if day != days[0]:
            book.new_day()
        for stamp in session.bar_timestamps():
            minute = bars_by_minute.get(stamp)
            if minute is None:
                continue
            moment = stamp.to_pydatetime()
            minute_bars: dict[str, Bar] = {}
            for row in minute.itertuples(index=False):
                bar = Bar(row.symbol, moment, row.open, row.high, row.low, row.close, row.volume)
                minute_bars.setdefault(row.symbol, bar)
            driver.minute(moment, minute_bars)
            for row in minute.itertuples(index=False):
                last_close[row.symbol] = Decimal(str(row.close))
            for symbol, bar in minute_bars.items():
                book.mark(symbol, Decimal(str(bar.close)))
            rows = rows_by_minute.get(stamp, complete.iloc[:0])
            values = rows[list(FEATURE_SPEC.names)].to_numpy(dtype=np.float32)
            predictions = build_predictions(
                list(rows["symbol"]),
                [moment] * len(rows),
                rows["close"].to_numpy(dtype=float),
                model.predict_proba(values),
                model_version_id,
            )
            state = book.state(moment)
            decisions = decide_minute(
                predictions, state, session, moment, config.decision, config.session_key
            )
            for decision in decisions:
                counts[decision.action.value] += 1
                if decision.intent is not None:
                    driver.submit(
                        decision.intent,
                        now=moment + ONE_MINUTE,
                        expires_at=session.close,
                        model_version_id=model_version_id,
                        decision_price=decision.prediction.price
                        if decision.prediction
                        else float(book.last_prices[decision.symbol]),
                    )
            curve.append((stamp, float(book.equity), float(book.cash), float(book.market_value)))
        driver.end_session(session.close)
    for order in venue.open_orders():
        recorder.final(order)
    equity_curve = pd.DataFrame(curve, columns=["timestamp", "equity", "cash", "market_value"])
    equity_curve["benchmark_equity"] = _buy_and_hold(bars, equity_curve, config)
    return recorder.result(equity_curve, counts, book, config.starting_cash)


def _buy_and_hold(bars: pd.DataFrame, curve: pd.DataFrame, config: BacktestConfig) -> np.ndarray:
    reference = bars[bars["symbol"] == config.reference_symbol].set_index("timestamp")
    first_open = Decimal(str(reference["open"].iloc[0]))
    shares = (config.starting_cash / first_open).to_integral_value(rounding=ROUND_DOWN)
    leftover = float(config.starting_cash - shares * first_open)
    closes = reference["close"].reindex(pd.DatetimeIndex(curve["timestamp"])).ffill().bfill()
    return leftover + float(shares) * closes.to_numpy()
