"""The governance metrics theme (notebooks/03_governance_metrics.ipynb): the workforce KPIs read with
Making Data Count SPC, for the ICB an :class:`iwt_helpers.present.explorer.Explorer` shows.

``matrix`` and ``signals`` display their tables themselves (for ``explorer.live``);
``charts_section`` returns the charts as items (for ``explorer.section``), for all the report's KPIs
or the one the KPI picker chose: one figure of the real KPIs, then one of the synthetic KPIs, so a
finding is only ever stated about real data.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import pandas as pd
from IPython.display import HTML, display

from iwt_helpers.analysis import kpis as kpi_framework
from iwt_helpers.analysis import measures, nhs_trend
from iwt_helpers.analysis.params import ReportParams
from iwt_helpers.analysis.system_data import SystemData, split_by_icb
from iwt_helpers.data import geography
from iwt_helpers.data.datastore import Dataset
from iwt_helpers.present import charts
from iwt_helpers.present import notebook as nb
from iwt_helpers.present.explorer import depends_on
from iwt_helpers.present.items import Figure, Provenance
from iwt_helpers.present.provenance import footer_text, provenance_of

from .wording import caveat, icb_name

ALL = ""                   # the KPI picker's value for every KPI of the report
ROLLING_NAME = re.compile(r"\s*\(\d+-month rolling\)")
# A publisher's source that says its series changes definition at this observation: the line breaks there.
DEFINITION_CHANGE = "changes definition"


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
    newest: pd.Timestamp | None = None           # the newest month of the data's KPIs: what "out of date" is measured from
    data: SystemData | None = None               # the model's inputs: the registry's figures (analysis.measures)
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
        return cls(ds, params, obs, monthly, kpi_framework.newest_period(obs), SystemData.load(ds, params))

    def read(self, icb: str, kpi: str = ALL) -> Reading:
        """The SPC reading of the report's KPIs (or of one KPI) for an ICB, computed once. A KPI that is a
        registered measure (``measures.KPI_MEASURES``) shows the registry's figure: a published figure in
        place of a synthetic series, a synthetic series set to the report's synthetic figure."""
        icb = geography.resolve_icb(icb)
        key = (icb, kpi)
        if key not in self._cache:
            obs, changed = self.once(("observations", icb), lambda: (
                measures.kpi_observations(self.data, self.icb_rows(icb), icb) if self.data is not None
                else (self.icb_rows(icb), {})))
            chart, summary = kpi_framework.read(obs, icb, (kpi,) if kpi else self.params.kpis, newest=self.newest)
            for kpi_id, note in changed.items():
                hit = summary["kpi_id"] == kpi_id
                summary.loc[hit, "note"] = [f"{note}; {n}" if n else note for n in summary.loc[hit, "note"]]
            summary = self._named_for_figures(summary, icb, changed)
            prov = provenance_of(chart, by="kpi_id", labels=summary.set_index("kpi_id")["name"].to_dict())
            self._cache[key] = Reading(chart, summary, prov)
        return self._cache[key]

    def _named_for_figures(self, summary: pd.DataFrame, icb: str, changed: dict) -> pd.DataFrame:
        """A KPI shown by a published figure is named for what that figure is: a rolling KPI whose figure
        is annualised from a few months says so in its name, not "12-month rolling"; and a published
        figure's basis (a mean of role-level rates, not a whole-workforce rate) goes into its note."""
        if self.data is None:
            return summary
        summary = summary.copy()
        for kpi_id, measure in measures.KPI_MEASURES.items():
            hit = summary["kpi_id"] == kpi_id
            v = self.data.measure(measure, icb)
            if not hit.any() or v is None or v.status != measures.REAL or v.as_of is None:
                continue
            if pd.Timestamp(summary.loc[hit, "latest_period"].iloc[0]) != v.as_of:
                continue
            if "annualised from" in v.period:
                summary.loc[hit, "name"] = [ROLLING_NAME.sub("", n) + f" ({v.period})" for n in summary.loc[hit, "name"]]
            if kpi_id not in changed and "not a whole-workforce rate" in v.scope:
                summary.loc[hit, "note"] = [f"{v.scope}; {n}" if n else v.scope for n in summary.loc[hit, "note"]]
        return summary

    def once(self, key: tuple, compute):
        """``compute()`` once per key (an ICB's figures do not change while the notebook is open); what it
        returns is shared: never change it."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def icb_rows(self, icb: str) -> pd.DataFrame:
        """The ICB's KPI observations, as ``observations[observations["icb_code"] == icb]`` gives them (the
        table split by ICB once, not filtered again at each ICB); never change them."""
        groups, empty = self.once(("observations_by_icb",), lambda: split_by_icb(self.observations))
        return groups.get(icb, empty)

    def figures(self, icb: str) -> dict[str, measures.Value]:
        """The KPI summary's latest values that are registered figures (KPI id -> figure): those whose
        latest month is the figure's month."""
        if self.data is None:
            return {}
        s = self.read(icb).summary.set_index("kpi_id")
        out = {}
        for kpi_id, measure in measures.KPI_MEASURES.items():
            for m in (measure, measures.KPI_LATEST_MEASURES.get(kpi_id)):   # the KPI's measure, else its latest month's
                v = self.data.measure(m, geography.resolve_icb(icb)) if m else None
                if kpi_id in s.index and v is not None and v.as_of is not None and \
                        pd.Timestamp(s.at[kpi_id, "latest_period"]) == v.as_of:
                    out[kpi_id] = v
                    break
        return out

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


def _targets_words(icb: str, summary: pd.DataFrame) -> str:
    """Who set the targets: iwt's defaults, or the ICB's own where it has set them."""
    own = kpi_framework.own_targets(icb)
    named = summary.loc[summary["kpi_id"].isin(list(own)), "name"].tolist()
    words = ("Targets: iwt's defaults (data/reference/kpis.yaml) unless the ICB has set its own in "
             "data/reference/kpi_targets.yaml.")
    return words + (f" {icb_name(icb)} has set its own for: {', '.join(named)}." if named else
                    f" {icb_name(icb)} has set none yet.")


def matrix(ctx: GovernanceContext, icb: str) -> None:
    """The summary matrix with its icons, the board summary for tables.xlsx and the headlines."""
    r = ctx.read(icb)
    summary, prov = r.summary, r.prov
    display(HTML(charts.kpi_matrix_html(summary, kpi_framework.VARIATION_TEXT, kpi_framework.ASSURANCE_TEXT,
                                        kpi_framework.CHART_TEXT)))
    display(HTML(f"<p>{html.escape(_targets_words(icb, summary))}</p>"))
    caption = "KPI summary: latest value, target, variation and assurance"
    board = ctx.once(("board_summary", geography.resolve_icb(icb)), lambda: kpi_framework.board_summary(summary))
    nb.key_table("kpi_summary", board, caption, prov)
    units = summary.set_index("kpi_id")["unit"]
    nb.emit_measures("table", caption, [nb.measure_row(v, kpi_framework.SUMMARY_COLUMNS["latest_value"],
                                                       charts.kpi_value_text(v.value, units[k]))
                                        for k, v in ctx.figures(icb).items()], key="kpi_summary")
    judged = _real(summary)
    judged = judged[judged["chart"] == "xmr"]           # real KPIs read with SPC: the only ones a headline counts
    if len(judged):
        jrows = r.chart[r.chart["kpi_id"].isin(judged["kpi_id"])]
        jprov = provenance_of(jrows)
        jprov = Provenance(jprov.source, spc_spans(jrows, summary), jprov.status, jprov.detail)
        of = f"of {len(judged)} real KPI{'s' if len(judged) != 1 else ''} read with SPC"
        nb.headline("KPIs with special-cause concern in the latest month", int(judged["variation"].str.startswith("concern").sum()), of,
                    provenance=jprov)
        nb.headline("KPIs that will consistently miss target", int((judged["assurance"] == "consistent_fail").sum()), of,
                    provenance=jprov)
    year_on_year(ctx, icb)


def spc_spans(chart: pd.DataFrame, summary: pd.DataFrame) -> str:
    """Each KPI's own span and number of monthly points, for a headline counting KPIs read with SPC: one
    period over them all would hide a KPI with far fewer points than the others."""
    names = summary.set_index("kpi_id")["name"] if "name" in summary else pd.Series(dtype=str)
    bits = []
    for kpi_id, rows in chart.groupby("kpi_id", sort=False):
        ps = pd.to_datetime(rows["period"].dropna())
        if ps.empty:
            continue
        name = str(names.get(kpi_id, kpi_id))
        bits.append(f"{name}: {ps.min():%b %Y} to {ps.max():%b %Y}, {ps.nunique()} points")
    return "; ".join(bits)


def _real(summary: pd.DataFrame) -> pd.DataFrame:
    return summary[~summary["synthetic"].astype(bool)] if "synthetic" in summary else summary


def year_on_year(ctx: GovernanceContext, icb: str) -> None:
    """Beside the month-on-month KPI: NHS trust staff in post (FTE) over the last 12 months, for the
    ICB, its region and England."""
    if ctx.monthly is None or (ctx.params.kpis and nhs_trend.KPI_ID not in ctx.params.kpis):
        return
    data, code = ctx.data, geography.resolve_icb(icb)
    growth, prov = ctx.once(("year_on_year", code), lambda: _growth_12m(ctx, code))
    mine = growth.iloc[0]
    grown = data.measure("nhs_trust_fte_growth_12m", code) if data is not None else None
    nb.show(growth, f"Beside the month-on-month KPI: NHS trust staff in post (FTE; monthly NHS Workforce Statistics, all "
            f"HCHS staff, resident doctors included), growth in the {mine['period_label']}",
            columns={"area": "Area", "fte_year_before": f"FTE {mine['year_before']:%B %Y}",
                     "fte_latest": f"FTE {mine['latest']:%B %Y}", "growth_pct": "Growth (%)"},
            formats={"fte_year_before": "{:,.0f}", "fte_latest": "{:,.0f}", "growth_pct": "{:+.1f}"},
            key="nhs_staff_growth_12m", suppress=False, provenance=prov,
            measures=None if data is None else {
                "fte_latest": data.measure("nhs_trust_fte_monthly", code, period=mine["latest"]),
                "fte_year_before": data.measure("nhs_trust_fte_monthly", code, period=mine["year_before"]),
                "growth_pct": grown})
    name = f"NHS trust staff in post (FTE), growth in the {mine['period_label']}"
    nb.headline(name, float(mine["growth_pct"]), "%", "{:+.1f}", provenance=prov)
    if grown is not None:
        nb.emit_measures("headline", name, [nb.measure_row(grown, "", f"{grown.value:+.1f}")])


def _growth_12m(ctx: GovernanceContext, icb: str) -> tuple[pd.DataFrame, Provenance]:
    """NHS trust staff in post over the 12 months to the latest month, for the ICB, its region and
    England, and its provenance."""
    # the model's inputs read the same monthly table and keep its areas for the registry's figures
    areas = ctx.data.monthly_areas(icb) if ctx.data is not None else nhs_trend.by_area(ctx.monthly, icb, nhs_trend.series_start())
    growth = nhs_trend.growth_12m(areas)
    mine = growth.iloc[0]
    prov = provenance_of(areas[areas["period"].isin([mine["latest"], mine["year_before"]])],
                         f"{mine['period_label']} ({mine['year_before']:%B %Y} and {mine['latest']:%B %Y})")
    return growth, prov


def charts_section(ctx: GovernanceContext, kpi=lambda: ALL):
    """The XmR charts of the report's KPIs, or of the KPI ``kpi()`` names (the KPI picker's value)."""
    @depends_on("icb_code", "kpi")
    def render(icb: str) -> list:
        r = ctx.read(icb, kpi())
        real = _real(r.summary)
        out = []
        for part in (real, r.summary.drop(real.index)):          # real KPIs first, then the synthetic ones
            if part.empty:
                continue
            rows = r.chart[r.chart["kpi_id"].isin(part["kpi_id"])]
            prov = provenance_of(rows, by="kpi_id", labels=part.set_index("kpi_id")["name"].to_dict())
            if "source" in rows:                   # the line breaks where a publisher says the series changes definition
                rows = rows.assign(new_definition=rows["source"].astype(str).str.contains(DEFINITION_CHANGE, regex=False))
            fig = charts.xmr_grid(rows, part.reset_index(drop=True), icb_name(icb), footer_text(prov), prov.synthetic,
                                  ncols=1 if len(part) == 1 else 2)
            out.append(Figure(fig, prov))
        return out
    return render


def signals(ctx: GovernanceContext, icb: str) -> None:
    """Each KPI's latest special cause in the last 12 months, and every one for tables.xlsx."""
    r = ctx.read(icb)
    real = _real(r.summary)                    # a synthetic KPI's special cause is no finding
    chart = r.chart[r.chart["kpi_id"].isin(real["kpi_id"])]
    recent, every = ctx.once(("signals", geography.resolve_icb(icb)), lambda: kpi_framework.signal_tables(chart, real, months=12))
    prov = provenance_of(chart, by="kpi_id", labels=real.set_index("kpi_id")["name"].to_dict())  # the real KPIs': not every KPI's
    nb.show(recent, "Latest special cause of each real KPI in the last 12 months (every one is in tables.xlsx; "
            "synthetic KPIs are left out)",
            columns={"name": "KPI", "period": "Month", "value": "Value", "rule": "Rule", "point_type": "Reading",
                     "signals": "Special-cause months in the last 12"},
            formats={"period": "{:%b %Y}", "value": "{:,.2f}"}, key="recent_signals", suppress=False, provenance=prov)
    nb.key_table("all_signals", every, "Every special-cause point of a real KPI in the last 12 months", prov)


def caveats() -> list[str]:
    """How the KPIs are read (A36, data/reference/caveats.yaml)."""
    return [caveat("A36"), caveat("A36.few_points", min_points=kpi_framework.min_points()), caveat("A36.rolling"),
            caveat("A36.stale", months=kpi_framework.stale_after_months()), caveat("A36.synthetic"), caveat("A36.rebase")]
