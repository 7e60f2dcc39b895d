"""The dashboard in a real browser: each page opens in headless Chromium without an exception box,
and its charts draw; what a first-time user meets is checked where a browser sees it (the launcher
from another folder with the demo building in the background, links, no internet requests, a table
that fits, tick labels and a legend that do not collide). Screenshots land in
test-artifacts/screenshots/ for a person to look at."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from mrdib.commands.dashboard import free_port, wait_until_answering

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("MRDIB_CHROMIUM", "/usr/bin/chromium"))
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
    "pid": ("Information decomposition (PID)", 0, 0),  # no analysis.json in the fixture: it says what fills it
}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs {CHROMIUM} (Debian package chromium, or MRDIB_CHROMIUM)"),
]



def wait_until_healthy(url: str, process: subprocess.Popen, log: Path, started: float, failure: str,
                       seconds: float = 60.0) -> None:
    """Fail with the log's tail if the dashboard has not answered `seconds` after `started`."""
    reason = wait_until_answering(url, process, started + seconds)
    if reason is not None:
        pytest.fail(f"{failure} ({reason}): {log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def dashboard_url(fixture_artifacts, tmp_path_factory):
    port = free_port()
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
        wait_until_healthy(url, server, log, time.monotonic(), "streamlit did not start")
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


# -- what a first-time user meets -------------------------------------------------------------------

def _local(url: str, dashboard_url: str) -> bool:
    return url.startswith((dashboard_url, "data:", "blob:", "about:"))


def test_no_page_fetches_anything_from_the_internet(dashboard_url, browser_page):
    """Offline machines: every request (favicon, fonts, scripts) goes to the dashboard itself."""
    page = browser_page
    outside = []
    listener = lambda request: None if _local(request.url, dashboard_url) else outside.append(request.url)  # noqa: E731
    page.on("request", listener)
    try:
        for path in [*PAGES, "dose"]:
            page.goto(f"{dashboard_url}/{path}")
            _wait_until_idle(page)
        icon = page.locator('link[rel~="icon"]').first.get_attribute("href")
    finally:
        page.remove_listener("request", listener)
    assert outside == [], f"requests outside the dashboard: {sorted(set(outside))[:5]}"
    with urllib.request.urlopen(urllib.parse.urljoin(dashboard_url + "/", icon), timeout=10) as response:
        assert response.read().startswith(b"\x89PNG")  # the icon shipped in app/


def test_welcome_page_lists_the_pages_as_links(dashboard_url, browser_page):
    page = browser_page
    page.goto(dashboard_url)
    _wait_until_idle(page)
    links = page.locator('[data-testid="stMain"] a[data-testid="stPageLink-NavLink"]')
    hrefs = [links.nth(index).get_attribute("href") for index in range(links.count())]
    assert hrefs == ["runs", "metrics", "disentanglement", "sensitivity", "traces", "ablations", "dose", "pid"]
    assert all(links.nth(index).is_visible() for index in range(links.count()))
    links.filter(has_text="Sensitivity").click()
    page.get_by_role("heading", name="Sensitivity").first.wait_for(timeout=30_000)


def test_a_mistyped_artifacts_folder_says_it_does_not_exist(dashboard_url, browser_page, fixture_artifacts):
    page = browser_page
    page.goto(dashboard_url)
    _wait_until_idle(page)
    typo = str(fixture_artifacts) + "-typo"
    box = page.locator('[data-testid="stSidebar"] input[type="text"]').first
    box.fill(typo)
    box.press("Enter")
    page.get_by_text("does not exist").first.wait_for(timeout=30_000)
    assert page.get_by_role("button", name="Build the demo runs").count() == 0
    assert not Path(typo).exists()
    box.fill("")
    box.press("Enter")
    _wait_until_idle(page)


@pytest.mark.parametrize("path", ["runs", "metrics"])
def test_table_fits_the_page(dashboard_url, browser_page, path):
    """No sideways scrolling for the Runs table or the metrics table (its alphas column not cut off)."""
    page = browser_page
    page.set_viewport_size({"width": 1400, "height": 1600})
    page.goto(f"{dashboard_url}/{path}")
    _wait_until_idle(page)
    grid = page.locator('[data-testid="stDataFrame"] .dvn-scroller').first
    grid.wait_for(timeout=30_000)
    widths = grid.evaluate("(el) => [el.scrollWidth, el.clientWidth]")
    assert widths[0] <= widths[1] + 2, f"the {path} table scrolls sideways: {widths[0]} px in {widths[1]} px"


def _boxes(page, selector: str) -> list[dict]:
    return page.evaluate("""(selector) => Array.from(document.querySelectorAll(selector)).map((el) => {
        const box = el.getBoundingClientRect();
        return {left: box.left, right: box.right, top: box.top, bottom: box.bottom, text: el.textContent};
    })""", selector)


def _overlap(a: dict, b: dict) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


def test_sensitivity_ticks_read_as_alphas_and_do_not_collide(dashboard_url, browser_page):
    page = browser_page
    page.goto(f"{dashboard_url}/sensitivity")
    _wait_until_idle(page)
    page.wait_for_selector('[data-testid="stPlotlyChart"] g.xtick text', timeout=60_000)
    ticks = _boxes(page, '[data-testid="stPlotlyChart"] g.xtick text')
    texts = [tick["text"] for tick in ticks]
    assert "0.0001" in texts and "0.001" in texts and not any("µ" in t or "m" == t[-1:] for t in texts), texts
    for index, tick in enumerate(ticks):
        assert not any(_overlap(tick, other) for other in ticks[index + 1:]), f"tick {tick['text']} collides"


def test_cluster_colourbar_does_not_cover_the_legend(dashboard_url, browser_page):
    page = browser_page
    page.goto(f"{dashboard_url}/disentanglement")
    _wait_until_idle(page)
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Colour").click()
    page.get_by_role("option", name="item cluster").first.click()
    _wait_until_idle(page)
    page.wait_for_selector('[data-testid="stPlotlyChart"] g.colorbar', timeout=60_000)
    legend = _boxes(page, '[data-testid="stPlotlyChart"] g.legend')
    colorbar = _boxes(page, '[data-testid="stPlotlyChart"] g.colorbar')
    assert legend and colorbar
    page.screenshot(path=str(SCREENSHOTS / "disentanglement_cluster.png"), full_page=True)
    assert not _overlap(legend[0], colorbar[0]), (legend[0], colorbar[0])
    assert page.get_by_text("What these runs show").count() == 1


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on `port`, from /proc/net/tcp{,6} (Linux)."""
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                addresses.add(address)
    return addresses


def test_launcher_from_another_folder_binds_localhost_and_builds_the_demo_in_the_background(tmp_path, browser_page):
    """`python -m mrdib dashboard` started outside the repository: the page answers within seconds,
    only on 127.0.0.1, shows the demo's progress, and the first finished run appears by itself."""
    port = free_port()
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}
    env.pop("MRDIB_ARTIFACTS", None)
    log = tmp_path / "launcher.log"
    started = time.monotonic()
    with open(log, "w") as handle:
        launcher = subprocess.Popen([sys.executable, "-m", "mrdib", "dashboard", "--port", str(port), "--artifacts",
                                     str(artifacts)], cwd=tmp_path, env=env, stdout=handle, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, launcher, log, started, "the dashboard did not answer within 60 s")
        print(f"dashboard answered after {time.monotonic() - started:.1f} s")
        addresses = _listening_addresses(port)
        assert addresses and addresses <= {"0100007F", "00000000000000000000000001000000"}, addresses  # loopback
        page = browser_page
        page.goto(url)
        page.get_by_text("Building the demo runs in the background").wait_for(timeout=60_000)
        page.get_by_text("Demo:").first.wait_for(timeout=30_000)
        page.screenshot(path=str(SCREENSHOTS / "welcome_demo_building.png"), full_page=True)
        # the first run lands and the page shows it without a reload (the progress fragment reruns it)
        page.locator('[data-testid="stMetric"]').first.wait_for(timeout=150_000)
        print(f"first demo run on the page after {time.monotonic() - started:.1f} s")
        assert page.get_by_text("run folders under").count() == 1
    finally:
        launcher.terminate()
        launcher.wait(timeout=60)
    from mrdib.commands import demo

    status = demo.read_status(artifacts)
    assert status is not None and not demo.is_building(status)  # the launcher stopped its demo process too
