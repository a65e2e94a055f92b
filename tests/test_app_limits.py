"""The readiness app's limits (issue 30): kernels are culled when their page is closed or unused and
capped in number, a data folder iwt did not make is refused (by the app and by `iwt readiness import`),
and a round that is not saved is explained to partners without server paths or process ids.

The browser test starts the app on a free loopback port with a random token, a short idle time and a
cap of two kernels, and lets Debian's Chromium (/usr/bin/chromium) talk to 127.0.0.1 only (every other
request is aborted)."""

import os
import sys
from datetime import date

import psutil
import pytest

from iwt_helpers import atomic, cli, paths
from iwt_helpers.app import readiness_app, server
from iwt_helpers.data import datastore
from iwt_helpers.data import readiness_store as store
from tests import browser_servers as bs


def arg(argv, name):
    return next(a.split("=", 1)[1] for a in argv if a.startswith(f"--{name}="))


# --------------------------------------------------------------------------- kernel culling and cap: settings

@pytest.mark.unit
def test_kernels_are_culled_after_the_idle_time_and_capped_by_default():
    argv = server.settings(port=8900)[0]
    assert int(arg(argv, "MappingKernelManager.cull_idle_timeout")) == server.DEFAULT_IDLE_MINUTES * 60
    assert arg(argv, "MappingKernelManager.cull_connected") == "True"          # an open but unused page too
    assert arg(argv, "CappedKernelManager.closed_timeout") == str(server.CLOSED_PAGE_S)   # a closed page sooner
    assert arg(argv, "CappedKernelManager.max_kernels") == str(server.DEFAULT_MAX_KERNELS)
    assert arg(argv, "VoilaConfiguration.multi_kernel_manager_class") == "iwt_helpers.app.kernels.CappedKernelManager"


@pytest.mark.unit
def test_idle_minutes_and_max_kernels_are_settings():
    argv = server.settings(port=8900, idle_minutes=0.25, max_kernels=3)[0]
    assert arg(argv, "MappingKernelManager.cull_idle_timeout") == "15"
    assert 1 <= int(arg(argv, "MappingKernelManager.cull_interval")) <= 15          # looked for within the idle time
    assert arg(argv, "CappedKernelManager.max_kernels") == "3"
    with pytest.raises(server.AppError, match="--idle-minutes"):
        server.settings(idle_minutes=0)
    with pytest.raises(server.AppError, match="--max-kernels"):
        server.settings(max_kernels=0)


# --------------------------------------------------------------------------- data folders iwt did not make

@pytest.mark.unit
def test_the_app_refuses_a_data_folder_iwt_did_not_make(tmp_path, mark_data_folder):
    with pytest.raises(server.AppError, match="not a data folder made by iwt"):
        server.settings(data_dir="/etc")
    with pytest.raises(server.AppError, match="folder not found"):
        server.settings(data_dir=str(tmp_path / "missing"))
    ours = mark_data_folder(tmp_path / "processed")
    assert server.settings(data_dir=str(ours))[1][server.DATA_ENV] == str(ours.resolve())
    assert server.settings(data_dir=str(paths.DATA))[1][server.DATA_ENV] == str(paths.DATA.resolve())   # the project's own


@pytest.mark.unit
def test_readiness_import_refuses_a_data_folder_iwt_did_not_make(tmp_path, capsys):
    foreign = tmp_path / "downloads"
    foreign.mkdir()
    assert cli.main(["readiness", "import", str(tmp_path / "filled.xlsx"), "--data", str(foreign)]) == 2
    err = capsys.readouterr().err
    assert "not a data folder made by iwt" in err and datastore.MANIFEST in err
    assert not (foreign / "readiness").exists()                                    # nothing written there


@pytest.mark.unit
def test_readiness_template_refuses_a_data_folder_iwt_did_not_make(tmp_path, capsys):
    foreign = tmp_path / "downloads"
    foreign.mkdir()
    out = tmp_path / "template.xlsx"
    assert cli.main(["readiness", "template", "--icb", "QOP", "--partner", "NHS trusts", "--data", str(foreign),
                     "--out", str(out)]) == 2
    assert "not a data folder made by iwt" in capsys.readouterr().err and not out.exists()


# --------------------------------------------------------------------------- save errors shown to partners

def partner_form(data):
    form = readiness_app.PartnerForm("QOP", data, interactive=True, show_path=False)
    form.build()
    form.partner.value = "Test Care Providers Ltd"
    next(iter(form.rows.values()))["score"].value = 2
    form.when.value = date.today()
    return form


def not_saved(form) -> str:
    status = form.status.value
    assert "Not saved" in status
    return status


@pytest.mark.integration
def test_a_save_blocked_by_another_save_names_no_path_or_process_id(tmp_path, mark_data_folder):
    data = mark_data_folder(tmp_path / "data")
    form = partner_form(data)
    file = store.responses_path("QOP", data)
    file.parent.mkdir(parents=True)
    with atomic.exclusive_lock(file.with_name(f".{file.name}.lock")):              # another save in progress
        form.save()
    status = not_saved(form)
    assert str(tmp_path) not in status and "pid" not in status and str(os.getpid()) not in status
    assert "again" in status                                                     # what to do


@pytest.mark.integration
def test_a_server_storage_error_names_no_path(tmp_path, mark_data_folder):
    data = mark_data_folder(tmp_path / "data")
    (data / "readiness").write_text("a file where the folder should be")
    form = partner_form(data)
    form.save()
    status = not_saved(form)
    assert str(tmp_path) not in status and "/" not in status.replace("</span>", "")
    assert "tell the team" in status


@pytest.mark.integration
def test_a_damaged_responses_file_is_reported_without_its_path(tmp_path, mark_data_folder):
    data = mark_data_folder(tmp_path / "data")
    form = partner_form(data)
    file = store.responses_path("QOP", data)
    file.parent.mkdir(parents=True)
    file.write_bytes(b"not,the,right,header\n")                                 # damaged after the page opened
    form.save()
    status = not_saved(form)
    assert str(tmp_path) not in status and file.name not in status and "tell the team" in status


@pytest.mark.integration
def test_a_saved_round_is_confirmed_without_its_path(tmp_path, mark_data_folder):
    data = mark_data_folder(tmp_path / "data")
    form = partner_form(data)
    form.save()
    assert "iwt-saved" in form.status.value and str(tmp_path) not in form.status.value
    assert store.read_responses("QOP", data)["partner"].eq("Test Care Providers Ltd").all()


# --------------------------------------------------------------------------- in the browser

def kernels(server_pid: int) -> list[psutil.Process]:
    found = []
    for pid in bs.descendants(server_pid):
        try:
            p = psutil.Process(pid)
            if any("ipykernel" in part for part in p.cmdline()):
                found.append(p)
        except psutil.Error:
            pass
    return found


@pytest.mark.e2e
def test_closed_pages_lose_their_kernels_and_the_cap_holds(tmp_path, mark_data_folder):
    bs.need_browser()
    data = mark_data_folder(tmp_path / "data")
    port, token = bs.free_port(), bs.token()
    idle_minutes, cap = 0.25, 2                                       # 15 s idle, two pages at once
    argv = [sys.executable, "-m", "iwt_helpers.app", "readiness", f"--port={port}", f"--token={token}",
            f"--data={data}", f"--idle-minutes={idle_minutes}", f"--max-kernels={cap}"]
    url = f"http://127.0.0.1:{port}/?token={token}"
    outside: list[str] = []

    def loopback_only(route):
        if route.request.url.startswith(f"http://127.0.0.1:{port}/") or route.request.url.startswith(
                f"ws://127.0.0.1:{port}/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with bs.server(argv, ready="Voilà is running at", timeout=90) as proc, bs.chromium() as browser:
        context = browser.new_context()
        context.route("**/*", loopback_only)
        pages = []
        try:
            for _ in range(cap):                                      # as many partners as the cap
                page = context.new_page()
                pages.append(page)
                page.goto(url)
                page.get_by_role("button", name="Save round").wait_for(timeout=90_000)
            assert len(kernels(proc.pid)) == cap                      # one kernel per open page

            extra = context.new_page()                                # one more: told to come back later
            pages.append(extra)
            response = extra.goto(url)
            assert response.status == 503
            assert "busy" in extra.content() and extra.get_by_role("button", name="Save round").count() == 0
            bs.screenshot(extra, "readiness-app-busy")
            assert len(kernels(proc.pid)) == cap                      # no kernel started for it

            running = kernels(proc.pid)
            for page in pages:
                page.close()
            pages.clear()
            gone, left = psutil.wait_procs(running, timeout=idle_minutes * 60 + 30)
            assert not left, f"{len(left)} kernel(s) outlived their closed page"
            assert kernels(proc.pid) == []

            page = context.new_page()                                 # the freed places serve new partners
            pages.append(page)
            page.goto(url)
            page.get_by_role("button", name="Save round").wait_for(timeout=90_000)
            assert len(kernels(proc.pid)) == 1
        finally:
            for page in pages:
                page.close()
            context.close()
        # Voila's own page templates link Font Awesome stylesheets on cdn.jsdelivr.net (blocked here, the
        # icons are not needed); anything else beyond 127.0.0.1 would be new and fails the test.
        assert all(u.startswith("https://cdn.jsdelivr.net/npm/") and u.endswith(".css") for u in outside), outside
