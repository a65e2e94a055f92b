"""What runs inside every report kernel: the warm-up when it starts, the reset between reports.

The engine imports this module in the kernel, so it imports only the standard library at the top.
"""

from __future__ import annotations

import os

KERNEL_NAME = "python3"
# Imported into each kernel as soon as it starts, so that the first report does not pay for
# them: every iwt module the theme notebooks import (a test checks the list against the
# notebooks), the SVG backend charts are saved with, and the pandas/pyarrow parts the reports use.
WARM_MODULES = ("pandas", "pandas.core.reshape.reshape", "pyarrow.pandas_compat", "matplotlib.pyplot",
                "matplotlib.backends.backend_svg", "iwt_helpers.present.notebook", "iwt_helpers.present.charts",
                "iwt_helpers.data.datastore", "iwt_helpers.themes.params", "iwt_helpers.analysis.workforce",
                "iwt_helpers.analysis.kpis", "iwt_helpers.themes.data", "iwt_helpers.present.provenance",
                "iwt_helpers.present.explorer", "iwt_helpers.themes.readiness", "iwt_helpers.themes.case_studies",
                "iwt_helpers.themes.scenarios", "iwt_helpers.themes.governance_metrics")
WARNING_FILTERS: list[tuple] = []      # the warning filters reset() restores (set by warm_up)


def warm_up(cwd: str) -> None:
    """In a new kernel: import the notebooks' modules, then leave the kernel as :func:`reset` does."""
    import gc
    import importlib
    import warnings

    for name in WARM_MODULES:
        importlib.import_module(name)
    WARNING_FILTERS[:] = warnings.filters          # with those the imports added, as a report would find them
    # The modules loaded so far live as long as the kernel: keep them out of the garbage
    # collector's generations, so that collections during reports do not walk them again.
    gc.freeze()
    reset(cwd)


def reset(cwd: str) -> None:
    """Put the kernel in the state a new kernel's report would see: working directory, warning
    filters, matplotlib figures and settings, pandas options, and last of all an empty user
    namespace and execution count 1 (``InteractiveShell.reset``). Imported modules stay loaded."""
    import warnings

    import matplotlib
    import pandas as pd
    from IPython import get_ipython
    from matplotlib import pyplot as plt

    os.chdir(cwd)
    warnings.resetwarnings()               # this also makes Python forget which warnings it has shown
    warnings.filters[:] = WARNING_FILTERS
    plt.close("all")
    matplotlib.rc_file_defaults()          # leaves the backend (the kernel's inline one) alone
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pd.reset_option("all")
    get_ipython().reset(new_session=True)
