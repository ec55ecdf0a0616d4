"""Outcomes of a trading day at the venue, from either path (a backtest, or a sim session of
the live engine against the emulator), and checks of them that share no code with the venue.

The checks restate the rules from the configuration alone, so a bug in code both paths share
(a wrong slippage sign, a broken position cap) fails them even though the two paths agree:

* a fill at its order's arrival is never better than the bar's open moved against the order
  by the configured slippage and half-spread (a limit caps it); a resting order trades
  through its limit only at the limit, inside the bar's range;
* a fill never takes more than the configured share of the bar's volume (participation);
* no buy makes a position exceed the configured fraction of equity at decision time
  (equity recomputed from the fills and the closes);
* cash = start - sum(signed fill value) - fees, positions = sum(signed fill quantities) >= 0.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import pandas as pd

ONE_MINUTE = dt.timedelta(minutes=1)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class OrderRecord:
    client_order_id: str
    order_id: str | None
    symbol: str
    side: str
    order_type: str
    time_in_force: str
    qty: Decimal
    limit_price: Decimal | None
    decided_at: dt.datetime  # the bar the decision was made on
    status: str
    filled_qty: Decimal


@dataclass(frozen=True)
class FillRecord:
    execution_id: str
    client_order_id: str
    symbol: str
    side: str
    qty: Decimal
    price: Decimal
    timestamp: dt.datetime


@dataclass
class Outcome:
    orders: dict[str, OrderRecord] = field(default_factory=dict)
    rejections: dict[str, str] = field(default_factory=dict)
    fills: dict[str, FillRecord] = field(default_factory=dict)
    cash: Decimal = Decimal(0)
    positions: dict[str, Decimal] = field(default_factory=dict)

    def comparable(self) -> dict[str, object]:
        """What must agree between the two paths, order by order.

        Fill times are compared to the minute: their sub-minute part depends on the order in
        which the engine's concurrent submissions reach the emulator.
        """
        return {
            "orders": {
                cid: (o.order_id, o.status, o.filled_qty, o.qty, o.limit_price)
                for cid, o in self.orders.items()
            },
            "rejections": dict(self.rejections),
            "fills": {
                eid: (
                    f.client_order_id,
                    f.qty,
                    f.price,
                    f.timestamp.replace(second=0, microsecond=0),
                )
                for eid, f in self.fills.items()
            },
            "cash": self.cash,
            "positions": {s: q for s, q in self.positions.items() if q != 0},
        }


def backtest_outcome(result) -> Outcome:  # BacktestResult
    outcome = Outcome(cash=result.cash, positions=dict(result.positions))
    for row in result.orders.itertuples():
        if row.status == "rejected":
            outcome.rejections[row.client_order_id] = row.rejection
            continue
        outcome.orders[row.client_order_id] = OrderRecord(
            client_order_id=row.client_order_id,
            order_id=row.order_id,
            symbol=row.symbol,
            side=row.side,
            order_type=row.order_type,
            time_in_force=row.time_in_force,
            qty=Decimal(str(row.qty)),
            limit_price=None if math.isnan(row.limit_price) else Decimal(str(row.limit_price)),
            decided_at=pd.Timestamp(row.submitted_at).to_pydatetime(),
            status=row.status,
            filled_qty=Decimal(str(row.filled_qty)),
        )
    for row in result.fills.itertuples():
        outcome.fills[row.execution_id] = FillRecord(
            execution_id=row.execution_id,
            client_order_id=row.client_order_id,
            symbol=row.symbol,
            side=row.side,
            qty=Decimal(str(row.qty)),
            price=Decimal(str(row.price)),
            timestamp=pd.Timestamp(row.timestamp).to_pydatetime(),
        )
    return outcome


@dataclass(frozen=True)
class Rules:
    """The configuration the checks restate (bps are basis points of the open)."""

    starting_cash: Decimal
    slippage_bps: Decimal
    spread_range_fraction: Decimal
    max_participation: Decimal | None  # None: the paper model (no volume cap)
    max_position_fraction: Decimal


def check_invariants(outcome: Outcome, bars: pd.DataFrame, rules: Rules) -> None:
    """Raise AssertionError naming the first broken rule."""
    table = {
        (row.symbol, row.timestamp.to_pydatetime()): row for row in bars.itertuples(index=False)
    }
    orders = outcome.orders
    for fill in outcome.fills.values():
        order = orders[fill.client_order_id]
        minute = fill.timestamp.replace(second=0, microsecond=0)
        bar = table.get((fill.symbol, minute))
        assert bar is not None, f"{fill.execution_id}: no bar of {fill.symbol} at {minute}"
        assert minute > order.decided_at, f"{fill.execution_id}: filled before it was sent"
        _check_price(fill, order, bar, rules)
        if rules.max_participation is not None:
            cap = max(
                (Decimal(str(bar.volume)) * rules.max_participation).to_integral_value(ROUND_FLOOR),
                Decimal(1),
            )
            assert fill.qty <= cap, f"{fill.execution_id}: {fill.qty} shares above {cap}"
    _check_cash_and_positions(outcome, rules)
    _check_position_cap(outcome, bars, rules)


def _check_price(fill: FillRecord, order: OrderRecord, bar, rules: Rules) -> None:
    open_ = Decimal(str(bar.open))
    costs = (
        open_ * rules.slippage_bps / Decimal(10_000)
        + Decimal(str(bar.high - bar.low)) * rules.spread_range_fraction
    )
    limit = order.limit_price
    if fill.side == "buy":
        worst_case = (open_ + costs).quantize(CENT, ROUND_CEILING)
        floor = worst_case if limit is None else min(worst_case, limit)
        resting = limit is not None and fill.price == limit and limit < open_
        if resting:
            assert Decimal(str(bar.low)) < limit, f"{fill.execution_id}: limit not traded through"
        else:
            assert fill.price >= floor, (
                f"{fill.execution_id}: buy at {fill.price} better than the open {open_} "
                f"moved by the costs ({floor})"
            )
        assert limit is None or fill.price <= limit, f"{fill.execution_id}: above its limit"
    else:
        worst_case = (open_ - costs).quantize(CENT, ROUND_FLOOR)
        ceiling = worst_case if limit is None else max(worst_case, limit)
        resting = limit is not None and fill.price == limit and limit > open_
        if resting:
            assert Decimal(str(bar.high)) > limit, f"{fill.execution_id}: limit not traded through"
        else:
            assert fill.price <= ceiling, (
                f"{fill.execution_id}: sell at {fill.price} better than the open {open_} "
                f"moved by the costs ({ceiling})"
            )
        assert limit is None or fill.price >= limit, f"{fill.execution_id}: below its limit"


def _check_cash_and_positions(outcome: Outcome, rules: Rules) -> None:
    cash = rules.starting_cash
    held: dict[str, Decimal] = {}
    for fill in sorted(outcome.fills.values(), key=lambda f: f.timestamp):
        sign = 1 if fill.side == "buy" else -1
        cash -= sign * fill.qty * fill.price
        held[fill.symbol] = held.get(fill.symbol, Decimal(0)) + sign * fill.qty
        assert held[fill.symbol] >= 0, f"{fill.symbol} went short at {fill.timestamp}"
    assert outcome.cash == cash, f"cash {outcome.cash} != start - fills = {cash}"
    assert {s: q for s, q in held.items() if q} == {
        s: q for s, q in outcome.positions.items() if q
    }, "positions are not the sum of the fills"


def _check_position_cap(outcome: Outcome, bars: pd.DataFrame, rules: Rules) -> None:
    fills = sorted(outcome.fills.values(), key=lambda f: f.timestamp)
    closes = bars.sort_values("timestamp")
    for order in outcome.orders.values():
        if order.side != "buy" or order.limit_price is None:
            continue
        decided_end = order.decided_at + ONE_MINUTE
        cash, held = rules.starting_cash, {}
        for fill in fills:
            if fill.timestamp >= decided_end:
                break
            sign = 1 if fill.side == "buy" else -1
            cash -= sign * fill.qty * fill.price
            held[fill.symbol] = held.get(fill.symbol, Decimal(0)) + sign * fill.qty
        seen = closes[closes["timestamp"] <= pd.Timestamp(order.decided_at)]
        last = seen.groupby("symbol")["close"].last()
        equity = cash + sum(
            (qty * Decimal(str(last[symbol])) for symbol, qty in held.items() if qty),
            Decimal(0),
        )
        after = (held.get(order.symbol, Decimal(0)) + order.qty) * order.limit_price
        assert after <= rules.max_position_fraction * equity, (
            f"{order.client_order_id}: position of {after:.2f} above "
            f"{rules.max_position_fraction} of equity {equity:.2f}"
        )
