"""The report runner: outputs, offline HTML, isolation of warm kernels, failures, cache, and
other libraries used through their public APIs only."""

import ast
import asyncio
import json
import re
import shutil
import sys
from html import escape as html_escape
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from iwt_helpers import paths
from iwt_helpers.report import engine, export, kernel_setup, outputs, run_reports, runner, themes
from tests import source_trees

e2e, unit = pytest.mark.e2e, pytest.mark.unit
ALL = ",".join(themes.discover())


@pytest.fixture(scope="module")
def one_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    summary = run_reports(icb="qop", theme_spec="all", out_dir=out, jobs=2, progress=False)
    return out, summary


@e2e
def test_every_theme_is_written_for_the_icb(one_run):
    out, summary = one_run
    assert summary.exit_code == 0
    for theme in themes.discover():
        assert (out / "QOP" / f"{theme}.html").stat().st_size > 10_000
        nb = outputs.read_notebook(out / "QOP" / f"{theme}.ipynb")
        assert nb.metadata.papermill["parameters"]["icb_code"] == "QOP"
    assert (out / "QOP" / "index.html").exists() and (out / "index.html").exists()


@e2e
def test_html_loads_nothing_from_the_network_and_hides_code(one_run):
    out, _ = one_run
    for page in (out / "QOP").glob("*.html"):
        body = page.read_text()
        assert export.external_references(body) == [], page.name
        assert "ReportParams.parse" not in body, f"{page.name}: code cells must be hidden"


@e2e
def test_html_is_labelled_synthetic(one_run):
    out, _ = one_run
    assert "Synthetic demonstration data" in (out / "QOP" / "data.html").read_text()
    assert "Synthetic demonstration data" in (out / "QOP" / "index.html").read_text()


@unit
def test_external_reference_check_catches_cdn_scripts():
    assert export.external_references('<script src="https://cdn.example/x.js"></script>')
    assert export.external_references("<img src='//cdn.example/x.png'>")
    assert export.external_references("<style>@import url(https://fonts.example/css);</style>")
    assert export.external_references('<a href="https://www.nhs.uk">link</a>') == []


@e2e
def test_tables_xlsx_has_a_notes_sheet_and_key_tables(one_run):
    out, _ = one_run
    wb = openpyxl.load_workbook(out / "QOP" / "tables.xlsx")
    assert wb.sheetnames[0] == "notes"
    notes = " ".join(str(c.value) for row in wb["notes"].iter_rows() for c in row if c.value)
    assert "Synthetic demonstration data" in notes and "suppressed" in notes
    assert wb.sheetnames[1] == "contents"
    themes = {row[1] for row in wb["contents"].iter_rows(min_row=2, values_only=True)}
    assert {"data", "governance metrics"} <= themes
    assert {"workforce_by_sector", "kpi_summary"} <= set(wb.sheetnames)


@e2e
def test_manifest_records_parameters_inputs_versions_commit_timings_status(one_run):
    out, _ = one_run
    m = json.loads((out / "manifest.json").read_text())
    rec = m["reports"]["QOP/data"]
    assert rec["parameters"] == {"icb_code": "QOP", "data_dir": ""}
    assert rec["status"] == "ok" and rec["seconds_execute"] > 0
    assert "data/demo/workforce.csv" in rec["inputs"] and len(rec["inputs"]["data/demo/workforce.csv"]) == 64
    assert rec["versions"]["pandas"] and "commit" in rec["git"]


@e2e
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


def _page(path: Path) -> str:
    """A report page without what may differ between two runs of the same report: cell ids
    (nbformat gives a cell without one a random id when it reads the notebook) and the run footer."""
    page = re.sub(r'id="cell-id=[^"]*"', 'id="cell-id="', path.read_text())
    return re.sub(r'<footer class="iwt-run">[^<]*</footer>', "", page)


@e2e
def test_warm_kernels_give_the_same_outputs_and_pages_as_fresh_kernels(tmp_path):
    warm = run_reports(icb="QOP,QE1,QHG", theme_spec=ALL, out_dir=tmp_path / "warm", jobs=1, progress=False)
    fresh = run_reports(icb="QOP,QE1,QHG", theme_spec=ALL, out_dir=tmp_path / "fresh", jobs=1,
                        fresh_kernels=True, progress=False)
    assert warm.exit_code == fresh.exit_code == 0
    assert sum(r["kernel_reused"] for r in warm.records) >= 4
    assert not any(r["kernel_reused"] for r in fresh.records)
    for icb in ("QOP", "QE1", "QHG"):
        for theme in themes.discover():
            a = outputs.read_notebook(tmp_path / "warm" / icb / f"{theme}.ipynb")
            b = outputs.read_notebook(tmp_path / "fresh" / icb / f"{theme}.ipynb")
            assert _text_outputs(a) == _text_outputs(b), f"{icb}/{theme}"
            assert [c.get("execution_count") for c in a.cells] == [c.get("execution_count") for c in b.cells]
            assert _page(tmp_path / "warm" / icb / f"{theme}.html") == _page(tmp_path / "fresh" / icb / f"{theme}.html"), \
                f"{icb}/{theme}.html differs between a reused and a new kernel"


PROBE = """import json as j, os as o, sys as s, warnings as w, matplotlib as m, pandas as p
from matplotlib import pyplot as pl
pl.close(pl.figure())
print(j.dumps({"executable": s.executable, "cwd": o.getcwd(), "batch": o.environ.get("IWT_BATCH"),
  "backend": m.get_backend(), "figures": pl.get_fignums(), "rc": {k: str(v) for k, v in m.rcParams.items()},
  "filters": [str(f) for f in w.filters], "max_rows": p.get_option("display.max_rows"), "path": s.path,
  "count": get_ipython().execution_count, "names": sorted(k for k in get_ipython().user_ns if not k.startswith("_")
  and k not in ("In", "Out", "exit", "quit", "get_ipython", "open", "j", "o", "s", "w", "m", "p", "pl"))}))"""
DIRTY = """import os, warnings, matplotlib.pyplot as plt, pandas as pd
x = 1
os.chdir("/")
warnings.simplefilter("error")
plt.rcParams["font.size"] = 3
plt.figure()
pd.set_option("display.max_rows", 3)"""


@e2e
def test_a_reset_kernel_looks_like_a_new_one_and_runs_this_interpreter():
    async def probe(reused: bool) -> dict:
        w = engine.Worker(fresh=not reused)              # a new kernel as it comes, or a warmed one
        try:
            await w.start(paths.NOTEBOOKS)
            if reused:                                     # a report changes things; the runner resets
                await w.call(DIRTY)
                await w.reset(paths.NOTEBOOKS)
            lines: list[str] = []

            def printed(msg):
                if msg["msg_type"] == "stream":
                    lines.append(msg["content"]["text"])

            reply = await w.kc.execute_interactive(PROBE, store_history=False, timeout=60, output_hook=printed)
            assert reply["content"]["status"] == "ok", reply["content"]
            return json.loads("".join(lines))
        finally:
            await w.stop()

    new, reset = asyncio.run(probe(False)), asyncio.run(probe(True))
    assert reset == new
    assert new["executable"] == sys.executable and new["cwd"] == str(paths.NOTEBOOKS) and new["batch"] == "1"
    assert new["names"] == [] and new["count"] == 1 and new["figures"] == []


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


@e2e
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
        kept = outputs.read_notebook(out / icb / "broken.ipynb")
        assert any(o.output_type == "error" for c in kept.cells for o in c.get("outputs", []))
        assert "FAILED" in (out / icb / "index.html").read_text()
        assert "This report failed" in (out / icb / "broken.html").read_text()
    m = json.loads((out / "manifest.json").read_text())
    assert m["reports"]["QOP/broken"]["status"] == "failed" and m["reports"]["QOP/data"]["status"] == "ok"
    assert "failed" in (out / "index.html").read_text()


@e2e
def test_unknown_theme_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="unknown theme.*available"):
        run_reports(icb="QOP", theme_spec="nope", out_dir=tmp_path, progress=False)


@e2e
def test_no_temporary_files_are_left_behind(one_run):
    out, _ = one_run
    from iwt_helpers import atomic
    assert not [p for p in out.rglob(".*") if p.is_file() and p.name != atomic.MARKER]
    assert (out / atomic.MARKER).is_file()          # the marker that says iwt report made the folder


@e2e
def test_every_chart_has_its_finding_as_accessible_title(one_run):
    import re
    out, _ = one_run
    body = (out / "QOP" / "data.html").read_text()
    svgs = re.findall(r"<svg[^>]*>", body)
    labels = re.findall(r'<svg role="img" aria-label="([^"]*)"', body)
    assert len(labels) >= 3 and len(re.findall(r"<img ", body)) == 0
    assert all(label for label in labels) and any("FTE" in label for label in labels)
    assert len(svgs) >= len(labels)


@pytest.mark.integration        # against papermill itself, whose import (nbformat, jsonschema) takes 1-4 s
@pytest.mark.parametrize("params", [
    {"icb_code": "QOP", "data_dir": ""},
    {"icb_code": "QE1", "data_dir": "/tmp/a \"quoted\" path\\x", "kpis": ["vacancy_rate_nhs", "turnover_asc"]},
    {"icb_code": "QOP", "projection_years": [5, 10], "flag": True, "none": None, "ratio": 0.5},
])
def test_notebooks_are_prepared_as_papermill_prepares_them(params, tmp_path):
    import papermill

    nb_path = paths.NOTEBOOKS / "01_data.ipynb"
    ours = runner.prepare(runner.Job(params["icb_code"], "data", nb_path, params, tmp_path, "key"))
    theirs = papermill.execute_notebook(nb_path, tmp_path / "data.ipynb", params, prepare_only=True,
                                        kernel_name="python3", language="python", progress_bar=False)
    assert [c.source for c in ours.cells] == [c.source for c in theirs.cells]
    assert [c.metadata.get("tags") for c in ours.cells] == [c.metadata.get("tags") for c in theirs.cells]
    for key in ("parameters", "input_path", "output_path", "version"):
        assert ours.metadata.papermill[key] == theirs.metadata.papermill[key], key


@unit
def test_warm_imports_cover_every_iwt_module_the_theme_notebooks_import():
    import importlib.util

    wanted = set()
    for nb_path in themes.discover().values():
        for cell in json.loads(nb_path.read_text())["cells"]:     # as JSON: nbformat is slow to import
            if cell["cell_type"] != "code":
                continue
            for node in ast.walk(ast.parse("".join(cell["source"]))):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("iwt_helpers"):
                    for alias in node.names:        # from iwt_helpers.x import module, or a name of module x
                        sub = f"{node.module}.{alias.name}"
                        wanted.add(sub if importlib.util.find_spec(node.module).submodule_search_locations
                                   and importlib.util.find_spec(sub) else node.module)
    assert wanted, "no iwt imports found in the theme notebooks"
    missing = sorted(wanted - set(kernel_setup.WARM_MODULES))
    assert not missing, f"add to kernel_setup.WARM_MODULES: {missing}"
    gone = [m for m in kernel_setup.WARM_MODULES if importlib.util.find_spec(m) is None]
    assert not gone, f"remove from kernel_setup.WARM_MODULES (a kernel could not warm up): {gone}"


# Other people's libraries through their front door (../shared/STYLE.md section 11).
LIBRARIES = {"jupyter_client", "ipykernel", "nbconvert", "nbclient", "papermill", "jsonschema", "matplotlib",
             "nbformat", "IPython", "zmq"}
STDLIB_UNDERSCORE = {"_asdict", "_replace", "_fields", "_make", "_exit", "_getframe"}   # documented as public


def _private(name: str) -> bool:
    return name.startswith("_") and not name.endswith("_")   # not dunders, nor protocols like _repr_html_


def _root(node) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def private_uses(folder: Path) -> list[str]:
    """Imports of private modules or names of LIBRARIES; private attributes read from their modules
    or from any object, where iwt defines no such name itself (e.g. ``axis.units._mapping``); private
    methods overridden in subclasses of their classes; assignments to their attributes; and changes
    to ``sys.modules``."""
    trees = {p: source_trees.tree(p) for p in sorted(folder.rglob("*.py"))}
    own = set()                                   # every name iwt binds or defines itself
    for tree in trees.values():
        for n in ast.walk(tree):
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                own.add(n.name)
            elif isinstance(n, (ast.Name, ast.Attribute)) and isinstance(n.ctx, ast.Store):
                own.add(n.id if isinstance(n, ast.Name) else n.attr)
            elif isinstance(n, ast.arg):
                own.add(n.arg)
    found = []
    for path, tree in trees.items():
        libs = set()                              # names this module binds to those libraries
        for n in ast.walk(tree):
            if isinstance(n, ast.Import):
                for a in n.names:
                    if a.name.split(".")[0] in LIBRARIES:
                        libs.add(a.asname or a.name.split(".")[0])
                        found += [f"{path}:{n.lineno}: import {a.name}"] if any(map(_private, a.name.split("."))) else []
            elif isinstance(n, ast.ImportFrom) and n.level == 0 and n.module.split(".")[0] in LIBRARIES:
                libs.update(a.asname or a.name for a in n.names)
                found += [f"{path}:{n.lineno}: from {n.module} import {x}"
                          for x in [*n.module.split("."), *(a.name for a in n.names)] if _private(x)]
        for n in ast.walk(tree):
            at = f"{path}:{getattr(n, 'lineno', 0)}"
            if isinstance(n, ast.Attribute):
                if _private(n.attr) and (_root(n) in libs or n.attr not in own | STDLIB_UNDERSCORE):
                    found.append(f"{at}: .{n.attr}")
                if isinstance(n.ctx, ast.Store) and _root(n) in libs:
                    found.append(f"{at}: assigns to {ast.unparse(n)}")
            elif isinstance(n, ast.ClassDef) and any(_root(b) in libs for b in n.bases):
                found += [f"{path}:{f.lineno}: {n.name} overrides {f.name}" for f in n.body
                          if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and _private(f.name)]
            elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in (
                    "setdefault", "pop", "update", "__setitem__") and ast.unparse(n.func.value) == "sys.modules":
                found.append(f"{at}: changes sys.modules")
    return found


@unit
def test_iwt_uses_no_private_api_of_other_libraries():
    found = private_uses(paths.ROOT / "iwt_helpers")
    assert found == [], "private APIs of other libraries (use their public API):\n" + "\n".join(found)


@unit
def test_the_private_api_check_catches_what_it_is_for(tmp_path):
    (tmp_path / "bad.py").write_text(
        "import matplotlib as mpl\nfrom jupyter_client.manager import AsyncKernelManager\n"
        "from nbconvert.exporters import _private\nimport sys\n"
        "x = mpl._get_version()\ny = axis.units._mapping\nmpl.rcdefaults = print\n"
        "sys.modules.setdefault('rfc3987_syntax', None)\n"
        "class M(AsyncKernelManager):\n    async def _async_wait(self):\n        pass\n")
    (tmp_path / "good.py").write_text("import os\nclass A:\n    def _mine(self):\n        self._x = 1\n"
                                      "        return self._mine, self._x, os._exit, display._repr_html_\n")
    found = " ".join(private_uses(tmp_path))
    assert "good.py" not in found
    for bad in ("_private", "._get_version", "._mapping", "assigns to mpl.rcdefaults", "sys.modules", "_async_wait"):
        assert bad in found, bad


# ---------------------------------------------------------------------- board-review fixes (issue #25)

def _synthetic_head(name: str, text: str) -> dict:
    return {"name": name, "text": text, "provenance": {"status": "synthetic", "period": "September 2024"}}


@unit
def test_index_names_demonstration_figures_as_figures_of_their_own_and_escapes_them(tmp_path):
    real = {"name": "Workforce in NHS trusts (November 2025)", "text": "95,534 FTE",
            "provenance": {"status": "real", "period": "November 2025"}}
    heads = [real, _synthetic_head("Not included above: adult social care (September 2024) (synthetic demonstration data)",
                                   "46,984 FTE"),
             _synthetic_head("Care worker pay gap <b>&</b>", "£0.35 an hour")]
    page = outputs.icb_index(tmp_path / "index.html", "Greater Manchester (QOP)",
                             [{"theme": "data", "title": "Data", "status": "ok", "headlines": heads}], True).read_text()
    demo = page.split('<ul class="demo">')[1].split("</ul>")[0]
    assert "Not included above" not in page and "(synthetic demonstration data)" not in demo
    assert "<li>Workforce in adult social care (September 2024): 46,984 FTE (SYNTHETIC)</li>" in demo
    assert "Care worker pay gap &lt;b&gt;&amp;&lt;/b&gt;: £0.35 an hour (SYNTHETIC)" in demo and "<b>" not in page


@unit
def test_a_suppressed_cell_is_named_in_words_with_its_header_and_the_threshold():
    from iwt_helpers.data import disclosure
    from iwt_helpers.present import notebook

    small = disclosure.settings()["min_count"] - 1
    df = pd.DataFrame({"group": ["a", "b"], "headcount": [120.0, 150.0], "fte": [100.0, small - 0.5]})
    page, shown = notebook.table_html(df, "t", columns={"group": "Group", "headcount": "Headcount", "fte": "FTE"})
    assert list(shown.columns) == ["Group", "Headcount", "FTE", "Suppressed"]
    said = f"FTE under {small + 1} suppressed"
    assert shown["Suppressed"].isna().tolist() == [True, False] and shown["Suppressed"].iloc[1] == said
    assert f"<td class=t>{said}</td>" in page and ">fte<" not in page
    _, none_hidden = notebook.table_html(df.assign(fte=[100.0, 90.0]), "t")
    assert "suppressed" not in [c.lower() for c in none_hidden.columns]


@unit
def test_suppressed_text_names_several_columns_once_each():
    from iwt_helpers.present import notebook

    assert notebook.suppressed_text({"fte", "headcount"}, {"headcount": "Headcount", "fte": "FTE"}).startswith(
        "FTE and Headcount under ")
    assert notebook.suppressed_text(set()) == "" and notebook.suppressed_text(None) == ""


@unit
def test_a_long_source_line_is_compact_with_every_source_one_click_away():
    from iwt_helpers.present import notebook
    from iwt_helpers.present.items import Provenance

    sources = [f"Publisher {i} workforce statistics, table {i} <x>" for i in range(14)]
    prov = Provenance("; ".join(sources), "November 2025; September 2024", "mixed",
                      "real published data (measured): Publisher 1; real: NHS trusts; synthetic: Adult social care")
    foot = notebook.provenance_html(prov)
    summary, full = foot.split("</summary>")
    assert len(prov.line()) > notebook.PROVENANCE_COMPACT_OVER and foot.startswith('<details class="iwt-prov"')
    assert "Status: real and synthetic parts (real: NHS trusts; synthetic: Adult social care)." in summary
    assert re.search(r"; and \d+ more\. Period: November 2025; September 2024\.", summary)
    assert len(summary) < len(full) and "<x>" not in foot
    assert all(html_escape(s) in full for s in sources)        # no source dropped
    short = Provenance("src", "2025", "real")
    assert notebook.provenance_html(short).startswith('<div class="iwt-prov"') and "<details" not in notebook.provenance_html(short)


@unit
def test_the_sources_table_gives_a_data_folder_table_its_sources_in_full(tmp_path):
    from iwt_helpers.present import notebook

    rows = [f"Population estimates {y}, apportioned to ICBs ({y} lookup; OGL v3)" for y in range(2001, 2025)]
    pd.DataFrame({"source": rows}).to_parquet(tmp_path / "population.parquet")
    cut = "; ".join(sorted(set(rows)))[:500]                     # as the data folder's manifest keeps it
    shown = notebook.full_source(cut, str(tmp_path / "population.parquet"), "data_dir")
    assert shown == "; ".join(rows)                              # the last one too, with its 'OGL v3)'
    assert notebook.full_source(cut, str(tmp_path / "population.parquet"), "demo") == notebook.full_source(cut, "", "demo")
    assert notebook.full_source("other", str(tmp_path / "missing.parquet"), "data_dir") == "other"
