"""No-skill models are rejected by the promotion gates, with the failing gate named; the
real recipe on a market with a planted edge passes; a retrain with another seed replaces
the champion only when the paired interval says so, and an identical model ties.

Every model goes through the production path: a lake of synthetic sessions, walk-forward
folds with backtests of their test blocks (with costs), the report, the gates. The market
plants a moderate edge (shocks partly revert) and the backtests pay 20 bps of slippage per
fill, so that the real recipe's results are plausible. The ``small`` window runs in the
default suite; the ``large`` one is behind the ``research`` marker (``make test-research``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trading_runtime.backtest.replay import BacktestConfig
from trading_runtime.core.minute import DecisionConfig
from trading_runtime.features.build import build_feature_day
from trading_runtime.features.spec import FEATURE_SPEC
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.coverage import CoverageThresholds
from trading_runtime.marketdata.ingest import store_day
from trading_runtime.marketdata.sources import FetchedDay, Provenance
from trading_runtime.marketdata.storage import ParquetLake
from trading_runtime.marketdata.synthetic import SyntheticMarket, SyntheticMarketParameters
from trading_runtime.marketdata.universe import DEMO_SYMBOLS, NASDAQ_100
from trading_runtime.modeling.dataset import Dataset
from trading_runtime.modeling.pipeline import (
    CandidateValidation,
    champion_daily_logloss,
    evaluation_record,
    lake_backtester,
    validate_candidate,
)
from trading_runtime.modeling.promotion import PromotionDecision, decide_promotion
from trading_runtime.modeling.report import build_report
from trading_runtime.modeling.training import (
    FittedModel,
    Fitter,
    TrainingConfig,
    fit_booster,
)
from trading_runtime.modeling.walkforward import WalkForwardConfig
from trading_runtime.strategy.rules import StrategyConfig
from trading_runtime.venue import FillModelConfig

# A moderate planted edge: 30 % of a shock is transient (the default market: 60 %).
MARKET = SyntheticMarketParameters(shock_transient=0.3)
COSTS = FillModelConfig(slippage_bps=Decimal("20"))
TRADING = BacktestConfig(
    decision=DecisionConfig(strategy=StrategyConfig(buy_threshold=0.55)), fill_model=COSTS
)
RECIPE = TrainingConfig(n_estimators=100, validation_days=3, nthread=1)
DESIGN = WalkForwardConfig(folds=4, test_days=5)
# Unsigned measures of movement and the time of day: enough to predict *whether* the price
# moves (volatility clusters), nothing about *which way*.
VOLATILITY_FEATURES = (
    "vol_15",
    "vol_30",
    "range_1",
    "atr_14",
    "volume_z_30",
    "minute_of_session",
    "minutes_to_close",
)


@dataclasses.dataclass(frozen=True)
class Window:
    lake: ParquetLake
    noise_lake: ParquetLake  # the same bars; every feature replaced by noise
    days: list[dt.date]


def _build(root: Path, symbols: tuple[str, ...], sessions: int) -> Window:
    market = SyntheticMarket(3, parameters=MARKET)
    days = calendar.previous_sessions(dt.date(2026, 10, 1), sessions)
    lake, noise_lake = ParquetLake(str(root / "lake")), ParquetLake(str(root / "noise"))
    rng = np.random.default_rng(0)
    for day in days:
        bars = market.day_bars(day, list(symbols))
        fetched = FetchedDay(day, bars, Provenance(source="synthetic", feed="synthetic"))
        store_day(fetched, ["SPY", *symbols], lake, CoverageThresholds())
        build_feature_day(day, lake, "SPY")
        features = lake.read_features(day, FEATURE_SPEC.hash)
        for name in FEATURE_SPEC.names:
            features[name] = rng.normal(size=len(features)).astype(features[name].dtype)
        noise_lake.write_bars(day, bars)
        noise_lake.write_features(day, FEATURE_SPEC.hash, features)
    return Window(lake, noise_lake, days)


@pytest.fixture(
    scope="module",
    params=[
        pytest.param((DEMO_SYMBOLS, 40), id="small"),
        pytest.param((NASDAQ_100[:30], 60), id="large", marks=pytest.mark.research),
    ],
)
def window(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Window:
    symbols, sessions = request.param
    return _build(tmp_path_factory.mktemp("window"), symbols, sessions)


def _validate(window: Window, fitter: Fitter | None = None, **changes: Any) -> CandidateValidation:
    recipe = dataclasses.replace(RECIPE, **changes)
    return validate_candidate(window.lake, window.days, recipe, DESIGN, TRADING, fitter)


def _decide(
    candidate: CandidateValidation,
    champion: CandidateValidation | None = None,
    window: Window | None = None,
) -> PromotionDecision:
    scores = None
    if champion is not None and window is not None:
        scores = champion_daily_logloss(
            window.lake,
            champion.refit.model,
            champion.refit.split.train[-1],
            champion.report,
            candidate.report,
        )
    evaluation = evaluation_record(candidate.report, 1 if champion else None, scores)
    return decide_promotion(candidate.report, evaluation, 1 if champion else None)


@pytest.fixture(scope="module")
def real(window: Window) -> CandidateValidation:
    return _validate(window)


def test_the_planted_edge_passes_every_gate(real: CandidateValidation) -> None:
    decision = _decide(real)
    assert decision.promote, decision.reason
    pooled, intervals = real.report["pooled"], real.report["intervals"]
    assert intervals["logloss_improvement"]["lower"] > 0
    assert intervals["rank_ic"]["lower"] > 0
    assert pooled["trades"] >= 30 and pooled["net_return"] > 0
    assert pooled["daily_sharpe"] <= 10 and pooled["win_rate"] <= 0.85
    assert pooled["gross_return"] > pooled["net_return"], "costs were paid"


def _shuffled_labels(seed: int = 0) -> Fitter:
    rng = np.random.default_rng(seed)

    def shuffle(data: Dataset | None) -> Dataset | None:
        if data is None:
            return None
        return dataclasses.replace(data, labels=rng.permutation(data.labels))

    def fit(
        train: Dataset, validation: Dataset | None, config: TrainingConfig, rounds: int | None
    ) -> FittedModel:
        return fit_booster(shuffle(train), shuffle(validation), config, rounds)  # type: ignore[arg-type]

    return fit


def _only_features(names: tuple[str, ...]) -> Fitter:
    keep = np.isin(np.array(FEATURE_SPEC.names), names)

    def blind(data: Dataset | None) -> Dataset | None:
        if data is None:
            return None
        features = data.features.copy()
        features[:, ~keep] = 0.0  # constant columns: the trees cannot split on them
        return dataclasses.replace(data, features=features)

    def fit(
        train: Dataset, validation: Dataset | None, config: TrainingConfig, rounds: int | None
    ) -> FittedModel:
        return fit_booster(blind(train), blind(validation), config, rounds)  # type: ignore[arg-type]

    return fit


NullModel = Callable[[Window, CandidateValidation], CandidateValidation]


def _never_trades(window: Window, real: CandidateValidation) -> CandidateValidation:
    """The real recipe's fold models behind a buy threshold no probability reaches."""
    never = dataclasses.replace(
        TRADING, decision=DecisionConfig(strategy=StrategyConfig(buy_threshold=1.0))
    )
    backtest = lake_backtester(window.lake, never)
    folds = [
        dataclasses.replace(o, backtest=backtest(o.training.model, o.fold.split.test))
        for o in real.folds
    ]
    report = build_report(
        folds,
        DESIGN,
        RECIPE.validation_days,
        window.days,
        100_000.0,
        1.0,
        real.report["label"],
        seed=RECIPE.seed,
    )
    return dataclasses.replace(real, folds=folds, report=report)


def _random_features(window: Window, real: CandidateValidation) -> CandidateValidation:
    return validate_candidate(window.noise_lake, window.days, RECIPE, DESIGN, TRADING)


NULL_MODELS: dict[str, tuple[NullModel, str]] = {
    "shuffled labels": (lambda w, r: _validate(w, _shuffled_labels()), "skill"),
    "random features": (_random_features, "skill"),
    "volatility only": (
        lambda w, r: _validate(w, _only_features(VOLATILITY_FEATURES)),
        "direction",
    ),
    "never trades": (_never_trades, "trading"),
}


@pytest.mark.parametrize("name", list(NULL_MODELS))
def test_null_models_are_rejected_naming_the_gate(
    name: str, window: Window, real: CandidateValidation
) -> None:
    build, failing_gate = NULL_MODELS[name]
    decision = _decide(build(window, real))
    assert not decision.promote
    assert failing_gate in decision.failed, decision.reason
    assert decision.gates[failing_gate]["reason"] in decision.reason


def test_a_model_that_never_trades_fails_on_trading_alone(
    window: Window, real: CandidateValidation
) -> None:
    decision = _decide(_never_trades(window, real))
    assert decision.failed == ["trading"]
    assert decision.gates["trading"]["reason"] == "the model never traded on the test days"


def test_a_retrain_with_another_seed_replaces_the_champion_only_if_the_interval_says_so(
    window: Window, real: CandidateValidation
) -> None:
    retrain = _validate(window, seed=RECIPE.seed + 1)
    decision = _decide(retrain, champion=real, window=window)
    gate = decision.gates["beats_champion"]
    assert gate["paired_days"] == len(real.test_days)
    assert gate["champion_sources"] == {"artifact": 0, "walk_forward": len(real.test_days)}
    assert gate["passed"] == (gate["interval"]["lower"] > 0)
    assert decision.promote == (gate["passed"] and _decide(retrain).promote)


def test_an_identical_model_ties_and_keeps_the_champion(
    window: Window, real: CandidateValidation
) -> None:
    decision = _decide(real, champion=real, window=window)
    assert decision.failed == ["beats_champion"]
    gate = decision.gates["beats_champion"]
    assert gate["interval"]["lower"] == gate["interval"]["upper"] == 0.0
    assert "a tie: the champion stays" in gate["reason"]
