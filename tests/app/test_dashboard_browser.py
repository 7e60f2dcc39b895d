"""The dashboard in a real browser: each page opens in headless Chromium without an exception box,
and its charts draw. Screenshots land in test-artifacts/screenshots/ for a person to look at."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# url path -> (title shown, plotly charts expected on the fixture artifacts, tables expected at least)
PAGES = {
    "": ("MRdIB runs", 0, 0),  # the welcome page is the default, at the root URL
    "runs": ("Runs", 0, 1),
    "metrics": ("Metrics table", 1, 1),
    "disentanglement": ("Disentanglement", 1, 0),
    "sensitivity": ("Sensitivity", 1, 0),
    "traces": ("Training traces", 1, 0),
    "ablations": ("Ablations and cost", 1, 2),
}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (Debian package chromium)"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def dashboard_url(fixture_artifacts, tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    env = {**os.environ, "MRDIB_ARTIFACTS": str(fixture_artifacts), "OMP_NUM_THREADS": "1"}
    with open(log, "w") as handle:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=REPO_ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.fixture(scope="module")
def browser_page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 2000})
        yield page
        browser.close()


def _wait_until_idle(page, timeout_ms: int = 90_000) -> None:
    """Connected, and the script has finished (Streamlit marks both on the app's root element)."""
    page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]', timeout=timeout_ms)
    page.wait_for_function(
        """() => {
            const app = document.querySelector('[data-testid="stApp"]');
            return app && app.getAttribute('data-test-script-state') === 'notRunning'
                && document.querySelectorAll('[data-testid="stSkeleton"]').length === 0;
        }""", timeout=timeout_ms)


@pytest.mark.parametrize("path", list(PAGES))
def test_page_renders_in_chromium(dashboard_url, browser_page, path):
    title, charts, tables = PAGES[path]
    page = browser_page
    page.goto(f"{dashboard_url}/{path}")
    _wait_until_idle(page)
    page.get_by_role("heading", name=title).first.wait_for(timeout=30_000)
    if charts:
        page.wait_for_function(
            """(n) => Array.from(document.querySelectorAll('[data-testid="stPlotlyChart"]'))
                        .filter((chart) => chart.querySelector('g.trace')).length >= n""",
            arg=charts, timeout=60_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{path or 'welcome'}.png"), full_page=True)
    assert page.locator('[data-testid="stException"]').count() == 0, f"{path}: an exception box is shown"
    assert page.locator('[data-testid="stPlotlyChart"]').count() == charts
    assert page.locator('[data-testid="stDataFrame"]').count() >= tables
    if charts:
        # drawn, not just placed: plotly has put marks (points, bars, lines) into the trace layers
        marks = page.locator('[data-testid="stPlotlyChart"] g.trace .point, '
                             '[data-testid="stPlotlyChart"] g.trace path.js-line').count()
        assert marks > 0, f"{path}: charts have no drawn marks"


def test_figure_and_table_downloads(dashboard_url, browser_page, tmp_path):
    """The PNG button renders the figure through kaleido on click; the LaTeX button gives booktabs."""
    page = browser_page
    page.goto(f"{dashboard_url}/metrics")
    _wait_until_idle(page)
    buttons = page.locator('[data-testid="stDownloadButton"] button')
    files = {}
    for label in ("PNG", "LaTeX"):
        with page.expect_download(timeout=90_000) as download:
            buttons.filter(has_text=label).first.click()
        files[label] = tmp_path / download.value.suggested_filename
        download.value.save_as(files[label])
    assert files["PNG"].name == "improvement_recall_at_5.png"
    assert files["PNG"].read_bytes().startswith(b"\x89PNG")
    latex = files["LaTeX"].read_text()
    assert r"\begin{tabular}" in latex and r"\textbf{" in latex and r"$\pm$" in latex
