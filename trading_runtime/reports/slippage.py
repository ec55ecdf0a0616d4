"""Slippage of fills against the price their order was decided on. Pure.

Slippage is adverse price movement between the decision (the close of the bar the model
saw) and the execution: positive when a buy paid more or a sell got less. Per fill::

    per share  = (fill - decision) for a buy, (decision - fill) for a sell   ($)
    cost       = per share * qty                                            ($)
    bps        = per share / decision * 10,000

A session's mean is weighted by notional (total cost over the decision-price notional of
the compared fills), so a large fill counts for what it cost. Fills whose order has no
recorded decision price (orders placed outside the decision loop) are not compared.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from trading_runtime.store.read_models import SlippageInput

_ZERO = Decimal(0)
BPS = 10_000


def fill_bps(fill: SlippageInput) -> float | None:
    """Adverse slippage of one fill in basis points of its decision price."""
    per_share = fill.slippage_per_share
    if per_share is None or not fill.decision_price:
        return None
    return float(per_share / fill.decision_price) * BPS


def fill_cost(fill: SlippageInput) -> Decimal | None:
    """Adverse slippage of one fill in dollars."""
    per_share = fill.slippage_per_share
    return None if per_share is None else per_share * fill.qty


@dataclass(frozen=True, slots=True)
class SlippageSummary:
    fills_compared: int
    fills_without_decision_price: int
    cost: Decimal  # $, positive = paid
    decision_notional: Decimal  # $ of the compared fills at their decision prices
    worst_bps: float | None

    @property
    def mean_bps(self) -> float | None:
        """Notional-weighted mean (None when no fill could be compared)."""
        if not self.decision_notional:
            return None
        return float(self.cost / self.decision_notional) * BPS


def summarize(fills: Iterable[SlippageInput]) -> SlippageSummary:
    compared = missing = 0
    cost = notional = _ZERO
    worst: float | None = None
    for fill in fills:
        bps = fill_bps(fill)
        if bps is None or fill.decision_price is None:
            missing += 1
            continue
        compared += 1
        cost += fill_cost(fill) or _ZERO
        notional += fill.qty * fill.decision_price
        worst = bps if worst is None else max(worst, bps)
    return SlippageSummary(compared, missing, cost, notional, worst)


def combine(summaries: Iterable[SlippageSummary]) -> SlippageSummary:
    """The summary of several sessions' fills taken together."""
    parts = list(summaries)
    worst = [s.worst_bps for s in parts if s.worst_bps is not None]
    return SlippageSummary(
        fills_compared=sum(s.fills_compared for s in parts),
        fills_without_decision_price=sum(s.fills_without_decision_price for s in parts),
        cost=sum((s.cost for s in parts), _ZERO),
        decision_notional=sum((s.decision_notional for s in parts), _ZERO),
        worst_bps=max(worst) if worst else None,
    )
