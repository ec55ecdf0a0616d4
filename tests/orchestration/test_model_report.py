"""The model tearsheet from the registry: ``trading-platform report MODEL --open`` writes and
opens it; ``model_evaluation`` links it with its key figures as a table on the asset page."""

from __future__ import annotations

import webbrowser
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import Engine

from orchestration.cli import main
from orchestration.report_metadata import model_report_metadata
from tests.support.models import register_champion
from tests.support.reports import tearsheet_report
from tests.unit.reports.builders import page_figures
from trading_runtime.reports.model_tearsheet import read_model, write_model_tearsheet
from trading_runtime.store.registry import ModelRegistry


def test_report_champion_open_writes_the_model_tearsheet_and_opens_it(
    cli_env: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    registry = ModelRegistry(engine)
    model_id = register_champion(registry, metrics={"walk_forward": tearsheet_report()})
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", opened.append)

    assert main(["report", "champion", "--open"]) == 0

    tearsheet = cli_env / "lake" / "reports" / "models" / f"model-{model_id}.html"
    assert opened == [tearsheet.as_uri()]
    figures = page_figures(tearsheet.read_text())
    assert set(figures) == {"returns", "ic", "calibration", "importance"}
    # The importance comes from the registered booster: one bar per feature it was trained on.
    [bars] = figures["importance"]["data"]
    assert set(bars["y"]) == set(registry.get(model_id).feature_names)
    assert f"opened {tearsheet.as_uri()}" in capsys.readouterr().out


def test_a_model_without_a_walk_forward_report_is_one_line(
    cli_env: Path, engine: Engine, capsys
) -> None:
    model_id = register_champion(ModelRegistry(engine))
    assert main(["report", f"model:{model_id}", "--open"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line == (
        f"error: model {model_id} has no walk-forward report "
        "(hint: retrain it: `trading-platform train`)"
    )


def test_the_evaluation_metadata_links_the_tearsheet_and_shows_the_key_figures(
    platform_env: Path, engine: Engine
) -> None:
    registry = ModelRegistry(engine)
    model = read_model(
        registry, register_champion(registry, metrics={"walk_forward": tearsheet_report()})
    )
    path = write_model_tearsheet(model, str(platform_env / "lake"))
    metadata = model_report_metadata(model, path)
    assert metadata["tearsheet"] == dg.MetadataValue.path(str(Path(path.path).resolve()))
    table = metadata["key_figures"].value
    rows = {record.data["figure"]: record.data["value"] for record in table.records}
    assert rows["net return (backtest)"] == "+3.12% (gross +4.11%; buy-and-hold +0.61%)"
    assert rows["calibration error (ECE)"] == "1.23%"
    assert "tearsheet" not in model_report_metadata(model, None)
