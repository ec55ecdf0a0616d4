"""Feature definitions, computed two ways: batch (vectorised, for training and backtests)
and streaming (incremental, for the live loop). The two agree to floating-point tolerance;
``tests/unit/features`` and the Dagster feature-parity check hold them to it."""

from trading_runtime.features.spec import FEATURE_SPEC, FeatureSpec

__all__ = ["FEATURE_SPEC", "FeatureSpec"]
