"""The daily live-trading report: PnL, orders, fills and slippage from the ledger. Pure."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from trading_runtime.domain.enums import OrderSide

_ZERO = Decimal(0)


def daily_report_metrics(report: Any) -> dict[str, Any]:
    """Numbers for one ``store.ledger.DailyReport`` (every session of a trading day)."""
    orders = report.orders
    fills = report.fills
    filled_orders = sum(1 for o in orders if o.filled_qty and o.filled_qty > 0)
    notional = sum((f.qty * f.price for f in fills), _ZERO)
    fees = sum((a.fees for a in report.activity.values()), _ZERO)
    flat = [a for a in report.activity.values() if a.net_qty == 0]
    realized = sum((a.net_cash_flow for a in flat), _ZERO)
    equity_pnl = _ZERO
    for session in report.sessions:
        start = (session.summary or {}).get("starting_equity")
        if start is not None and session.ending_equity is not None:
            equity_pnl += session.ending_equity - Decimal(str(start))
    slippages_bps = [
        float(s.slippage_per_share / s.decision_price) * 10_000
        for s in report.slippage
        if s.slippage_per_share is not None and s.decision_price
    ]
    return {
        "sessions": len(report.sessions),
        "orders": len(orders),
        "orders_filled": filled_orders,
        "fill_rate": filled_orders / len(orders) if orders else 0.0,
        "buys": sum(1 for o in orders if o.side is OrderSide.BUY),
        "sells": sum(1 for o in orders if o.side is OrderSide.SELL),
        "fills": len(fills),
        "traded_notional": float(notional),
        "fees": float(fees),
        "realized_pnl_flat_symbols": float(realized),
        "equity_pnl": float(equity_pnl),
        "open_symbols": sorted(a.symbol for a in report.activity.values() if a.net_qty != 0),
        "mean_slippage_bps": sum(slippages_bps) / len(slippages_bps) if slippages_bps else 0.0,
        "max_slippage_bps": max(slippages_bps) if slippages_bps else 0.0,
    }
