"""Trading costs come from the settings in every backtest: raising commission, spread or
slippage lowers the net return by what was charged and leaves the gross return alone."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from tests.support.models import SYMBOLS, trained_model_bytes
from trading_runtime.backtest.replay import run_backtest
from trading_runtime.config import ConfigurationError, load_settings
from trading_runtime.features.batch import compute_features
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.synthetic import SyntheticMarket
from trading_runtime.modeling.artifact import TradingModel

DAYS = calendar.sessions_between(dt.date(2026, 3, 2), dt.date(2026, 3, 4))


@pytest.fixture(scope="module")
def market_days() -> tuple[pd.DataFrame, pd.DataFrame]:
    market = SyntheticMarket(7)
    bars = pd.concat([market.day_bars(day, ["SPY", *SYMBOLS]) for day in DAYS], ignore_index=True)
    features = pd.concat(
        [
            compute_features(bars[bars["timestamp"].dt.tz_convert(calendar.NEW_YORK).dt.date == d])
            for d in DAYS
        ],
        ignore_index=True,
    )
    return bars, features


def _run(frames: tuple[pd.DataFrame, pd.DataFrame], **costs: str) -> dict[str, float]:
    settings = load_settings(SYMBOLS=",".join(SYMBOLS), BUY_PROBABILITY_THRESHOLD="0.45", **costs)
    model = TradingModel.from_bytes(trained_model_bytes())
    result = run_backtest(frames[0], frames[1], model, None, settings.backtest_config())
    return dict(result.metrics)


def test_the_default_costs_are_the_venues() -> None:
    fill = load_settings().backtest_config().fill_model
    assert fill.commission_per_share == fill.commission_per_order == 0  # as at Alpaca
    assert fill.slippage_bps > 0 and fill.half_spread_bps is None  # estimated from each bar


@pytest.mark.parametrize(
    "costs",
    [
        {"COMMISSION_PER_ORDER": "1.00", "COMMISSION_PER_SHARE": "0.005"},
        {"HALF_SPREAD_BPS": "5"},
        {"SLIPPAGE_BPS": "10"},
    ],
    ids=["commission", "half-spread", "slippage"],
)
def test_a_cost_change_moves_net_but_not_gross(market_days, costs: dict[str, str]) -> None:
    free = {"SLIPPAGE_BPS": "0", "SPREAD_RANGE_FRACTION": "0"}
    cheap = _run(market_days, **free)
    dear = _run(market_days, **{**free, **costs})
    assert cheap["fills"] > 0
    assert cheap["costs"] == pytest.approx(0.0, abs=0.5)  # cent rounding only
    assert dear["costs"] > cheap["costs"] + 1.0
    assert dear["total_return"] < cheap["total_return"]
    # Gross adds the costs back: the same trades at the same reference prices (a share more
    # or less where a cost changed the buying power is allowed for).
    assert dear["gross_return"] == pytest.approx(cheap["gross_return"], abs=2e-4)
    moved = cheap["total_return"] - dear["total_return"]
    assert abs(dear["gross_return"] - cheap["gross_return"]) < moved / 5


def test_negative_costs_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="HALF_SPREAD_BPS"):
        load_settings(HALF_SPREAD_BPS="-1")
