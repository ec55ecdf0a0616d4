"""The Dagster UI as an operator sees it, in headless Chromium (Debian's, installed by
``make browser``): the asset graph renders and the live_trading Launchpad shows the session's
fields; a session tearsheet and a model tearsheet draw their charts offline. One page load
each; screenshots under ``.data/screenshots/``."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.support.builders import day_bars
from tests.support.eventually import eventually
from tests.support.reports import tearsheet_report
from tests.unit.reports import builders as b
from trading_runtime.marketdata.storage import ParquetLake
from trading_runtime.reports.equity import marked_equity
from trading_runtime.reports.model_tearsheet import ModelReport, write_model_tearsheet
from trading_runtime.reports.session import session_report
from trading_runtime.reports.tearsheet import write_session_tearsheet

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = ROOT / ".data" / "screenshots"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not os.path.exists(CHROMIUM):
    pytest.skip(
        "no Chromium at /usr/bin/chromium: run `make browser` (apt-get install chromium)",
        allow_module_level=True,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def webserver(platform_env: Path, empty_database_url: str, tmp_path: Path) -> Iterator[str]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    url = make_url(empty_database_url).set(drivername="postgresql+psycopg2")
    (home / "dagster.yaml").write_text(
        f"storage:\n  postgres:\n    postgres_url: '{url.render_as_string(hide_password=False)}'\n"
        "telemetry:\n  enabled: false\n"
    )
    port = _free_port()
    webserver = str(Path(sys.executable).parent / "dagster-webserver")
    process = subprocess.Popen(
        [webserver, "-h", "127.0.0.1", "-p", str(port), "-w", str(ROOT / "workspace.yaml")],
        cwd=ROOT,
        env={**os.environ, "DAGSTER_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    def serving() -> bool:
        assert process.poll() is None, "dagster-webserver exited"
        try:
            with urllib.request.urlopen(f"{base}/server_info", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        eventually(serving, timeout_s=60, interval_s=0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def page() -> Iterator[object]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser.new_page(viewport={"width": 1600, "height": 1000})
        finally:
            browser.close()


def test_the_asset_graph_and_the_live_trading_launchpad_render(webserver: str, page) -> None:
    page.set_default_timeout(30_000)
    page.goto(f"{webserver}/asset-groups")
    skip = page.get_by_role("button", name="Skip")  # the first-visit modal
    skip.wait_for()
    skip.click()
    # The global lineage: one node per asset group, and the five materializable assets.
    for group in ("market_data", "features", "model", "trading"):
        page.get_by_text(group, exact=True).first.wait_for()
    page.get_by_text("Materialize all (5)").wait_for()
    page.screenshot(path=str(SCREENSHOTS / "asset-graph.png"))

    page.goto(f"{webserver}/locations/trading_platform/jobs/live_trading/playground")
    editor = page.locator(".CodeMirror").first
    editor.wait_for()
    config = editor.inner_text()
    for field in (
        "mode: sim",
        "session_date",
        "symbols",
        "buy_probability_threshold: 0.75",
        "max_position_fraction",
        "daily_loss_limit_fraction",
        "replay_speed",
    ):
        assert field in config, config
    page.screenshot(path=str(SCREENSHOTS / "live-trading-launchpad.png"))


def _tearsheet(data_root: Path) -> Path:
    """A session over the synthetic market's bars of one day (stored in the lake): a few round
    trips in two symbols, the broker's snapshots every 30 minutes."""
    bars = day_bars(b.DAY, ("AAPL", "MSFT"))
    ParquetLake(str(data_root)).write_bars(b.DAY, bars)
    # The synthetic market is sparse: a minute without a bar carries the last close (the grid).
    closes = bars.pivot(index="timestamp", columns="symbol", values="close").ffill().bfill()
    marks = [
        b.mark(minute, f"{closes.iloc[minute][symbol]:.2f}", symbol)
        for minute in range(len(closes))
        for symbol in ("AAPL", "MSFT")
    ]
    trades = [("AAPL", 20, 95), ("MSFT", 60, 61), ("AAPL", 150, 240), ("MSFT", 300, 370)]
    fills = []
    for symbol, entry, exit_ in trades:
        fills.append(
            b.fill("buy", "40", f"{closes.iloc[entry][symbol] * 1.0002:.2f}", entry + 1.1, symbol)
        )
        fills.append(
            b.fill("sell", "40", f"{closes.iloc[exit_][symbol] * 0.9998:.2f}", exit_ + 1.1, symbol)
        )
    curve = marked_equity(Decimal("100000"), b.at(0), fills, marks)
    half_hour = dt.timedelta(minutes=30)
    snapshots = [
        b.account((p.timestamp - b.OPEN) / dt.timedelta(minutes=1), str(p.equity))
        for p in curve
        if (p.timestamp - b.OPEN) % half_hour == dt.timedelta(0)
    ]
    info = b.info(ending_equity=str(curve[-1].equity))
    report = session_report(b.ledger(info, fills, marks, snapshots, rejected=1))
    written = write_session_tearsheet(report, str(data_root))
    return Path(written.path)


def _offline(page) -> list[str]:
    """Every request the page makes; anything but the file itself is refused."""
    requested: list[str] = []

    def offline(route) -> None:  # the page must need nothing but itself
        requested.append(route.request.url)
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            route.abort()

    page.route("**/*", offline)
    return requested


def test_a_session_tearsheet_draws_its_charts_offline(page, tmp_path: Path) -> None:
    tearsheet = _tearsheet(tmp_path / "lake")
    requested = _offline(page)
    page.set_default_timeout(30_000)
    page.goto(tearsheet.as_uri())
    charts = page.locator(".js-plotly-plot")
    # Equity and drawdown, one chart per traded symbol, slippage.
    eventually(lambda: charts.count() == 4, timeout_s=30, interval_s=0.2)
    for i in range(charts.count()):  # every chart has drawn traces into its SVG
        assert charts.nth(i).locator("svg.main-svg .trace path").count() > 0, i
    assert page.locator(".js-plotly-plot .boxlayer .trace").count() == 2  # candles: the lake
    assert requested == [tearsheet.as_uri()]
    page.screenshot(path=str(SCREENSHOTS / "session-tearsheet.png"), full_page=True)


def test_a_model_tearsheet_draws_its_charts_offline(page, tmp_path: Path) -> None:
    model = ModelReport(
        model_version_id=3,
        name="intraday-direction",
        status="champion",
        created_at=dt.datetime(2026, 11, 27, 22, 5, tzinfo=dt.UTC),
        walk_forward=tearsheet_report(folds=3, days_per_fold=5),
        importance={"ret_1": 30.0, "ret_5": 50.0, "rel_volume": 20.0, "spy_ret_1": 4.0},
        refit_rounds=41,
        decision="promote",
    )
    tearsheet = Path(write_model_tearsheet(model, str(tmp_path / "lake")).path)
    requested = _offline(page)
    page.set_default_timeout(30_000)
    page.goto(tearsheet.as_uri())
    charts = page.locator(".js-plotly-plot")
    # Cumulative return, IC and rank IC, calibration, feature importance.
    eventually(lambda: charts.count() == 4, timeout_s=30, interval_s=0.2)
    for key in ("returns", "ic", "calibration", "importance"):
        chart = page.locator(f"#chart-{key}")
        assert chart.locator("svg.main-svg .trace path").count() > 0, key
    assert page.locator("#chart-importance .barlayer .point").count() == 4  # one bar each
    assert page.locator("table").nth(1).locator("tbody tr").count() == 4  # 3 folds + pooled
    assert requested == [tearsheet.as_uri()]
    page.screenshot(path=str(SCREENSHOTS / "model-tearsheet.png"), full_page=True)
