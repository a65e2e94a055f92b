"""The report runner under misuse and accidents (issue #18): kills, signals, two runs at once, bad
output targets, unreadable errors, unknown parameters, too many or too few kernels, deleted themes.

Runs that are killed or signalled are separate processes; the tests wait for what they need (a file,
a line of output) with a deadline, never for a fixed time."""

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from iwt_helpers import atomic, paths
from iwt_helpers.data import datastore
from iwt_helpers.report import engine, outputs, run_reports

e2e, integration, unit = pytest.mark.e2e, pytest.mark.integration, pytest.mark.unit
MANY = "QOP,QE1,QHG,QKS,QM7,QMF,QMJ,QNC"          # eight ICBs: a run long enough to stop in the middle
RUNS: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _end_runs():
    """A run that a failing test left going is killed when the test ends (its kernels notice and end too)."""
    yield
    while RUNS:
        run = RUNS.pop()
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
        run.communicate()


def iwt(*args: str, **kw) -> subprocess.Popen:
    """``iwt report ...`` as its own process (and process group), in this interpreter."""
    run = subprocess.Popen([sys.executable, "-m", "iwt_helpers.cli", "report", "--no-progress", *map(str, args)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, **kw)
    RUNS.append(run)
    return run


def wait_for(check, what: str, timeout: float = 180):
    """Poll ``check()`` until it returns something true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout} s waiting for {what}")
        time.sleep(0.05)
    return found


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (the kernels of a run)."""
    found = []
    for d in Path("/proc").iterdir():
        try:
            if d.name.isdigit() and int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(d.name))
        except (OSError, IndexError, ValueError):
            pass
    return found


def gone(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def built_folder(folder: Path, workforce: bytes | None = None) -> Path:
    """A data folder as ``iwt data build`` marks it, holding the demo workforce table (or ``workforce``
    as its Parquet file)."""
    folder.mkdir(parents=True)
    (folder / "datasets.json").write_text(json.dumps({"dataset": datastore.PROCESSED_MARK,
                                                      "tables": {"workforce": {"synthetic": False, "source": "test"}}}))
    if workforce is None:
        shutil.copy(paths.DEMO / "workforce.csv", folder)
    else:
        (folder / "workforce.parquet").write_bytes(workforce)
    return folder


# 1. A report is reused only if its own record says it was made from the same request and inputs.

@e2e
def test_a_run_killed_over_another_runs_reports_does_not_leave_them_served_as_fresh(tmp_path):
    out, other = tmp_path / "out", built_folder(tmp_path / "processed")
    first = iwt("--icb", "QOP,QE1,QHG,QKS", "--themes", "data", "--jobs", 1, "--out", out)
    assert first.wait(timeout=300) == 0, first.stderr.read()
    before = (out / "QOP" / "data.html").stat().st_mtime_ns
    killed = iwt("--icb", "QOP,QE1,QHG,QKS", "--themes", "data", "--jobs", 1, "--out", out, "--data", other)
    wait_for(lambda: (out / "QOP" / "data.html").stat().st_mtime_ns != before, "the other run's first report")
    killed.kill()
    killed.wait(timeout=60)
    again = run_reports(icb="QOP,QE1,QHG,QKS", theme_spec="data", out_dir=out, jobs=1, progress=False)
    assert again.exit_code == 0
    assert not again.records[0]["cached"], "a report the killed run rewrote was reused"
    for icb in ("QOP", "QE1", "QHG", "QKS"):
        nb = outputs.read_notebook(out / icb / "data.ipynb")
        assert nb.metadata.papermill["parameters"]["data_dir"] == "", f"{icb}/data.ipynb is the other run's"
    m = json.loads((out / "manifest.json").read_text())
    assert {k: r["parameters"]["data_dir"] for k, r in m["reports"].items()} == {
        f"{icb}/data": "" for icb in ("QOP", "QE1", "QHG", "QKS")}


# 2. SIGINT and SIGTERM stop the run, shut the kernels and record what finished.

@e2e
@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_run_shuts_every_kernel_and_records_what_finished(tmp_path, signum, code):
    out = tmp_path / "out"
    run = iwt("--icb", MANY, "--themes", "data", "--jobs", 2, "--out", out)
    wait_for(lambda: list(out.glob("*/data.html")), "a first report")
    kernels = wait_for(lambda: children(run.pid), "the kernels")
    run.send_signal(signum)
    _, err = run.communicate(timeout=20)
    assert run.returncode == code, err
    assert "Traceback" not in err and "exception was never retrieved" not in err, err
    assert len(err.strip().splitlines()) == 1 and f"stopped by {signum.name}" in err, err
    wait_for(lambda: all(map(gone, kernels)), "every kernel to end", timeout=10)
    finished = {f.parent.name for f in out.glob("*/data.html")}
    m = json.loads((out / "manifest.json").read_text())
    assert set(m["reports"]) == {f"{icb}/data" for icb in finished} and len(finished) < 8
    assert all(r["status"] == "ok" for r in m["reports"].values())
    top = (out / "index.html").read_text()
    assert all(f'href="{icb}/index.html"' in top for icb in finished)
    assert not list(out.glob(".*lock*"))


# 3. One run at a time per output folder.

@e2e
def test_a_second_run_into_the_same_folder_is_refused_while_the_first_runs(tmp_path):
    out = tmp_path / "out"
    first = iwt("--icb", MANY, "--themes", "data", "--jobs", 1, "--out", out)
    wait_for(lambda: list(out.glob("*/data.html")), "the first run's first report")
    second = iwt("--icb", "QOP", "--themes", "data", "--out", out)
    _, err = second.communicate(timeout=120)
    assert second.returncode == 2
    assert err.strip() == (f"iwt: error: another iwt report is writing to {out} (pid {first.pid}); "
                           "wait for it or choose another --out")
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert len(json.loads((out / "manifest.json").read_text())["reports"]) == 8


@integration                 # starts a second process that holds the lock
def test_the_folder_lock_refuses_a_second_holder_and_is_released_when_its_holder_dies(tmp_path):
    lock = tmp_path / ".lock"
    holder = subprocess.Popen([sys.executable, "-c", "import sys\nfrom iwt_helpers import atomic\n"
                               f"with atomic.exclusive_lock({str(lock)!r}):\n print('held', flush=True)\n sys.stdin.read()"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert select.select([holder.stdout], [], [], 30)[0] and holder.stdout.readline() == "held\n"
        with pytest.raises(atomic.LockedError, match=f"pid {holder.pid}"), atomic.exclusive_lock(lock):
            pass
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert lock.exists()                                # left behind by the killed holder: it must not block
    with atomic.exclusive_lock(lock):
        assert lock.read_text().strip() == str(os.getpid())
    assert not lock.exists()


# 4. Kernels run the interpreter iwt runs in, whatever python comes first on the PATH.

@e2e
def test_kernels_run_the_interpreter_of_iwt_not_the_first_python_on_the_path(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("python", "python3"):
        (bin_dir / name).write_text("#!/bin/sh\necho 'not the python iwt runs in' >&2\nexit 3\n")
        (bin_dir / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin"}
    r = subprocess.run([Path(sys.executable).parent / "iwt", "report", "--themes", "data", "--no-progress",
                        "--out", tmp_path / "out"], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    nb = outputs.read_notebook(tmp_path / "out" / "QOP" / "data.ipynb")
    assert nb.metadata.language_info.version == ".".join(map(str, sys.version_info[:3]))


# 5. Output targets are checked before anything runs.

@integration
@pytest.mark.parametrize("target, why", [
    (Path("/"), "is the root folder"),
    ("home", "is your home folder"),
    (paths.ROOT, "is the project folder"),
    (paths.ROOT.parent, "holds the project folder"),
    (paths.DATA, "is inside data/, which iwt reads from"),
    (paths.DEMO, "is inside data/, which iwt reads from"),
    (paths.NOTEBOOKS, "is inside notebooks/, which iwt reads from"),
    (paths.ROOT / "iwt_helpers" / "report", "is inside iwt_helpers/, which iwt reads from"),
    ("data_dir", "is inside the --data folder, which iwt reads from"),
    ("file", "is a file"),
], ids=["root", "home", "project", "above-project", "data", "demo", "notebooks", "package", "data-dir", "file"])
def test_output_folders_iwt_must_not_write_into_are_refused_before_any_kernel_starts(
        target, why, tmp_path, monkeypatch, kernel_starts):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    data = built_folder(tmp_path / "processed")
    (tmp_path / "file").write_text("not a folder")
    target = {"home": tmp_path / "home", "data_dir": data / "reports", "file": tmp_path / "file"}.get(target, target)
    with pytest.raises(ValueError) as err:
        run_reports(icb="QOP", theme_spec="data", out_dir=target, data_dir=data, progress=False)
    assert str(err.value) == f"--out {target}: {why}; give the reports a folder of their own"
    assert kernel_starts == []


@integration
@pytest.mark.parametrize("where", ["under-a-file", "unwritable"])
def test_an_output_folder_that_cannot_be_made_or_written_exits_2_naming_it(tmp_path, where):
    (tmp_path / "file").write_text("x")
    target = tmp_path / "file" / "reports" if where == "under-a-file" else Path("/proc/iwt-reports")
    r = iwt("--icb", "QOP", "--out", target)
    _, err = r.communicate(timeout=120)
    assert r.returncode == 2
    reason = "Not a directory" if where == "under-a-file" else "No such file or directory"
    assert err.strip() == f"iwt: error: --out {target}: cannot create or write this folder ({reason})", err


@integration
def test_an_output_folder_without_room_for_the_reports_is_refused_before_they_run(tmp_path, monkeypatch, kernel_starts):
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage._replace(free=10**5))
    with pytest.raises(ValueError, match=rf"^--out {tmp_path}: 0.1 MB free, about \d+ MB needed"):
        run_reports(icb="QOP,QE1", theme_spec="data,governance_metrics", out_dir=tmp_path, progress=False)
    assert not (tmp_path / "QOP").exists()


@e2e
def test_an_output_that_fails_to_write_stops_the_run_with_a_plain_message_and_exit_code_2(tmp_path):
    (tmp_path / "QOP" / "data.html").mkdir(parents=True)       # the page cannot be renamed into place
    atomic.mark_folder(tmp_path, "iwt report")                  # in a folder an earlier iwt report made
    r = iwt("--icb", "QOP", "--themes", "data", "--out", tmp_path)
    _, err = r.communicate(timeout=300)
    assert r.returncode == 2, err
    assert err.startswith(f"iwt: error: --out {tmp_path}: could not write QOP/data.html (Is a directory)"), err
    assert "Traceback" not in err


# 6. Errors in the manifest and index are the exception's type and message, in plain text.

RAISES = """{
 "cells": [
  {"cell_type": "code", "execution_count": null, "id": "p", "metadata": {"tags": ["parameters"]}, "outputs": [],
   "source": ["icb_code = 'QOP'\\n", "data_dir = ''"]},
  {"cell_type": "code", "execution_count": null, "id": "b", "metadata": {}, "outputs": [],
   "source": ["raise LookupError('\\\\x1b[31mno such\\\\x1b[0m ICB: ' + icb_code)"]}
 ],
 "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
 "nbformat": 4, "nbformat_minor": 5
}"""


@e2e
def test_manifest_and_index_name_the_failing_exception_in_plain_text(tmp_path):
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    shutil.copy(paths.NOTEBOOKS / "01_data.ipynb", nbdir)
    (nbdir / "02_raises.ipynb").write_text(RAISES)
    data = built_folder(tmp_path / "processed", workforce=b"this is not a Parquet file")
    s = run_reports(icb="QOP", theme_spec="all", data_dir=data, out_dir=tmp_path / "out", jobs=1, progress=False,
                    notebooks_dir=nbdir)
    assert s.exit_code == 1
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())["reports"]
    assert m["QOP/raises"]["error"] == "LookupError: no such ICB: QOP"
    assert m["QOP/data"]["error"].startswith("ArrowInvalid: "), m["QOP/data"]["error"]
    index = (tmp_path / "out" / "QOP" / "index.html").read_text()
    assert "LookupError: no such ICB: QOP" in index and "ArrowInvalid: " in index
    assert "\x1b" not in index and "[0;31m" not in index and "error.pxi" not in index


# 7. Parameters, kernels, deleted themes, data folders.

@integration
def test_an_unknown_parameter_fails_before_running_naming_it_and_the_notebooks_parameters(tmp_path, kernel_starts):
    with pytest.raises(ValueError, match=r"parameter 'colour' is not a parameter of 01_data.ipynb; "
                                         r"its parameters: icb_code, data_dir, projection_years, place, regional_trusts$"):
        run_reports(icb="QOP", theme_spec="data", out_dir=tmp_path, parameters={"colour": "red"}, progress=False)
    assert not (tmp_path / "QOP").exists()
    r = iwt("--icb", "QOP", "--themes", "data,governance_metrics", "--out", tmp_path, "-p", "governance_metrics.colour", "red")
    _, err = r.communicate(timeout=120)
    assert r.returncode == 2 and err.startswith("iwt: error: parameter 'colour' is not a parameter of "
                                                "03_governance_metrics.ipynb; its parameters: icb_code, data_dir, kpis"), err
    assert not (tmp_path / "QOP").exists()


@e2e
def test_a_known_parameter_reaches_the_notebook_of_its_theme_only(tmp_path):
    s = run_reports(icb="QOP", theme_spec="data,governance_metrics", out_dir=tmp_path, progress=False,
                    parameters={"data.projection_years": [5, 10]})
    assert s.exit_code == 0
    got = {r["theme"]: r["parameters"] for r in s.records}
    assert got["data"] == {"icb_code": "QOP", "data_dir": "", "projection_years": [5, 10]}
    assert got["governance_metrics"] == {"icb_code": "QOP", "data_dir": ""}


@e2e
def test_kernels_are_bounded_by_the_reports_to_run_and_the_cpus(tmp_path, monkeypatch):
    started, start = [], engine.Worker.start

    async def counting(self, cwd):
        started.append(self)
        await start(self, cwd)
    monkeypatch.setattr(engine.Worker, "start", counting)
    s = run_reports(icb="QOP", theme_spec="data,governance_metrics", out_dir=tmp_path, jobs=16, progress=False)
    assert s.exit_code == 0 and len(s.records) == 2
    assert len(started) == min(2, atomic.usable_cores())
    started.clear()
    again = run_reports(icb="QOP", theme_spec="data,governance_metrics", out_dir=tmp_path, jobs=16, progress=False)
    assert all(r["cached"] for r in again.records) and len(started) <= min(2, atomic.usable_cores())


@integration
@pytest.mark.parametrize("jobs", ["0", "-3"])
def test_jobs_below_one_are_refused(tmp_path, jobs):
    r = iwt("--icb", "QOP", "--out", tmp_path, f"--jobs={jobs}")
    _, err = r.communicate(timeout=120)
    assert r.returncode == 2 and err.strip() == "iwt: error: --jobs must be at least 1", err


@e2e
def test_a_deleted_theme_is_dropped_from_the_manifest_and_the_index(tmp_path):
    nbdir, out = tmp_path / "notebooks", tmp_path / "out"
    nbdir.mkdir()
    shutil.copy(paths.NOTEBOOKS / "01_data.ipynb", nbdir)
    shutil.copy(paths.NOTEBOOKS / "01_data.ipynb", nbdir / "02_extra.ipynb")
    assert run_reports(icb="QOP", theme_spec="all", out_dir=out, progress=False, notebooks_dir=nbdir).exit_code == 0
    assert set(json.loads((out / "manifest.json").read_text())["reports"]) == {"QOP/data", "QOP/extra"}
    (nbdir / "02_extra.ipynb").unlink()
    assert run_reports(icb="QOP", theme_spec="all", out_dir=out, progress=False, notebooks_dir=nbdir).exit_code == 0
    assert set(json.loads((out / "manifest.json").read_text())["reports"]) == {"QOP/data"}
    assert "<td>1</td>" in (out / "index.html").read_text()             # one theme for QOP
    assert "extra.html" not in (out / "QOP" / "index.html").read_text()


@integration
@pytest.mark.parametrize("folder", ["/etc", "downloads"])
def test_a_data_folder_iwt_did_not_build_fails_fast_with_the_datastores_message(tmp_path, folder, kernel_starts):
    if folder == "downloads":
        folder = tmp_path / "downloads"
        folder.mkdir()
        shutil.copy(paths.DEMO / "workforce.csv", folder)
    with pytest.raises(datastore.NotADataFolderError):
        run_reports(icb="QOP", data_dir=folder, out_dir=tmp_path / "out", progress=False)
    assert kernel_starts == []
    r = iwt("--icb", "QOP", "--data", folder, "--out", tmp_path / "out")
    _, err = r.communicate(timeout=120)
    assert r.returncode == 2
    assert err.strip() == (f"iwt: error: data_dir {folder}: not a folder built by `iwt data build` (no datasets.json "
                           "saying 'iwt processed data'). Point data_dir at the --out folder of a build, not at "
                           "downloaded files; leave it empty for the demo data."), err
    assert not (tmp_path / "out").exists()
