"""In JupyterLab, the data theme's ICB dropdown redraws the tables and charts in place.

Drives a real JupyterLab in headless Chromium (Debian's /usr/bin/chromium, never a downloaded
browser). Skipped, with the reason, when Chromium or Playwright is not installed; CI installs
Chromium first (.ci/run).
"""

import os
import re
import select
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from iwt_helpers import paths

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip("Chromium not installed (apt-get install chromium) - JupyterLab browser test skipped")
    pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    root = tmp_path_factory.mktemp("lab")
    shutil.copy(paths.NOTEBOOKS / "01_data.ipynb", root / "01_data.ipynb")    # never touch the committed notebook
    port, token = _free_port(), "iwt-test-token"
    env = {k: v for k, v in os.environ.items() if k != "IWT_BATCH"}
    env["JUPYTER_CONFIG_DIR"] = str(root / ".jupyter")
    proc = subprocess.Popen([sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
                             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
                             "--ServerApp.disable_check_xsrf=True", "--allow-root", "--LabApp.news_url=",
                             "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd=root)
    url = f"http://127.0.0.1:{port}"
    # Wait for the server to say it is running (its log line), not for a guessed time.
    deadline = time.monotonic() + 60
    while True:
        ready, _, _ = select.select([proc.stderr], [], [], max(0.0, deadline - time.monotonic()))
        line = proc.stderr.readline() if ready else ""
        if url in line:
            break
        if not ready or (not line and proc.poll() is not None):
            proc.kill()
            pytest.fail("JupyterLab did not start within 60 s")
    threading.Thread(target=proc.stderr.read, daemon=True).start()     # keep draining its log
    yield url, token
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_dropdown_redraws_charts_and_tables_for_another_icb(lab, tmp_path):
    from playwright.sync_api import sync_playwright

    url, token = lab
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                                          "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            _drive(page, url, token)
        except Exception:
            page.screenshot(path=str(tmp_path / "jupyterlab-failure.png"), full_page=False)
            print(f"\nscreenshot of the failure: {tmp_path / 'jupyterlab-failure.png'}")
            raise
        finally:
            browser.close()


def _drive(page, url, token):
    """Open the notebook, run it, switch ICB in the dropdown and check the outputs changed."""
    page.goto(f"{url}/lab/tree/01_data.ipynb?token={token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    # Wait until the kernel is up (status bar says Idle) before running everything.
    page.wait_for_selector(".jp-StatusBar-Widget >> text=/Idle/", timeout=90_000)
    page.get_by_role("menuitem", name="Run", exact=True).click(timeout=30_000)
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click(timeout=30_000)
    page.wait_for_selector(".widget-dropdown select", timeout=120_000)
    # JupyterLab shows SVG output as <img src="data:image/svg+xml,...">: the chart's title is in the src.
    qop = "img[src*='aria-label%3D%22Greater%20Manchester']"
    qe1 = "img[src*='aria-label%3D%22Lancashire%20and%20South%20Cumbria']"
    page.wait_for_selector(qop, timeout=120_000, state="attached")
    page.wait_for_selector(".jp-Notebook .jp-OutputArea >> text=Sources and caveats", timeout=120_000, state="attached")
    before = page.locator(qop).count()
    assert before >= 8                                   # every chart of the report, for QOP
    # A fresh locator each time: the widget view can be re-rendered while the notebook runs.
    page.locator(".widget-dropdown select").first.select_option(label="Lancashire and South Cumbria (QE1)")
    status = page.locator(".widget-html", has_text=re.compile(r"redrawn in [0-9.]+ s")).first
    status.wait_for(timeout=60_000)
    seconds = float(re.search(r"redrawn in ([0-9.]+) s", status.text_content()).group(1))
    print(f"\nJupyterLab dropdown redraw of the data theme: {seconds:.2f} s (measured by the notebook)")
    assert page.locator(qe1).count() == before
    assert page.locator(qop).count() == 0
    tables = page.locator("table", has_text="Lancashire and South Cumbria")
    assert tables.count() >= 1                           # tables redrawn too (per-capita comparison)
