"""Pure strategy rules: predictions and portfolio state in, proposed decisions out."""

from trading_runtime.strategy.rules import StrategyConfig, propose

__all__ = ["StrategyConfig", "propose"]
