"""`iwt app readiness`: the readiness form as a standalone page (Voila) for partners.

The settings are checked as units; the browser test starts the app on a free loopback port with a random
token and a temporary data folder, saves a round in headless Chromium (Debian's /usr/bin/chromium) and
checks the responses file, that evidence comes back as text, and that Ctrl-C stops the app and its kernel.
"""

import signal
import sys
import urllib.request

import pandas as pd
import pytest

from iwt_helpers.app import server
from iwt_helpers.data import readiness_store as store
from tests import browser_servers as bs

XSS = "<img src=x onerror=alert(1)>"


@pytest.mark.unit
def test_defaults_bind_loopback_with_a_generated_token():
    argv, env, url = server.settings(port=8900)
    token = next(a.split("=", 1)[1] for a in argv if a.startswith("--Voila.token="))
    assert "--Voila.ip=127.0.0.1" in argv and "--strip_sources=True" in argv and len(token) >= 24
    assert url == f"http://127.0.0.1:8900/?token={token}"
    assert server.settings(port=8900)[2] != url                      # a new token each time


@pytest.mark.unit
def test_token_can_only_be_disabled_on_loopback(tmp_path, mark_data_folder):
    mark_data_folder(tmp_path)
    argv, env, url = server.settings(port=8900, no_token=True, data_dir=str(tmp_path), icb="qe1")
    assert "--Voila.token=" in argv and url.endswith(":8900/") and env[server.DATA_ENV] == str(tmp_path)
    assert env[server.ICB_ENV] == "QE1"
    with pytest.raises(server.AppError, match="anyone who can reach"):
        server.settings(no_token=True, ip="0.0.0.0")
    with pytest.raises(server.AppError):
        server.settings(port=0)


@pytest.mark.e2e
def test_partner_saves_a_round_in_the_browser_and_ctrl_c_stops_the_app(tmp_path, mark_data_folder):
    bs.need_browser()
    data = mark_data_folder(tmp_path / "data")
    (data / "readiness").mkdir(parents=True)                         # a temporary data folder, no rounds yet
    port, token = bs.free_port(), bs.token()
    argv = [sys.executable, "-m", "iwt_helpers.app", "readiness", f"--port={port}", f"--token={token}",
            f"--data={data}", "--icb=QOP"]
    dialogs = []
    with bs.server(argv, ready="Voilà is running at", timeout=90) as proc, bs.chromium() as browser:
        url = f"http://127.0.0.1:{port}/"
        with urllib.request.urlopen(url, timeout=30) as r:              # no token: the login page, not the form
            assert "login" in r.url and "Save round" not in r.read().decode()
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        try:
            page.goto(f"{url}?token={token}")
            page.get_by_role("button", name="Save round").wait_for(timeout=90_000)
            assert page.locator(".jp-InputArea, .jp-CodeMirrorEditor, .cm-editor").count() == 0    # no code shown
            bs.screenshot(page, "readiness-app-form")
            page.locator(".widget-dropdown", has_text="ICB:").locator("select").select_option(
                label="Lancashire and South Cumbria (QE1)")
            page.get_by_placeholder("partner organisation").fill("Test Care Providers Ltd")
            page.get_by_placeholder("partner organisation").press("Enter")
            scores = page.locator(".widget-dropdown", has_text="Score:").locator("select")
            scores.nth(0).select_option(index=4)                     # 3 on the 0-4 scale
            scores.nth(1).select_option(index=2)
            page.locator("textarea").first.fill(XSS)
            page.get_by_role("button", name="Save round").click()
            page.locator(".iwt-saved").wait_for(timeout=30_000)
            bs.screenshot(page, "readiness-app-saved")

            saved = store.read_responses("QE1", data)
            mine = saved[saved["partner"] == "Test Care Providers Ltd"]
            assert len(mine) == len(store.item_bank().ids)          # one row per item, as the notebook form writes
            assert mine["score"].notna().sum() == 2 and XSS in set(mine["evidence"].dropna())
            assert (pd.to_numeric(mine["score"]).dropna().tolist()) == [3, 1]

            page.reload()                                            # a new session reads the round back
            page.get_by_role("button", name="Save round").wait_for(timeout=90_000)
            page.locator(".widget-dropdown", has_text="ICB:").locator("select").select_option(
                label="Lancashire and South Cumbria (QE1)")
            page.get_by_placeholder("partner organisation").fill("Test Care Providers Ltd")
            page.get_by_placeholder("partner organisation").press("Enter")
            page.wait_for_function("x => document.querySelector('textarea').value === x", arg=XSS, timeout=30_000)
            assert page.locator("img[src='x']").count() == 0 and dialogs == []
            bs.screenshot(page, "readiness-app-evidence-as-text")
        except Exception:
            bs.screenshot(page, "readiness-app-failure")
            raise
        finally:
            page.close()
        kids = bs.descendants(proc.pid)
        assert kids, "the app's kernel should be running"
        proc.send_signal(signal.SIGINT)                              # Ctrl-C
        assert proc.wait(timeout=30) == 0
        assert not [k for k in kids if bs.alive(k)], "a kernel outlived the app"
