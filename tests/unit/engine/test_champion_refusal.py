"""A live session refuses to start without a champion it can serve, and says why: none is
promoted, or the promoted one was built for other features than the running code computes
(after a change of feature code, until a model for the new features is promoted)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.support.builders import FULL_DAY
from tests.support.ledgers import RecordingLedger
from trading_runtime.engine.live import EngineConfig, LiveEngine
from trading_runtime.engine.report import EngineStartError
from trading_runtime.modeling.artifact import ModelIncompatibleError


class OtherFeaturesModel:
    def check_compatible(self, spec: Any) -> None:
        raise ModelIncompatibleError(
            f"model features 895be7fd2a77 do not match the running feature spec {spec.hash}"
        )


class Registry:
    def __init__(self, champion: int | None) -> None:
        self.champion = champion

    def champion_id(self) -> int | None:
        return self.champion

    def load(self, model_version_id: int) -> OtherFeaturesModel:
        return OtherFeaturesModel()


def _start(champion: int | None) -> tuple[str, RecordingLedger]:
    ledger = RecordingLedger()
    engine = LiveEngine(
        EngineConfig(
            trading_day=FULL_DAY, symbols=("AAPL",), reference_symbol="SPY", session_key="t"
        ),
        broker=None,  # type: ignore[arg-type]
        market_data=None,  # type: ignore[arg-type]
        trade_updates=None,  # type: ignore[arg-type]
        models=Registry(champion),  # type: ignore[arg-type]
        ledger=ledger,
    )
    with pytest.raises(EngineStartError) as refused:
        asyncio.run(engine._start())
    engine._executor.shutdown(wait=True)
    return str(refused.value), ledger


def test_a_champion_built_for_other_features_is_refused_with_the_reason() -> None:
    reason, ledger = _start(champion=7)
    assert reason.startswith("champion model 7 could not be loaded: model features 895be7fd2a77")
    assert "do not match the running feature spec" in reason
    [event] = ledger.events("model_reload_failed")
    assert event.detail["model_version_id"] == 7


def test_no_champion_at_all_is_refused_with_what_to_do() -> None:
    reason, _ = _start(champion=None)
    assert reason == "no champion model in the registry: promote a model first"
