"""Places side by side: an ICB's sub-ICB locations against the ICB and England on population now
and projected, dementia, general practice per 10,000 patients, unpaid carers, deprivation and
rurality. Every indicator carries its period and status (real, or synthetic on demo general
practice figures); NHS trust and adult social care figures stay at ICB level.
"""

from __future__ import annotations

import pandas as pd

from iwt_helpers.data import geography, places
from iwt_helpers.data.population import bands_at_least

from . import indicators

GP_ROLES = ("gp_qualified", "nurse", "direct_patient_care", "admin")     # each a column gp_<role>_per_10k


def _growth(pop: pd.DataFrame, key: str, base: int, end: int) -> pd.DataFrame:
    p = pop[pop["year"].isin([base, end])].assign(lower=pop["age_band"].str.extract(r"^(\d+)")[0].astype(int))
    out = {}
    tot = p.groupby([key, "year"])["population"].sum().unstack()
    out["population"] = tot[base]
    for age in (65, 75, 85):
        o = p[p["lower"] >= age].groupby([key, "year"])["population"].sum().unstack()
        out[f"growth_{age}_plus_pct"] = indicators.growth_pct(o[end], o[base])
    out[f"population_{end}"] = tot[end]
    return pd.DataFrame(out)


def _dementia(pop: pd.DataFrame, key: str, year: int, prevalence: pd.DataFrame, shares: pd.DataFrame) -> pd.Series:
    """People aged 65+ with dementia: CFAS II rates by sex applied to each area's population, each
    band split by sex with its ICB's female share of that year (A19)."""
    rates = prevalence[prevalence["condition"] == "dementia"]
    p = pop[(pop["year"] == year) & pop["age_band"].isin(bands_at_least(65))]
    if rates.empty or p.empty:
        return pd.Series(dtype=float)
    s = shares if "year" not in shares else shares[shares["year"] == min(max(year, shares["year"].min()), shares["year"].max())]
    p = p.merge(s[["icb_code", "age_band", "female_share"]], on=["icb_code", "age_band"], how="left")
    split = pd.concat([p.assign(sex="female", population=p["population"] * p["female_share"]),
                       p.assign(sex="male", population=p["population"] * (1 - p["female_share"]))], ignore_index=True)
    need = indicators.need_estimates(split, rates, by=[key], on=["sex"])
    return need.set_index(key)["people_with_need"]


def _population_figures(area: pd.DataFrame, prevalence: pd.DataFrame, shares: pd.DataFrame, base: int,
                        end: int) -> pd.DataFrame:
    """Population, growth of the older age groups and people with dementia of each ``area``."""
    out = _growth(area, "area", base, end)
    out["dementia_65_plus"] = _dementia(area, "area", base, prevalence, shares)
    return out


def england_population_figures(pop_icb: pd.DataFrame, prevalence: pd.DataFrame, shares: pd.DataFrame, base_year: int,
                               end_year: int) -> pd.DataFrame:
    """England's row of :func:`place_table`'s population figures (the same whatever the ICB)."""
    return _population_figures(pop_icb.assign(area="England"), prevalence, shares, base_year, end_year)


def _gp(gp_area: pd.DataFrame, gp: pd.DataFrame, icb_code: str) -> tuple[pd.DataFrame, str]:
    """FTE per 10,000 registered patients by role: each place, the ICB and England, latest year."""
    fy = gp_area["financial_year"].max()
    a = gp_area[(gp_area["financial_year"] == fy) & (gp_area["icb_code"] == icb_code) & (gp_area["area_type"] == "place")]
    g = gp[gp["financial_year"] == fy]
    rows = {}
    for role in GP_ROLES:
        r = a[a["role"] == role].set_index("area_code")
        vals = 10 * indicators.per_1000(r["fte"], r["registered_patients"])
        gi = g[(g["role"] == role) & (g["icb_code"] == icb_code)]
        ge = g[g["role"] == role]
        vals[icb_code] = float(10 * indicators.per_1000(gi["fte"].sum(), gi["registered_patients"].sum()))
        vals["England"] = float(10 * indicators.per_1000(ge["fte"].sum(), ge["registered_patients"].sum()))
        rows[f"gp_{role}_per_10k"] = vals
    return pd.DataFrame(rows), fy


def place_table(icb_code: str, pop_place: pd.DataFrame, pop_icb: pd.DataFrame, facts: pd.DataFrame,
                gp_area: pd.DataFrame, gp: pd.DataFrame, prevalence: pd.DataFrame, shares: pd.DataFrame,
                base_year: int, end_year: int, deprivation: pd.DataFrame | None = None,
                rurality: pd.DataFrame | None = None, england: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per place of the ICB, then the ICB and England: population in ``base_year`` and
    growth of the 65+/75+/85+ to ``end_year``, people with dementia, general practice FTE per
    10,000 patients by role, unpaid carers per 100 residents aged 5+ (and 50+ hours), IMD 2025
    average score and rural share. ``pop_icb`` is the ICB table on the same (2022-based) basis;
    ``england``: :func:`england_population_figures` of the same arguments, where the caller has it."""
    icb_code = geography.resolve_icb(icb_code)
    mine = places.places_of(icb_code)
    codes = mine["sicb_code"].tolist()
    pp = pop_place[pop_place["sicb_code"].isin(codes)]
    area = pd.concat([pp.assign(area=pp["sicb_code"]),
                      pop_icb[pop_icb["icb_code"] == icb_code].assign(area=icb_code)], ignore_index=True)
    if england is None:
        england = england_population_figures(pop_icb, prevalence, shares, base_year, end_year)
    out = pd.concat([_population_figures(area, prevalence, shares, base_year, end_year), england])
    gpt, fy = _gp(gp_area, gp, icb_code)
    out = out.join(gpt)
    f = facts.pivot_table(index="sicb_code", columns="measure", values="value", aggfunc="sum")
    sel = f.loc[[c for c in codes if c in f.index]]
    icb_f = f.loc[f.index.map(dict(zip(geography.sub_icbs()["sicb_code"], geography.sub_icbs()["icb_code"]))) == icb_code]
    carers = pd.concat([sel, icb_f.sum().to_frame(icb_code).T, f.sum().to_frame("England").T])
    out["carers_per_100"] = 100 * carers["unpaid_carers"] / carers["residents_5plus"]
    out["carers_50h_per_100"] = 100 * carers["unpaid_carers_50h_plus"] / carers["residents_5plus"]
    # Deprivation and rurality: the ICB row is the ICB's own published figure where the report has it
    # (one number per measure), else LSOA-weighted over its places; England is LSOA-weighted over places.
    lsoas = geography.sub_icbs().set_index("sicb_code")["lsoas"].astype(int)
    published = {}
    if deprivation is not None:
        d = deprivation[(deprivation["area_code"] == icb_code) & (deprivation["domain"] == "imd")
                        & (deprivation["measure"] == "average_score")]
        if len(d):
            published["imd_average_score"] = float(d["value"].iloc[0])
    if rurality is not None:
        r = rurality[(rurality["area_code"] == icb_code) & (rurality.get("area_type", "icb") == "icb")]
        if len(r):
            published["rural_share_pct"] = float(r["rural_share_pct"].iloc[0])
    for m in ("imd_average_score", "rural_share_pct"):
        v = f[m]
        w = lsoas.reindex(v.index)
        col = v.loc[[c for c in codes if c in v.index]].copy()
        col[icb_code] = published.get(m, (v[icb_f.index] * w[icb_f.index]).sum() / w[icb_f.index].sum())
        col["England"] = (v * w).sum() / w.sum()
        out[m] = col
    names = dict(zip(mine["sicb_code"], mine["place_name"]))
    ods = dict(zip(mine["sicb_code"], mine["sicb_ods"]))
    out = out.reindex(codes + [icb_code, "England"])
    out.insert(0, "ods", [ods.get(c, "") for c in out.index])
    out.insert(0, "area_name", [names.get(c, geography.icb_name(icb_code) if c == icb_code else c) for c in out.index])
    out.index.name = "area"
    out.attrs.update({"gp_year": fy, "base_year": base_year, "end_year": end_year,
                      "gp_synthetic": bool(gp_area.get("synthetic", pd.Series([False])).astype(bool).any())})
    return out.reset_index()


def synthetic_gp_by_place(gp: pd.DataFrame, pop_place: pd.DataFrame) -> pd.DataFrame:
    """Demo general practice by place: each ICB's synthetic figures split by its places' share of
    its population (labelled synthetic, like the figures they split)."""
    fy = gp["financial_year"].max()
    g = gp[gp["financial_year"] == fy]
    year = int(fy[:4]) + 1
    year = min(max(year, int(pop_place["year"].min())), int(pop_place["year"].max()))
    pp = pop_place[pop_place["year"] == year].groupby(["icb_code", "sicb_code"], as_index=False)["population"].sum()
    pp["share"] = pp["population"] / pp.groupby("icb_code")["population"].transform("sum")
    m = g.merge(pp[["icb_code", "sicb_code", "share"]], on="icb_code")
    for c in ("fte", "headcount", "registered_patients"):
        if c in m:
            m[c] = m[c] * m["share"]
    return m.assign(area_type="place", area_code=m["sicb_code"], synthetic=True)


def with_dementia_rate(table: pd.DataFrame, pop_place: pd.DataFrame, pop_icb: pd.DataFrame, icb_code: str,
                       base_year: int) -> pd.DataFrame:
    """:func:`place_table` with ``dementia_per_1000_65``: people aged 65+ with dementia per 1,000
    people aged 65+ in the base year, for each place, the ICB and England."""
    old = bands_at_least(65)
    p65 = pop_place[(pop_place["year"] == base_year) & pop_place["age_band"].isin(old)].groupby("sicb_code")["population"].sum()
    i65 = pop_icb[(pop_icb["year"] == base_year) & pop_icb["age_band"].isin(old)]
    p65[icb_code] = i65.loc[i65["icb_code"] == icb_code, "population"].sum()
    p65["England"] = i65["population"].sum()
    table["dementia_per_1000_65"] = 1000 * table["dementia_65_plus"] / table["area"].map(p65)
    return table


def pcn_per_10k(gp_area: pd.DataFrame, sicb_code: str) -> tuple[pd.DataFrame, str, list[str]]:
    """General practice FTE per 10,000 registered patients by primary care network in a place, at
    the latest financial year of ``gp_area``: a table (``pcn``, ``patients`` and one column per role
    of :data:`GP_ROLES` present), that year and the sources of its rows. No rows when the place has
    no networks in the table."""
    fy = gp_area["financial_year"].max()
    pcn = gp_area[(gp_area["financial_year"] == fy) & (gp_area["area_type"] == "pcn") & (gp_area["sicb_code"] == sicb_code)]
    if not len(pcn):
        return pd.DataFrame(columns=["pcn", "patients"]), fy, []
    w = pcn.pivot_table(index=["area_code", "area_name"], columns="role", values="fte", aggfunc="sum")
    pts = pcn.drop_duplicates("area_code").set_index("area_code")["registered_patients"]
    out = pd.DataFrame({"pcn": [n for _, n in w.index], "patients": [pts[c] for c, _ in w.index]})
    for role in GP_ROLES:
        if role in w:
            out[role] = 10_000 * w[role].to_numpy() / out["patients"].to_numpy()
    return out, fy, pcn["source"].unique().tolist()
