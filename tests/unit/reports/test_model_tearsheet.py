"""The model tearsheet: the walk-forward table, cumulative return against the benchmark, IC and
rank IC per day, calibration and feature importance, from the stored walk-forward report."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from plotly.offline import get_plotlyjs

from tests.support.reports import tearsheet_report
from tests.unit.reports import builders as b
from trading_runtime.reports.model_tearsheet import (
    ModelReport,
    model_key_figures,
    render_model_tearsheet,
    write_model_tearsheet,
)

IMPORTANCE = {"ret_1": 30.0, "ret_5": 50.0, "rel_volume": 20.0, "spy_ret_1": 0.0}


def model(**changes: object) -> ModelReport:
    values: dict[str, object] = {
        "model_version_id": 7,
        "name": "intraday-direction",
        "status": "champion",
        "created_at": dt.datetime(2026, 11, 27, 22, 5, tzinfo=dt.UTC),
        "walk_forward": tearsheet_report(),
        "importance": IMPORTANCE,
        "refit_rounds": 41,
        "decision": "promote",
    }
    values.update(changes)
    return ModelReport(**values)  # type: ignore[arg-type]


def test_the_page_is_self_contained_and_has_every_chart() -> None:
    page = render_model_tearsheet(model())
    assert get_plotlyjs() in page
    assert not re.search(r"<script[^>]*\ssrc=", page)
    assert set(b.page_figures(page)) == {"returns", "ic", "calibration", "importance"}


def test_cumulative_returns_compound_the_daily_net_gross_and_benchmark_returns() -> None:
    report = tearsheet_report()
    figures = b.page_figures(render_model_tearsheet(model(walk_forward=report)))
    returns = b.traces(figures["returns"])
    assert set(returns) == {"net of costs", "gross", "buy and hold (reference)"}
    net = returns["net of costs"]
    assert net["x"] == [d["day"] for d in report["daily"]]
    growth = 1.0
    for day, value in zip(report["daily"], net["y"], strict=True):
        growth *= 1.0 + day["net_return"]
        assert value == pytest.approx(100.0 * (growth - 1.0))
    # A line where the second fold's test block starts (5 days per fold).
    assert [shape["x0"] for shape in figures["returns"]["layout"]["shapes"]] == [4.5]


def test_ic_and_rank_ic_are_drawn_per_day_with_their_means() -> None:
    report = tearsheet_report()
    ic = b.traces(b.page_figures(render_model_tearsheet(model(walk_forward=report)))["ic"])
    assert ic["IC per day"]["y"] == [d["ic"] for d in report["daily"]]
    assert ic["rank IC per day"]["y"] == [d["rank_ic"] for d in report["daily"]]
    mean = sum(d["ic"] for d in report["daily"]) / len(report["daily"])
    [mean_line] = [name for name in ic if name.startswith("IC mean")]
    assert ic[mean_line]["y"][0] == pytest.approx(mean)


def test_calibration_leaves_out_empty_bins_and_importance_is_a_share_of_the_gain() -> None:
    figures = b.page_figures(render_model_tearsheet(model()))
    calibration = b.traces(figures["calibration"])
    assert set(calibration) == {"perfectly calibrated", "down", "flat", "up"}
    assert len(calibration["up"]["x"]) == 8  # the two bins without rows are not points
    [bars] = figures["importance"]["data"]
    shares = dict(zip(bars["y"], bars["x"], strict=True))
    assert shares == {"spy_ret_1": 0.0, "rel_volume": 20.0, "ret_1": 30.0, "ret_5": 50.0}
    assert bars["y"][-1] == "ret_5"  # the largest at the top


def test_the_walk_forward_table_and_key_figures_are_rounded_with_units() -> None:
    page = render_model_tearsheet(model())
    assert "1.0391" in page and "1.0391234" not in page  # log loss to 4 decimals
    assert "56.12" in page  # a fold's win rate in percent
    figures = dict(model_key_figures(tearsheet_report()))
    assert figures["net return (backtest)"] == "+3.12% (gross +4.11%; buy-and-hold +0.61%)"
    assert figures["log-loss gain over the prior"] == "+0.0100 (95 % interval +0.0060 .. +0.0140)"
    assert figures["costs"] == "$1,234.57"
    assert figures["test days"].startswith("10 (") and figures["test days"].endswith("2 folds")


def test_a_report_without_backtests_says_so(tmp_path: Path) -> None:
    report = tearsheet_report()
    for day in report["daily"]:
        for key in ("net_return", "gross_return", "benchmark_return"):
            del day[key]
    page = render_model_tearsheet(model(walk_forward=report, importance={}))
    assert "The folds were not backtested." in page
    assert "No feature importance recorded." in page
    written = write_model_tearsheet(model(walk_forward=report), str(tmp_path))
    assert Path(written.path) == tmp_path / "reports" / "models" / "model-7.html"
