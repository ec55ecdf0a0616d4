"""What a backtest records (orders, fills, equity) and the metrics computed from it.

Costs: every fill carries ``cost`` in dollars, its commission plus what slippage, spread and
cent rounding moved its price away from the ``reference_price`` (the bar's open for an arrival
fill). ``gross_return`` adds the session's costs back to the final equity; ``total_return``
(= ``net_return``) is after them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any

import numpy as np
import pandas as pd

from trading_runtime.core.book import Book
from trading_runtime.domain.enums import OrderSide
from trading_runtime.domain.orders import OrderIntent
from trading_runtime.venue import OrderRefusedError, TradeUpdateEvent, VenueOrder

MINUTES_PER_YEAR = 252 * 390


@dataclass
class BacktestResult:
    """Frames of the replay; ``cash`` and ``positions`` (shares) are exact, at the end."""

    equity_curve: pd.DataFrame  # timestamp, equity, cash, market_value, benchmark_equity
    orders: pd.DataFrame
    fills: pd.DataFrame
    decision_counts: dict[str, int]
    metrics: dict[str, float]
    cash: Decimal = Decimal(0)
    positions: dict[str, Decimal] = field(default_factory=dict)


@dataclass
class Recorder:
    """Orders (once final) and fills, as plain rows for the result frames."""

    intents: dict[str, tuple[OrderIntent, float | None]] = field(default_factory=dict)
    orders: list[dict[str, Any]] = field(default_factory=list)
    fills: list[dict[str, Any]] = field(default_factory=list)
    costs: Decimal = Decimal(0)

    def submitted(self, intent: OrderIntent, decision_price: float | None) -> None:
        self.intents[intent.client_order_id] = (intent, decision_price)

    def refused(self, intent: OrderIntent, refusal: OrderRefusedError) -> None:
        self.orders.append(_order_row(intent, None, "rejected", Decimal(0), None, refusal.message))

    def event(self, event: TradeUpdateEvent) -> None:
        order = event.order
        intent, decision_price = self.intents[order.client_order_id]
        if event.execution_id is not None:
            self._fill(event, intent, decision_price)
        if not order.is_open:
            self.final(order)

    def final(self, order: VenueOrder) -> None:
        intent, _ = self.intents[order.client_order_id]
        self.orders.append(
            _order_row(
                intent, order.id, order.status.value, order.filled_qty, order.filled_avg_price, ""
            )
        )

    def result(
        self,
        equity_curve: pd.DataFrame,
        decision_counts: dict[str, int],
        book: Book,
        starting_cash: Decimal,
    ) -> BacktestResult:
        """The replay's result: the recorded orders and fills as frames, their metrics, and
        the book's exact cash and positions at the end."""
        orders, fills = pd.DataFrame(self.orders), pd.DataFrame(self.fills)
        return BacktestResult(
            equity_curve,
            orders,
            fills,
            decision_counts,
            metrics(
                equity_curve,
                orders,
                fills,
                starting_cash,
                fees=book.fees_paid,
                costs=self.costs,
                realized_pnl=book.realized_pnl,
            ),
            cash=book.cash,
            positions={symbol: position.qty for symbol, position in book.positions.items()},
        )

    def _fill(
        self, event: TradeUpdateEvent, intent: OrderIntent, decision_price: float | None
    ) -> None:
        assert event.qty is not None and event.price is not None
        sign = 1 if intent.side is OrderSide.BUY else -1
        reference = event.reference_price if event.reference_price is not None else event.price
        cost = sign * (event.price - reference) * event.qty + event.fee
        self.costs += cost
        slippage_bps = (
            (float(event.price) / decision_price - 1.0) * 1e4 * sign if decision_price else math.nan
        )
        self.fills.append(
            {
                "timestamp": event.timestamp,
                "symbol": intent.symbol,
                "side": intent.side.value,
                "qty": float(event.qty),
                "price": float(event.price),
                "fee": float(event.fee),
                "reference_price": float(reference),
                "cost": float(cost),
                "client_order_id": intent.client_order_id,
                "order_id": event.order.id,
                "execution_id": event.execution_id,
                "slippage_bps": slippage_bps,
                "event": event.event.value,
            }
        )


def _order_row(
    intent: OrderIntent,
    order_id: str | None,
    status: str,
    filled_qty: Decimal,
    average: Decimal | None,
    rejection: str,
) -> dict[str, Any]:
    return {
        "client_order_id": intent.client_order_id,
        "order_id": order_id,
        "symbol": intent.symbol,
        "side": intent.side.value,
        "order_type": intent.order_type.value,
        "time_in_force": intent.time_in_force.value,
        "qty": float(intent.qty),
        "filled_qty": float(filled_qty),
        "filled_avg_price": float(average) if average is not None else math.nan,
        "limit_price": float(intent.limit_price) if intent.limit_price is not None else math.nan,
        "submitted_at": intent.created_at,
        "status": status,
        "reason": intent.reason,
        "rejection": rejection,
    }


def benchmark(
    stamps: np.ndarray,
    opens: np.ndarray,
    closes: np.ndarray,
    curve_stamps: np.ndarray,
    starting_cash: Decimal,
) -> np.ndarray:
    """Equity of buying the reference symbol at its first open with all the cash, at each of
    ``curve_stamps`` (UTC nanoseconds).

    ``stamps``, ``opens``, ``closes``: the reference symbol's bars in time order. A curve
    minute without a reference bar takes the close of the last curve minute with one (of the
    first, before any). Raises ``ValueError`` when the reference has two bars in a minute.
    """
    if len(stamps) == 0 or len(curve_stamps) == 0:
        return np.full(len(curve_stamps), float(starting_cash))
    if (stamps[1:] == stamps[:-1]).any():
        raise ValueError("the reference symbol has more than one bar in a minute")
    first_open = Decimal(str(opens[0]))
    shares = (starting_cash / first_open).to_integral_value(rounding=ROUND_DOWN)
    leftover = float(starting_cash - shares * first_open)
    at = np.minimum(np.searchsorted(stamps, curve_stamps), len(stamps) - 1)
    marked = np.where(stamps[at] == curve_stamps, closes[at], np.nan)
    return leftover + float(shares) * pd.Series(marked).ffill().bfill().to_numpy()


def metrics(
    curve: pd.DataFrame,
    orders: pd.DataFrame,
    fills: pd.DataFrame,
    starting_cash: Decimal,
    *,
    fees: Decimal,
    costs: Decimal,
    realized_pnl: Decimal,
) -> dict[str, float]:
    start = float(starting_cash)
    if curve.empty:
        return {"total_return": 0.0, "benchmark_return": 0.0, "gross_return": 0.0}
    equity = curve["equity"].to_numpy()
    benchmark_equity = curve["benchmark_equity"].to_numpy()
    returns = np.diff(equity, prepend=start) / np.concatenate(([start], equity[:-1]))
    peak = np.maximum.accumulate(np.concatenate(([start], equity)))[1:]
    drawdown = (equity - peak) / peak
    std = float(returns.std(ddof=1)) if len(returns) > 1 else 0.0
    filled = int((orders["filled_qty"] > 0).sum()) if not orders.empty else 0
    total_return = float(equity[-1] / start - 1.0)
    side = orders["side"] if not orders.empty else pd.Series(dtype=str)
    return {
        "total_return": total_return,
        "net_return": total_return,
        "gross_return": float((equity[-1] + float(costs)) / start - 1.0),
        "costs": float(costs),
        "benchmark_return": float(benchmark_equity[-1] / start - 1.0),
        "excess_return": float(equity[-1] / start - benchmark_equity[-1] / start),
        "max_drawdown": float(drawdown.min()),
        "sharpe_annualized": float(returns.mean() / std * math.sqrt(MINUTES_PER_YEAR))
        if std > 0
        else 0.0,
        "orders": float(len(orders)),
        "buy_orders": float((side == "buy").sum()),
        "sell_orders": float((side == "sell").sum()),
        "orders_rejected": float((orders["status"] == "rejected").sum()) if len(orders) else 0.0,
        "orders_filled": float(filled),
        "fills": float(len(fills)),
        "fill_rate": float(filled / len(orders)) if len(orders) else 0.0,
        "fees": float(fees),
        "realized_pnl": float(realized_pnl),
        "mean_slippage_bps": float(fills["slippage_bps"].mean()) if not fills.empty else 0.0,
        "final_equity": float(equity[-1]),
        "minutes": float(len(curve)),
    }
