"""Benchmark: how long each interactive control of each theme notebook takes to redraw the notebook
(issue #15: under a second on the demo data).

Run: .venv/bin/python benchmarks/bench_explorer.py [notebooks/NN_name.ipynb ...]
Runs each theme notebook's code cells in an IPython shell with the controls on (as in JupyterLab),
then moves every control through several values, each change redrawing every block as the
browser's change would (the widget's own observer calls Explorer.redraw), and prints the median
and the worst time per control. Outputs go to ipywidgets Output models with no front end attached,
so the time is the kernel's: rendering tables and SVG charts included, the browser's paint not.
No drawing worker starts here (a new process cannot import this embedded shell's main module), so every chart is
drawn in the kernel, as with ``IWT_DRAW_WORKERS=0``; ``bench_controls.py`` measures the redraws as JupyterLab runs them.
Asserts nothing.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from IPython.core.interactiveshell import InteractiveShell  # noqa: E402
from IPython.utils.capture import capture_output  # noqa: E402

from iwt_helpers import paths  # noqa: E402
from iwt_helpers.present import explorer as explorer_module  # noqa: E402

ICBS = ("QE1", "QHM", "QOC", "QT1", "QWE", "QKK", "QJK")


def values_to_try(widget) -> list:
    if hasattr(widget, "options") and widget.options:
        values = [v for _, v in widget.options] if isinstance(widget.options[0], tuple) else list(widget.options)
        return [v for v in values if v != widget.value][:6]
    lo, hi, step = widget.min, widget.max, widget.step
    values = [lo, hi, lo + (hi - lo) / 2, lo + (hi - lo) / 4, hi - (hi - lo) / 4]
    if isinstance(widget.value, int):
        values = sorted({int(round(v)) for v in values})
    else:
        values = [round(round(v / step) * step, 10) for v in values]
    return [v for v in values if v != widget.value]


def bench(path: Path) -> list[tuple[str, list[float]]]:
    shell = InteractiveShell.instance()
    shell.reset()
    nb = json.loads(path.read_text())
    with capture_output():
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                shell.run_cell("".join(cell["source"])).raise_error()
    ex = shell.user_ns["explorer"]
    out = []
    for name in ex.control_names():
        widget = ex.widget(name)
        values = [v for v in ICBS if v != widget.value][:6] if name == "icb_code" else values_to_try(widget)
        times = []
        with capture_output():
            for v in values:
                before = ex.redraws
                widget.value = v                      # the widget's observer redraws the notebook
                assert ex.redraws == before + 1
                times.append(ex.last_redraw_s)
        if name == "icb_code":
            widget.value = ex.icb_code                # leave as found
        out.append((name, times))
    return out


def main(argv: list[str]) -> None:
    explorer_module.widgets_available = lambda: True     # controls on, as in a live kernel
    notebooks = [Path(a) for a in argv] or sorted(p for p in paths.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    print("redraw of the whole notebook per control change (demo data; target: under 1 s)")
    for path in notebooks:
        if "explorer" not in path.read_text():
            continue
        for name, times in bench(path):
            print(f"  {path.stem:24s} {name:22s} median {statistics.median(times):.3f} s, max {max(times):.3f} s "
                  f"over {len(times)} changes")


if __name__ == "__main__":
    main(sys.argv[1:])
