"""How an order executes against one-minute bars. Shared by the emulator and the backtester,
so a backtest of a day and a sim session of the same day fill the same way.

Rules (all prices in dollars, quantities in shares, ``Decimal`` throughout):

* An order submitted while bar ``t`` is the latest published bar first meets the market in
  the next bar (``t + 1``): its arrival price is that bar's **open**.
* **Market** orders execute at the open moved against the order by ``slippage_bps``.
* **Limit** orders are *marketable on arrival* when the limit crosses the open (buy:
  ``limit >= open``): they execute at the slipped open, never worse than the limit. A limit
  that does not cross the open can still execute later in the bar if the bar trades through
  it (buy: ``low < limit``; sell: ``high > limit``) -- at the limit, for resting orders
  (DAY/GTC) only. **IOC** orders get the arrival check only; what does not execute on arrival
  is canceled.
* Each bar offers at most ``max_participation`` of its volume to one order (at least one
  share when the bar has volume); the rest of a DAY/GTC order waits for the next bar, the
  rest of an IOC order is canceled. That is how partial fills happen.
* ``fee_per_share`` is charged on every execution (zero by default, as at Alpaca for US
  equities; regulatory fees can be modelled here).
* Execution prices are rounded to the cent, buys up and sells down (never in the trader's
  favour), then capped at the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal

from trading_runtime.domain.bars import Bar
from trading_runtime.domain.enums import OrderSide, OrderType, TimeInForce

CENT = Decimal("0.01")
BASIS_POINT = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class FillModelConfig:
    slippage_bps: Decimal = Decimal("2")
    max_participation: Decimal = Decimal("0.10")
    fee_per_share: Decimal = Decimal("0")


@dataclass(frozen=True, slots=True)
class Execution:
    qty: Decimal
    price: Decimal
    fee: Decimal


@dataclass(frozen=True, slots=True)
class MatchResult:
    """Outcome of one bar: an execution (or none) and whether the order is now finished.

    ``finished`` with remaining quantity means the remainder is canceled (IOC).
    """

    execution: Execution | None
    finished: bool


def _round_price(price: Decimal, side: OrderSide) -> Decimal:
    return price.quantize(CENT, rounding=ROUND_CEILING if side is OrderSide.BUY else ROUND_FLOOR)


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
) -> MatchResult:
    """Match the remaining quantity of one order against ``bar``.

    ``first_bar`` is True for the bar the order arrives in (arrival checks apply);
    later bars only reach resting (DAY/GTC) orders.
    """
    if remaining_qty <= 0:
        return MatchResult(None, True)
    is_ioc = time_in_force is TimeInForce.IOC
    if not first_bar and is_ioc:
        return MatchResult(None, True)
    open_price = Decimal(str(bar.open))
    slip = BASIS_POINT * config.slippage_bps
    slipped = open_price * (1 + slip) if side is OrderSide.BUY else open_price * (1 - slip)

    price: Decimal | None = None
    if order_type is OrderType.MARKET:
        price = _round_price(slipped, side)
    else:
        assert limit_price is not None, "limit orders carry a limit price"
        crosses_open = (
            limit_price >= open_price if side is OrderSide.BUY else limit_price <= open_price
        )
        if first_bar and crosses_open:
            rounded = _round_price(slipped, side)
            price = (
                min(rounded, limit_price) if side is OrderSide.BUY else max(rounded, limit_price)
            )
        elif not is_ioc:
            trades_through = (
                Decimal(str(bar.low)) < limit_price
                if side is OrderSide.BUY
                else Decimal(str(bar.high)) > limit_price
            )
            if trades_through:
                price = limit_price
    if price is None:
        return MatchResult(None, is_ioc)

    available = (Decimal(str(bar.volume)) * config.max_participation).to_integral_value(
        rounding=ROUND_DOWN
    )
    if bar.volume > 0:
        available = max(available, Decimal(1))
    qty = min(remaining_qty, available)
    if qty <= 0:
        return MatchResult(None, is_ioc)
    fee = (qty * config.fee_per_share).quantize(CENT, rounding=ROUND_CEILING)
    finished = qty == remaining_qty or is_ioc
    return MatchResult(Execution(qty=qty, price=price, fee=fee), finished)
