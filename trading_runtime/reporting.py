"""Live-trading reports from the ledger: PnL, orders, fills and slippage. Pure.

Sessions are reported one by one (each has its own starting equity; sim replays of the same
day are independent experiments) and a day's totals are the sums over its sessions.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from trading_runtime.domain.enums import OrderSide
from trading_runtime.store.read_models import DailyReport, activity_from_fills

_ZERO = Decimal(0)


def session_metrics(report: DailyReport, session_id: int) -> dict[str, Any]:
    """Numbers for one session of a ``DailyReport``."""
    [session] = [s for s in report.sessions if s.id == session_id]
    orders = [o for o in report.orders if o.session_id == session_id]
    fills = [f for f in report.fills if f.session_id == session_id]
    order_ids = {o.client_order_id for o in orders}
    activity = activity_from_fills(fills)
    filled_orders = sum(1 for o in orders if o.filled_qty > 0)
    start = session.starting_equity
    equity_pnl = (
        session.ending_equity - start
        if start is not None and session.ending_equity is not None
        else None
    )
    slippage_bps = [
        float(s.slippage_per_share / s.decision_price) * 10_000
        for s in report.slippage
        if s.client_order_id in order_ids and s.slippage_per_share is not None and s.decision_price
    ]
    return {
        "session_id": session.id,
        "mode": session.mode.value,
        "status": session.status.value,
        "starting_equity": float(start) if start is not None else None,
        "ending_equity": float(session.ending_equity)
        if session.ending_equity is not None
        else None,
        "equity_pnl": float(equity_pnl) if equity_pnl is not None else None,
        "realized_pnl": float(
            sum((a.net_cash_flow for a in activity.values() if a.net_qty == 0), _ZERO)
        ),
        "orders": len(orders),
        "orders_filled": filled_orders,
        "fill_rate": filled_orders / len(orders) if orders else 0.0,
        "buys": sum(1 for o in orders if o.side is OrderSide.BUY),
        "sells": sum(1 for o in orders if o.side is OrderSide.SELL),
        "fills": len(fills),
        "traded_notional": float(sum((f.qty * f.price for f in fills), _ZERO)),
        "fees": float(sum((a.fees for a in activity.values()), _ZERO)),
        "open_symbols": sorted(a.symbol for a in activity.values() if a.net_qty != 0),
        "mean_slippage_bps": sum(slippage_bps) / len(slippage_bps) if slippage_bps else 0.0,
        "max_slippage_bps": max(slippage_bps) if slippage_bps else 0.0,
    }


def daily_report_metrics(report: DailyReport) -> dict[str, Any]:
    """Per-session metrics and the day's totals over its sessions."""
    sessions = [session_metrics(report, s.id) for s in report.sessions]
    totals: dict[str, Any] = {"sessions": len(sessions)}
    for key in (
        "orders",
        "orders_filled",
        "buys",
        "sells",
        "fills",
        "traded_notional",
        "fees",
        "realized_pnl",
    ):
        totals[key] = sum(s[key] for s in sessions)
    totals["equity_pnl"] = sum(s["equity_pnl"] or 0.0 for s in sessions)
    totals["fill_rate"] = totals["orders_filled"] / totals["orders"] if totals["orders"] else 0.0
    weighted = sum(s["mean_slippage_bps"] * s["fills"] for s in sessions)
    totals["mean_slippage_bps"] = weighted / totals["fills"] if totals["fills"] else 0.0
    totals["per_session"] = sessions
    return totals
