"""Benchmark: redrawing the whole data theme for another ICB (issue #6: well under a second).

Run: .venv/bin/python benchmarks/bench_explorer.py
Builds every section of notebooks/01_data.ipynb for one ICB as the notebook does, then times
Explorer.redraw for several other ICBs (what the JupyterLab dropdown calls) and prints the
figures. Displays go nowhere; rendering of tables and SVG charts is included. Asserts nothing.
"""

from __future__ import annotations

import statistics

import matplotlib

matplotlib.use("Agg")

from iwt_helpers.data.datastore import open_dataset  # noqa: E402
from iwt_helpers.present import explorer, notebook  # noqa: E402
from iwt_helpers.themes import data as data_theme
from iwt_helpers.themes.params import ReportParams  # noqa: E402


class _Handle:
    def update(self, obj):
        if isinstance(obj, notebook.SVGChart):
            assert obj.svg


def main() -> None:
    explorer.display = lambda *a, display_id=None, **k: _Handle() if display_id else None
    notebook.display = lambda *a, **k: None
    params = ReportParams.parse(icb_code="QOP")
    ex = explorer.Explorer(params.icb_code, interactive=True)
    ctx = data_theme.DataContext.load(open_dataset(), params)
    for make in (data_theme.whole_system_section, data_theme.pressure_section, data_theme.retirement_section,
                 data_theme.ethnicity_section, data_theme.need_section, data_theme.benchmark_section,
                 data_theme.quality_section):
        ex.section(make(ctx))
    times = [ex.redraw(icb) for icb in ("QE1", "QHM", "QOC", "QT1", "QWE", "QKK", "QOP", "QJK")]
    items = sum(len(s.handles) for s in ex.sections)
    print(f"explorer redraw of the data theme ({len(ex.sections)} sections, {items} tables/charts/headlines):")
    print(f"  median {statistics.median(times):.3f} s, max {max(times):.3f} s over {len(times)} ICBs "
          f"(target: well under 1 s)")


if __name__ == "__main__":
    main()
