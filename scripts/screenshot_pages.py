"""Full-page screenshots of every dashboard page on an artifacts folder, for checking by eye.

    python scripts/screenshot_pages.py --artifacts artifacts --out test-artifacts/pages [--pages pid dose]

Starts the dashboard on a free localhost port against the folder, opens every page in headless
Chromium (Debian's `chromium`, or $MRDIB_CHROMIUM), waits until its script has finished and its
charts are drawn, saves `<page>.png` and prints one line per page: charts, tables, and any
exception box or empty-state notice the page shows.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("MRDIB_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
PAGES = ["", "runs", "metrics", "disentanglement", "sensitivity", "traces", "ablations", "pid", "dose"]


def shoot(page, url: str, out: Path, name: str) -> str:
    page.goto(url)
    page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]', timeout=120_000)
    page.wait_for_function(
        """() => {
            const app = document.querySelector('[data-testid="stApp"]');
            return app && app.getAttribute('data-test-script-state') === 'notRunning'
                && document.querySelectorAll('[data-testid="stSkeleton"]').length === 0;
        }""", timeout=180_000)
    charts = page.locator('[data-testid="stPlotlyChart"]').count()
    if charts:
        page.wait_for_function(
            """(n) => Array.from(document.querySelectorAll('[data-testid="stPlotlyChart"]'))
                        .filter((chart) => chart.querySelector('g.trace, canvas.gl-canvas')).length >= n""",
            arg=charts, timeout=120_000)  # SVG traces, or a WebGL canvas (Scattergl above WEBGL_THRESHOLD points)
    page.screenshot(path=str(out / f"{name}.png"), full_page=True)
    tables = page.locator('[data-testid="stDataFrame"]').count()
    errors = page.locator('[data-testid="stException"]').count()
    notices = [text.strip().splitlines()[0] for text in page.locator('[data-testid="stAlert"]').all_inner_texts()]
    return f"{name}: {charts} charts, {tables} tables, {errors} exceptions" + (f"; notices: {notices}" if notices else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", default="artifacts")
    parser.add_argument("--out", default="test-artifacts/pages")
    parser.add_argument("--pages", nargs="+", choices=[p or "welcome" for p in PAGES], metavar="PAGE",
                        help=f"only these pages (default all: {', '.join(p or 'welcome' for p in PAGES)})")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from mrdib.commands.dashboard import free_port, wait_until_answering

    port = free_port()
    env = {**os.environ, "MRDIB_ARTIFACTS": str(Path(args.artifacts).resolve()), "OMP_NUM_THREADS": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.port", str(port), "--server.address",
         "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"], cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        reason = wait_until_answering(url, server, time.monotonic() + 120)
        if reason is not None:
            raise SystemExit(reason)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            for path in PAGES:
                if args.pages and (path or "welcome") not in args.pages:
                    continue
                try:
                    print(shoot(page, f"{url}/{path}", out, path or "welcome"), flush=True)
                except Exception as error:  # a page that never finishes is a finding, not the end of the walk
                    page.screenshot(path=str(out / f"{path or 'welcome'}.png"), full_page=True)
                    print(f"{path or 'welcome'}: did not finish ({type(error).__name__}: "
                          f"{str(error).splitlines()[0]})", flush=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"screenshots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
