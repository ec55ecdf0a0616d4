"""In-process replay of whole sessions through the live decision core and the shared fill model.

Per minute ``m`` the replay does what the emulator and the engine do together:

1. working orders meet bar ``m`` (``sim.fill_model.match_order``; an order placed after bar
   ``m - 1`` arrives in bar ``m``), fills update the book;
2. the book is marked to bar ``m``'s closes;
3. the model's probabilities for bar ``m`` go through ``core.minute.decide_minute`` (strategy
   and risk); approved orders start working and arrive in bar ``m + 1``.

DAY orders still working at the close expire; positions are carried overnight. Predictions
for all bars are computed in one batched call up front: they do not depend on the book.
The benchmark buys the reference symbol (SPY) at the first open with all the cash and holds.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

import numpy as np
import pandas as pd

from trading_runtime.core.book import Book
from trading_runtime.core.minute import DecisionConfig, build_predictions, decide_minute
from trading_runtime.domain.bars import Bar
from trading_runtime.domain.enums import Action, OrderSide, OrderStatus, TimeInForce, TradeEventType
from trading_runtime.domain.orders import Fill, OrderIntent
from trading_runtime.features.spec import FEATURE_SPEC, FeatureSpec
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.universe import REFERENCE_SYMBOL
from trading_runtime.modeling.artifact import TradingModel
from trading_runtime.sim.fill_model import FillModelConfig, match_order

MINUTES_PER_YEAR = 252 * 390


@dataclass(frozen=True)
class BacktestConfig:
    starting_cash: Decimal = Decimal("100000")
    decision: DecisionConfig = field(default_factory=DecisionConfig)
    fill_model: FillModelConfig = field(default_factory=FillModelConfig)
    reference_symbol: str = REFERENCE_SYMBOL
    session_key: str = "backtest"


@dataclass
class BacktestResult:
    equity_curve: pd.DataFrame  # timestamp, equity, cash, market_value, benchmark_equity
    orders: pd.DataFrame
    fills: pd.DataFrame
    decision_counts: dict[str, int]
    metrics: dict[str, float]


@dataclass(slots=True)
class _Working:
    intent: OrderIntent
    arrival: pd.Timestamp
    remaining: Decimal
    decision_price: float
    filled_qty: Decimal = Decimal(0)


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

    book = Book(cash=config.starting_cash)
    working: dict[str, _Working] = {}
    orders: list[dict[str, object]] = []
    fills: list[dict[str, object]] = []
    curve: list[tuple[pd.Timestamp, float, float, float]] = []
    counts = {action.value: 0 for action in Action}
    symbols_column = bars["symbol"].to_numpy()
    prediction_symbols = complete["symbol"].to_numpy()
    prediction_closes = complete["close"].to_numpy()
    buy_threshold = config.decision.strategy.buy_threshold
    price_columns = {
        c: bars[c].to_numpy(dtype=float) for c in ("open", "high", "low", "close", "volume")
    }

    for day in days:
        session = calendar.session(day)
        if day != days[0]:
            book.new_day()
        for timestamp in session.bar_timestamps():
            rows = bar_groups.get(timestamp)
            if rows is None:
                continue
            moment = timestamp.to_pydatetime()
            # Only held symbols (marks) and symbols with working orders (fills) need bars.
            row_of = dict(zip(symbols_column[rows], rows, strict=True))
            needed = set(book.positions) | {o.intent.symbol for o in working.values()}
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
            _match_working(working, minute_bars, timestamp, book, day, config, orders, fills)
            for symbol in book.positions:
                if symbol in row_of:
                    book.mark(symbol, Decimal(str(price_columns["close"][row_of[symbol]])))
            prediction_rows = prediction_groups.get(timestamp)
            if prediction_rows is not None:
                # A symbol that is not held and not a buy candidate can only be a HOLD:
                # count it without building its decision (same orders, far less work).
                candidates = (probabilities[prediction_rows, 2] >= buy_threshold) | np.isin(
                    prediction_symbols[prediction_rows], list(book.positions)
                )
                counts[Action.HOLD.value] += int((~candidates).sum())
                prediction_rows = prediction_rows[candidates]
            if prediction_rows is not None and (len(prediction_rows) or book.positions):
                predictions = build_predictions(
                    prediction_symbols[prediction_rows],
                    [moment] * len(prediction_rows),
                    prediction_closes[prediction_rows],
                    probabilities[prediction_rows],
                    model_version_id,
                )
                state = book.state(moment)
                decisions = decide_minute(
                    predictions, state, session, moment, config.decision, config.session_key
                )
                for decision in decisions:
                    counts[decision.action.value] += 1
                    if decision.intent is not None:
                        book.on_submitted(decision.intent, model_version_id)
                        price = (
                            decision.prediction.price
                            if decision.prediction
                            else float(book.last_prices[decision.symbol])
                        )
                        working[decision.intent.client_order_id] = _Working(
                            decision.intent,
                            timestamp + pd.Timedelta(minutes=1),
                            decision.intent.qty,
                            price,
                        )
            curve.append(
                (timestamp, float(book.equity), float(book.cash), float(book.market_value))
            )
        for client_order_id in list(working):
            _close_order(working.pop(client_order_id), OrderStatus.EXPIRED, book, orders)

    equity_curve = pd.DataFrame(curve, columns=["timestamp", "equity", "cash", "market_value"])
    equity_curve["benchmark_equity"] = _benchmark(bars, equity_curve["timestamp"], config)
    orders_frame = pd.DataFrame(orders)
    fills_frame = pd.DataFrame(fills)
    metrics = _metrics(equity_curve, orders_frame, fills_frame, config, book)
    return BacktestResult(equity_curve, orders_frame, fills_frame, counts, metrics)


def _group_rows(timestamps: pd.DatetimeIndex) -> dict[pd.Timestamp, np.ndarray]:
    codes, uniques = pd.factorize(timestamps, sort=True)
    order = np.argsort(codes, kind="stable")
    boundaries = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    return {uniques[k]: order[boundaries[k] : boundaries[k + 1]] for k in range(len(uniques))}


def _match_working(
    working: dict[str, _Working],
    minute_bars: dict[str, Bar],
    timestamp: pd.Timestamp,
    book: Book,
    day: dt.date,
    config: BacktestConfig,
    orders: list[dict[str, object]],
    fills: list[dict[str, object]],
) -> None:
    for client_order_id in list(working):
        order = working[client_order_id]
        if order.arrival > timestamp:
            continue
        bar = minute_bars.get(order.intent.symbol)
        if bar is None:
            if order.arrival == timestamp and order.intent.time_in_force is TimeInForce.IOC:
                _close_order(working.pop(client_order_id), OrderStatus.CANCELED, book, orders)
            continue
        result = match_order(
            side=order.intent.side,
            order_type=order.intent.order_type,
            time_in_force=order.intent.time_in_force,
            remaining_qty=order.remaining,
            limit_price=order.intent.limit_price,
            bar=bar,
            first_bar=order.arrival == timestamp,
            config=config.fill_model,
        )
        if result.execution is not None:
            execution = result.execution
            if order.intent.side is OrderSide.SELL:
                qty = (
                    min(execution.qty, book.positions[order.intent.symbol].qty)
                    if order.intent.symbol in book.positions
                    else Decimal(0)
                )
            else:
                qty = execution.qty
            if qty > 0:
                fill = Fill(
                    execution_id=f"{client_order_id}-{len(fills)}",
                    broker_order_id=client_order_id,
                    client_order_id=client_order_id,
                    symbol=order.intent.symbol,
                    side=order.intent.side,
                    qty=qty,
                    price=execution.price,
                    timestamp=timestamp.to_pydatetime(),
                    fee=execution.fee,
                )
                book.apply_fill(fill, day)
                order.remaining -= qty
                order.filled_qty += qty
                slippage_bps = (float(execution.price) / order.decision_price - 1.0) * 1e4
                if order.intent.side is OrderSide.SELL:
                    slippage_bps = -slippage_bps
                fills.append(
                    {
                        "timestamp": timestamp,
                        "symbol": fill.symbol,
                        "side": fill.side.value,
                        "qty": float(qty),
                        "price": float(fill.price),
                        "fee": float(fill.fee),
                        "client_order_id": client_order_id,
                        "slippage_bps": slippage_bps,
                        "event": TradeEventType.FILL.value
                        if result.finished
                        else TradeEventType.PARTIAL_FILL.value,
                    }
                )
        if result.finished or order.remaining <= 0:
            status = OrderStatus.FILLED if order.remaining <= 0 else OrderStatus.CANCELED
            _close_order(working.pop(client_order_id), status, book, orders)
        else:
            book.working[client_order_id].remaining_qty = order.remaining


def _close_order(
    order: _Working, status: OrderStatus, book: Book, orders: list[dict[str, object]]
) -> None:
    book.working.pop(order.intent.client_order_id, None)
    orders.append(
        {
            "client_order_id": order.intent.client_order_id,
            "symbol": order.intent.symbol,
            "side": order.intent.side.value,
            "qty": float(order.intent.qty),
            "filled_qty": float(order.filled_qty),
            "limit_price": float(order.intent.limit_price)
            if order.intent.limit_price is not None
            else math.nan,
            "submitted_at": order.intent.created_at,
            "status": status.value,
            "reason": order.intent.reason,
        }
    )


def _benchmark(bars: pd.DataFrame, timestamps: pd.Series, config: BacktestConfig) -> np.ndarray:
    reference = bars[bars["symbol"] == config.reference_symbol].set_index("timestamp")
    if reference.empty or timestamps.empty:
        return np.full(len(timestamps), float(config.starting_cash))
    first_open = Decimal(str(reference["open"].iloc[0]))
    shares = (config.starting_cash / first_open).to_integral_value(rounding=ROUND_DOWN)
    leftover = float(config.starting_cash - shares * first_open)
    closes = reference["close"].reindex(pd.DatetimeIndex(timestamps)).ffill().bfill().to_numpy()
    return leftover + float(shares) * closes


def _metrics(
    curve: pd.DataFrame,
    orders: pd.DataFrame,
    fills: pd.DataFrame,
    config: BacktestConfig,
    book: Book,
) -> dict[str, float]:
    start = float(config.starting_cash)
    if curve.empty:
        return {"total_return": 0.0, "benchmark_return": 0.0}
    equity = curve["equity"].to_numpy()
    benchmark = curve["benchmark_equity"].to_numpy()
    returns = np.diff(equity, prepend=start) / np.concatenate(([start], equity[:-1]))
    peak = np.maximum.accumulate(np.concatenate(([start], equity)))[1:]
    drawdown = (equity - peak) / peak
    std = float(returns.std(ddof=1)) if len(returns) > 1 else 0.0
    filled = orders[orders["filled_qty"] > 0] if not orders.empty else orders
    return {
        "total_return": float(equity[-1] / start - 1.0),
        "benchmark_return": float(benchmark[-1] / start - 1.0),
        "excess_return": float(equity[-1] / start - benchmark[-1] / start),
        "max_drawdown": float(drawdown.min()),
        "sharpe_annualized": float(returns.mean() / std * math.sqrt(MINUTES_PER_YEAR))
        if std > 0
        else 0.0,
        "orders": float(len(orders)),
        "buy_orders": float((orders["side"] == "buy").sum()) if not orders.empty else 0.0,
        "sell_orders": float((orders["side"] == "sell").sum()) if not orders.empty else 0.0,
        "orders_filled": float(len(filled)),
        "fills": float(len(fills)),
        "fill_rate": float(len(filled) / len(orders)) if len(orders) else 0.0,
        "fees": float(book.fees_paid),
        "realized_pnl": float(book.realized_pnl),
        "mean_slippage_bps": float(fills["slippage_bps"].mean()) if not fills.empty else 0.0,
        "final_equity": float(equity[-1]),
        "minutes": float(len(curve)),
    }
