"""The data theme (notebooks/01_data.ipynb): each section as a function of the ICB.

Each ``*_section(ctx)`` returns a renderer ``icb_code -> list of items`` for
:class:`iwt_helpers.present.explorer.Explorer`, so the same code draws the static report and the
interactive redraw. The figures come from :class:`iwt_helpers.analysis.system_data.SystemData`
(the tables, and what is worked out once whatever ICB is shown: the snapshot, England's funnel
tables) and the analysis modules; this module words them and lays them out.
"""

from __future__ import annotations

import pandas as pd

from iwt_helpers import vocab
from iwt_helpers.analysis import benchmarking, carers, measures, need, nhs_trend, pressures, quality, trust_catchment, workforce
from iwt_helpers.analysis import kpis as kpi_framework
from iwt_helpers.analysis import places as place_analysis
from iwt_helpers.analysis import primary_care as gp_analysis
from iwt_helpers.analysis.system_data import TABLES, PlaceInputs, SystemData
from iwt_helpers.data import disclosure, geography, places, population
from iwt_helpers.present import charts
from iwt_helpers.present.explorer import depends_on
from iwt_helpers.present.items import STATUS_WORD, Figure, Headline, Provenance, Table, Text, compact_sources
from iwt_helpers.present.provenance import footer_text, provenance_of

from .wording import CARER_HOURS, GP_ROLE, REGIONAL_TRUST_RULE, SHORT_SECTOR, TRUST_KIND, caveat, icb_name

KPI_PRESSURE = {"sickness_absence_nhs": "NHS sickness absence rate (%)",
                "sickness_days_asc": "Adult social care sickness (days per worker a year)",
                "agency_share_nhs": "Agency share of NHS trust pay bill (%)"}
ETHNIC_LABELS = {"white": "White", "asian": "Asian, Asian British or Asian Welsh",
                 "black": "Black, Black British, Black Welsh, Caribbean or African", "mixed": "Mixed or multiple ethnic groups",
                 "other": "Other ethnic group", "unknown": "Not known"}
# Published sources the guide names that no loader has, because no file of them was available.
NOT_IN_DATA = ["POPPI and PANSI tables (need is estimated here from published prevalence rates instead)",
               "NHS England's WRES and WDES returns (workforce race and disability equality)",
               "Skills for Care local-authority counts of posts and people (its rates are loaded)",
               "NHS vacancy statistics by ICB"]


class DataContext(SystemData):
    """The data theme's view of the model's inputs (:class:`SystemData`, loaded by ``load``): the
    same tables and figures, and the provenance of rows with the theme's names for the parts of a
    mixed figure."""

    def prov(self, rows: pd.DataFrame, period: str | None = None, by: str | None = None) -> Provenance:
        """Provenance of the rows a figure is built from (see :func:`present.provenance.provenance_of`)."""
        return provenance_of(rows, period, by, _LABELS.get(by))


_LABELS = {"sector": vocab.sector_labels(), "kpi_id": KPI_PRESSURE}


def _sectors_named(rows: pd.DataFrame) -> str:
    """'NHS trusts (November 2025) and general practice (2024/25, annual mean)': the rows' sectors
    with their periods, adult social care named once."""
    per = rows.assign(short=rows["sector"].map(SHORT_SECTOR)).drop_duplicates(["short", "period_label"])
    if per["period_label"].nunique() == 1 and per["short"].nunique() > 2:
        return f"all sectors ({per['period_label'].iloc[0]})"
    parts = [f"{s} ({p})" for s, p in zip(per["short"], per["period_label"])]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


# Coverage matrix: sector x measure -> the table (and, for KPIs, the KPI) that holds it.
MEASURES = {"Staff in post": ("snapshot", None), "Vacancies": ("vacancies", None), "Joiners and leavers": ("flows", None),
            "Pay": ("pay", None), "Age": ("workforce_age", None), "Ethnicity": ("ethnicity", None)}
SECTOR_ROWS = {"nhs_trust": "NHS trusts", "primary_care": "General practice", "asc_local_authority": "Adult social care: local authority",
               "asc_independent": "Adult social care: independent", "asc_voluntary": "Adult social care: voluntary"}


def _cell(ctx: DataContext, rows: pd.DataFrame) -> str:
    if rows.empty:
        return "not available"
    prov = ctx.prov(rows)
    word = {"synthetic": "synthetic", "real": "real", "projection": "projection", "modelled": "modelled"}.get(prov.status, "mixed")
    return f"{word} ({prov.period})"


def _latest_rows(ctx: DataContext, table: str, icb: str, sector: str) -> pd.DataFrame:
    """The rows :func:`quality.latest_for` gives for one ICB and sector of a coverage table (ethnicity:
    its workforce rows), every ICB's and sector's worked out once per data load. Never change them."""
    def split() -> tuple[dict, pd.DataFrame]:
        df = ctx.snapshot if table == "snapshot" else ctx.t[table]
        if table == "ethnicity":
            df = df[df["group"] == "workforce"]
        if "sector" not in df:
            return {}, df.iloc[0:0]
        col = "period" if "period" in df else "year"
        latest = df[df[col] == df.groupby(["icb_code", "sector"])[col].transform("max")]
        return dict(tuple(latest.groupby(["icb_code", "sector"], sort=False))), df.iloc[0:0]
    groups, empty = ctx.memo(("latest_for", table), split)
    return groups.get((icb, sector), empty)


def coverage_section(ctx: DataContext):
    """What the report stands on: for each sector and measure, real (with its period), synthetic
    or not available; then unpaid carers, residents and population."""
    @depends_on("icb_code")
    def render(icb: str) -> list:
        rows = []
        for sector, label in SECTOR_ROWS.items():
            row = {"sector": label}
            for measure, (table, _) in MEASURES.items():
                row[measure] = _cell(ctx, _latest_rows(ctx, table, icb, sector))
            rows.append(row)
        _published_parts(ctx, icb, rows)
        kpi = ctx.icb_rows("kpi_observations", icb)   # the ICB's rows: all kpi_last_12_months reads
        for sector, kpi_id in (("nhs_trust", "sickness_absence_nhs"), ("asc_local_authority", "sickness_days_asc")):
            k = quality.kpi_last_12_months(kpi, icb, kpi_id)
            for r in rows:
                if r["sector"] == SECTOR_ROWS[sector] or (sector == "asc_local_authority" and r["sector"].startswith("Adult")):
                    r["Sickness absence"] = _cell(ctx, k)
        matrix = pd.DataFrame(rows).fillna("not available")
        res = ctx.residents
        pop = ctx.icb_rows("population", icb)
        context = pd.DataFrame([
            {"what": "Unpaid carers", "status": _cell(ctx, ctx.icb_rows("unpaid_care", icb))},
            {"what": "Residents' ethnicity", "status": _cell(ctx, res[res["icb_code"] == icb])},
            {"what": "Population (estimate)", "status": _cell(ctx, pop[pop["kind"] == "estimate"])},
            {"what": "Population (projection)", "status": _cell(ctx, pop[pop["kind"] == "projection"])},
        ])
        return [
            Table(matrix, f"What this report stands on: each sector and measure for {icb_name(icb)} is real published data "
                  "(with its period), synthetic demonstration data, or not available",
                  {"sector": "Sector", **{m: m for m in MEASURES}, "Sickness absence": "Sickness absence"},
                  key="coverage_matrix", suppress=False,
                  provenance=Provenance.combine([ctx.prov(ctx.sector_rows(icb), by="sector")])),
            Table(context, "Carers, residents and population", {"what": "Figure", "status": "Status (period)"},
                  key="coverage_context", suppress=False),
            Text("Not in the data behind this report, and so never shown as figures: " + "; ".join(NOT_IN_DATA) + "."),
            Text(_nhs_monthly_coverage(ctx, icb)),
        ]
    return render


def _published_parts(ctx: DataContext, icb: str, rows: list[dict]) -> None:
    """Coverage cells that hold a published figure on synthetic rows say which part is which: adult social
    care vacancies take the published Skills for Care rate (the rate every table and chart shows) while
    their counts of posts stay synthetic; general practice leavers and joiners are synthetic here, and
    the scenarios replace them with an assumption (so the two pages name one thing, not two)."""
    rate = ctx.measure("asc_vacancy_rate", icb)
    for r in rows:
        cell = r.get("Vacancies", "")
        if (r["sector"].startswith("Adult social care") and rate is not None and rate.status == "real"
                and cell.startswith("synthetic")):
            r["Vacancies"] = f"rate real ({rate.period}); counts {cell}"
        flows = r.get("Joiners and leavers", "")
        if r["sector"] == SECTOR_ROWS["primary_care"] and flows.startswith("synthetic"):
            r["Joiners and leavers"] = f"{flows}; the scenarios use an assumption on a published basis instead"


def _nhs_monthly_coverage(ctx: DataContext, icb: str) -> str:
    """What the coverage matrix says of NHS staff in post by month (NHS Workforce Statistics)."""
    monthly = ctx.nhs_monthly
    if monthly is None:
        return "NHS trust staff in post by month (NHS Workforce Statistics): not available in this data folder."
    rows = monthly[monthly["icb_code"] == icb]
    status = _cell(ctx, rows) if len(rows) else "not available"
    return (f"NHS trust staff in post by month (NHS Workforce Statistics): {status}. ICB-employed staff are kept "
            "apart: never added to the NHS trust sector, the staff in post above or any total.")


def _with_period_and_status(ctx: DataContext, sectors: pd.DataFrame, snap: pd.DataFrame) -> None:
    """Each sector's period and real or synthetic status in its row of ``sectors`` (the whole-system row:
    the periods in words and the status of all the rows)."""
    per = snap.drop_duplicates("sector").set_index("sector")
    status = {s: ("synthetic" if per.at[s, "synthetic"] else "real") for s in per.index}
    sectors["period"] = sectors["sector"].map(per["period_label"])
    sectors["status"] = sectors["sector"].map(status)
    whole = sectors["sector"] == "whole_system"
    sectors.loc[whole, "period"] = "each sector at its latest period" if snap["period_label"].nunique() > 1 else snap["period_label"].iloc[0]
    sectors.loc[whole, "status"] = ctx.prov(snap).status


def _workforce_headlines(ctx: DataContext, real: pd.DataFrame, fake: pd.DataFrame) -> list[Headline]:
    """The headline FTE of the real sectors and, apart, of the synthetic ones (never added together)."""
    heads = []
    if len(real):
        heads.append(Headline(f"Workforce in {_sectors_named(real)}", real["fte"].sum(), "FTE", provenance=ctx.prov(real)))
    if len(fake):
        name = "Whole-system workforce" if real.empty else f"Not included above: {_sectors_named(fake)}"
        heads.append(Headline(name + " (synthetic demonstration data)", fake["fte"].sum(), "FTE", provenance=ctx.prov(fake)))
    return heads


def whole_system_section(ctx: DataContext):
    pop = ctx.t["population"]
    nhs = ctx.nhs_attribution

    @depends_on("icb_code")
    def render(icb: str) -> list:
        snap = ctx.sector_rows(icb)
        # these read the ICB's rows only; the profile and sector table are worked out once and shared
        groups = workforce.profile(snap, icb)
        sectors = workforce.by_sector(snap, icb, profile_table=groups)
        reg = workforce.by_dimension(snap, icb, "registered", profile_table=groups)
        own = workforce.by_dimension(snap, icb, "ownership", profile_table=groups, sector_table=sectors)
        _with_period_and_status(ctx, sectors, snap)
        prov = ctx.prov(snap, by="sector")
        real = snap[~snap["synthetic"].astype(bool)]
        fake = snap[snap["synthetic"].astype(bool)]
        heads = _workforce_headlines(ctx, real, fake)
        profile = _groups_named(groups, snap)
        reg["registered"] = reg["registered"].map({True: "Registered professionals", False: "Not professionally registered"})
        own["ownership"] = own["ownership"].map(lambda t: t[:1].upper() + t[1:])
        profile_shown = profile.assign(registered=profile["registered"].map({True: "Yes", False: "No"}))
        # Per head of population, a report on real data compares only the real sectors.
        basis = workforce.per_capita_basis(ctx.snapshot, icb)
        # NHS trusts serving several ICBs (ambulance, specialist) apportioned, left out or at host (params.regional_trusts).
        totals = ctx.memo(("per_capita_totals", basis is ctx.snapshot),      # the same whatever the ICB
                          lambda: workforce.apportioned_totals(basis, pop, nhs.shares))
        comp = workforce.per_capita_comparison(basis, pop, icb, nhs.shares, nhs.text, totals)
        me = comp[(comp["area"] == comp["area"].iloc[0]) & (comp["measure"] == "whole system")].iloc[0]
        eng = comp[(comp["area"] == "England") & (comp["measure"] == "whole system")].iloc[0]
        diff = me["fte_per_1000_population"] - eng["fte_per_1000_population"]
        across = f"in {_sectors_named(real)}" if len(real) and len(fake) else "across the whole system"
        year = comp.attrs["population_year"]
        if comp["measure"].nunique() == 2:          # one sector family only: its rows and the total are the same
            comp = comp[comp["measure"] != "whole system"].reset_index(drop=True)
            comp.attrs["population_year"] = year
        fmt = {"headcount": "{:,.0f}", "fte": "{:,.0f}", "share_of_fte_pct": "{:.1f}"}
        pop_label = f"population: {ctx.memo(('describe_population', year), lambda: population.describe(pop, year))}"
        prov_pc = ctx.memo(("per_head_prov", basis is ctx.snapshot, year),      # the same whatever the ICB
                           lambda: _per_head_prov(ctx, basis, pop, year, nhs))
        rule = REGIONAL_TRUST_RULE[nhs.applied]
        region_note = _region_above(comp, diff > 0)
        older = comp["measure"] == "social care"          # per 1,000 aged 65+ only for adult social care, not all-age staff
        comp["fte_per_1000_aged_65_plus"] = comp["fte_per_1000_aged_65_plus"].astype(object).where(older, "")
        comp["measure"] = comp["measure"].map(lambda m: m[:1].upper() + m[1:])
        per_65 = {"fte_per_1000_aged_65_plus": "FTE per 1,000 aged 65+ (adult social care)"} if older.any() else {}
        return [
            *heads,
            Table(sectors, f"Workforce by sector in {icb_name(icb)}: {_sectors_named(snap)}",
                  {"sector_label": "Sector", "ownership": "Ownership", "period": "Period", "status": "Status",
                   "headcount": "Headcount", "fte": "FTE", "share_of_fte_pct": "Share of FTE (%)"}, fmt,
                  key="workforce_by_sector", provenance=prov,
                  measures={"fte": ctx.measure("nhs_trust_fte", icb), "headcount": ctx.measure("nhs_trust_headcount", icb)}),
            Figure(charts.fte_by_sector(sectors, icb_name(icb), footer_text(prov), prov.stamp, title=(
                f"{icb_name(icb)}: {real['fte'].sum():,.0f} FTE in {_sectors_named(real)} (published data); the other sectors "
                "are synthetic demonstration figures" if len(real) and len(fake) else None)), prov),
            Figure(charts.staff_groups_by_sector(profile, icb_name(icb), footer_text(prov), prov.stamp), prov),
            Table(profile_shown, "FTE by sector and staff group", {"sector_label": "Sector", "staff_group_label": "Staff group",
                  "registered": "Registered", "headcount": "Headcount", "fte": "FTE"}, fmt, key="workforce_by_group", provenance=prov),
            Table(reg, "Registered and non-registered staff" + (
                      "; headcount not available where a sector's publisher counts a person in two staff groups once "
                      "(its staff groups' headcounts do not add up to people)" if reg["headcount"].isna().any() else ""),
                  {"registered": "Group", "headcount": "Headcount",
                   "fte": "FTE", "share_of_fte_pct": "Share of FTE (%)"}, fmt, key="registered", provenance=prov),
            Table(own, "Statutory, independent and voluntary employers", {"ownership": "Employer type",
                  "headcount": "Headcount", "fte": "FTE", "share_of_fte_pct": "Share of FTE (%)"}, fmt, key="ownership",
                  provenance=prov),
            Table(comp, f"FTE per 1,000 population{' and, for adult social care, per 1,000 aged 65+' if per_65 else ''}, "
                  f"{across} ({pop_label}; {rule})",
                  {"area": "Area", "measure": "Sector family", "fte": "FTE", "fte_per_1000_population": "FTE per 1,000 population",
                   **per_65},
                  {"fte": "{:,.0f}", "fte_per_1000_population": "{:.1f}", "fte_per_1000_aged_65_plus": "{:.1f}"}, key="per_capita",
                  provenance=prov_pc),
            Figure(charts.per_capita_bars(comp, "fte_per_1000_population", "FTE per 1,000 population", footer_text(prov_pc),
                   prov_pc.stamp, f"{icb_name(icb)} has {abs(diff):.1f} FTE per 1,000 residents {'more' if diff > 0 else 'fewer'} "
                   f"than England {across}{region_note} ({rule})"), prov_pc),
            Text(f"Per head: {comp.attrs['nhs_rule']}. Report parameter `regional_trusts`: {nhs.rule} (apportion, exclude "
                 "or host; default apportion); the staff in post tables above count each trust in the ICB it sits in, as "
                 "published."),
        ]
    return render


def _nhs_attribution_prov(nhs: trust_catchment.Attribution) -> list[Provenance]:
    if nhs.applied == "host":
        return []
    return [Provenance("NHS England, NHS Workforce Statistics by organisation; OHID acute trust catchment populations "
                       "(2022); ambulance trusts' areas (data/reference/ambulance_trusts.yaml)",
                       f"organisation shares {nhs.period:%B %Y}", "real")]


def _doctors_named(profile: pd.DataFrame, snap: pd.DataFrame) -> pd.DataFrame:
    """The staff-group profile with NHS trust doctors named for what they count where the publisher leaves
    resident doctors out (the turnover benchmarking files)."""
    nhs = snap[snap["sector"] == "nhs_trust"]
    if nhs.empty or "source" not in nhs or not nhs["source"].astype(str).str.contains(measures.RESIDENT_DOCTORS_EXCLUDED).any():
        return profile
    out = profile.copy()
    hit = (out["sector"] == "nhs_trust") & (out["staff_group"] == "doctor")
    out.loc[hit, "staff_group_label"] = DOCTORS_EXCLUDING_RESIDENTS
    return out


DOCTORS_EXCLUDING_RESIDENTS = measures.DOCTORS_EXCLUDING_RESIDENTS     # the registry's words, on every page


def _groups_named(profile: pd.DataFrame, snap: pd.DataFrame) -> pd.DataFrame:
    """The staff-group profile with each group named for what it holds in its sector (:func:`vocab.staff_group_names`),
    NHS trust doctors as :func:`_doctors_named` names them."""
    return _doctors_named(profile.assign(staff_group_label=vocab.staff_group_names(profile["sector"], profile["staff_group"])),
                          snap)


def _per_head_prov(ctx: DataContext, basis: pd.DataFrame, pop: pd.DataFrame, year: int,
                   nhs: trust_catchment.Attribution) -> Provenance:
    """The per-head figures' provenance, naming each part: the staff counted (measured; NHS trusts
    apportioned by modelled shares where the rule apportions them) over the population (an ONS
    projection where the year is projected). Synthetic staff keep the synthetic status."""
    staff = ctx.prov(basis, by="sector")
    kinds = pop.loc[pop["year"] == year, "kind"].unique() if "kind" in pop else []
    projected = len(kinds) and all(k == "projection" for k in kinds)
    denom = Provenance("ONS population estimates and projections", str(year), "projection" if projected else "real")
    parts = Provenance.combine([staff, denom, *_nhs_attribution_prov(nhs)])
    if staff.synthetic:
        return parts
    apportioned = nhs.applied == "apportion"
    numerator = ("numerator: staff in post, measured" + (", with NHS trusts apportioned to the ICBs they serve by "
                 "modelled shares (admissions to each acute trust, OHID catchments; ambulance trusts by population "
                 "served)" if apportioned else ""))
    denominator = f"denominator: ONS {'projection' if projected else 'estimate'} of the population in {year}"
    status = "modelled" if apportioned else ("projection" if projected else "real")
    return Provenance(parts.source, parts.period, status, f"{numerator}; {denominator}")


def _region_above(comp: pd.DataFrame, more_than_england: bool) -> str:
    """Words for the per-head headline where the ICB's region has more FTE per 1,000 than the ICB
    (whole system, or the one sector family shown): a contrast where the ICB has more than England, else
    one more shortfall."""
    m = "whole system" if (comp["measure"] == "whole system").any() else comp["measure"].iloc[0]
    rows = comp[comp["measure"] == m].set_index("area")["fte_per_1000_population"]
    areas = list(rows.index)
    if len(areas) < 3:
        return ""
    me, region = areas[0], next((a for a in areas[1:] if a != "England"), None)
    if region is None or not rows[region] > rows[me]:
        return ""
    return (f", {'though' if more_than_england else 'and'} fewer than its region "
            f"({region.removesuffix(' region')} {rows[region]:.1f} against {rows[me]:.1f})")


ORG_MIN_FTE = 10          # organisations attributing fewer FTE to the ICB are summed in one row


def nhs_organisations_section(ctx: DataContext):
    """The organisations behind the ICB's NHS trust figures: each one's FTE, its share of its host
    ICB's FTE and how much of it is attributed to this ICB under ``regional_trusts``."""
    nhs = ctx.nhs_attribution

    @depends_on("icb_code")
    def render(icb: str) -> list:
        if nhs.weights is None:
            return [Text(f"Organisations behind the NHS trust figures: not available. {nhs.text}.")]
        t = trust_catchment.organisations_for(nhs.weights, icb)
        t["host"] = t["host_icb_code"].map(icb_name)
        t["kind"] = t["kind"].map(TRUST_KIND)
        month = f"{nhs.period:%B %Y}"
        tot = trust_catchment.attributed_totals(t)
        prov = (_nhs_attribution_prov(nhs) or [Provenance("NHS England, NHS Workforce Statistics by organisation", month, "real")])[0]
        summary = (f"{icb_name(icb)} hosts {tot['hosted']} NHS trusts with {tot['hosted_fte']:,.0f} FTE ({month}, NHS Workforce "
                   f"Statistics: all HCHS staff, resident doctors included); under the "
                   f"`{nhs.applied}` rule {tot['kept_fte']:,.0f} FTE of them count here, and {tot['from_elsewhere_fte']:,.0f} "
                   f"FTE of {tot['from_elsewhere']} trusts hosted in other ICBs are attributed to it. {nhs.text}.")
        t, others = _organisations_shown(t)
        if others:
            summary += (f" The table lists the trusts {icb_name(icb)} hosts and every other trust attributing at least "
                        f"{ORG_MIN_FTE} FTE to it; the other {others} are summed in one row.")
        return [
            Text(summary),
            Table(t, f"Organisations behind {icb_name(icb)}'s NHS trust figures ({month}, rule: {nhs.applied})",
                  {"org_name": "Organisation", "org_code": "Code", "host": "Host ICB", "kind": "Kind", "fte": f"FTE {month}",
                   "share_of_host_pct": "Share of host ICB's FTE (%)", "share_to_icb_pct": f"Share attributed to {icb_name(icb)} (%)",
                   "fte_to_icb": f"FTE attributed to {icb_name(icb)}"},
                  {"fte": "{:,.0f}", "share_of_host_pct": "{:.1f}", "share_to_icb_pct": "{:.1f}", "fte_to_icb": "{:,.0f}"},
                  key="nhs_organisations", suppress=False, provenance=prov),
        ]
    return render


def _organisations_shown(t: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The hosted trusts and every other trust attributing at least ORG_MIN_FTE FTE, the rest summed in one
    row; and how many were summed."""
    small = ~t["hosted_here"] & (t["fte_to_icb"] < ORG_MIN_FTE)
    if small.sum() < 2:
        return t, 0
    rest = t[small]
    row = {"org_name": f"Others ({len(rest)} organisations, each under {ORG_MIN_FTE} FTE attributed)", "org_code": "",
           "host": "", "kind": "", "fte": "", "share_of_host_pct": "", "share_to_icb_pct": "",
           "fte_to_icb": rest["fte_to_icb"].sum(), "hosted_here": False}
    shown = t[~small].astype({"fte": object, "share_of_host_pct": object, "share_to_icb_pct": object})
    return pd.concat([shown, pd.DataFrame([row])], ignore_index=True), len(rest)


def nhs_trend_section(ctx: DataContext):
    """NHS trust staff in post (FTE) by month from the KPI's ``series_from`` month (kpis.yaml): the ICB
    against its NHS England region and England as an index, and the growth over the last 12 months.
    From the data folder's ``nhs_staff_monthly``, else the committed ICB totals (real, both)."""
    monthly = ctx.nhs_monthly

    @depends_on("icb_code")
    def render(icb: str) -> list:
        if monthly is None:
            return [Text("NHS trust staff in post by month: not available in this data folder.")]
        areas = nhs_trend.indexed(ctx.monthly_areas(icb))
        growth = nhs_trend.growth_12m(areas)
        mine = growth.iloc[0]
        months = areas[areas["period"].isin([mine["latest"], mine["year_before"]])]
        prov_12 = ctx.prov(months, period=f"{mine['period_label']} ({mine['year_before']:%B %Y} and {mine['latest']:%B %Y})")
        prov = ctx.prov(areas)
        verb = "grew" if mine["growth_pct"] >= 0 else "fell"
        start = areas["period"].min()
        idx = areas[areas["period"] == areas["period"].max()].set_index("area_type")["change_since_start_pct"]
        note = ("NHS trusts and other core NHS organisations (HCHS staff, resident doctors included, unlike the turnover "
                "figures of section 4); staff employed by the ICBs themselves, and the CCGs before them, are kept apart "
                "and not counted here. Region and England add up their ICBs' trusts.")
        icb_staff = nhs_trend.icb_employed_fte(monthly)
        if icb_staff is not None:
            note += f" ICB-employed staff in England, {icb_staff[0]:%B %Y}: {icb_staff[1]:,.0f} FTE."
        grown = ctx.measure("nhs_trust_fte_growth_12m", icb)
        return [
            Headline(f"NHS trust staff in post {verb} {abs(mine['growth_pct']):.1f}% in the {mine['period_label']}",
                     float(mine["growth_pct"]), f"% change in FTE, {mine['period_label']}", "{:+.1f}", provenance=prov_12,
                     measure=grown),
            Table(growth, f"NHS trust staff in post (FTE; monthly NHS Workforce Statistics, all HCHS staff, resident doctors "
                  f"included): growth in the {mine['period_label']}",
                  {"area": "Area", "fte_year_before": f"FTE {mine['year_before']:%B %Y}", "fte_latest": f"FTE {mine['latest']:%B %Y}",
                   "growth_pct": "Growth (%)"}, {"fte_year_before": "{:,.0f}", "fte_latest": "{:,.0f}", "growth_pct": "{:+.1f}"},
                  key="nhs_staff_growth", suppress=False, provenance=prov_12,
                  measures={"fte_latest": ctx.measure("nhs_trust_fte_monthly", icb, period=mine["latest"]),
                            "fte_year_before": ctx.measure("nhs_trust_fte_monthly", icb, period=mine["year_before"]),
                            "growth_pct": grown}),
            *nhs_fte_reconciliation(ctx, icb),
            Figure(charts.monthly_lines(areas, "index_100", f"FTE index ({start:%B %Y} = 100)", icb_name(icb), footer_text(prov),
                                        prov.stamp, f"{icb_name(icb)}: NHS trust staff in post (FTE) {idx.get('icb', float('nan')):+.1f}% "
                                        f"since {start:%B %Y}, against {idx.get('region', float('nan')):+.1f}% in its region and "
                                        f"{idx.get('england', float('nan')):+.1f}% in England", baseline=100), prov),
            Text(note),
        ]
    return render


# Where each NHS trust FTE measure is shown (analysis.measures), for the reconciliation table.
NHS_FTE_SHOWN = {"nhs_trust_fte": "the staff-in-post tables by sector and staff group, the vacancy table (filled FTE) "
                                  "and the scenarios' base year",
                 "nhs_trust_fte_monthly": "the growth over 12 months above and the governance report's growth table",
                 "nhs_trust_fte_per_head_basis": "the FTE per 1,000 population (trusts serving several ICBs attributed to "
                                                 "them)"}


def nhs_fte_reconciliation(ctx: DataContext, icb: str) -> list:
    """One line and one table for the NHS trust FTE figures this report shows: which source and scope
    each is, its month and where it is used, so that two of them are never read as a change in staff."""
    figs = [ctx.measure(m, icb) for m in NHS_FTE_SHOWN]
    figs = [f for f in figs if f is not None and f.available]
    if len(figs) < 2:
        return []
    t = pd.DataFrame([{"what": f.label, "period": f.period, "fte": f.value, "status": STATUS_WORD.get(f.status, f.status),
                       "scope": f.scope, "shown": NHS_FTE_SHOWN[f.measure]} for f in figs])
    a, b = figs[0], figs[1]
    synthetic = [f for f in (a, b) if f.synthetic]
    line = (f"NHS trust staff in post in {icb_name(icb)}: {a.text()} FTE in {a.period} ({a.scope}) and {b.text()} FTE in "
            f"{b.period} ({b.scope}). They differ by source, scope and month"
            + (f" ({' and '.join(f.period for f in synthetic)}: synthetic demonstration data)" if synthetic else "")
            + ", not because staff numbers changed between them; each table says which it shows.")
    prov = Provenance.combine([Provenance(compact_sources([f.source]), f.period, f.status) for f in figs])
    return [Text(line),
            Table(t, f"NHS trust staff in post (FTE) in {icb_name(icb)}: the figures this report shows, and where",
                  {"what": "Measure", "period": "Period", "fte": "FTE", "status": "Status", "scope": "Scope",
                   "shown": "Shown in"}, {"fte": "{:,.0f}"}, key="nhs_fte_reconciliation", suppress=False, provenance=prov,
                  measures={"fte": figs}),
            *_nhs_fte_bridge(ctx, icb)]


def _nhs_fte_bridge(ctx: DataContext, icb: str) -> list:
    """The bridge in FTE between the staff-group file with resident doctors and the latest turnover month
    without them (:func:`measures.nhs_fte_bridge`), and what it says in one line."""
    b = measures.nhs_fte_bridge(ctx, icb)
    if b is None:
        return []
    a = b.attrs
    w = ctx.t["workforce"]
    rows = w[(w["icb_code"] == icb) & (w["sector"] == "nhs_trust") & w["period"].isin([a["from"], a["to"]])]
    prov = ctx.prov(rows, period=f"{a['from']:%B %Y} and {a['to']:%B %Y}")
    line = (f"From {a['from']:%B %Y} to {a['to']:%B %Y}: about {a['resident_doctors_est']:,.0f} FTE of the difference is "
            f"resident doctors (all doctors {a['from']:%B %Y} less doctors {a['to']:%B %Y} without them, if the other doctors "
            f"did not change); like for like, the other staff groups went from {a['other_from']:,.0f} to {a['other_to']:,.0f} "
            f"FTE ({a['like_for_like_pct']:+.1f}%).")
    return [Table(b, f"NHS trust staff in post (FTE) in {icb_name(icb)}, {a['from']:%B %Y} to {a['to']:%B %Y}: the bridge "
                  "between the file with resident doctors and the file without them (staff-group files)",
                  {"step": "Step", "fte": "FTE"}, {"fte": "{:,.0f}"}, key="nhs_fte_bridge", suppress=False, provenance=prov),
            Text(line)]


PLACE_INDICATORS = [("population", "Population {base}"), ("growth_65_plus_pct", "Growth aged 65+ to {end} (%)"),
                    ("growth_85_plus_pct", "Growth aged 85+ to {end} (%)"),
                    ("dementia_per_1000_65", "People with dementia per 1,000 aged 65+ ({base}, CFAS II rates: age and sex "
                                             "structure only, not a diagnosis register)"),
                    ("gp_gp_qualified_per_10k", "Qualified GPs (FTE) per 10,000 patients ({gp})"),
                    ("gp_nurse_per_10k", "Practice nurses (FTE) per 10,000 patients ({gp})"),
                    ("carers_per_100", "Unpaid carers per 100 residents aged 5+ (Census 2021)"),
                    ("imd_average_score", "IMD 2025 average score (higher: more deprived)"),
                    ("rural_share_pct", "Rural share of small areas (%, RUC 2011)")]
GP_PLACE_COLUMNS = ("gp_gp_qualified_per_10k", "gp_nurse_per_10k")


def places_section(ctx: DataContext, focus=None):
    """The ICB's places (sub-ICB locations) side by side with the ICB and England, a chart of where
    each sits on the main indicators, and, for a place in focus (the ``place`` parameter, or the
    JupyterLab picker through ``focus()``), its own figures with general practice by PCN."""
    inputs = ctx.place_inputs

    @depends_on("icb_code", "place")
    def render(icb: str) -> list:
        mine = places.places_of(icb)
        if len(mine) < 2:
            return [Text(f"{icb_name(icb)} has one sub-ICB location ({mine['sicb_ods'].iloc[0]}), so its place figures are "
                         "the ICB's own: no places section.")]
        t = ctx.place_frame(icb)
        base, end, fy = t.attrs["base_year"], t.attrs["end_year"], t.attrs.get("gp_year") or "not available"
        gp_synth = inputs.gp_synthetic
        pop_src = compact_sources([inputs.pop_place["source"].iloc[0]])
        fact_src = compact_sources(places.place_facts()["source"].unique().tolist())
        parts = [Provenance(pop_src, f"{base} to {end}", "projection", "projection: population and its growth (ONS)"),
                 Provenance(fact_src, "Census 2021; IoD 2025; RUC 2011", "real",
                            "measured: unpaid carers (Census 2021), deprivation (IoD 2025), rurality (RUC 2011)"),
                 Provenance("CFAS II prevalence rates by age and sex", str(base), "modelled",
                            "modelled: dementia (CFAS II rates by age and sex on the projected population: age and sex "
                            "structure only, not a diagnosis register)")]
        if inputs.gp_area is not None:
            gsrc = compact_sources(inputs.gp_area["source"].dropna().unique().tolist()[:2]) if "source" in inputs.gp_area \
                else "demonstration general practice figures split by place population"
            parts.append(Provenance(gsrc, str(fy), "synthetic" if gp_synth else "real",
                                    "measured: general practice by place" if not gp_synth
                                    else "general practice split by population"))
        prov = Provenance.combine(parts)
        labels = {c: lab.format(base=base, end=end, gp=fy) for c, lab in PLACE_INDICATORS}
        shown = t[["area_name", "ods", *[c for c, _ in PLACE_INDICATORS]]]
        fmt = {"population": "{:,.0f}", "growth_65_plus_pct": "{:+.1f}", "growth_85_plus_pct": "{:+.1f}",
               "dementia_per_1000_65": "{:.1f}", "gp_gp_qualified_per_10k": "{:.2f}", "gp_nurse_per_10k": "{:.2f}",
               "carers_per_100": "{:.1f}", "imd_average_score": "{:.1f}", "rural_share_pct": "{:.1f}"}
        real_inds = [(c, labels[c]) for c, _ in PLACE_INDICATORS if c != "population" and not (gp_synth and c in GP_PLACE_COLUMNS)]
        pl = t[t["area"].str.startswith("E38")]
        g65 = pl.loc[pl["growth_65_plus_pct"].idxmax()]
        car = pl.loc[pl["carers_per_100"].idxmax()]
        dep = pl.loc[pl["imd_average_score"].idxmax()]
        title = (f"{icb_name(icb)}'s {len(pl)} places: the population aged 65+ grows fastest in {g65['area_name']} "
                 f"({g65['growth_65_plus_pct']:+.0f}% by {end}); most unpaid carers per 100 residents in {car['area_name']} "
                 f"({car['carers_per_100']:.1f}); most deprived: {dep['area_name']} (IMD score {dep['imd_average_score']:.1f})")
        if gp_synth:
            labels.update({c: labels[c] + " (synthetic)" for c in GP_PLACE_COLUMNS})
        chart_inds = real_inds          # a synthetic split by population would put every place on its ICB's line
        chart_prov = prov if not gp_synth else Provenance.combine(parts[:3])
        items = [
            Table(shown, f"{icb_name(icb)}: its {len(pl)} places (sub-ICB locations) beside the ICB and England "
                  f"({_place_column_status(gp_synth, inputs.gp_area is not None)})",
                  {"area_name": "Place", "ods": "ODS code", **labels}, fmt, key="places", suppress=False, provenance=prov),
            Figure(charts.place_panels(t, chart_inds[:8], icb_name(icb), footer_text(chart_prov), chart_prov.stamp, title),
                   chart_prov),
            Text("Places are NHS England's sub-ICB locations, named here after the local authorities that hold at least "
                 "a tenth of their small areas. Population figures are ONS 2022-based projections for each place; "
                 "dementia applies the CFAS II rates by age and sex; general practice places each practice by NHS "
                 "England's October 2025 mapping (practices with no place count in the ICB only); carers, deprivation "
                 "and rurality are placed by small area. NHS trust and adult social care figures are reported for the "
                 "ICB as a whole: no published file splits them by place." + (
                     " General practice by place is synthetic here: the demonstration figures split by population."
                     if gp_synth else "")),
        ]
        code = focus() if callable(focus) else (focus or ctx.params.place)
        if code:
            items += _place_focus(ctx, inputs, t, icb, code, prov, fmt, labels)
        return items
    return render


def _place_column_status(gp_synthetic: bool, have_gp: bool) -> str:
    """The places table's status column by column: the table as a whole is as weak as its weakest part
    (modelled), but most of its columns are measured."""
    measured = (["general practice per 10,000 patients"] if have_gp and not gp_synthetic else []) + [
        "unpaid carers", "deprivation (IMD)", "rurality (RUC)"]
    parts = [f"measured: {', '.join(measured)}", "projection: population and its growth (ONS)",
             "modelled: dementia (iwt, CFAS II rates)"]
    if have_gp and gp_synthetic:
        parts.append("synthetic: general practice per 10,000 patients")
    return "; ".join(parts)


def place_options(icb_code: str) -> list[tuple[str, str]]:
    """The JupyterLab place picker's options for an ICB: the whole ICB, then each place."""
    return [("Whole ICB", "")] + [(f"{r.place_name} ({r.sicb_ods})", r.sicb_code)
                                  for r in places.places_of(icb_code).itertuples()]


def _place_focus(ctx: DataContext, inputs: PlaceInputs, t: pd.DataFrame, icb: str, code: str, prov: Provenance,
                 fmt: dict, labels: dict) -> list:
    if code not in set(t["area"]):
        p = geography.sub_icbs().set_index("sicb_code")
        where = p.loc[code, "icb_code"] if code in p.index else "another ICB"
        return [Text(f"The place chosen is in {icb_name(where) if where in geography.icb_codes() else where}; "
                     f"choose one of {icb_name(icb)}'s places.")]
    row = t.set_index("area")
    name = row.at[code, "area_name"]
    def shown(area: str, col: str) -> str:              # each indicator in its own format (rows differ in unit)
        v = row.at[area, col]
        return "not available" if pd.isna(v) else fmt[col].format(v)

    long = pd.DataFrame({"indicator": [labels[c] for c, _ in PLACE_INDICATORS],
                         "place": [shown(code, c) for c, _ in PLACE_INDICATORS],
                         "icb": [shown(icb, c) for c, _ in PLACE_INDICATORS],
                         "england": [shown("England", c) for c, _ in PLACE_INDICATORS]})
    items = [Text(f"### Focus: {name} ({row.at[code, 'ods']})"),
             Table(long, f"{name} against {icb_name(icb)} and England",
                   {"indicator": "Indicator", "place": name, "icb": icb_name(icb), "england": "England"},
                   None, key="place_focus", suppress=False, provenance=prov)]
    area = inputs.gp_area
    if area is not None and not inputs.gp_synthetic and "area_type" in area:
        out, fy, sources = place_analysis.pcn_per_10k(area, code)
        if len(out):
            src = compact_sources(sources[:1])
            items.append(Table(out, f"General practice in {name} by primary care network, {fy}: FTE per 10,000 registered patients",
                               {"pcn": "Primary care network", "patients": "Registered patients",
                                "gp_qualified": "Qualified GPs", "nurse": "Nurses", "direct_patient_care": "Direct patient care",
                                "admin": "Admin and non-clinical"},
                               {"patients": "{:,.0f}", "gp_qualified": "{:.2f}", "nurse": "{:.2f}",
                                "direct_patient_care": "{:.2f}", "admin": "{:.2f}"}, key="place_pcns", suppress=False,
                               provenance=Provenance(src, str(fy), "real", "practices placed by NHS England's October 2025 mapping")))
    else:
        items.append(Text("General practice by primary care network: not available in this data folder (it needs the "
                          "practice-level workforce files; the demonstration set has none)."))
    return items


def primary_care_section(ctx: DataContext):
    gp = ctx.gp
    unplaced = gp_analysis.unplaced_gp_fte(ctx.ds.optional_table("unmapped_organisations"))

    @depends_on("icb_code")
    def render(icb: str) -> list:
        if gp.empty:
            return [Text("General practice by practice: not available in the data used.")]
        latest = gp_analysis.per_10k_patients(gp, icb, once=ctx.memo)
        latest["role_label"] = latest["role"].map(GP_ROLE).fillna(latest["role"])
        fy = latest["financial_year"].iloc[0]
        prov = ctx.memo(("gp_prov", fy), lambda: ctx.prov(gp[gp["financial_year"] == fy]))      # England's rows
        wide = latest.pivot_table(index=["role", "role_label"], columns="area", values="fte_per_10k_patients", sort=False).reset_index()
        areas = list(dict.fromkeys(latest["area"]))
        wide = wide[["role_label", *areas]]
        mine = latest[(latest["role"] == "gp_qualified") & (latest["area"] == areas[0])].iloc[0]
        eng = latest[(latest["role"] == "gp_qualified") & (latest["area"] == "England")].iloc[0]
        trend = gp_analysis.trend_per_10k_patients(gp, icb, once=ctx.memo)
        prov_t = ctx.memo(("gp_prov", "gp_qualified"), lambda: ctx.prov(gp[gp["role"] == "gp_qualified"]))
        notes = [f"FTE per 10,000 registered patients, {fy}: annual means of monthly practice counts; region and England "
                 "are summed over the practices placed in an ICB."]
        if unplaced is not None:
            notes.append(f"Practices that closed before 2022/23 and appear in no practice list are not placed in an ICB "
                         f"({unplaced.iloc[0]:,.0f} qualified-GP FTE in {unplaced.index[0]}, {unplaced.iloc[-1]:,.0f} in "
                         f"{unplaced.index[-1]}); rates per patient are little affected because their patients leave the "
                         "denominator too.")
        return [
            Headline(f"Qualified GPs per 10,000 registered patients ({fy})", mine["fte_per_10k_patients"], "FTE per 10,000 patients", "{:.2f}",
                     provenance=prov),
            Table(wide, f"General practice FTE per 10,000 registered patients, {fy}: {icb_name(icb)} has "
                  f"{mine['fte_per_10k_patients']:.2f} qualified GPs against {eng['fte_per_10k_patients']:.2f} in England",
                  {"role_label": "Staff group", **{a: f"{a} (FTE per 10,000 patients)" for a in areas}},
                  {a: "{:.2f}" for a in areas}, key="gp_per_10k", suppress=False, provenance=prov),
            Figure(charts.trend_lines(trend, "financial_year", "fte_per_10k_patients", "FTE per 10,000 patients",
                                      "Financial year", icb_name(icb), footer_text(prov_t), prov_t.stamp,
                                      f"{icb_name(icb)}: qualified GPs per 10,000 registered patients, {trend['financial_year'].min()} "
                                      f"to {trend['financial_year'].max()}, against its region and England"), prov_t),
            Text(" ".join(notes)),
        ]
    return render


def unpaid_care_section(ctx: DataContext):
    uc = ctx.t["unpaid_care"]

    @depends_on("icb_code")
    def render(icb: str) -> list:
        c = carers.carers_per_100(uc, icb)
        c["hours"] = c["hours_band"].map(CARER_HOURS)
        prov = ctx.prov(ctx.icb_rows("unpaid_care", icb), period="Census day, 21 March 2021")
        areas = list(dict.fromkeys(c["area"]))
        wide = c.pivot_table(index="hours", columns="area", values="carers_per_100_residents", sort=False).reset_index()[["hours", *areas]]
        mine = c[(c["area"] == areas[0])].set_index("hours_band")
        eng = c[(c["area"] == "England")].set_index("hours_band")
        snap = ctx.sector_rows(icb)
        paid = workforce.headcount_by_sector(snap)
        people = pd.DataFrame([
            {"who": "Unpaid carers aged 5+ (all hours)", "people": mine.at["all", "carers"], "period": "March 2021", "status": prov.status},
            {"who": "of whom caring 50 hours a week or more", "people": mine.at["50h_plus", "carers"], "period": "March 2021",
             "status": prov.status},
            *[{"who": f"Paid staff: {vocab.sector_labels()[r.sector]} (headcount)", "people": r.headcount, "period": r.period,
               "status": "synthetic" if r.synthetic else "real"} for r in paid.itertuples()],
        ])
        prov_people = Provenance.combine([prov, ctx.prov(snap, by="sector")])
        return [
            Headline("Unpaid carers per 100 residents aged 5+ (Census 2021)", mine.at["all", "carers_per_100_residents"], "", "{:.1f}",
                     provenance=prov),
            Table(wide, f"Unpaid carers per 100 residents aged 5+, March 2021: {icb_name(icb)} "
                  f"{mine.at['all', 'carers_per_100_residents']:.1f} against {eng.at['all', 'carers_per_100_residents']:.1f} in England; "
                  f"{mine.at['50h_plus', 'carers_per_100_residents']:.1f} care for 50 hours a week or more",
                  {"hours": "Unpaid care a week", **{a: f"{a} (per 100 residents 5+)" for a in areas}}, {a: "{:.2f}" for a in areas},
                  key="unpaid_carers", suppress=False, provenance=prov),
            Figure(charts.grouped_bars(c[c["hours_band"] != "all"], "hours", "area", "carers_per_100_residents",
                                       "Carers per 100 residents aged 5+", footer_text(prov), prov.stamp,
                                       f"{icb_name(icb)}: {mine.at['all', 'carers_per_100_residents']:.1f} unpaid carers per 100 residents "
                                       f"aged 5+ (England {eng.at['all', 'carers_per_100_residents']:.1f}), by hours of care a week"), prov),
            Table(people, "Unpaid carers beside the paid workforce, in people (each at its own date)",
                  {"who": "Who", "people": "People", "period": "Period", "status": "Status"}, {"people": "{:,.0f}"},
                  key="carers_and_paid_staff", provenance=prov_people,
                  measures={"people": ctx.measure("nhs_trust_headcount", icb)}),
        ]
    return render


# The vacancy table's counts: NHS trusts and general practice count in FTE, social care in posts (never one
# column for both); the headers they are shown under.
VACANCY_COUNTS = {"vacancies_fte": "Vacancies (FTE)", "filled_posts_fte": "Filled (FTE)", "vacancies_posts": "Vacant posts",
                  "filled_posts_posts": "Filled posts"}


def pressure_section(ctx: DataContext):
    vac, flows, pay, kpi = ctx.t["vacancies"], ctx.t["flows"], ctx.t["pay"], ctx.t["kpi_observations"]

    @depends_on("icb_code")
    def render(icb: str) -> list:
        both = _vacancy_table(ctx, icb)
        left_out, published, staff_shown = both.attrs["left_out"], both.attrs["published"], both.attrs["staff_in_post"]
        note = both.attrs["note"]
        leaver = ctx.measure("nhs_leaver_rate", icb)
        if leaver is not None and "turnover benchmarking" in leaver.source:
            note += ("; NHS trust turnover counts leaving an organisation, moves between trusts included (the scenarios' "
                     "base year uses the rate of leaving the NHS)")
        # NHS and general practice count vacancies in FTE, social care in posts: never one column for both
        fte_rows = ~both["sector"].str.startswith("asc_")
        for col, unit in (("vacancies", "fte"), ("filled_posts", "fte"), ("vacancies", "posts"), ("filled_posts", "posts")):
            rows = fte_rows if unit == "fte" else ~fte_rows
            both[f"{col}_{unit}"] = both[col].where(rows).astype(object).where(rows & ~both["sector"].isin(left_out[col]), "")
        fl = pressures.latest_flows(ctx.icb_rows("flows", icb))
        months = pressures.months_by_sector(fl)
        latest = ctx.latest_pressure_rows(icb)
        vl = latest[0]
        both["vacancy_status"] = _status_of(both["sector"], vl, "sector")
        both.loc[both["sector"].isin(published), "vacancy_status"] = "real (published, all adult social care employers)"
        both["turnover_status"] = _status_of(both["sector"], fl, "sector")
        both["turnover_basis"] = both["sector"].map(lambda s: "12 months" if pd.isna(months.get(s, 12)) or months.get(s, 12) == 12
                                                    else f"{int(months[s])} month(s), x 12 / {int(months[s])}")
        kpi_icb = ctx.icb_rows("kpi_observations", icb)       # the rows the KPI functions pick for the ICB
        pub = pressures.latest_published(kpi_icb, icb, ASC_PUBLISHED)
        asc_turnover = ctx.measure("asc_turnover_rate", icb)
        if len(pub):                          # the published rates beside the demo's counts, never mixed with them
            both = pd.concat([both, pd.DataFrame(_published_rows(pub, kpi, asc_turnover))], ignore_index=True)
            for c in (*VACANCY_COUNTS, "vacancy_status", "turnover_status", "turnover_basis"):
                both[c] = both[c].fillna("")
        asc_rate = ctx.measure("asc_vacancy_rate", icb)
        pg = measures.group_vacancies_at_family_rate(pressures.pressure_by_group(vac, flows, icb, latest), "social care",
                                                     asc_rate)
        # pay_gap_trend reads the ICB's rows of each year of the table: the table split by ICB once
        # (same rows) where the ICB has every year of it
        pay_icb = ctx.icb_rows("pay", icb)
        years = ctx.memo(("pay_years",), lambda: sorted(pay["year"].unique()))
        gap = pressures.pay_gap_trend(pay_icb if sorted(pay_icb["year"].unique()) == years else pay, icb)
        flows_x = pressures.cross_sector_flows(flows, icb, latest[1])
        kr = pressures.kpi_latest_year_rows(kpi_icb, icb, KPI_PRESSURE)
        k, sick12, sick1 = _sickness_and_agency(ctx, icb, kr)
        last_gap = gap.iloc[-1]
        prov_vt = _status_by_column(Provenance.combine([ctx.prov(vl, by="sector"), ctx.prov(fl, by="sector"), ctx.prov(pub)]),
                                    both)
        # the registered figures this table shows: NHS rates, the adult social care rate where it is the published one
        # (every adult social care row then shows it) and the NHS staff in post where they stand in for filled FTE
        tags = {"vacancy_rate_pct": [ctx.measure("nhs_vacancy_rate", icb)] + ([asc_rate] if published else []),
                "turnover_rate_pct": [ctx.measure("nhs_leaver_rate", icb)] + (
                    [asc_turnover] if asc_turnover is not None and asc_turnover.status == "real" and len(pub) else []),
                "filled_posts_fte": [ctx.measure("nhs_trust_fte", icb)] if "nhs_trust" in staff_shown else []}
        prov_pay = ctx.prov(ctx.icb_rows("pay", icb))
        prov_x = ctx.prov(fl[fl["leavers_to_other_sector"].notna()], by="sector")
        nhs = _nhs_by_group(ctx, icb)
        items = [
            *_asc_vacancy_headline(ctx, icb, asc_rate),
            Headline("Care worker pay gap to new NHS HCAs", f"£{last_gap['gap_gbp_per_hour']:.2f} an hour", provenance=prov_pay),
            Table(both, "Vacancy and turnover rates by sector (turnover annualised where a source covers fewer than 12 months)"
                  + note,
                  {"sector_label": "Sector",
                   # a count no sector has (e.g. only published rates, the synthetic counts left out) is not shown
                   **{c: label for c, label in VACANCY_COUNTS.items() if pd.to_numeric(both[c], errors="coerce").notna().any()},
                   "vacancy_rate_pct": "Vacancy rate (%)", "vacancy_status": "Vacancies: status",
                   "leavers": "Leavers (a year)", "turnover_rate_pct": "Turnover (%)", "turnover_status": "Turnover: status",
                   "turnover_basis": "Turnover measured over"},
                  {"vacancies_fte": "{:,.0f}", "filled_posts_fte": "{:,.0f}", "vacancies_posts": "{:,.0f}",
                   "filled_posts_posts": "{:,.0f}", "vacancy_rate_pct": "{:.1f}", "staff_in_post": "{:,.0f}",
                   "leavers": "{:,.0f}", "turnover_rate_pct": "{:.1f}"}, key="vacancy_turnover", provenance=prov_vt,
                  measures=tags),
        ]
        if nhs is not None:
            items.append(nhs)
        items += [
            Figure(charts.rates_by_group(pg, icb_name(icb), footer_text(prov_vt), prov_vt.stamp), prov_vt),
            Table(gap, "Pay: care workers against NHS healthcare assistants new to their role (£ per hour)",
                  {"year": "Financial year starting", "nhs_hca_new_gbp": "NHS HCA, new (£/h)", "care_worker_gbp": "Care worker (£/h)",
                   "gap_gbp_per_hour": "Gap (£/h)", "gap_pct": "Gap (% of NHS)"},
                  {"nhs_hca_new_gbp": "{:.2f}", "care_worker_gbp": "{:.2f}", "gap_gbp_per_hour": "{:.2f}", "gap_pct": "{:.1f}"},
                  key="pay_gap", suppress=False, provenance=prov_pay),
            Figure(charts.pay_gap_chart(gap, icb_name(icb), footer_text(prov_pay), prov_pay.stamp), prov_pay),
            Table(flows_x, "Leavers moving between health and social care (latest year; only sectors whose source records "
                  "where leavers go)", {"direction": "Direction", "sectors": "Sectors counted", "leavers": "All leavers",
                  "leavers_to_other_sector": "To the other sector",
                   "share_of_leavers_pct": "Share of leavers (%)"},
                  {"leavers": "{:,.0f}", "leavers_to_other_sector": "{:,.0f}", "share_of_leavers_pct": "{:.1f}"},
                  key="cross_sector_flows", provenance=prov_x),
            Table(k, "Sickness absence and agency use over the last 12 months, beside the latest month (NHS sickness "
                  "absence over 12 months: FTE days lost over FTE days available where the source gives both, as in the "
                  "funnel plot; otherwise the mean of the monthly values)",
                  {"measure": "Measure", "status": "Status", "from": "From", "to": "To",
                   "mean_last_12_months": "Last 12 months", "months": "Months", "latest_value": "Latest month"},
                  {"from": "{:%b %Y}", "to": "{:%b %Y}", "mean_last_12_months": "{:.2f}", "latest_value": "{:.2f}"},
                  key="sickness_agency", suppress=False, provenance=ctx.prov(kr, by="kpi_id"),
                  measures={"mean_last_12_months": sick12, "latest_value": sick1}),
        ]
        return items
    return render


ASC_PUBLISHED = {"vacancy_rate_asc": "vacancy_rate_pct", "turnover_asc": "turnover_rate_pct"}


def _out_of_date(period: pd.Timestamp, kpi: pd.DataFrame) -> str:
    """' (OUT OF DATE: ...)' where a published figure's month is further behind the newest month of the data's
    KPIs than kpis.yaml allows (the governance report's rule), else ''."""
    newest = kpi_framework.newest_period(kpi)
    if newest is None:
        return ""
    behind = kpi_framework.months_between(pd.Timestamp(period), newest)
    if behind <= kpi_framework.stale_after_months():
        return ""
    age = f"{behind / 12:.0f} years" if behind >= 24 else f"{behind} months"
    return f" (OUT OF DATE: {age} older than the newest data, {newest:%b %Y})"


def _published_rows(pub: pd.DataFrame, kpi: pd.DataFrame, turnover: measures.Value | None) -> list[dict]:
    """One row per published adult social care rate (Skills for Care), each with its own period, flagged
    out of date where it is; turnover says its basis (the registry's figure)."""
    rows = []
    for kpi_id, col in ASC_PUBLISHED.items():
        hit = pub[pub["kpi_id"] == kpi_id]
        if hit.empty:
            continue
        when = pd.Timestamp(hit["period"].iloc[0])
        stale = _out_of_date(when, kpi)
        if col.startswith("vacancy"):
            rows.append({"sector": "asc_published_vacancy", "vacancy_rate_pct": float(hit["value"].iloc[0]),
                         "leavers": "", "turnover_rate_pct": "",
                         "sector_label": f"Adult social care: published vacancy rate (Skills for Care, {when:%B %Y})",
                         "vacancy_status": "real" + stale})
        else:
            value = turnover.value if turnover is not None and turnover.status == "real" else float(hit["value"].iloc[0])
            basis = f"12 months to {when:%B %Y}"
            if turnover is not None and "not a whole-workforce rate" in turnover.scope:
                basis += "; a mean of role-level rates by local authority, not a whole-workforce rate"
            rows.append({"sector": "asc_published_turnover", "turnover_rate_pct": value, "turnover_basis": basis,
                         "leavers": "", "vacancy_rate_pct": "",
                         "sector_label": f"Adult social care: published turnover (Skills for Care, {when:%B %Y})",
                         "turnover_status": "real" + stale})
    return rows


def _status_by_column(prov: Provenance, both: pd.DataFrame) -> Provenance:
    """The vacancy and turnover table's provenance with its parts named by column: which sectors' vacancy
    rates and which sectors' turnover are real and which synthetic (a mix of the two differs by column)."""
    if prov.status != "mixed":
        return prov
    bits = []
    for col, what in (("vacancy_status", "vacancy rates"), ("turnover_status", "turnover")):
        groups: dict[str, list[str]] = {}
        for label, st in zip(both["sector_label"], both[col]):
            if not isinstance(st, str) or not st or st == "not available":
                continue
            groups.setdefault("real" if st.startswith("real") else st.split(" ")[0], []).append(str(label))
        if groups:
            bits.append(f"{what}: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in groups.items()))
    return Provenance(prov.source, prov.period, prov.status, " | ".join(bits))


def _asc_vacancy_headline(ctx: DataContext, icb: str, rate: measures.Value | None) -> list:
    """One social care vacancy rate for the index: the registry's (the published rate where the data
    have one, the figure every theme shows; else the rate of the vacancies table)."""
    if rate is None:
        return []
    name = f"Social care vacancy rate (Skills for Care, {rate.period})" if rate.status == "real" else "Social care vacancy rate"
    return [Headline(name, rate.value, "%", "{:.1f}", provenance=_value_prov(rate), measure=rate)]


def _value_prov(v: measures.Value) -> Provenance:
    """The provenance of a registered figure."""
    return Provenance(compact_sources([v.source]), v.period, v.status, v.scope if v.status == "mixed" else "")


def _vacancy_table(ctx: DataContext, icb: str) -> pd.DataFrame:
    """Vacancy and turnover by sector, each rate the registry's (analysis.measures): a sector's vacancy
    rate from :func:`measures.sector_vacancy_rates` (adult social care: the published all-employer rate
    where the data have it, its synthetic counts then left out, since they would give another rate); where
    a sector's staff in post are published and its vacancies are not, the filled FTE is the published
    staff in post and the synthetic vacancy count is left out (it would contradict it)."""
    both = pressures.vacancy_and_turnover(ctx.t["vacancies"], ctx.t["flows"], icb, ctx.latest_pressure_rows(icb))
    rates = measures.vacancy_rates(ctx)
    rates = rates[rates["icb_code"] == icb].set_index("sector")
    both["vacancy_rate_pct"] = both["sector"].map(rates["rate_pct"]).fillna(both["vacancy_rate_pct"])
    published = both["sector"].map(rates["published"]).fillna(False).astype(bool)
    if published.any():
        both.loc[published, ["vacancies", "filled_posts"]] = float("nan")
    snap = ctx.sector_rows(icb)
    real_staff = snap[~snap["synthetic"].astype(bool)].groupby("sector")["fte"].sum()
    vac_syn = both["sector"].map(rates["status"]).eq("synthetic")
    fte_sector = ~both["sector"].str.startswith("asc_")
    swap = both["sector"].isin(real_staff.index) & vac_syn & fte_sector
    if swap.any():
        both.loc[swap, "filled_posts"] = both.loc[swap, "sector"].map(real_staff).astype(float)
        both.loc[swap, "vacancies"] = float("nan")
    both.attrs["published"] = sorted(both.loc[published, "sector"])
    both.attrs["staff_in_post"] = sorted(both.loc[swap, "sector"])
    both.attrs["left_out"] = {"vacancies": sorted(both.loc[published | swap, "sector"]),
                              "filled_posts": sorted(both.loc[published, "sector"])}
    notes = []
    if published.any():
        notes.append("adult social care sectors take the published rate for all its employers (Skills for Care), their "
                     "synthetic counts left out")
    if swap.any():
        notes.append("where staff in post are published and vacancies are not, 'Filled' is the published staff in post "
                     "and the synthetic vacancy count is left out; the rate is synthetic")
    both.attrs["note"] = f"; {'; '.join(notes)}" if notes else ""
    return both


def _sickness_and_agency(ctx: DataContext, icb: str,
                         kr: pd.DataFrame) -> tuple[pd.DataFrame, measures.Value | None, measures.Value | None]:
    """Sickness absence and agency use: each KPI over its last 12 months beside its latest month, NHS
    sickness absence as the registry has it (12 months: days lost over days available where the source
    gives them; the latest month); and the two NHS sickness figures. ``kr``: the ICB's rows of these KPIs
    (:func:`pressures.kpi_latest_year_rows`)."""
    kpi = ctx.t["kpi_observations"]
    k = pressures.kpi_latest_year(ctx.icb_rows("kpi_observations", icb), icb, list(KPI_PRESSURE))
    k["measure"] = k["kpi_id"].map(KPI_PRESSURE)
    k["status"] = _status_of(k["kpi_id"], kr, "kpi_id")
    real = k["status"] == "real"                     # a published figure long behind the newest data says so
    k.loc[real, "status"] = [st + _out_of_date(to, kpi) for st, to in zip(k.loc[real, "status"], k.loc[real, "to"])]
    latest = kr.sort_values("period").groupby("kpi_id")["value"].last()
    k["latest_value"] = k["kpi_id"].map(latest)
    sick12, sick1 = ctx.measure("nhs_sickness_rate_12m", icb), ctx.measure("nhs_sickness_rate_month", icb)
    nhs = k["kpi_id"] == measures.SICKNESS_KPI
    if sick12 is not None:
        k.loc[nhs, "mean_last_12_months"] = sick12.value
    if sick1 is not None:
        k.loc[nhs, "latest_value"] = sick1.value
    return k, sick12, sick1


def _status_of(keys: pd.Series, rows: pd.DataFrame, by: str) -> pd.Series:
    """:func:`_status` of the ``rows`` of each key (``rows[by] == key``)."""
    statuses = {key: _status(g) for key, g in rows.groupby(by, sort=False)}
    return keys.map(lambda key: statuses.get(key, "not available"))


def _status(rows: pd.DataFrame) -> str:
    if rows.empty:
        return "not available"
    syn = rows["synthetic"].astype(bool)
    return "synthetic" if syn.all() else ("real" if not syn.any() else "mixed")


def _nhs_by_group(ctx: DataContext, icb: str) -> Table | None:
    """NHS trust staff by staff group at the latest month, with annual joining and leaving rates."""
    snap = ctx.sector_rows(icb)
    nhs = snap[snap["sector"] == "nhs_trust"]
    if nhs.empty:
        return None
    fl = ctx.latest_pressure_rows(icb)[1]
    fl = fl[fl["sector"] == "nhs_trust"]
    nhs = nhs[nhs["staff_group"] != "unknown"]          # unclassified records, not a staff group
    out = pressures.nhs_staff_groups(nhs, fl, disclosure.settings()["min_count"])
    months = int(fl["months"].iloc[0]) if "months" in fl and len(fl) and pd.notna(fl["months"].iloc[0]) else 12
    basis = (f"annualised from {months} one-month window(s) (count x 12 / {months}), headcount"
             if months < 12 else "over 12 months, headcount")
    real_turnover = "resident doctors excluded" in " ".join(nhs["source"].unique())
    prov = Provenance.combine([ctx.prov(nhs), ctx.prov(fl)])
    caption = (f"NHS trusts by staff group, {nhs['period_label'].iloc[0]}: staff and joining and leaving rates {basis}"
               + ("; resident doctors are excluded by the publisher" if real_turnover else ""))
    return Table(out, caption, {"staff_group_label": "Staff group", "fte": "FTE", "headcount": "Headcount",
                                "joining_rate_pct": "Joining rate (% a year)", "leaving_rate_pct": "Leaving rate (% a year)"},
                 {"fte": "{:,.0f}", "headcount": "{:,.0f}", "joining_rate_pct": "{:.1f}", "leaving_rate_pct": "{:.1f}"},
                 key="nhs_staff_groups", provenance=prov)


def retirement_section(ctx: DataContext):
    age = ctx.t["workforce_age"]

    @depends_on("icb_code")
    def render(icb: str) -> list:
        a = workforce.age_profile(age, icb)
        share = workforce.share_aged_55_plus(a)
        latest = ctx.icb_rows("workforce_age", icb)
        latest = latest[latest["year"] == age["year"].max()]
        prov = ctx.prov(latest, by="sector")
        return [
            Headline("Workforce aged 55+", share, "%", "{:.0f}", provenance=prov),
            Table(a, "Age profile and retirement risk by staff group (headcount)",
                  {"staff_group_label": "Staff group", "headcount": "Headcount", "aged_55_plus": "Aged 55+",
                   "share_55_plus_pct": "Share aged 55+ (%)"},
                  {"headcount": "{:,.0f}", "aged_55_plus": "{:,.0f}", "share_55_plus_pct": "{:.1f}"}, key="age_profile",
                  provenance=prov),
            Figure(charts.retirement_risk(a, icb_name(icb), footer_text(prov), prov.stamp), prov),
        ]
    return render


def ethnicity_section(ctx: DataContext):
    eth = ctx.t["ethnicity"]
    staff = eth[eth["group"] == "workforce"]
    residents = ctx.residents
    combined = pd.concat([staff, residents], ignore_index=True)

    @depends_on("icb_code")
    def render(icb: str) -> list:
        s, r = ctx.icb_rows("ethnicity", icb), residents[residents["icb_code"] == icb]
        s = s[s["group"] == "workforce"]
        # Synthetic workforce ethnicity is generated from the residents' own shares: comparing the two
        # would compare a source with itself, so only the residents are shown then.
        circular = bool(len(s)) and bool(s["synthetic"].astype(bool).all())
        e = workforce.ethnicity_comparison(residents if circular else combined, icb)
        e["ethnic_group_label"] = e["ethnic_group"].map(ETHNIC_LABELS).fillna(e["ethnic_group"])
        if circular:
            s = s.iloc[0:0]
        prov = Provenance.combine([ctx.prov(s), ctx.prov(r)])
        if prov.status == "mixed":
            prov = Provenance(prov.source, prov.period, "mixed",
                              f"workforce: {ctx.prov(s).status}, {ctx.prov(s).period}; residents: {ctx.prov(r).status}, Census 2021")
        minority = workforce.minority_share(e)
        res_share = minority.get("Residents", float("nan"))
        return [
            Headline("Residents from ethnic minority groups (Census 2021)", res_share, "%", "{:.0f}", provenance=ctx.prov(r)),
            Table(e, f"Ethnicity of {'residents (Census 2021)' if circular else 'the workforce and residents'} (unknowns "
                  f"shown separately): {res_share:.0f}% of "
                  f"{icb_name(icb)}'s residents are from ethnic minority groups", {"who": "Group", "ethnic_group_label": "Ethnic group",
                  "people": "People", "share_of_known_pct": "Share of known (%)", "share_of_all_pct": "Share of all records (%)"},
                  {"people": "{:,.0f}", "share_of_known_pct": "{:.1f}", "share_of_all_pct": "{:.1f}"}, key="ethnicity", provenance=prov),
            Figure(charts.ethnicity_chart(e, icb_name(icb), footer_text(prov), prov.stamp), prov),
            *([Text("The workforce's ethnicity is not in the data used: the demonstration figures are generated from the "
                    "residents' own shares, so no comparison of the two is drawn.")] if circular else []),
        ]
    return render


def need_section(ctx: DataContext):
    pop, prev = ctx.t["population"], ctx.t["prevalence"]
    base, horizons = ctx.base_year, ctx.params.projection_years
    years = [base] + [base + h for h in horizons]

    @depends_on("icb_code")
    def render(icb: str) -> list:
        older = need.older_people(pop, icb, base, horizons, ctx.memo(("population_rows", tuple(years)),
                                                                      lambda: need.population_rows(pop, years)))
        # need_projection reads the ICB's rows only: the table split by ICB once (same rows), and the
        # ICB's rows of those years, which the provenance below names too
        p = ctx.icb_rows("population", icb)
        shown = need.population_rows(p, years)
        needs = need.need_projection(p, prev, icb, years, year_rows=shown)
        if "people_lower" in needs:
            needs["interval"] = [f"{lo:,.0f} to {hi:,.0f}" if pd.notna(lo) else "no interval published"
                                 for lo, hi in zip(needs["people_lower"], needs["people_upper"])]
        wide = older.pivot_table(index=["age_group", "area"], columns="year", values="people").reset_index()
        wide["area"] = wide["area"].replace({"icb": icb_name(icb)})
        wide.columns = [str(c) for c in wide.columns]
        growth = older[older["year"] == base + max(horizons)].pivot(index="age_group", columns="area", values="growth_pct")
        g85 = growth.loc["85+", "icb"]
        prov_pop = Provenance(compact_sources(shown["source"].unique().tolist()), f"{base} to {base + max(horizons)}",
                              "projection" if (shown["kind"] == "projection").all() else "real",
                              population.describe(p, base).replace(f" for {base}", ""))
        statuses = sorted(prev["status"].unique())
        rates = Provenance(compact_sources(prev["source"].unique().tolist()), "", "real", "prevalence rates: " + ", ".join(statuses))
        both = Provenance.combine([prov_pop, rates])
        # Published rates applied to a projected population: iwt's estimate, not a count of anyone.
        prov_need = Provenance(both.source, both.period, "modelled", both.detail)
        return [
            Headline(f"Growth in people aged 85+ by {base + max(horizons)}", g85, "%", "{:.0f}", provenance=prov_pop),
            Table(wide, f"Older people in {base} and projected (ONS {population.preferred_basis(pop)} projections)",
                  {c: c for c in wide.columns} | {"age_group": "Age", "area": "Area"},
                  {str(y): "{:,.0f}" for y in older["year"].unique()}, key="older_people", suppress=False, provenance=prov_pop),
            Figure(charts.population_growth(older, icb_name(icb), footer_text(prov_pop), False), prov_pop),
            Table(needs, "Estimated people with care needs (prevalence rates x population)",
                  {"condition_label": "Need", "year": "Year", "people_with_need": "People (estimate)",
                   "interval": "95% interval of the rates", "growth_pct": f"Growth since {base} (%)",
                   "rate_source": "Source of rates", "rate_status": "Status of rates"},
                  {"people_with_need": "{:,.0f}", "growth_pct": "{:.1f}"}, key="need", suppress=False, provenance=prov_need),
        ]
    return render


def benchmark_section(ctx: DataContext):
    @depends_on("icb_code")
    def render(icb: str) -> list:
        panels = ctx.funnels
        pos = benchmarking.positions(panels, icb)
        parts = ctx.memo(("funnel_prov",), lambda: {label: ctx.prov(rows) for label, rows in ctx.funnel_rows.items()})
        prov = Provenance.combine(list(parts.values()))
        synthetic = {label for label, p in parts.items() if p.synthetic}
        rate = ctx.measure("asc_vacancy_rate", icb)
        notes = {}
        if ASC_VACANCY_PANEL in synthetic and rate is not None and rate.status == "real":
            synthetic.discard(ASC_VACANCY_PANEL)          # a published rate on synthetic sizes: the rate is a finding
            notes[ASC_VACANCY_PANEL] = "real rate, synthetic size"
        title, position = _funnel_title(ctx, icb, pos, synthetic, notes)
        pos["position"] = [position.get(m, x) for m, x in zip(pos["measure"], pos["position"])]
        ranked = pos["measure"].isin(list(notes))        # drawn ranked, not judged: no limits beside them
        pos.loc[ranked, ["england_pct", "lo95", "hi95"]] = float("nan")
        return [
            Figure(charts.funnel_panels(panels, icb, icb_name(icb), footer_text(prov), prov.stamp, synthetic, title, notes,
                                        ranked_panels=set(notes)), prov),
            Table(pos, "Position against all 42 ICBs (funnel limits; each ICB's rate as the rest of the report gives it: "
                  "the published social care vacancy rate where the data have it, sized by the vacancies table's posts)",
                  {"measure": "Measure", "rate_pct": "Rate (%)",
                  "england_pct": "England (%)", "lo95": "95% lower", "hi95": "95% upper", "position": "Position"},
                  {"rate_pct": "{:.2f}", "england_pct": "{:.2f}", "lo95": "{:.2f}", "hi95": "{:.2f}"}, key="funnel_position",
                  suppress=False, provenance=prov,
                  measures={"rate_pct": [ctx.measure(m, icb) for m in ("asc_vacancy_rate", "nhs_sickness_rate_12m")]}),
        ]
    return render


ASC_VACANCY_PANEL = "Social care vacancy rate"
NEAR_LIMIT = 0.005            # a rate within 0.5% (relative) of a 95% limit is "at" that limit


def _limit_words(r) -> str:
    """Where a rate sits against its funnel's 95% limits, in words with the figures: at, above or below a limit, or
    within them."""
    rate, lo, hi = float(r["rate_pct"]), float(r["lo95"]), float(r["hi95"])
    for side, limit in (("upper", hi), ("lower", lo)):
        if limit and abs(rate - limit) <= NEAR_LIMIT * abs(limit):
            return f"at the {side} 95% limit ({rate:.2f}% against {limit:.2f}%)"
    if rate > hi:
        return f"above the upper 95% limit ({rate:.2f}% against {hi:.2f}%)"
    if rate < lo:
        return f"below the lower 95% limit ({rate:.2f}% against {lo:.2f}%)"
    return f"within the range expected by chance ({rate:.2f}%; 95% limits {lo:.2f}% to {hi:.2f}%)"


def _funnel_title(ctx: DataContext, icb: str, pos: pd.DataFrame, synthetic: set, notes: dict) -> tuple[str | None, dict]:
    """The funnel plot's title and, per measure, the position the table shows where it says more than
    the funnel table does. ``None`` (the chart's own title) where no panel is at a limit or a published rate
    on synthetic sizes; otherwise each judged panel's place against its limits in figures, the published
    rate's rank among the ICBs' published rates (its limits would stand on synthetic sizes, so its panel
    draws the rates ranked, with no limits) and the synthetic panels unjudged."""
    judged = pos[~pos["measure"].isin(synthetic)]
    near = {r["measure"]: _limit_words(r) for _, r in judged.iterrows() if r["measure"] not in notes}
    at_limit = {m: w for m, w in near.items() if w.startswith("at the ")}
    if not notes and not at_limit:
        return None, {}
    position, bits = {}, []
    for m, words in near.items():
        bits.append(f"{m} {words}")
        if m in at_limit:
            position[m] = f"within, {words.split(' (')[0]}"
    if ASC_VACANCY_PANEL in notes:
        pub = measures.published_asc_vacancy(ctx.t["kpi_observations"])
        mine = pub.loc[pub["icb_code"] == icb, "value"]
        if len(mine):
            rank = int((pub["value"] < float(mine.iloc[0])).sum()) + 1
            bits.append(f"social care vacancy rate {float(mine.iloc[0]):.1f}% (published), the {_ordinal(rank)} lowest of "
                        f"{len(pub)} ICBs (drawn ranked, with no funnel limits: its sizes are synthetic)")
        position[ASC_VACANCY_PANEL] = "not judged: published rate, synthetic size"
    title = f"{icb_name(icb)} against all 42 ICBs: " + "; ".join(bits)
    if synthetic:
        title += f" ({len(synthetic)} synthetic measure{'s' if len(synthetic) != 1 else ''}: no finding)"
    return title, position


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def quality_section(ctx: DataContext):
    tables = [t for t in TABLES if t not in ("residents_ethnicity",)]
    cov = quality.coverage(ctx.ds, tables)
    counts = quality.latest_rows_by_icb(ctx.ds, tables)
    unmapped = ctx.ds.optional_table("unmapped_organisations")
    report = ctx.ds.build_report()

    @depends_on("icb_code")
    def render(icb: str) -> list:
        icov = quality.icb_coverage(ctx.ds, tables, icb, counts)
        split = quality.split_authorities(icb)
        unk = quality.ethnicity_unknown(ctx.t["ethnicity"], icb)
        partial = icov[~icov["covered"]]["table"].tolist()
        note = ("Every table has figures for this ICB at its latest period." if not partial
                else f"No figures for this ICB at the latest period in: {', '.join(partial)}.")
        note += (" No local authority in this ICB is split with another ICB." if split.empty else
                 f" {split['lad_code'].nunique()} local authorities are split between this ICB and others; "
                 "their figures are apportioned by the shares below.")
        items = [
            Table(cov, "Coverage of each source in the data used", {"table": "Table", "origin": "Came from",
                  "synthetic": "Synthetic?", "from": "From", "to": "To", "icbs": "ICBs", "rows": "Rows",
                  "missing_pct": "Missing values (%)", "suppressed_pct": "Suppressed (%)",
                  "years_behind_newest": "Years behind newest source"},
                  {"icbs": "{:.0f}", "rows": "{:,.0f}", "missing_pct": "{:.1f}", "suppressed_pct": "{:.1f}",
                   "years_behind_newest": "{:.1f}"}, key="coverage", suppress=False),
            Text(note),
        ]
        if not split.empty:
            items.append(Table(split, "Local authorities split across ICBs, and the shares used to apportion them",
                               {"lad_code": "LAD code", "lad_name": "Local authority", "icb": "ICB", "share_pct": "Share (%)",
                                "share_basis": "Basis"}, {"share_pct": "{:.1f}"}, key="split_authorities", suppress=False))
        if report and report.get("unplaced"):
            rows = [{"source": u["source"], "period": u["period"], "organisations": u["organisations"], "fte": u["fte"],
                     "share_pct": u["share_of_file_fte_pct"],
                     "largest": ", ".join(f"{o['org_code']} {o['org_name']} ({o['fte']:,.0f})" for o in u["largest"][:3])}
                    for u in report["unplaced"]]
            items.append(Table(pd.DataFrame(rows), "Organisations the build could not place in any ICB (left out of every ICB's "
                               "figures, not spread)", {"source": "Source", "period": "Period", "organisations": "Organisations",
                               "fte": "FTE", "share_pct": "Share of the file's FTE (%)", "largest": "Largest (FTE)"},
                               {"organisations": "{:,.0f}", "fte": "{:,.0f}", "share_pct": "{:.1f}"}, key="unplaced_organisations",
                               suppress=False))
            items += _unplaced_feed_nothing(ctx, icb, report["unplaced"])
        elif unmapped is not None and len(unmapped):
            items.append(Text(f"{unmapped['org_code'].nunique()} organisations could not be placed in an ICB (see the build report)."))
        quarantined = [n for n in (report or {}).get("notes", []) if "quarantined" in n]
        if quarantined:
            items.append(Table(pd.DataFrame({"note": quarantined}), "Rows of the publishers' files left out as impossible "
                               "(quarantined by the build: never drawn or counted)", {"note": "File, rows, column and rule"},
                               key="quarantined_rows", suppress=False))
        evp = population.estimate_vs_projection(ctx.t["population"], icb, ctx.memo(
            ("population_year_totals",), lambda: population.year_totals(ctx.t["population"])))
        if len(evp):
            evp["area"] = evp["area"].replace({icb: icb_name(icb)})
            year = int(evp["year"].iloc[0])
            prov_evp = Provenance(compact_sources(ctx.t["population"].loc[ctx.t["population"]["year"] == year, "source"]
                                                  .unique().tolist()), str(year), "real", "estimate beside projection")
            items.append(Table(evp, f"Population in {year}: the ONS estimate beside the projection every figure of this "
                               "report uses (the difference is the projection's error so far)",
                               {"area": "Area", "estimate_basis": "Estimate", "estimate": "People (estimate)",
                                "projection_basis": "Projection", "projection": "People (projection)",
                                "difference": "Projection less estimate", "difference_pct": "Difference (%)"},
                               {"estimate": "{:,.0f}", "projection": "{:,.0f}", "difference": "{:+,.0f}",
                                "difference_pct": "{:+.2f}"}, key="population_vs_estimate", suppress=False,
                               provenance=prov_evp))
        items.append(Table(unk, "Workforce records with unknown ethnicity (%)", {"sector": "Sector", "icb_unknown_pct": "This ICB (%)",
                           "england_unknown_pct": "England (%)"}, {"icb_unknown_pct": "{:.1f}", "england_unknown_pct": "{:.1f}"},
                           key="ethnicity_unknown", suppress=False,
                           provenance=ctx.memo(("prov", "ethnicity", "workforce"), lambda: ctx.prov(
                               ctx.t["ethnicity"][ctx.t["ethnicity"]["group"] == "workforce"]))))
        return items
    return render


def _unplaced_feed_nothing(ctx: DataContext, icb: str, unplaced: list[dict]) -> list:
    """A line for the NHS staff-group files whose unplaced predecessor trusts feed no figure of this ICB: files
    older than the staff in post every table shows (each sector at its latest file), while growth over time and
    the back-test come from the monthly series, which places every trust."""
    w = ctx.t["workforce"]
    nhs = w[(w["sector"] == "nhs_trust") & (w["icb_code"] == icb)]
    if nhs.empty:
        return []
    latest = pd.Timestamp(nhs["period"].max())
    old = [u for u in unplaced if u.get("source") == "nhs_hchs_workforce" and pd.Timestamp(str(u["period"])) < latest]
    if not old:
        return []
    files = " and ".join(f"{pd.Timestamp(str(u['period'])):%B %Y}" for u in old)
    monthly = " (the monthly NHS Workforce Statistics, which place every trust in an ICB)" if ctx.nhs_monthly is not None else ""
    return [Text(f"The predecessor trusts left unplaced in the {files} staff-group files feed no figure of "
                 f"{icb_name(icb)} in this report: its NHS trust staff in post are from {latest:%B %Y}, and growth over time "
                 f"and the back-test come from the monthly series{monthly}.")]


def caveats(ctx: DataContext) -> list[str]:
    """The caveats that apply to the data actually used (data/reference/caveats.yaml): those of the tables
    worked out once (the same whatever the ICB), then which tables this report read fell back to the demo
    set (read off its own data set each time: what is kept is shared with other reports)."""
    notes = list(ctx.memo(("caveats",), lambda: _caveats(ctx)))
    fell_back = ctx.ds.provenance()
    fell_back = fell_back[fell_back["fell_back_to_demo"]]["table"].tolist()
    if fell_back:
        notes.append(caveat("A8.fell_back", tables=", ".join(fell_back)))
    return notes


def _caveats(ctx: DataContext) -> list[str]:
    notes = [caveat("A18"), caveat("A4"), caveat("A1"), caveat("A31", rule=ctx.params.regional_trusts),
             caveat("A2", base_year=ctx.base_year, basis=population.describe(ctx.t["population"], ctx.base_year)),
             caveat("A11"), caveat("A14")]
    fl = ctx.t["flows"]
    if "months" in fl and (fl["months"].fillna(12) < 12).any():
        notes.append(caveat("A15"))
    prev = ctx.t["prevalence"]
    if (~prev["status"].str.startswith("published")).any():
        notes.append(caveat("A6"))
    return notes
