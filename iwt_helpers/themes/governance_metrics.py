"""The governance metrics theme (notebooks/03_governance_metrics.ipynb): the workforce KPIs read with
Making Data Count SPC, for the ICB an :class:`iwt_helpers.present.explorer.Explorer` shows.

``matrix`` and ``signals`` display their tables themselves (for ``explorer.live``);
``charts_section`` returns the XmR chart as an item (for ``explorer.section``), for all the report's
KPIs or the one the KPI picker chose.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from IPython.display import HTML, display

from iwt_helpers.analysis import kpis as kpi_framework
from iwt_helpers.analysis import nhs_trend
from iwt_helpers.data import geography
from iwt_helpers.data.datastore import Dataset
from iwt_helpers.present import charts
from iwt_helpers.present import notebook as nb
from iwt_helpers.present.items import Figure, Provenance

from .params import ReportParams
from .provenance import footer_text, provenance_of

ALL = ""                   # the KPI picker's value for every KPI of the report


@dataclass
class Reading:
    chart: pd.DataFrame
    summary: pd.DataFrame
    prov: Provenance


@dataclass
class GovernanceContext:
    ds: Dataset
    params: ReportParams
    observations: pd.DataFrame
    monthly: pd.DataFrame | None = None          # NHS trust staff in post by month (nhs_trend.monthly_table)
    _cache: dict = field(default_factory=dict)

    @classmethod
    def load(cls, ds: Dataset, params: ReportParams) -> GovernanceContext:
        """The KPI observations; the month-on-month change in NHS trust staff in post is derived from
        the monthly series (the data folder's, else the committed ICB totals: real either way) unless
        the observations already have it, so the demo shows it real too."""
        obs = ds.table_by_key("kpi_observations", key="kpi_id")
        monthly = nhs_trend.monthly_table(ds)
        if monthly is not None and not (obs["kpi_id"] == nhs_trend.KPI_ID).any():
            derived = nhs_trend.kpi_observations(monthly, nhs_trend.series_start())
            obs = pd.concat([obs, derived.assign(synthetic=bool(monthly["synthetic"].any()))], ignore_index=True)
        return cls(ds, params, obs, monthly)

    def read(self, icb: str, kpi: str = ALL) -> Reading:
        """The SPC reading of the report's KPIs (or of one KPI) for an ICB, computed once."""
        icb = geography.resolve_icb(icb)
        key = (icb, kpi)
        if key not in self._cache:
            chart, summary = kpi_framework.read(self.observations, icb, (kpi,) if kpi else self.params.kpis)
            prov = provenance_of(chart, by="kpi_id", labels=summary.set_index("kpi_id")["name"].to_dict())
            self._cache[key] = Reading(chart, summary, prov)
        return self._cache[key]

    def synthetic(self, icb: str) -> bool:
        return self.read(icb).prov.synthetic

    def synthetic_parts(self, icb: str) -> list[str]:
        s = self.read(icb).summary
        return s.loc[s["synthetic"], "name"].tolist() if "synthetic" in s else []


def kpi_options(ctx: GovernanceContext) -> list[tuple[str, str]]:
    """The KPI picker's choices: every KPI of the report, then each one on its own."""
    defs = kpi_framework.definitions().set_index("id")
    ids = list(ctx.params.kpis) or list(defs.index)
    return [("All KPIs", ALL)] + [(str(defs.at[k, "name"]), k) for k in ids if k in defs.index]


def matrix(ctx: GovernanceContext, icb: str) -> None:
    """The summary matrix with its icons, the board summary for tables.xlsx and the headlines."""
    r = ctx.read(icb)
    summary, prov = r.summary, r.prov
    display(HTML(charts.kpi_matrix_html(summary, kpi_framework.VARIATION_TEXT, kpi_framework.ASSURANCE_TEXT)))
    nb.key_table("kpi_summary", kpi_framework.board_summary(summary), "KPI summary: latest value, target, variation and assurance",
                 prov)
    nb.headline("KPIs with special-cause concern", int(summary["variation"].str.startswith("concern").sum()), f"of {len(summary)}",
                provenance=prov)
    nb.headline("KPIs that will consistently miss target", int((summary["assurance"] == "consistent_fail").sum()),
                f"of {len(summary)}", provenance=prov)
    year_on_year(ctx, icb)


def year_on_year(ctx: GovernanceContext, icb: str) -> None:
    """Beside the month-on-month KPI: NHS trust staff in post (FTE) over the last 12 months, for the
    ICB, its region and England."""
    if ctx.monthly is None or (ctx.params.kpis and nhs_trend.KPI_ID not in ctx.params.kpis):
        return
    areas = nhs_trend.by_area(ctx.monthly, icb, nhs_trend.series_start())
    growth = nhs_trend.growth_12m(areas)
    mine = growth.iloc[0]
    prov = provenance_of(areas[areas["period"].isin([mine["latest"], mine["year_before"]])],
                         f"{mine['period_label']} ({mine['year_before']:%B %Y} and {mine['latest']:%B %Y})")
    nb.show(growth, f"Beside the month-on-month KPI: NHS trust staff in post (FTE), growth in the {mine['period_label']}",
            columns={"area": "Area", "fte_year_before": f"FTE {mine['year_before']:%B %Y}",
                     "fte_latest": f"FTE {mine['latest']:%B %Y}", "growth_pct": "Growth (%)"},
            formats={"fte_year_before": "{:,.0f}", "fte_latest": "{:,.0f}", "growth_pct": "{:+.1f}"},
            key="nhs_staff_growth_12m", suppress=False, provenance=prov)
    nb.headline(f"NHS trust staff in post (FTE), growth in the {mine['period_label']}", float(mine["growth_pct"]), "%", "{:+.1f}",
                provenance=prov)


def charts_section(ctx: GovernanceContext, kpi=lambda: ALL):
    """The XmR charts of the report's KPIs, or of the KPI ``kpi()`` names (the KPI picker's value)."""
    def render(icb: str) -> list:
        r = ctx.read(icb, kpi())
        one = len(r.summary) == 1
        fig = charts.xmr_grid(r.chart, r.summary, geography.icb_name(icb), footer_text(r.prov), r.prov.synthetic,
                              ncols=1 if one else 2)
        return [Figure(fig, r.prov)]
    return render


def signals(ctx: GovernanceContext, icb: str) -> None:
    """Each KPI's latest special cause in the last 12 months, and every one for tables.xlsx."""
    r = ctx.read(icb)
    recent = kpi_framework.recent_signals(r.chart, r.summary, months=12, latest_only=True)
    nb.show(recent, "Latest special cause of each KPI in the last 12 months (every one is in tables.xlsx)",
            columns={"name": "KPI", "period": "Month", "value": "Value", "rule": "Rule", "point_type": "Reading",
                     "signals": "Special-cause months in the last 12"},
            formats={"period": "{:%b %Y}", "value": "{:,.2f}"}, key="recent_signals", suppress=False, provenance=r.prov)
    nb.key_table("all_signals", kpi_framework.recent_signals(r.chart, r.summary, months=12),
                 "Every special-cause point in the last 12 months", r.prov)


def caveats() -> list[str]:
    return [
        "SPC follows NHS England's Making Data Count rules as implemented by the NHS-R plot the dots package (docs/spc.md).",
        f"A KPI with fewer than {kpi_framework.min_points()} points has no variation or assurance icon: too few to judge.",
        "Limits are recalculated from the change points recorded for a KPI in data/reference/kpis.yaml (rebase).",
    ]
