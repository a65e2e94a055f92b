"""What every report kernel gets, however it is started: kernelspec, environment, warm imports.

Kept free of heavy imports so the runner can start the kernel fork server before it imports
nbformat, nbclient and jupyter_client itself.
"""

from __future__ import annotations

import os

KERNEL_NAME = "python3"
# Imported into each kernel as soon as it starts (or into the fork server before it forks), so
# the first report does not pay for them: every iwt module the theme notebooks import
# (tests/test_forkserver.py checks the list against the notebooks), the SVG backend charts are
# saved with, and the pandas/pyarrow parts the reports touch. Then gc.freeze() moves everything
# loaded so far out of the collector's reach: those objects live as long as the kernel, and
# without it every full collection during a report walks them all again (about 0.1 s of a
# 0.65 s report). Collection of the reports' own objects is unchanged.
WARM_MODULES = ("pandas", "pandas.core.reshape.reshape", "pyarrow.pandas_compat", "matplotlib.pyplot",
                "matplotlib.backends.backend_svg",
                "iwt_helpers.present.notebook", "iwt_helpers.present.charts", "iwt_helpers.data.datastore", "iwt_helpers.themes.params",
                "iwt_helpers.analysis.workforce", "iwt_helpers.analysis.kpis", "iwt_helpers.themes.data", "iwt_helpers.present.explorer")
WARM_IMPORTS = (f"import gc, {', '.join(WARM_MODULES)}\n"
                "gc.freeze()\n"
                "del gc, pandas, pyarrow, matplotlib, iwt_helpers")   # leaves the namespace as a new kernel's


def kernel_env() -> dict[str, str]:
    """The environment of every report kernel (and of the fork server that makes them).

    IWT_BATCH: notebooks render statically (no widgets) under the runner."""
    return {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1", "IWT_BATCH": "1"}
