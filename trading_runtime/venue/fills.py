"""How an order executes against one-minute bars: the fill models and the trading costs.

Shared by every driver of the venue (the emulator and the backtester), so a backtest of a day
and a sim session of the same day fill the same way. Prices in dollars, quantities in shares,
``Decimal`` throughout; nothing here reads a clock or keeps state (random draws are derived
from the seed and the order, so they do not depend on the order in which orders are matched).

Price rules (both models):

* An order meets the market in the first bar of its symbol at or after its arrival; that
  bar's **open** is its arrival price.
* **Market** orders execute at the open moved against the order by the costs: ``slippage_bps``
  of the open plus the half-spread (``half_spread_bps`` of the open when configured, else
  estimated from the bar as ``spread_range_fraction`` of its high-low range).
* **Limit** orders are *marketable on arrival* when the limit crosses the open (buy:
  ``limit >= open``): they execute at the cost-adjusted open, never worse than the limit. A
  limit that does not cross the open can execute later in the bar if the bar trades through
  it (buy: ``low < limit``; sell: ``high > limit``), at the limit, for resting orders
  (DAY/GTC) only. **IOC** orders get the arrival check only.
* Execution prices are rounded to the cent, buys up and sells down (never in the trader's
  favour), then capped at the limit.

Quantity rules:

* ``participation``: each bar offers at most ``max_participation`` of its volume to one order
  (at least one share when the bar has volume, none when it has none).
* ``paper`` (Alpaca paper trading's documented assumptions): the order fills regardless of
  its size and of the bar's volume, except that with probability ``partial_fill_probability``
  an execution is partial (a uniformly drawn part of the remainder), seeded by ``seed``.

What an execution leaves over waits for the next bar (DAY/GTC) or is canceled (IOC).

Costs: ``commission_per_share`` on every share and ``commission_per_order`` on an order's
first execution (both 0 by default, as at Alpaca for US equities), rounded up to the cent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal
from enum import StrEnum

from trading_runtime.domain.bars import Bar
from trading_runtime.domain.enums import OrderSide, OrderType, TimeInForce

CENT = Decimal("0.01")
BASIS_POINT = Decimal("0.0001")
_ZERO = Decimal(0)
_NOTIONAL_QUANTUM = Decimal("0.000000001")


class FillModelKind(StrEnum):
    PARTICIPATION = "participation"
    PAPER = "paper"


@dataclass(frozen=True, slots=True)
class FillModelConfig:
    """Which fill model, and the costs every execution bears.

    ``half_spread_bps`` None estimates the half-spread from each bar
    (``spread_range_fraction * (high - low)``); a value fixes it in basis points of the open.
    ``latency`` is the time from an order's arrival to its first execution (event times).
    """

    kind: FillModelKind = FillModelKind.PARTICIPATION
    slippage_bps: Decimal = Decimal("2")
    max_participation: Decimal = Decimal("0.10")
    partial_fill_probability: float = 0.1
    seed: int = 0
    half_spread_bps: Decimal | None = None
    spread_range_fraction: Decimal = Decimal("0.05")
    commission_per_share: Decimal = _ZERO
    commission_per_order: Decimal = _ZERO
    latency: dt.timedelta = dt.timedelta(milliseconds=20)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", FillModelKind(self.kind))
        if self.slippage_bps < 0:
            raise ValueError(
                "slippage_bps must be >= 0 (it always moves the price against the order)"
            )
        if not 0 < self.max_participation <= 1:
            raise ValueError("max_participation must be within (0, 1]")
        if not 0.0 <= self.partial_fill_probability <= 1.0:
            raise ValueError("partial_fill_probability must be within [0, 1]")
        if self.half_spread_bps is not None and self.half_spread_bps < 0:
            raise ValueError("half_spread_bps must be >= 0")
        if not 0 <= self.spread_range_fraction <= 1:
            raise ValueError("spread_range_fraction must be within [0, 1]")
        if self.commission_per_share < 0 or self.commission_per_order < 0:
            raise ValueError("commissions must be >= 0")
        if not dt.timedelta(0) <= self.latency < dt.timedelta(minutes=1):
            raise ValueError("latency must be within [0, 1 minute)")

    def half_spread(self, bar: Bar, open_price: Decimal) -> Decimal:
        """Half the bid-ask spread at ``bar``'s open, in dollars."""
        if self.half_spread_bps is not None:
            return open_price * BASIS_POINT * self.half_spread_bps
        return Decimal(str(max(bar.high - bar.low, 0.0))) * self.spread_range_fraction

    def cost_adjusted_open(self, side: OrderSide, bar: Bar) -> Decimal:
        """The open moved against ``side`` by slippage and half-spread (unrounded)."""
        open_price = Decimal(str(bar.open))
        cost = open_price * BASIS_POINT * self.slippage_bps + self.half_spread(bar, open_price)
        return open_price + cost if side is OrderSide.BUY else open_price - cost

    def commission(self, qty: Decimal, first_execution: bool) -> Decimal:
        fee = qty * self.commission_per_share
        if first_execution:
            fee += self.commission_per_order
        return fee.quantize(CENT, rounding=ROUND_CEILING) if fee else _ZERO


@dataclass(frozen=True, slots=True)
class Execution:
    """One execution: ``price`` per share, ``fee`` in dollars for the whole execution.

    ``reference_price`` is what the execution would have cost without slippage, spread and
    rounding: the open for an arrival fill, the limit for a resting order traded through.
    """

    qty: Decimal
    price: Decimal
    fee: Decimal
    reference_price: Decimal


@dataclass(frozen=True, slots=True)
class MatchResult:
    """Outcome of one bar: an execution (or none) and whether the order is now finished.

    ``finished`` with remaining quantity means the remainder is canceled (IOC).
    """

    execution: Execution | None
    finished: bool


def round_price(price: Decimal, side: OrderSide) -> Decimal:
    """To the cent, never in the trader's favour (buys up, sells down)."""
    return price.quantize(CENT, rounding=ROUND_CEILING if side is OrderSide.BUY else ROUND_FLOOR)


def draw(seed: int, *key: object) -> random.Random:
    """A generator for one decision, derived from ``seed`` and ``key`` (order-independent)."""
    digest = hashlib.blake2b(str((seed, *key)).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def match_order(
    *,
    side: OrderSide,
    order_type: OrderType,
    time_in_force: TimeInForce,
    remaining_qty: Decimal,
    limit_price: Decimal | None,
    bar: Bar,
    first_bar: bool,
    config: FillModelConfig = FillModelConfig(),
    first_execution: bool = True,
    draw_key: object = None,
) -> MatchResult:
    """Match the remaining quantity of one order against ``bar``.

    ``first_bar`` is True for the bar the order arrives in (arrival checks apply); later bars
    only reach resting (DAY/GTC) orders. ``draw_key`` identifies this execution attempt for
    the ``paper`` model's random partial fills (e.g. the order id and its fill count).
    """
    if remaining_qty <= 0:
        return MatchResult(None, True)
    is_ioc = time_in_force is TimeInForce.IOC
    if not first_bar and is_ioc:
        return MatchResult(None, True)

    price: Decimal | None = None
    open_price = Decimal(str(bar.open))
    reference = open_price
    if order_type is OrderType.MARKET:
        price = round_price(config.cost_adjusted_open(side, bar), side)
    else:
        assert limit_price is not None, "limit orders carry a limit price"
        is_buy = side is OrderSide.BUY
        crosses_open = limit_price >= open_price if is_buy else limit_price <= open_price
        if first_bar and crosses_open:
            rounded = round_price(config.cost_adjusted_open(side, bar), side)
            price = min(rounded, limit_price) if is_buy else max(rounded, limit_price)
        elif not is_ioc:
            trades_through = (
                Decimal(str(bar.low)) < limit_price
                if is_buy
                else Decimal(str(bar.high)) > limit_price
            )
            if trades_through:
                price = reference = limit_price
    if price is None:
        return MatchResult(None, is_ioc)

    qty = _quantity(remaining_qty, bar, config, draw_key)
    if qty <= 0:
        return MatchResult(None, is_ioc)
    fee = config.commission(qty, first_execution)
    finished = qty == remaining_qty or is_ioc
    return MatchResult(
        Execution(qty=qty, price=price, fee=fee, reference_price=reference), finished
    )


def _quantity(remaining: Decimal, bar: Bar, config: FillModelConfig, draw_key: object) -> Decimal:
    if config.kind is FillModelKind.PAPER:
        if remaining < 2 or config.partial_fill_probability <= 0:
            return remaining
        generator = draw(config.seed, "partial", draw_key)
        if generator.random() >= config.partial_fill_probability:
            return remaining
        whole = int(remaining.to_integral_value(rounding=ROUND_DOWN))
        return Decimal(generator.randint(1, whole - 1)) if whole >= 2 else remaining
    if bar.volume <= 0:
        return _ZERO
    available = (Decimal(str(bar.volume)) * config.max_participation).to_integral_value(
        rounding=ROUND_DOWN
    )
    return min(remaining, max(available, Decimal(1)))


def notional_qty(
    notional: Decimal, side: OrderSide, bar: Bar, config: FillModelConfig, held: Decimal
) -> Decimal:
    """Shares a notional (dollar) market order buys or sells at ``bar``'s cost-adjusted open:
    ``notional / price`` to 9 decimals, rounded down (sells: at most ``held``)."""
    price = round_price(config.cost_adjusted_open(side, bar), side)
    qty = (notional / price).quantize(_NOTIONAL_QUANTUM, rounding=ROUND_DOWN)
    return min(qty, held) if side is OrderSide.SELL else qty
