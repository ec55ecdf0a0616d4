"""The Dagster UI as an operator sees it, in headless Chromium (Debian's, installed by
``make browser``): the asset graph renders and the live_trading Launchpad shows the session's
fields. One page load each; screenshots under ``.data/screenshots/``."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.support.eventually import eventually

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
