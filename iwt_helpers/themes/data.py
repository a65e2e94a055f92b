"""The data theme (notebooks/01_data.ipynb): each section as a function of the ICB.

Each ``*_section(ctx)`` returns a renderer ``icb_code -> list of items`` for
:class:`iwt_helpers.present.explorer.Explorer`, so the same code draws the static report and the
interactive redraw. Everything that does not depend on the ICB (England totals, funnel
tables) is computed once in :class:`DataContext`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

import pandas as pd

from iwt_helpers.analysis import benchmarking, need, pressures, quality, workforce
from iwt_helpers.data import geography
from iwt_helpers.data.datastore import Dataset
from iwt_helpers.present import charts
from iwt_helpers.present.items import Figure, Headline, Table, Text

from .params import ReportParams

# Tables whose rows come from the data folder where it has them, and from the demo set for the
# keys it lacks (each row flagged synthetic or not).
BY_KEY = {"kpi_observations": "kpi_id", "flows": "sector", "ethnicity": "group"}
TABLES = ("workforce", "vacancies", "flows", "pay", "workforce_age", "ethnicity", "population",
          "kpi_observations", "prevalence")
KPI_PRESSURE = {"sickness_absence_nhs": "NHS sickness absence rate (%)",
                "sickness_days_asc": "Adult social care sickness (days per worker a year)",
                "agency_share_nhs": "Agency share of NHS trust pay bill (%)"}


@dataclass
class DataContext:
    ds: Dataset
    params: ReportParams
    t: dict[str, pd.DataFrame] = field(default_factory=dict)

    @classmethod
    def load(cls, ds: Dataset, params: ReportParams) -> DataContext:
        ctx = cls(ds, params)
        for name in TABLES:
            ctx.t[name] = ds.table_by_key(name, BY_KEY[name]) if name in BY_KEY else ds.table(name)
        return ctx

    def synthetic(self, *tables: str) -> bool:
        """True when any row of these tables is synthetic (a table may mix real and demo rows)."""
        return any(bool(self.t[t].attrs.get("synthetic", self.ds.info(t).synthetic)) for t in tables)

    def synthetic_tables(self) -> list[str]:
        return [t for t in TABLES if self.synthetic(t)]

    def source(self, *tables: str) -> str:
        """The sources of the rows loaded (real and synthetic alike), each named once."""
        parts = []
        for t in tables:
            df = self.t[t]
            parts.extend(df["source"].dropna().unique().tolist() if "source" in df and len(df) else
                         [self.ds.info(t).source or t])
        return compact_sources(parts)

    @property
    def base_year(self) -> int:
        """The workforce snapshot year, or the nearest year the population figures cover."""
        wanted = int(workforce.latest_period(self.t["workforce"]).year)
        years = sorted(self.t["population"]["year"].unique())
        latest_start = max(years) - max(self.params.projection_years)
        candidates = [y for y in years if y <= latest_start] or years
        return int(min(candidates, key=lambda y: (abs(y - wanted), -y)))

    @functools.cached_property
    def funnels(self) -> list[tuple[str, pd.DataFrame, pd.DataFrame, str]]:
        """Funnel tables for all 42 ICBs (computed once, whatever ICB is shown)."""
        vac = benchmarking.vacancy_funnel(self.t["vacancies"])
        tur = benchmarking.turnover_funnel(self.t["flows"])
        wf = self.t["workforce"]
        nhs_fte = wf[(wf["period"] == wf["period"].max()) & (wf["sector"] == "nhs_trust")].groupby("icb_code")["fte"].sum()
        # Denominator: FTE days available over the 12 months (FTE x 365); the funnel only needs scale.
        sick = benchmarking.kpi_funnel(self.t["kpi_observations"], "sickness_absence_nhs", nhs_fte * 365)
        return [("Social care vacancy rate", vac, benchmarking.funnel_curve(vac), "Posts (filled + vacant)"),
                ("Social care turnover", tur, benchmarking.funnel_curve(tur), "Staff in post"),
                ("NHS sickness absence", sick, benchmarking.funnel_curve(sick), "FTE days available")]


_FILE_NAME = re.compile(r",\s*[^;,]*?\.(csv|xlsx|xls|xlsm|parquet)\b", re.I)


def compact_sources(sources: list[str]) -> str:
    """Sources as a reader needs them under a figure: publications without file names, each once
    (the files are listed in the data-quality section and the build report)."""
    parts = []
    for s in sources:
        parts.extend(p.strip() for p in _FILE_NAME.sub("", s).split(";"))
    return "; ".join(dict.fromkeys(p for p in parts if p))


def _name(icb: str) -> str:
    return geography.icb_name(icb)


def whole_system_section(ctx: DataContext):
    wf, pop = ctx.t["workforce"], ctx.t["population"]
    src, syn = ctx.source("workforce"), ctx.synthetic("workforce")
    period = workforce.latest_period(wf)

    def render(icb: str) -> list:
        sectors = workforce.by_sector(wf, icb, period)
        profile = workforce.profile(wf, icb, period)
        reg = workforce.by_dimension(wf, icb, "registered", period)
        reg["registered"] = reg["registered"].map({True: "Registered professionals", False: "Not professionally registered"})
        own = workforce.by_dimension(wf, icb, "ownership", period)
        own["ownership"] = own["ownership"].str.capitalize()
        profile_shown = profile.assign(registered=profile["registered"].map({True: "Yes", False: "No"}))
        comp = workforce.per_capita_comparison(wf, pop, icb)
        me = comp[(comp["area"] == comp["area"].iloc[0]) & (comp["measure"] == "whole system")].iloc[0]
        eng = comp[(comp["area"] == "England") & (comp["measure"] == "whole system")].iloc[0]
        diff = me["fte_per_1000_population"] - eng["fte_per_1000_population"]
        total = sectors.loc[sectors["sector"] == "whole_system", "fte"].iloc[0]
        fmt = {"headcount": "{:,.0f}", "fte": "{:,.0f}", "share_of_fte_pct": "{:.1f}"}
        return [
            Headline("Whole-system workforce", total, "FTE"),
            Table(sectors, f"Workforce by sector, {period:%B %Y}", {"sector_label": "Sector", "ownership": "Ownership",
                  "headcount": "Headcount", "fte": "FTE", "share_of_fte_pct": "Share of FTE (%)"}, fmt, key="workforce_by_sector"),
            Figure(charts.fte_by_sector(sectors, _name(icb), src, syn)),
            Figure(charts.staff_groups_by_sector(profile, _name(icb), src, syn)),
            Table(profile_shown, "FTE by sector and staff group", {"sector_label": "Sector", "staff_group_label": "Staff group",
                  "registered": "Registered", "headcount": "Headcount", "fte": "FTE"}, fmt, key="workforce_by_group"),
            Table(reg, "Registered and non-registered staff", {"registered": "Group", "headcount": "Headcount",
                  "fte": "FTE", "share_of_fte_pct": "Share of FTE (%)"}, fmt, key="registered"),
            Table(own, "Statutory, independent and voluntary employers", {"ownership": "Employer type",
                  "headcount": "Headcount", "fte": "FTE", "share_of_fte_pct": "Share of FTE (%)"}, fmt, key="ownership"),
            Table(comp, f"FTE per 1,000 population and per 1,000 aged 65+ (ONS population {comp.attrs['population_year']})",
                  {"area": "Area", "measure": "Sector family", "fte": "FTE", "fte_per_1000_population": "FTE per 1,000 population",
                   "fte_per_1000_aged_65_plus": "FTE per 1,000 aged 65+"},
                  {"fte": "{:,.0f}", "fte_per_1000_population": "{:.1f}", "fte_per_1000_aged_65_plus": "{:.1f}"}, key="per_capita"),
            Figure(charts.per_capita_bars(comp, "fte_per_1000_population", "FTE per 1,000 population",
                   f"{src}; ONS population {comp.attrs['population_year']}", syn,
                   f"{_name(icb)} has {abs(diff):.1f} FTE per 1,000 residents {'more' if diff > 0 else 'fewer'} "
                   "than England across the whole system")),
        ]
    return render


def pressure_section(ctx: DataContext):
    vac, flows, pay, kpi = ctx.t["vacancies"], ctx.t["flows"], ctx.t["pay"], ctx.t["kpi_observations"]
    syn = ctx.synthetic("vacancies", "flows")

    def render(icb: str) -> list:
        v = pressures.vacancy_rates(vac, icb)
        t = pressures.turnover_rates(flows, icb)
        both = v[["sector", "sector_label", "vacancies", "filled_posts", "vacancy_rate_pct"]].merge(
            t[["sector", "staff_in_post", "leavers", "turnover_rate_pct"]], on="sector")
        pg = pressures.pressure_by_group(vac, flows, icb)
        gap = pressures.pay_gap_trend(pay, icb)
        flows_x = pressures.cross_sector_flows(flows, icb)
        k = pressures.kpi_latest_year(kpi, icb, list(KPI_PRESSURE))
        k["measure"] = k["kpi_id"].map(KPI_PRESSURE)
        asc = v[v["family"] == "social care"]
        asc_rate = 100 * asc["vacancies"].sum() / (asc["vacancies"].sum() + asc["filled_posts"].sum())
        last_gap = gap.iloc[-1]
        return [
            Headline("Social care vacancy rate", asc_rate, "%", "{:.1f}"),
            Headline("Care worker pay gap to new NHS HCAs", f"£{last_gap['gap_gbp_per_hour']:.2f} an hour"),
            Table(both, "Vacancy and turnover rates by sector", {"sector_label": "Sector", "vacancies": "Vacancies",
                  "filled_posts": "Filled posts", "vacancy_rate_pct": "Vacancy rate (%)", "staff_in_post": "Staff in post",
                  "leavers": "Leavers (12 months)", "turnover_rate_pct": "Turnover (%)"},
                  {"vacancies": "{:,.0f}", "filled_posts": "{:,.0f}", "vacancy_rate_pct": "{:.1f}", "staff_in_post": "{:,.0f}",
                   "leavers": "{:,.0f}", "turnover_rate_pct": "{:.1f}"}, key="vacancy_turnover"),
            Figure(charts.rates_by_group(pg, _name(icb), ctx.source("vacancies", "flows"), syn)),
            Table(gap, "Pay: care workers against NHS healthcare assistants new to their role (£ per hour)",
                  {"year": "Financial year starting", "nhs_hca_new_gbp": "NHS HCA, new (£/h)", "care_worker_gbp": "Care worker (£/h)",
                   "gap_gbp_per_hour": "Gap (£/h)", "gap_pct": "Gap (% of NHS)"},
                  {"nhs_hca_new_gbp": "{:.2f}", "care_worker_gbp": "{:.2f}", "gap_gbp_per_hour": "{:.2f}", "gap_pct": "{:.1f}"},
                  key="pay_gap", suppress=False),
            Figure(charts.pay_gap_chart(gap, _name(icb), ctx.source("pay"), ctx.synthetic("pay"))),
            Table(flows_x, "Leavers moving between health and social care (latest year)",
                  {"direction": "Direction", "leavers": "All leavers", "leavers_to_other_sector": "To the other sector",
                   "share_of_leavers_pct": "Share of leavers (%)"},
                  {"leavers": "{:,.0f}", "leavers_to_other_sector": "{:,.0f}", "share_of_leavers_pct": "{:.1f}"}, key="cross_sector_flows"),
            Table(k, "Sickness absence and agency use: mean of the last 12 months", {"measure": "Measure",
                  "from": "From", "to": "To", "mean_last_12_months": "Mean", "months": "Months"},
                  {"from": "{:%b %Y}", "to": "{:%b %Y}", "mean_last_12_months": "{:.2f}"}, key="sickness_agency", suppress=False),
        ]
    return render


def retirement_section(ctx: DataContext):
    age = ctx.t["workforce_age"]

    def render(icb: str) -> list:
        a = workforce.age_profile(age, icb)
        share = 100 * a["aged_55_plus"].sum() / a["headcount"].sum()
        return [
            Headline("Workforce aged 55+", share, "%", "{:.0f}"),
            Table(a, "Age profile and retirement risk by staff group (headcount)",
                  {"staff_group_label": "Staff group", "headcount": "Headcount", "aged_55_plus": "Aged 55+",
                   "share_55_plus_pct": "Share aged 55+ (%)"},
                  {"headcount": "{:,.0f}", "aged_55_plus": "{:,.0f}", "share_55_plus_pct": "{:.1f}"}, key="age_profile"),
            Figure(charts.retirement_risk(a, _name(icb), ctx.source("workforce_age"), ctx.synthetic("workforce_age"))),
        ]
    return render


def ethnicity_section(ctx: DataContext):
    eth = ctx.t["ethnicity"]

    def render(icb: str) -> list:
        e = workforce.ethnicity_comparison(eth, icb)
        return [
            Table(e, "Ethnicity of the workforce and residents (unknowns shown separately)",
                  {"who": "Group", "ethnic_group": "Ethnic group", "people": "People", "share_of_known_pct": "Share of known (%)",
                   "share_of_all_pct": "Share of all records (%)"},
                  {"people": "{:,.0f}", "share_of_known_pct": "{:.1f}", "share_of_all_pct": "{:.1f}"}, key="ethnicity"),
            Figure(charts.ethnicity_chart(e, _name(icb), ctx.source("ethnicity"), ctx.synthetic("ethnicity"))),
        ]
    return render


def need_section(ctx: DataContext):
    pop, prev = ctx.t["population"], ctx.t["prevalence"]
    base, horizons = ctx.base_year, ctx.params.projection_years

    def render(icb: str) -> list:
        older = need.older_people(pop, icb, base, horizons)
        needs = need.need_projection(pop, prev, icb, [base] + [base + h for h in horizons])
        wide = older.pivot_table(index=["age_group", "area"], columns="year", values="people").reset_index()
        wide["area"] = wide["area"].replace({"icb": _name(icb)})
        wide.columns = [str(c) for c in wide.columns]
        growth = older[older["year"] == base + max(horizons)].pivot(index="age_group", columns="area", values="growth_pct")
        g85 = growth.loc["85+", "icb"]
        return [
            Headline(f"Growth in people aged 85+ by {base + max(horizons)}", g85, "%", "{:.0f}"),
            Table(wide, f"Older people now ({base}) and projected", {c: c for c in wide.columns} | {"age_group": "Age", "area": "Area"},
                  {str(y): "{:,.0f}" for y in older["year"].unique()}, key="older_people", suppress=False),
            Figure(charts.population_growth(older, _name(icb), "ONS population estimates and projections (see sources)", False)),
            Table(needs, "Estimated people with care needs (prevalence rates x population)",
                  {"condition_label": "Need", "year": "Year", "people_with_need": "People (estimate)", "growth_pct": f"Growth since {base} (%)",
                   "rate_source": "Source of rates", "rate_status": "Status of rates"},
                  {"people_with_need": "{:,.0f}", "growth_pct": "{:.1f}"}, key="need", suppress=False),
        ]
    return render


def benchmark_section(ctx: DataContext):
    def render(icb: str) -> list:
        panels = ctx.funnels
        rows = []
        for label, table, _, _ in panels:
            if icb in table.index:
                r = table.loc[icb]
                rows.append({"measure": label, "rate_pct": r["rate_pct"], "england_pct": table.attrs["overall_pct"],
                             "lo95": r["lo95"], "hi95": r["hi95"], "position": r["position"]})
        pos = pd.DataFrame(rows)
        return [
            Figure(charts.funnel_panels(panels, icb, _name(icb), ctx.source("vacancies", "flows", "kpi_observations"),
                                        ctx.synthetic("vacancies", "flows", "kpi_observations"))),
            Table(pos, "Position against all 42 ICBs (funnel limits)", {"measure": "Measure", "rate_pct": "Rate (%)",
                  "england_pct": "England (%)", "lo95": "95% lower", "hi95": "95% upper", "position": "Position"},
                  {"rate_pct": "{:.2f}", "england_pct": "{:.2f}", "lo95": "{:.2f}", "hi95": "{:.2f}"}, key="funnel_position", suppress=False),
        ]
    return render


def quality_section(ctx: DataContext):
    cov = quality.coverage(ctx.ds, list(TABLES))

    def render(icb: str) -> list:
        icov = quality.icb_coverage(ctx.ds, list(TABLES), icb)
        split = quality.split_authorities(icb)
        unk = quality.ethnicity_unknown(ctx.t["ethnicity"], icb)
        partial = icov[~icov["covered"]]["table"].tolist()
        note = ("Every table has figures for this ICB at its latest period." if not partial
                else f"No figures for this ICB at the latest period in: {', '.join(partial)}.")
        note += (" No local authority in this ICB is split with another ICB." if split.empty else
                 f" {split['lad_code'].nunique()} local authorities are split between this ICB and others; "
                 "their figures are apportioned by the shares below.")
        return [
            Table(cov, "Coverage of each source in the data used", {"table": "Table", "origin": "Came from",
                  "synthetic": "Synthetic?", "from": "From", "to": "To", "icbs": "ICBs", "rows": "Rows",
                  "missing_pct": "Missing values (%)", "suppressed_pct": "Suppressed (%)",
                  "years_behind_newest": "Years behind newest source"},
                  {"icbs": "{:.0f}", "rows": "{:,.0f}", "missing_pct": "{:.1f}", "suppressed_pct": "{:.1f}",
                   "years_behind_newest": "{:.1f}"}, key="coverage", suppress=False),
            Text(note),
            Table(split, "Local authorities split across ICBs, and the shares used to apportion them",
                  {"lad_code": "LAD code", "lad_name": "Local authority", "icb": "ICB", "share_pct": "Share (%)",
                   "share_basis": "Basis"}, {"share_pct": "{:.1f}"}, key="split_authorities", suppress=False),
            Table(unk, "Workforce records with unknown ethnicity (%)", {"sector": "Sector", "icb_unknown_pct": "This ICB (%)",
                  "england_unknown_pct": "England (%)"}, {"icb_unknown_pct": "{:.1f}", "england_unknown_pct": "{:.1f}"},
                  key="ethnicity_unknown", suppress=False),
        ]
    return render


def caveats(ctx: DataContext) -> list[str]:
    """The caveats that apply to the data actually used (see docs/assumptions.md)."""
    notes = [
        "Adult social care counts are filled posts: a person with two jobs counts twice (A4).",
        "Local authorities split across ICBs are apportioned by their share of LSOAs (A1).",
        f"Population for {ctx.base_year} onwards: ONS 2016-based projection growth for ages 60+ on the mid-2020 "
        "estimate; younger ages held at mid-2020 (A2, A3).",
        "Funnel-plot limits are widened for overdispersion between systems (Spiegelhalter 2005).",
    ]
    prev = ctx.t["prevalence"]
    if (~prev["status"].str.startswith("published")).any():
        notes.append("Some prevalence rates are approximate or illustrative until checked against the current "
                     "POPPI/PANSI tables; need estimates are indicative (A6).")
    fell_back = ctx.ds.provenance()
    fell_back = fell_back[fell_back["fell_back_to_demo"]]["table"].tolist()
    if fell_back:
        notes.append(f"The data folder lacked {', '.join(fell_back)}: those tables are synthetic demonstration data.")
    return notes
