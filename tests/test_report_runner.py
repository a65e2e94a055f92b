"""The report runner: outputs, offline HTML, isolation of warm kernels, failures, cache."""

import json
import shutil

import nbformat
import openpyxl
import pytest

from iwt_helpers import paths
from iwt_helpers.report import export, run_reports, themes

pytestmark = pytest.mark.e2e
ALL = ",".join(themes.discover())


@pytest.fixture(scope="module")
def one_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    summary = run_reports(icb="qop", theme_spec="all", out_dir=out, jobs=2, progress=False)
    return out, summary


def test_every_theme_is_written_for_the_icb(one_run):
    out, summary = one_run
    assert summary.exit_code == 0
    for theme in themes.discover():
        assert (out / "QOP" / f"{theme}.html").stat().st_size > 10_000
        nb = nbformat.read(out / "QOP" / f"{theme}.ipynb", as_version=4)
        assert nb.metadata.papermill["parameters"]["icb_code"] == "QOP"
    assert (out / "QOP" / "index.html").exists() and (out / "index.html").exists()


def test_html_loads_nothing_from_the_network_and_hides_code(one_run):
    out, _ = one_run
    for page in (out / "QOP").glob("*.html"):
        body = page.read_text()
        assert export.external_references(body) == [], page.name
        assert "ReportParams.parse" not in body, f"{page.name}: code cells must be hidden"


def test_html_is_labelled_synthetic(one_run):
    out, _ = one_run
    assert "Synthetic demonstration data" in (out / "QOP" / "data.html").read_text()
    assert "Synthetic demonstration data" in (out / "QOP" / "index.html").read_text()


def test_external_reference_check_catches_cdn_scripts():
    assert export.external_references('<script src="https://cdn.example/x.js"></script>')
    assert export.external_references("<img src='//cdn.example/x.png'>")
    assert export.external_references("<style>@import url(https://fonts.example/css);</style>")
    assert export.external_references('<a href="https://www.nhs.uk">link</a>') == []


def test_tables_xlsx_has_a_notes_sheet_and_key_tables(one_run):
    out, _ = one_run
    wb = openpyxl.load_workbook(out / "QOP" / "tables.xlsx")
    assert wb.sheetnames[0] == "notes"
    notes = " ".join(str(c.value) for row in wb["notes"].iter_rows() for c in row if c.value)
    assert "Synthetic demonstration data" in notes and "suppressed" in notes
    assert any(s.startswith("data-") for s in wb.sheetnames)
    assert any(s.startswith("governance") for s in wb.sheetnames)


def test_manifest_records_parameters_inputs_versions_commit_timings_status(one_run):
    out, _ = one_run
    m = json.loads((out / "manifest.json").read_text())
    rec = m["reports"]["QOP/data"]
    assert rec["parameters"] == {"icb_code": "QOP", "data_dir": ""}
    assert rec["status"] == "ok" and rec["seconds_execute"] > 0
    assert "data/demo/workforce.csv" in rec["inputs"] and len(rec["inputs"]["data/demo/workforce.csv"]) == 64
    assert rec["versions"]["pandas"] and "commit" in rec["git"]


def test_rerun_reuses_cached_reports_unless_forced(one_run):
    out, _ = one_run
    html = out / "QOP" / "data.html"
    before = html.stat().st_mtime_ns
    again = run_reports(icb="QOP", theme_spec="data", out_dir=out, jobs=1, progress=False)
    assert all(r["cached"] for r in again.records)
    assert html.stat().st_mtime_ns == before
    forced = run_reports(icb="QOP", theme_spec="data", out_dir=out, jobs=1, force=True, progress=False)
    assert not any(r["cached"] for r in forced.records)
    assert html.stat().st_mtime_ns != before


def _text_outputs(nb):
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.output_type == "stream":
                out.append(o.text)
            for mime in ("text/plain", "text/html", "text/markdown", "application/vnd.iwt+json"):
                if mime in o.get("data", {}):
                    out.append(json.dumps(o["data"][mime], sort_keys=True))
    return out


def test_warm_kernels_give_the_same_text_outputs_as_fresh_kernels(tmp_path):
    warm = run_reports(icb="QOP,QE1,QHG", theme_spec=ALL, out_dir=tmp_path / "warm", jobs=1, progress=False)
    fresh = run_reports(icb="QOP,QE1,QHG", theme_spec=ALL, out_dir=tmp_path / "fresh", jobs=1,
                        fresh_kernels=True, progress=False)
    assert warm.exit_code == fresh.exit_code == 0
    assert sum(r["kernel_reused"] for r in warm.records) >= 4
    assert not any(r["kernel_reused"] for r in fresh.records)
    for icb in ("QOP", "QE1", "QHG"):
        for theme in themes.discover():
            a = nbformat.read(tmp_path / "warm" / icb / f"{theme}.ipynb", as_version=4)
            b = nbformat.read(tmp_path / "fresh" / icb / f"{theme}.ipynb", as_version=4)
            assert _text_outputs(a) == _text_outputs(b), f"{icb}/{theme}"


BROKEN = """{
 "cells": [
  {"cell_type": "code", "execution_count": null, "id": "p", "metadata": {"tags": ["parameters"]}, "outputs": [],
   "source": ["icb_code = 'QOP'\\n", "data_dir = ''"]},
  {"cell_type": "code", "execution_count": null, "id": "b", "metadata": {}, "outputs": [],
   "source": ["raise RuntimeError('deliberate failure for ' + icb_code)"]}
 ],
 "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
 "nbformat": 4, "nbformat_minor": 5
}"""


def test_one_failing_report_leaves_the_others_complete_and_exits_non_zero(tmp_path):
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    shutil.copy(paths.NOTEBOOKS / "01_data.ipynb", nbdir)
    (nbdir / "99_broken.ipynb").write_text(BROKEN)
    out = tmp_path / "out"
    s = run_reports(icb="QOP,QE1", theme_spec="all", out_dir=out, jobs=2, progress=False, notebooks_dir=nbdir)
    assert s.exit_code == 1
    assert sorted(r["icb_code"] for r in s.failed) == ["QE1", "QOP"]
    assert all("deliberate failure" in r["error"] for r in s.failed)
    for icb in ("QOP", "QE1"):
        assert (out / icb / "data.html").exists()
        kept = nbformat.read(out / icb / "broken.ipynb", as_version=4)
        assert any(o.output_type == "error" for c in kept.cells for o in c.get("outputs", []))
        assert "FAILED" in (out / icb / "index.html").read_text()
        assert "This report failed" in (out / icb / "broken.html").read_text()
    m = json.loads((out / "manifest.json").read_text())
    assert m["reports"]["QOP/broken"]["status"] == "failed" and m["reports"]["QOP/data"]["status"] == "ok"
    assert "failed" in (out / "index.html").read_text()


def test_unknown_theme_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="unknown theme.*available"):
        run_reports(icb="QOP", theme_spec="nope", out_dir=tmp_path, progress=False)


def test_no_temporary_files_are_left_behind(one_run):
    out, _ = one_run
    assert not [p for p in out.rglob(".*") if p.is_file()]


def test_every_chart_has_its_finding_as_accessible_title(one_run):
    import re
    out, _ = one_run
    body = (out / "QOP" / "data.html").read_text()
    svgs = re.findall(r"<svg[^>]*>", body)
    labels = re.findall(r'<svg role="img" aria-label="([^"]*)"', body)
    assert len(labels) >= 3 and len(re.findall(r"<img ", body)) == 0
    assert all(label for label in labels) and any("FTE" in label for label in labels)
    assert len(svgs) >= len(labels)


@pytest.mark.parametrize("params", [
    {"icb_code": "QOP", "data_dir": ""},
    {"icb_code": "QE1", "data_dir": "/tmp/a \"quoted\" path\\x", "kpis": ["vacancy_rate_nhs", "turnover_asc"]},
    {"icb_code": "QOP", "projection_years": [5, 10], "flag": True, "none": None, "ratio": 0.5},
])
def test_parameter_injection_matches_papermill(params):
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    from iwt_helpers.report import runner

    ours = runner.inject_parameters(nbformat.read(paths.NOTEBOOKS / "01_data.ipynb", as_version=4), params)
    theirs = parameterize_notebook(load_notebook_node(str(paths.NOTEBOOKS / "01_data.ipynb")), params,
                                   kernel_name="python3", language="python")
    assert [c.source for c in ours.cells] == [c.source for c in theirs.cells]
    assert [c.metadata.get("tags") for c in ours.cells] == [c.metadata.get("tags") for c in theirs.cells]
    assert ours.metadata.papermill["parameters"] == theirs.metadata.papermill["parameters"]


def test_parent_side_writing_waits_for_a_free_core_but_not_beyond_its_bound():
    import asyncio

    from iwt_helpers.report.runner import _ParentWork

    async def scenario():
        work = _ParentWork(cores=2, bound=2)
        done: list[str] = []
        runner = asyncio.create_task(work.run())

        def job(name):
            async def fn():
                done.append(name)
            return fn

        await work.kernel(+1)
        await work.kernel(+1)                      # both cores busy with kernels
        await work.submit(job("a"))
        await work.submit(job("b"))
        await asyncio.sleep(0.01)
        held = list(done)                          # nothing written yet: backlog within bound
        await work.submit(job("c"))                # backlog over the bound: the oldest goes
        await asyncio.sleep(0.01)
        over = list(done)
        await work.kernel(-1)                      # a core is free: the rest go
        await asyncio.sleep(0.01)
        freed = list(done)
        await work.kernel(+1)
        await work.submit(job("d"))
        await work.close()                         # the end of the run drains whatever is left
        await runner
        return held, over, freed, done

    held, over, freed, done = asyncio.run(scenario())
    assert held == [] and over == ["a"] and freed == ["a", "b", "c"] and done == ["a", "b", "c", "d"]
