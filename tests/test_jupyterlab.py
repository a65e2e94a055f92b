"""In a real JupyterLab, the theme notebooks' controls redraw everything that depends on them.

Drives JupyterLab in headless Chromium (Debian's /usr/bin/chromium, never a downloaded browser) with the
project's JupyterLab configuration (jupyter_config/). One JupyterLab, on a free loopback port with a
random token, serves copies of the notebooks for every test of this module and is stopped, with its
kernels, at the end. Screenshots of each check go to tests/artifacts/ (or $IWT_TEST_ARTIFACTS).
Skipped, with the reason, when Chromium or Playwright is missing; CI installs Chromium first (.ci/run).
"""

import os
import re
import shutil
import sys

import pytest

from iwt_helpers import paths
from tests import browser_servers as bs

pytestmark = pytest.mark.e2e
SCENARIOS = paths.NOTEBOOKS / "05_scenarios.ipynb"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    bs.need_browser()
    root = tmp_path_factory.mktemp("lab")
    for nb in paths.NOTEBOOKS.glob("0[0-9]_*.ipynb"):               # never touch the committed notebooks
        shutil.copy(nb, root / nb.name)
    port, token = bs.free_port(), bs.token()
    env = {k: v for k, v in os.environ.items() if k != "IWT_BATCH"}
    env.update(JUPYTER_CONFIG_DIR=str(root / ".jupyter"), JUPYTER_RUNTIME_DIR=str(root / ".runtime"),
               JUPYTER_CONFIG_PATH=str(paths.ROOT / "jupyter_config"))      # the project's settings, as `make lab` uses
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.port_retries=0",
            "--ip=127.0.0.1", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--allow-root"]
    with bs.server(argv, ready=url, env=env, cwd=root) as proc, bs.chromium() as browser:
        yield url, token, browser
        assert proc.poll() is None, "JupyterLab died during the tests"


def _open_and_run(browser, url, token, notebook):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    # a workspace of its own per notebook, so that no other notebook's tab (and widgets) is restored beside it
    page.goto(f"{url}/lab/workspaces/{notebook.split('_')[0]}/tree/{notebook}?reset&token={token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    page.wait_for_selector(".jp-StatusBar-Widget >> text=/Idle/", timeout=90_000)     # kernel up
    page.get_by_role("menuitem", name="Run", exact=True).click(timeout=30_000)
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click(timeout=30_000)
    page.wait_for_selector(".widget-dropdown select", timeout=120_000)
    page.wait_for_selector(".jp-OutputArea >> text=Sources and caveats", timeout=120_000, state="attached")
    return page


def _redrawn(page, n):
    """Wait for the notebook's n-th redraw and return the seconds the kernel took."""
    status = page.locator(f".iwt-redrawn[data-redraws='{n}']")
    status.wait_for(timeout=60_000)
    return float(re.search(r"redrawn in ([0-9.]+) s", status.text_content()).group(1))


def _failure_shot(page, name):
    bs.screenshot(page, f"{name}-failure")


def test_data_icb_picker_redraws_heading_headlines_tables_and_charts(lab):
    url, token, browser = lab
    page = _open_and_run(browser, url, token, "01_data.ipynb")
    try:
        # no news prompt or update notice from the project's JupyterLab settings
        assert page.get_by_text(re.compile("official Jupyter news", re.I)).count() == 0
        heading = page.locator(".jp-OutputArea h2", has_text="Greater Manchester")
        heading.wait_for(timeout=60_000)
        table = page.locator("table.iwt-table caption", has_text="Workforce by sector in Greater Manchester")
        table.wait_for(state="attached", timeout=60_000)
        qop = "img[src*='aria-label%3D%22Greater%20Manchester']"       # SVG charts are <img src="data:...">
        charts = page.locator(qop).count()
        assert charts >= 8
        headlines = page.locator(".iwt-headline")
        assert headlines.count() >= 5
        before = headlines.all_text_contents()
        page.locator(".widget-dropdown select").first.select_option(label="Cornwall and the Isles of Scilly (QT6)")
        seconds = _redrawn(page, 1)
        print(f"\nJupyterLab: data notebook ICB picker redraw {seconds:.2f} s (kernel)")
        page.locator(".jp-OutputArea h2", has_text="Cornwall and the Isles of Scilly").wait_for(timeout=30_000)
        assert page.locator(".jp-OutputArea h2", has_text="Greater Manchester").count() == 0
        assert page.locator("table.iwt-table caption", has_text="Workforce by sector in Cornwall").count() == 1
        assert page.locator("table.iwt-table caption", has_text="Workforce by sector in Greater Manchester").count() == 0
        # Cornwall has one place, so the places chart gives way to a line saying so: one chart fewer.
        assert page.locator("img[src*='aria-label%3D%22Cornwall']").count() == charts - 1
        assert page.get_by_text(re.compile("has one sub-ICB location")).count() == 1
        assert page.locator(qop).count() == 0
        assert headlines.all_text_contents() != before
        bs.screenshot(page, "jupyterlab-data-icb-picker", show=page.locator(".jp-OutputArea h2", has_text="Cornwall"))
    except Exception:
        _failure_shot(page, "jupyterlab-data")
        raise
    finally:
        page.close()


def test_governance_kpi_picker_redraws_the_chart(lab):
    url, token, browser = lab
    page = _open_and_run(browser, url, token, "03_governance_metrics.ipynb")
    try:
        picker = page.locator(".widget-dropdown", has_text="KPI charted").locator("select")
        # All KPIs: the real ones read with SPC in one figure, the synthetic ones in another (no finding).
        real = page.locator("img[src*='read%20with%20SPC%20show%20special-cause']")
        synthetic = page.locator("img[src*='Synthetic%20demonstration%20KPIs']")
        real.wait_for(state="attached", timeout=60_000)
        synthetic.wait_for(state="attached", timeout=60_000)
        src = synthetic.first.get_attribute("src")
        label = picker.locator("option").nth(1).text_content()          # the first KPI: synthetic in the demo
        picker.select_option(index=1)
        seconds = _redrawn(page, 1)
        print(f"\nJupyterLab: governance KPI picker redraw {seconds:.2f} s (kernel)")
        page.wait_for_function("s => [...document.querySelectorAll('img')].some(i => i.src.includes("
                               "'Synthetic%20demonstration%20KPIs') && i.src !== s)", arg=src, timeout=30_000)
        one = page.locator("img[src*='Synthetic%20demonstration%20KPIs']")
        assert one.count() == 1 and one.first.get_attribute("src") != src      # the chart replaced, not added
        assert real.count() == 0                                                 # one KPI chosen: its figure only
        bs.screenshot(page, "jupyterlab-governance-kpi-picker", show=one.first)
        print(f"charted KPI: {label}")
    except Exception:
        _failure_shot(page, "jupyterlab-governance")
        raise
    finally:
        page.close()


GAP_TEXT = """() => { const el = [...document.querySelectorAll('.iwt-headline')].find(e => /gap/i.test(e.textContent));
                     return el ? el.textContent : null; }"""


def test_scenario_slider_changes_the_gap(lab):
    if not SCENARIOS.exists():
        pytest.skip("notebooks/05_scenarios.ipynb not written yet: no scenario slider to test")
    url, token, browser = lab
    page = _open_and_run(browser, url, token, SCENARIOS.name)
    try:
        page.wait_for_function(GAP_TEXT, timeout=60_000)
        before = page.evaluate(GAP_TEXT)
        sliders = page.locator(".widget-slider")
        retention = sliders.filter(has_text=re.compile("retention", re.I))
        slider = retention.first if retention.count() else sliders.first
        readout = slider.locator(".widget-readout")
        current = readout.text_content().strip()
        readout.click()
        page.keyboard.press("Control+A")
        # the slider's own clamp keeps the value in range; a big jump either way moves the gap
        page.keyboard.type("0" if current not in ("0", "0.0", "0.00") else "1000")
        page.keyboard.press("Enter")
        seconds = _redrawn(page, 1)
        print(f"\nJupyterLab: scenario slider redraw {seconds:.2f} s (kernel)")
        page.wait_for_function(f"(before) => ({GAP_TEXT})() !== before", arg=before, timeout=30_000)
        after = page.evaluate(GAP_TEXT)
        assert after != before
        print(f"gap headline: {before!r} -> {after!r}")
        bs.screenshot(page, "jupyterlab-scenario-slider",
                      show=page.locator(".iwt-headline", has_text=re.compile("gap", re.I)).first)
    except Exception:
        _failure_shot(page, "jupyterlab-scenarios")
        raise
    finally:
        page.close()
