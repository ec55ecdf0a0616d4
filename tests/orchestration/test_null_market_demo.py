"""``SYNTHETIC_PREDICTABILITY=0`` end to end through Dagster (the ``demo`` command: ingest ->
features -> candidate -> evaluation -> promote_model sensor -> promotion job): a market with
nothing to find ends without a champion, with the gates' reasons recorded and printed, and the
live step skipped with the reason. Run again with nothing new, the demo reuses the lake and the
registered model and decides nothing again."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from orchestration.cli import main

SYMBOLS = "AAPL,MSFT,NVDA,AMZN,GOOGL,META"


def _demo(capsys: pytest.CaptureFixture[str]) -> str:
    code = main(["demo", "--days", "30", "--symbols", SYMBOLS])
    out = capsys.readouterr().out
    assert code == 0, out
    return out


@pytest.mark.slow
def test_a_market_with_nothing_to_find_ends_without_a_champion_and_reruns_reuse(
    cli_env, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], database_url
) -> None:
    monkeypatch.setenv("SYNTHETIC_PREDICTABILITY", "0")
    first = _demo(capsys)
    assert ": reject" in first
    assert "No champion: the live step is skipped" in first

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            versions = connection.execute(text("select id, status from model_versions")).all()
            audit = connection.execute(
                text("select model_version_id, action, actor, reason, gates from model_promotions")
            ).all()
    finally:
        engine.dispose()
    assert [status for _, status in versions] == ["rejected"]
    [(model_id, action, actor, reason, gates)] = audit
    assert (model_id, action, actor) == (versions[0][0], "reject", "sensor:promote_model")
    # Every gate is recorded with its numbers; the failed ones are the reason, and printed.
    failed = [name for name, gate in gates.items() if gate.get("status") == "failed"]
    assert failed and "plausibility" not in failed  # rejected, not held for review
    for name in failed:
        assert f"{name}: {gates[name]['reason']}" in reason
        assert f"FAIL {name}" in first
    assert "interval" in gates["skill"] and "interval" in gates["direction"]
    assert gates["leak_checks"]["status"] == "passed"

    second = _demo(capsys)
    assert "reused: all 30 sessions are in the lake" in second
    assert f"model {model_id}: trained from the same recipe, code and data already" in second
    assert f"no promotion decision pending: model {model_id} is rejected" in second
    assert "No champion: the live step is skipped" in second
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("select count(*) from model_versions")).scalar() == 1
            assert connection.execute(text("select count(*) from model_promotions")).scalar() == 1
    finally:
        engine.dispose()
