"""Pure pre-trade risk checks: proposed orders in, approved (possibly reduced) orders or
reasons for refusal out; and day trades counted as FINRA counts them."""

from trading_runtime.risk.checks import RiskConfig, RiskVerdict, check_orders, kill_switch_triggered
from trading_runtime.risk.day_trades import count_day_trades, day_trades_in_window

__all__ = [
    "RiskConfig",
    "RiskVerdict",
    "check_orders",
    "count_day_trades",
    "day_trades_in_window",
    "kill_switch_triggered",
]
