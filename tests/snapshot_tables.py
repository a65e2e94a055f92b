"""Key tables of the demo data set that tests/test_snapshots.py compares with stored snapshots."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from iwt_helpers.analysis import kpis  # noqa: E402
from iwt_helpers.data.datastore import open_dataset  # noqa: E402
from iwt_helpers.present.items import Table  # noqa: E402
from iwt_helpers.themes import data as data_theme  # noqa: E402
from iwt_helpers.themes.params import ReportParams  # noqa: E402

SNAPSHOT_DIR = Path(__file__).resolve().parent / "snapshots"
SNAPSHOT_ICBS = ("QOP", "QT6")          # a large urban and a small rural ICB
SECTIONS = ("coverage_section", "whole_system_section", "primary_care_section", "unpaid_care_section", "pressure_section",
            "retirement_section", "ethnicity_section",
            "need_section", "benchmark_section")


def key_tables(icb: str) -> dict[str, pd.DataFrame]:
    """The data theme's key tables and the governance KPI summary for one ICB, on the demo set."""
    ds = open_dataset(None)
    ctx = data_theme.DataContext.load(ds, ReportParams.parse(icb_code=icb))
    out = {}
    for name in SECTIONS:
        for item in getattr(data_theme, name)(ctx)(icb):
            if isinstance(item, Table) and item.key:
                out[f"data_{item.key}"] = item.df.reset_index(drop=True)
        plt.close("all")                    # the section's charts, never shown here
    _, summary = kpis.read(ds.table("kpi_observations"), icb)
    out["governance_kpi_summary"] = summary.drop(columns=[c for c in ("source",) if c in summary]).reset_index(drop=True)
    return out
