"""Pure pre-trade risk checks: proposed orders in, approved (possibly reduced) orders or
reasons for refusal out."""

from trading_runtime.risk.checks import RiskConfig, RiskVerdict, check_orders, kill_switch_triggered

__all__ = ["RiskConfig", "RiskVerdict", "check_orders", "kill_switch_triggered"]
